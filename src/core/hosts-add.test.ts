import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodePlatform } from '../platform';
import { Core } from './core';

// Issue 10, bug 7: Add host accepted 999.1.1.1 (isValidHostName took it for a name).
let dir: string;
let core: Core;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-hosts-add-'));
  core = new Core({ platform: createNodePlatform({ configDir: dir, useKeychain: false }), carrier: 'test' });
  await core.openWorkspace(path.join(dir, 'ws.sqlite'), { create: 'if-missing' });
});
afterAll(async () => {
  await core.closeWorkspace();
  fs.rmSync(dir, { recursive: true, force: true });
});

const add = (args: { name: string; address?: string }) =>
  core.router.call('hosts.add', args, { carrier: 'test' });

describe('hosts.add and hosts.update refuse addresses that are not addresses', () => {
  it('refuses a mistyped IPv4 address as the address or as the name, in words, and adds nothing', async () => {
    expect(await add({ name: 'web01', address: '999.1.1.1' })).toEqual({
      ok: false,
      error: {
        code: 'bad-request',
        message:
          'Address: “999.1.1.1” is not a valid IPv4 address: four numbers from 0 to 255, such as 198.18.0.11.',
      },
    });
    expect(await add({ name: '999.1.1.1' })).toMatchObject({
      ok: false,
      error: {
        code: 'bad-request',
        message: expect.stringMatching(/^Host name: “999\.1\.1\.1” is not a valid IPv4/),
      },
    });
    expect(await add({ name: 'web01', address: '198.18.0.1.5' })).toMatchObject({ ok: false });
    expect(await add({ name: 'web01', address: 'fe80::zz' })).toMatchObject({ ok: false });
    expect(await add({ name: 'web 01' })).toMatchObject({ ok: false });
    expect(await core.call('hosts.list', {})).toEqual([]);
  });

  it('accepts addresses and names, and names a host typed as an address by that address', async () => {
    const byAddress = await core.call('hosts.add', { name: '198.18.0.11' });
    expect(byAddress).toMatchObject({ address: '198.18.0.11', nameSource: 'address' });
    const named = await core.call('hosts.add', { name: 'fs1', address: 'fs1.office.lan' });
    expect(named).toMatchObject({ name: 'fs1', nameSource: 'admin' });
    expect((await core.call('hosts.add', { name: 'v6', address: 'fd00::11' })).address).toBe('fd00::11');
  });

  it('refuses the same mistake when an address is set later', async () => {
    const host = await core.call('hosts.add', { name: 'nas' });
    const answer = await core.router.call(
      'hosts.update',
      { id: host.id, patch: { address: '256.0.0.1' } },
      { carrier: 'test' },
    );
    expect(answer).toMatchObject({
      ok: false,
      error: { code: 'bad-request', message: expect.stringMatching(/^Address: /) },
    });
    expect((await core.call('hosts.get', { id: host.id })).address).toBeNull();
  });
});
