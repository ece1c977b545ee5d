import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getCredentialSummary, openCredential } from '../../src/credentials';
import { ed25519KeyPair } from '../../src/remote/testing/keys';
import { launchApp, type E2eApp } from './harness';

/**
 * A key credential from a file in browser mode: the page reads the picked file (bounded, checked)
 * and sends it once to be sealed; it is never shown on the page nor echoed back. (The desktop
 * app's dialog goes through the core: src/core/credentials-key-file.test.ts.)
 */
let app: E2eApp;
const key = ed25519KeyPair().private;
const keyBody = key.split('\n')[1]!;
const consoleLines: string[] = [];

beforeAll(async () => {
  app = await launchApp();
  fs.mkdirSync(path.resolve('test-results'), { recursive: true });
  app.page.on('console', (m) => consoleLines.push(m.text()));
});
afterAll(async () => {
  await app?.close();
});

describe('key credential from a file (browser mode)', () => {
  it('reads the picked file, adds the key, and never shows or logs its content', async () => {
    const { page, core } = app;
    await page.getByRole('link', { name: 'Settings' }).click();
    const form = page.getByRole('form', { name: 'Add credential' });
    await form.getByLabel('Name').fill('office key');
    await form.getByLabel('User').fill('root');
    await form.getByLabel('Kind').selectOption('key');
    await form.getByLabel('Private key file').setInputFiles({
      name: 'id_ed25519',
      mimeType: 'application/octet-stream',
      buffer: Buffer.from(key),
    });
    await form.getByRole('status', { name: 'Chosen key file' }).filter({ hasText: 'id_ed25519' }).waitFor();
    // The paste box gives way to the file; the key text is nowhere on the page.
    await expect(form.getByLabel('Private key', { exact: true }).count()).resolves.toBe(0);
    expect(await page.content()).not.toContain(keyBody);
    await form.screenshot({ path: path.resolve('test-results/settings-key-file.png') });
    await form.getByRole('button', { name: 'Add credential' }).click();
    await page.getByRole('table', { name: 'Credentials' }).getByText('office key').waitFor();

    const db = core.requireWorkspace().db;
    const created = (await core.call('credentials.list', {})).find((c) => c.name === 'office key')!;
    expect(created.kind).toBe('key');
    // The Scope field was left empty: like the CLI, that is every host, not none.
    expect(created.scope).toEqual(['*']);
    const opened = await openCredential(
      db,
      core.options.platform.secrets,
      getCredentialSummary(db, created.id)!,
    );
    expect(opened.auth).toMatchObject({ kind: 'key', privateKey: key });
    // After the add the file choice is gone too, and nothing was logged with the key in it.
    await expect(form.getByRole('status', { name: 'Chosen key file' }).count()).resolves.toBe(0);
    expect(await page.content()).not.toContain(keyBody);
    expect(consoleLines.join('\n')).not.toContain(keyBody);
    const log = db.prepare('SELECT details FROM audit_log').all();
    expect(JSON.stringify(log)).not.toContain(keyBody);
  });

  it('refuses a public key or an oversized file by name before anything is sent', async () => {
    const { page, core } = app;
    const form = page.getByRole('form', { name: 'Add credential' });
    await form.getByLabel('Name').fill('wrong half');
    await form.getByLabel('User').fill('root');
    await form.getByLabel('Kind').selectOption('key');
    await form.getByLabel('Private key file').setInputFiles({
      name: 'id_ed25519.pub',
      mimeType: 'text/plain',
      buffer: Buffer.from('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJunk admin@office'),
    });
    await form.getByRole('alert').filter({ hasText: 'id_ed25519.pub is not a private key file' }).waitFor();
    await form.getByLabel('Private key file').setInputFiles({
      name: 'big.pem',
      mimeType: 'text/plain',
      buffer: Buffer.alloc(100 * 1024, 'A'),
    });
    await form.getByRole('alert').filter({ hasText: 'big.pem is 102,400 bytes' }).waitFor();
    // Neither was taken: the paste box is back and nothing new exists.
    await form.getByLabel('Private key', { exact: true }).waitFor();
    expect((await core.call('credentials.list', {})).map((c) => c.name)).toEqual(['office key']);
  });
});
