import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNodePlatform } from '../platform';
import { Core } from './core';

let dir: string;
let core: Core;
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-core-backup-'));
  core = new Core({
    platform: createNodePlatform({ configDir: path.join(dir, 'config'), useKeychain: false }),
    carrier: 'test',
  });
  await core.openWorkspace(path.join(dir, 'ws.sqlite'), { create: 'always' });
});
afterEach(async () => {
  await core.closeWorkspace();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('workspace.backup (the Settings page button)', () => {
  it('backs up the open workspace into its backups folder, through the router', async () => {
    await core.call('hosts.add', { name: 'web01', address: '127.0.0.1' });
    const made = await core.call('workspace.backup', {});
    expect(path.dirname(made.path)).toBe(path.join(dir, 'backups'));
    expect(fs.statSync(made.path).mode & 0o777).toBe(0o600);
    const copy = new BetterSqlite3(made.path, { readonly: true });
    expect(copy.prepare('SELECT name FROM hosts').all()).toEqual([{ name: 'web01' }]);
    copy.close();
    // The renderer cannot choose where to write.
    const refused = await core.router.call('workspace.backup', { path: '/tmp/x' }, { carrier: 'test' });
    expect(refused.ok).toBe(false);
  });
});
