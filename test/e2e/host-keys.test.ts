import fs from 'node:fs';
import path from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchApp, type E2eApp } from './harness';
import { ed25519KeyPair } from '../../src/remote/testing/keys';

/**
 * Trust on first use and an explicit re-trust from the host detail panel, against a real SSH
 * server (ssh2) on LOOPBACK (127.0.0.23:22) whose host key the test swaps. It accepts no login,
 * so an audit of this host fails, and the Hosts page shows that failure as it happens.
 */
const ADDRESS = '127.0.0.23';
let app: E2eApp;
let server: ssh2.Server | null = null;

function startServer(hostKey: string): Promise<void> {
  const s = new ssh2.Server({ hostKeys: [hostKey], ident: 'OpenSSH_9.2p1 Debian-2+deb12u3' }, (client) => {
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => ctx.reject());
  });
  server = s;
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(22, ADDRESS, () => resolve());
  });
}
async function stopServer(): Promise<void> {
  const s = server;
  server = null;
  if (s) await new Promise((r) => s.close(() => r(null)));
}
const newKey = (): string => ed25519KeyPair().private;

beforeAll(async () => {
  await startServer(newKey());
  app = await launchApp();
  fs.mkdirSync(path.resolve('test-results'), { recursive: true });
});
afterAll(async () => {
  await app?.close();
  await stopServer();
});

describe('host keys and audits from the Hosts page (loopback ssh2 server)', () => {
  it('reads and trusts a key, then re-trusts a changed key only after an explicit confirmation', async () => {
    const { page, core } = app;
    const host = await core.call('hosts.add', { name: 'keyhost', address: ADDRESS });
    await page.getByRole('link', { name: 'Hosts' }).click();
    const row = page.getByRole('table', { name: 'Hosts' }).locator(`tr[data-host-id="${host.id}"]`);
    await row.getByRole('link', { name: 'keyhost', exact: true }).click();
    const detail = page.getByRole('region', { name: 'Host detail: keyhost' });
    await detail.getByRole('button', { name: 'Read host key' }).click();
    const trustBox = detail.getByRole('group', { name: 'Trust this key' });
    await trustBox.waitFor();
    const presented = (await trustBox.textContent()) ?? '';
    const fingerprint = /SHA256:[A-Za-z0-9+/]+/.exec(presented)?.[0];
    expect(fingerprint).toBeTruthy();
    expect(await core.call('hosts.keys', { id: host.id })).toHaveLength(0); // reading pins nothing
    await trustBox.getByRole('button', { name: 'Trust this key' }).click();
    const pinned = detail.getByRole('table', { name: 'Pinned host keys' });
    await pinned.getByText(fingerprint!).waitFor();
    expect((await core.call('hosts.keys', { id: host.id }))[0]?.fingerprint).toBe(fingerprint);

    // The machine is "reinstalled": a new key. Nothing is replaced without the admin's word.
    await stopServer();
    await startServer(newKey());
    await detail.getByRole('button', { name: 'Check host key' }).click();
    const changed = detail.getByRole('alertdialog', { name: 'Host key changed' });
    await changed.waitFor();
    const newFingerprint = /now presents \S+ (SHA256:[A-Za-z0-9+/]+)/.exec(
      (await changed.textContent()) ?? '',
    )?.[1];
    expect(newFingerprint).toBeTruthy();
    expect(newFingerprint).not.toBe(fingerprint);
    expect(await changed.textContent()).toContain(fingerprint!);
    const retrust = changed.getByRole('button', { name: 'Re-trust with the new key' });
    expect(await retrust.isDisabled()).toBe(true);
    await detail.screenshot({ path: path.resolve('test-results/host-key-changed.png') });
    await changed.getByLabel(/I checked with the machine/).check();
    await retrust.click();
    await pinned.getByText(newFingerprint!).waitFor();
    const keys = await core.call('hosts.keys', { id: host.id });
    expect(keys.map((k) => k.fingerprint)).toContain(newFingerprint);
    expect(keys.map((k) => k.fingerprint)).not.toContain(fingerprint);
  });

  it('audits one host and shows its failure with the error kind as it happens', async () => {
    const { page, core } = app;
    const host = (await core.call('hosts.list', {})).find((h) => h.name === 'keyhost')!;
    // Audit is offered only once a credential exists; this server accepts none of them.
    await core.call('credentials.add', { name: 'agent', username: 'root', kind: 'agent' });
    await page.getByRole('button', { name: 'All hosts' }).click();
    const row = page.getByRole('table', { name: 'Hosts' }).locator(`tr[data-host-id="${host.id}"]`);
    await row.getByRole('button', { name: 'Audit keyhost' }).click();
    await expect
      .poll(() => row.locator('td.audit-status').textContent(), { timeout: 30_000 })
      .toMatch(/^failed/);
    const latest = (await core.call('audits.latest', {})).find((a) => a.hostId === host.id)!;
    expect(latest.status).toBe('failed');
    expect(await row.locator('td.audit-status').textContent()).toContain(latest.errorKind!);
    await page.getByRole('status').filter({ hasText: 'failed: 0 of 1 host succeeded, 1 failed' }).waitFor();
    await row.getByRole('link', { name: 'keyhost', exact: true }).click();
    const detail = page.getByRole('region', { name: 'Host detail: keyhost' });
    await expect
      .poll(() => detail.getByRole('table', { name: 'Audits' }).locator('tbody tr').count())
      .toBe(1);
    await page.screenshot({ path: path.resolve('test-results/hosts-audit-failed.png') });
  });
});

