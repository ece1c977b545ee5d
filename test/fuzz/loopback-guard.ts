/**
 * A second line of defence for fuzz targets that drive the real core: in this thread, nothing
 * may reach beyond loopback. TCP connections to anything but 127.0.0.0/8 or ::1, DNS look-ups
 * of any name but localhost, and UDP datagrams to anything but loopback (mDNS, NetBIOS) fail
 * at once, before a packet leaves, and each attempt is recorded so a target can tell which
 * input tried. The targets never generate such traffic on purpose (see targets/api.ts); this
 * only makes a mistake harmless and visible.
 *
 * Import this module before anything that imports node:dns, node:net or node:dgram, so that
 * modules which copy `lookup` at load time get the guarded one.
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';

const attempts: string[] = [];
const INSTALLED = Symbol.for('patchdeck.fuzz.loopbackGuard');

export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (bare === 'localhost') return true;
  if (net.isIPv4(bare)) return bare.startsWith('127.');
  if (net.isIPv6(bare)) return bare === '::1' || /^::ffff:127\./i.test(bare);
  return false;
}

/** The attempts recorded since the last call, cleared. */
export function takeRefusedAttempts(): string[] {
  return attempts.splice(0, attempts.length);
}

function refusal(what: string): Error {
  attempts.push(what);
  return Object.assign(new Error(`fuzz loopback guard: ${what} refused`), { code: 'ENOTFOUND' });
}

function install(): void {
  const state = globalThis as { [INSTALLED]?: boolean };
  if (state[INSTALLED]) return;
  state[INSTALLED] = true;

  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
    const options = (
      typeof first === 'object' && first !== null ? first : { port: first, host: args[1] }
    ) as { port?: unknown; host?: unknown; path?: unknown };
    // TCP has a port; `path` alone is a Unix socket (HTTP options carry their URL path there too).
    const tcp = options.port !== undefined && options.port !== null;
    if (tcp || options.path === undefined) {
      const host = typeof options.host === 'string' ? options.host : 'localhost';
      if (!isLoopbackHost(host)) {
        const error = refusal(`a TCP connection to ${host}`);
        process.nextTick(() => this.destroy(error));
        return this;
      }
    }
    return (connect as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof net.Socket.prototype.connect;

  const lookup = dns.lookup;
  const guardedLookup = function (hostname: string, ...rest: unknown[]) {
    if (isLoopbackHost(String(hostname))) return (lookup as (...a: unknown[]) => unknown)(hostname, ...rest);
    const callback = rest[rest.length - 1];
    const error = refusal(`a DNS look-up of ${String(hostname).slice(0, 80)}`);
    if (typeof callback === 'function') process.nextTick(() => (callback as (e: Error) => void)(error));
    return undefined;
  };
  (dns as { lookup: unknown }).lookup = guardedLookup;
  const promisesLookup = dns.promises.lookup;
  (dns.promises as { lookup: unknown }).lookup = (hostname: string, ...rest: unknown[]) =>
    isLoopbackHost(String(hostname))
      ? (promisesLookup as (...a: unknown[]) => unknown)(hostname, ...rest)
      : Promise.reject(refusal(`a DNS look-up of ${String(hostname).slice(0, 80)}`));

  // c-ares queries (reverse DNS, resolve*) go to the configured name servers: refuse them all.
  const queries = [
    'resolve',
    'resolve4',
    'resolve6',
    'resolveAny',
    'resolveCaa',
    'resolveCname',
    'resolveMx',
    'resolveNaptr',
    'resolveNs',
    'resolvePtr',
    'resolveSoa',
    'resolveSrv',
    'resolveTxt',
    'reverse',
  ];
  for (const name of queries) {
    const what = (query: unknown): string => `a DNS ${name} query for ${String(query).slice(0, 80)}`;
    (dns as unknown as Record<string, unknown>)[name] = (query: unknown, ...rest: unknown[]) => {
      const callback = rest[rest.length - 1];
      const error = refusal(what(query));
      if (typeof callback === 'function') process.nextTick(() => (callback as (e: Error) => void)(error));
    };
    (dns.promises as unknown as Record<string, unknown>)[name] = (query: unknown) =>
      Promise.reject(refusal(what(query)));
    for (const proto of [dns.Resolver.prototype, dns.promises.Resolver.prototype] as unknown as Record<
      string,
      unknown
    >[]) {
      proto[name] = function (query: unknown, ...rest: unknown[]) {
        const callback = rest[rest.length - 1];
        const error = refusal(what(query));
        if (typeof callback === 'function') {
          process.nextTick(() => (callback as (e: Error) => void)(error));
          return undefined;
        }
        return Promise.reject(error);
      };
    }
  }

  const send = dgram.Socket.prototype.send;
  dgram.Socket.prototype.send = function (this: dgram.Socket, ...args: unknown[]) {
    // send(msg, [offset, length,] port, address, [callback]): the address is the first string after a number.
    const address = args.find((a, i) => typeof a === 'string' && typeof args[i - 1] === 'number') as
      string | undefined;
    if (address === undefined || !isLoopbackHost(address)) {
      const error = refusal(`a UDP datagram to ${address ?? 'a connected peer'}`);
      const callback = args[args.length - 1];
      if (typeof callback === 'function') process.nextTick(() => (callback as (e: Error) => void)(error));
      return;
    }
    return (send as (...a: unknown[]) => void).apply(this, args);
  } as typeof dgram.Socket.prototype.send;

  // ES modules that imported these functions by name see the guarded ones from now on.
  syncBuiltinESMExports();
}

install();
