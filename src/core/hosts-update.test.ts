import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createNodePlatform } from '../platform';
import { Core } from './core';

// Found by the API fuzz target (test/fuzz/targets/api.ts): a credential id that does not exist
// hit the foreign key and came back as "hosts.update failed unexpectedly" (an internal error).
let dir: string;
let core: Core;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-hosts-update-'));
  core = new Core({ platform: createNodePlatform({ configDir: dir, useKeychain: false }), carrier: 'test' });
  await core.openWorkspace(path.join(dir, 'ws.sqlite'), { create: 'if-missing' });
});
afterAll(async () => {
  await core.closeWorkspace();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('refuses a credential that does not exist with a clear error, and changes nothing', async () => {
  const host = await core.call('hosts.add', { name: 'srv01', address: '127.0.0.5' });
  const answer = await core.router.call(
    'hosts.update',
    { id: host.id, patch: { credentialId: 4242, notes: 'kept out' } },
    { carrier: 'test' },
  );
  expect(answer).toEqual({
    ok: false,
    error: { code: 'not-found', message: 'Credential 4242 does not exist.' },
  });
  expect(await core.call('hosts.get', { id: host.id })).toMatchObject({ credentialId: null, notes: '' });

  const credential = await core.call('credentials.add', { name: 'agent', username: 'root', kind: 'agent' });
  expect(
    await core.call('hosts.update', { id: host.id, patch: { credentialId: credential.id } }),
  ).toMatchObject({ credentialId: credential.id });
  expect(await core.call('hosts.update', { id: host.id, patch: { credentialId: null } })).toMatchObject({
    credentialId: null,
  });
});