describe('reviewing never-trusted keys on the Hosts page (two loopback ssh2 servers)', () => {
  const PASSWORD = 'e2e-office-password-never-to-a-stranger';
  const attempts: { address: string; method: string; password?: string }[] = [];
  const servers: ssh2.Server[] = [];
  const fingerprints = new Map<string, string>();
  const ADDRESSES = ['127.0.0.24', '127.0.0.25'];

  beforeAll(async () => {
    for (const address of ADDRESSES) {
      const { private: key, public: pub } = ed25519KeyPair();
      const blob = Buffer.from(pub.split(' ')[1]!, 'base64');
      const { createHash } = await import('node:crypto');
      fingerprints.set(
        address,
        `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`,
      );
      const s = new ssh2.Server({ hostKeys: [key] }, (client) => {
        client.on('error', () => undefined);
        client.on('authentication', (ctx) => {
          attempts.push({
            address,
            method: ctx.method,
            password: ctx.method === 'password' ? ctx.password : undefined,
          });
          ctx.reject(['password']);
        });
      });
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(22, address, () => resolve());
      });
      servers.push(s);
    }
  });
  afterAll(async () => {
    for (const s of servers) await new Promise((r) => s.close(() => r(null)));
  });

  it('sends no password before the keys are trusted, then trusts both in one reviewed step', async () => {
    const { page, core } = app;
    const ids: number[] = [];
    for (const [i, address] of ADDRESSES.entries())
      ids.push((await core.call('hosts.add', { name: `pc-${i + 1}`, address })).id);
    await core.call('credentials.add', {
      name: 'office',
      username: 'admin',
      kind: 'password',
      secret: PASSWORD,
      scope: ['pc-1', 'pc-2'],
    });
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByRole('link', { name: 'Hosts' }).click();
    for (const id of ids) {
      const row = page.getByRole('table', { name: 'Hosts' }).locator(`tr[data-host-id="${id}"]`);
      await row.getByRole('button', { name: /^Audit pc-/ }).click();
      await expect
        .poll(() => row.locator('td.audit-status').textContent(), { timeout: 30_000 })
        .toMatch(/^failed/);
      expect(await row.locator('td.audit-status').textContent()).toContain('host-key-unknown');
    }
    expect(attempts.filter((a) => a.password !== undefined)).toEqual([]);
    const review = page.getByRole('region', { name: 'Host keys to review' });
    await review.getByText('2 hosts show an SSH key nobody has trusted yet.').waitFor();
    await review.getByRole('button', { name: 'Review keys (2)' }).click();
    const table = review.getByRole('table', { name: 'Keys awaiting review' });
    for (const [i, address] of ADDRESSES.entries()) {
      const row = table.locator(`tr[data-host-id="${ids[i]}"]`);
      expect(await row.textContent()).toContain(fingerprints.get(address));
    }
    await page.screenshot({ path: path.resolve('test-results/hosts-review-keys.png'), fullPage: true });
    await review.getByRole('button', { name: 'Trust these 2 keys' }).click();
    await review.getByText('Trusted 2 host keys.', { exact: false }).waitFor();
    for (const [i, address] of ADDRESSES.entries())
      expect((await core.call('hosts.keys', { id: ids[i]! })).map((k) => k.fingerprint)).toEqual([
        fingerprints.get(address),
      ]);
    // Now the audit logs in (and the servers refuse the password): the credential went only to pinned hosts.
    const { taskId } = await core.call('audits.start', { hostIds: ids });
    await core.requireWorkspace().tasks.wait(taskId);
    expect(new Set(attempts.filter((a) => a.password === PASSWORD).map((a) => a.address))).toEqual(
      new Set(ADDRESSES),
    );
  });
});
