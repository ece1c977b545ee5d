// Preloaded (`node --require`) into a third-party tool that would otherwise reach the internet on
// its own: Electronegativity fetches translations from S3 and Electron's release list at every
// run. Connections to anything but loopback, and DNS look-ups of any other name, fail at once
// (before any packet leaves), and each refusal is counted on stderr.
'use strict';
const dns = require('node:dns');
const net = require('node:net');

const isLoopback = (host) =>
  host === 'localhost' || (net.isIPv4(host) && host.startsWith('127.')) || host === '::1' || host === '[::1]';

const refused = (what) => {
  process.stderr.write(`loopback-only: refused ${what}\n`);
  const error = new Error(`loopback-only: ${what} refused (this run stays offline)`);
  error.code = 'ENOTFOUND';
  return error;
};

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  let options = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (typeof options !== 'object' || options === null) options = { port: args[0], host: args[1] };
  // A TCP connection has a port; `path` alone is a local (Unix) socket. HTTP requests carry their
  // URL path in `path` too, so the port decides.
  const tcp = options.port !== undefined && options.port !== null;
  if (tcp || options.path === undefined) {
    const host = String(options.host ?? 'localhost');
    if (!isLoopback(host)) {
      const error = refused(`a connection to ${host}`);
      process.nextTick(() => this.destroy(error));
      return this;
    }
  }
  return connect.apply(this, args);
};

const lookup = dns.lookup;
dns.lookup = function (hostname, ...rest) {
  if (isLoopback(String(hostname))) return lookup.call(this, hostname, ...rest);
  const callback = rest[rest.length - 1];
  const error = refused(`a DNS look-up of ${hostname}`);
  if (typeof callback === 'function') process.nextTick(() => callback(error));
  return undefined;
};
const promisesLookup = dns.promises.lookup;
dns.promises.lookup = function (hostname, ...rest) {
  if (isLoopback(String(hostname))) return promisesLookup.call(this, hostname, ...rest);
  return Promise.reject(refused(`a DNS look-up of ${hostname}`));
};
