/**
 * `hosts.trust` over WinRM through the real Core and router: a PC whose WinRM cannot be reached
 * fails with the probe's own classified sentence (unreachable, WinRM not enabled → winrm
 * quickconfig), never as an unexpected failure; and the pins list and the pending sightings
 * describe a certificate (subject, issuer, validity, self-signed) from its stored PEM.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Core } from '../core';
import { createNodePlatform } from '../platform';

let dir = '';
let core: Core;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pd-winrm-trust-api-'));
  core = new Core({ platform: createNodePlatform({ configDir: dir, useKeychain: false }), carrier: 'test' });
  await core.openWorkspace(join(dir, 'ws.sqlite'), { create: 'always' });
});
afterEach(async () => {
  await core.closeWorkspace();
  rmSync(dir, { recursive: true, force: true });
});

/** A loopback port nothing listens on (bound once to learn a free number, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * For one call, a connection to WinRM's port (5985/5986) on loopback goes to `port` instead: the
 * probe always dials the host's WinRM port, and the test cannot own 5985 on a shared machine.
 */
async function callOnPort<T>(port: number, call: () => Promise<T>): Promise<T> {
  const original = net.Socket.prototype.connect;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  (net.Socket.prototype as any).connect = function (this: unknown, ...args: any[]) {
    const options = Array.isArray(args[0]) ? args[0][0] : args[0];
    if (options && typeof options === 'object' && (options.port === 5985 || options.port === 5986))
      options.port = port;
    return original.apply(this, args as never);
  };
  try {
    return await call();
  } finally {
    net.Socket.prototype.connect = original;
  }
}

function winrmHost(name: string, port: 5985 | 5986) {
  return core.call('hosts.add', { name, address: '127.0.0.1' }).then((host) => {
    core
      .requireWorkspace()
      .db.prepare(
        `INSERT INTO host_services (host_id, port, state, service, banner, last_seen) VALUES (?, ?, 'open', 'winrm', NULL, 't')`,
      )
      .run(host.id, port);
    return host;
  });
}

describe('hosts.trust over WinRM when the PC cannot be reached', () => {
  it.each([5985, 5986] as const)(
    'port %i refused: the classified sentence naming winrm quickconfig, nothing recorded',
    async (port) => {
      const host = await winrmHost(`WIN-${port}`, port);
      const target = await closedPort();
      const error = await callOnPort(target, () =>
        core.call('hosts.trust', { id: host.id, pin: false, channel: 'winrm' }),
      ).then(
        () => null,
        (e: unknown) => e as { code?: string; message?: string },
      );
      expect(error).toMatchObject({ code: 'unavailable' });
      expect(error!.message).not.toMatch(/unexpectedly/);
      expect(error!.message).toContain(`WIN-${port}`);
      expect(error!.message).toContain('WinRM is not enabled on the PC: run `winrm quickconfig`');
      expect(await core.call('hosts.pendingKeys', { hostIds: [host.id] })).toEqual([]);
    },
  );
});
