import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertHost } from '../../src/db';
import { launchApp, type E2eApp } from './harness';

let app: E2eApp;
beforeAll(async () => {
  app = await launchApp();
});
afterAll(async () => {
  await app?.close();
});

describe('Settings: Back up now', () => {
  it('writes a consistent 0600 copy of the open workspace into its backups folder', async () => {
    const { page, core, dir } = app;
    insertHost(core.requireWorkspace().db, { name: 'lab01', address: '198.18.0.11' });
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('button', { name: 'Back up now' }).click();
    const status = page.getByRole('status').filter({ hasText: 'Backed up to' });
    await status.waitFor();
    const text = (await status.textContent()) ?? '';
    const file = /Backed up to (\S+\.sqlite) /.exec(text)?.[1];
    expect(file, text).toBeDefined();
    expect(path.dirname(file!)).toBe(path.join(dir, 'backups'));
    expect(fs.statSync(file!).mode & 0o777).toBe(0o600);
    const copy = new BetterSqlite3(file!, { readonly: true });
    expect(copy.prepare('SELECT name FROM hosts').all()).toEqual([{ name: 'lab01' }]);
    copy.close();
  });
});
