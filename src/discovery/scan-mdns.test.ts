import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AVAHI_NAME, startMdnsResponder } from '../../test/fixtures/mdns/responder';
import { Core } from '../core';
import { createNodePlatform } from '../platform';

/**
 * A scan learns the name a host announces over mDNS (issue 10, bug 8), asked by unicast to that
 * host's own UDP 5353. The host is a TCP listener on 127.0.0.155 with a UDP responder beside it
 * that answers as avahi-daemon 0.8 does (its captured reply, test/fixtures/mdns).
 */
describe('discovery.start learns mDNS names', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('names a found host by the name it announces over mDNS, source mdns', async () => {
    const address = '127.0.0.155';
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((resolve) => server.listen(0, address, resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const port = (server.address() as net.AddressInfo).port;
    const responder = await startMdnsResponder(address);
    cleanups.push(() => responder.close());

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-mdns-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const core = new Core({
      platform: createNodePlatform({ configDir: path.join(dir, 'config'), useKeychain: false }),
      carrier: 'test',
    });
    await core.openWorkspace(path.join(dir, 'ws.sqlite'), { create: 'if-missing' });
    cleanups.push(() => core.closeWorkspace());

    const started = await core.call('discovery.start', {
      targets: address,
      ports: String(port),
      reverseDns: false,
      addToInventory: true,
    });
    const task = await core.requireWorkspace().tasks.wait(started.taskId);
    expect(task?.status).toBe('succeeded');
    expect(responder.queries).toHaveLength(1);
    const hosts = await core.call('hosts.list', {});
    expect(hosts.map((h) => [h.address, h.name, h.nameSource])).toEqual([[address, AVAHI_NAME, 'mdns']]);
  });
});
