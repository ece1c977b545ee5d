import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJob, trustHostKey } from '../../src/db';
import { OPENSUSE_LEAP_15, recordAudit, zypperUpdate } from '../../src/db/testing/audits';
import { reply, startFakeSshHost, type FakeSshHost } from '../../src/remote/testing/ssh-host';
import { launchApp, type E2eApp } from './harness';

/**
 * The patch wizard's review step on a zypper host played by a real SSH server on 127.0.0.1
 * (ssh2's), which answers the dry run with what the lab's real zypper printed
 * (test/fixtures/zypper/NOTES.md). The review lists what will change, and offers no approval for
 * a preview that lists nothing.
 */
const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/zypper');
const shot = (name: string): string => path.resolve('test-results', name);

let app: E2eApp;
let sshHost: FakeSshHost;
let dryRunOutput = '';
/** The dry run answers once this settles: a test holds it to see the wizard before the result. */
let dryRunGate: Promise<void> = Promise.resolve();
let hostId = 0;

beforeAll(async () => {
  sshHost = await startFakeSshHost((command, channel) => {
    if (/zypper .*install --dry-run/.test(command))
      void dryRunGate.then(() => reply(channel, { stdout: dryRunOutput }));
    else reply(channel, { stdout: '' });
  });
  const { port, keyType: type, fingerprint } = sshHost;

  app = await launchApp();
  fs.mkdirSync(path.resolve('test-results'), { recursive: true });
  const { core } = app;
  const db = core.requireWorkspace().db;
  const host = await core.call('hosts.add', { name: 'suse01', address: '127.0.0.1', sshPort: port });
  hostId = host.id;
  trustHostKey(db, {
    hostId,
    type,
    fingerprint,
    actor: 'test',
    reason: 'test',
  });
  await core.call('credentials.add', {
    name: 'office',
    username: 'admin',
    kind: 'password',
    secret: 'office-pw-51ab',
    scope: ['*'],
  });
  recordAudit(db, hostId, OPENSUSE_LEAP_15, 'zypper', [
    zypperUpdate('acme-tool', '1.0-1.el9', '1.1-1.el9', true),
    zypperUpdate('acme-firmware', '20230210-1.el9', '20240210-1.el9', true),
    zypperUpdate('acme-daemon', '1:2.0-1.el9', '1:2.0-2.el9_3', true),
    zypperUpdate('acme-lib', '2.0-1.el9', '2.1-1.el9', false),
  ]);
  await app.page.setViewportSize({ width: 1400, height: 1000 });
});
afterAll(async () => {
  await app?.close();
  await sshHost?.close();
});

async function reviewSecurityOnly() {
  const { page } = app;
  await page.getByRole('link', { name: 'Patch jobs' }).click();
  await page.getByRole('button', { name: 'New patch job' }).click();
  const wizard = page.getByRole('region', { name: 'New patch job' });
  await wizard.getByLabel('Patch suse01').check();
  await wizard.getByLabel('Security updates only').check();
  await wizard.getByRole('button', { name: 'Review dry run' }).click();
  await wizard.getByText('Dry run: 1 of 1 host').waitFor({ timeout: 30_000 });
  return wizard;
}

describe('patch wizard review on a zypper host', () => {
  it('lists each change the security-only job will make, with both versions, and lets it go on', async () => {
    dryRunOutput = fs.readFileSync(path.join(FIXTURES, 'lab-host.dry-run-security.xml'), 'utf8');
    const wizard = await reviewSecurityOnly();
    const review = wizard.getByRole('article', { name: 'Dry run on suse01' });
    await review.getByText('will change', { exact: true }).waitFor();
    const changes = review.getByRole('table', { name: 'Changes on suse01' });
    await expect.poll(() => changes.locator('tbody tr').count()).toBe(3);
    await changes.getByRole('row', { name: /acme-daemon 1:2\.0-1\.el9 1:2\.0-2\.el9_3 upgrade/ }).waitFor();
    await changes.getByRole('row', { name: /acme-tool 1\.0-1\.el9 1\.1-1\.el9 upgrade/ }).waitFor();
    // Enabled once the wizard has read every host's result.
    await expect
      .poll(() => wizard.getByRole('button', { name: 'Next: schedule and reboot' }).isEnabled())
      .toBe(true);
    await app.page.screenshot({ path: shot('wizard-review-zypper.png'), fullPage: true });
    const jobId = (await app.core.call('jobs.list', {}))[0]!.id;
    await wizard.getByRole('button', { name: 'Discard' }).click();
    await app.page.getByRole('button', { name: 'New patch job' }).waitFor();
    // Nobody approved it: the draft is gone, not left behind as "cancelled".
    await expect.poll(() => getJob(app.core.requireWorkspace().db, jobId)).toBeNull();
  });

  it('offers no approval when the dry run lists no change, and says why', async () => {
    // zypper's answer when the targets are installed already: an empty install summary.
    dryRunOutput = fs.readFileSync(path.join(FIXTURES, 'lab-host.dry-run-installed.xml'), 'utf8');
    const wizard = await reviewSecurityOnly();
    const review = wizard.getByRole('article', { name: 'Dry run on suse01' });
    await review.getByText('failed', { exact: true }).waitFor();
    await review.getByText(/suse01: the dry run lists no change for the 3 updates planned here/).waitFor();
    await expect(review.getByText('will change', { exact: true }).count()).resolves.toBe(0);
    await wizard.getByText('Dry run: 1 of 1 host · 0 will change').waitFor();
    await expect.poll(() => wizard.getByText(/^Planning and running the dry run/).count()).toBe(0);
    await expect(
      wizard.getByRole('button', { name: 'Next: schedule and reboot' }).isDisabled(),
    ).resolves.toBe(true);
    await app.page.screenshot({ path: shot('wizard-review-zypper-empty.png'), fullPage: true });
    await wizard.getByRole('button', { name: 'Discard' }).click();
    await app.page.getByRole('button', { name: 'New patch job' }).waitFor();
    await expect.poll(async () => (await app.core.call('jobs.list', {})).length).toBe(0);
  });
});

describe('patch wizard steps on a zypper host', () => {
  it('shows each host’s dry-run result when its event arrives (nothing polls), then plans again for a new reboot policy and confirms the same plan', async () => {
    const { page, core } = app;
    dryRunOutput = fs.readFileSync(path.join(FIXTURES, 'lab-host.dry-run-security.xml'), 'utf8');
    let release = (): void => undefined;
    dryRunGate = new Promise((resolve) => (release = resolve));
    try {
      await page.getByRole('link', { name: 'Patch jobs' }).click();
      await page.getByRole('button', { name: 'New patch job' }).click();
      const wizard = page.getByRole('region', { name: 'New patch job' });
      await wizard.getByLabel('Patch suse01').check();
      await wizard.getByLabel('Security updates only').check();
      await page.screenshot({ path: shot('wizard-1-select.png'), fullPage: true });
      await wizard.getByRole('button', { name: 'Review dry run' }).click();
      // The wizard has read the draft while the host's dry run is still out…
      await wizard.getByText('Dry run: 0 of 1 host', { exact: true }).waitFor();
      const review = wizard.getByRole('article', { name: 'Dry run on suse01' });
      await review.getByText('dry run…').waitFor();
      await page.screenshot({ path: shot('wizard-2-review-running.png'), fullPage: true });
      // …and only the host's `job.step` event can tell it the result.
      release();
      await wizard.getByText('Dry run: 1 of 1 host · 1 will change').waitFor({ timeout: 10_000 });
      await review.getByText('will change', { exact: true }).waitFor();
      await expect.poll(() => wizard.getByText(/^Planning and running the dry run/).count()).toBe(0);
      await page.screenshot({ path: shot('wizard-2-review.png'), fullPage: true });
      const first = (await core.call('jobs.list', {}))[0]!;

      await wizard.getByRole('button', { name: 'Next: schedule and reboot' }).click();
      await wizard.getByLabel(/Reboot: Never/).check();
      await wizard.getByText(/the dry run runs again with them/).waitFor();
      await wizard.getByLabel('At a time').check();
      await wizard.getByLabel('Start at').waitFor();
      await page.screenshot({ path: shot('wizard-3-schedule.png'), fullPage: true });
      await wizard.getByRole('button', { name: 'Next: confirm' }).click();

      // Planned again with "never", the same dry run: straight to the confirmation.
      const approve = wizard.getByRole('button', { name: 'Approve and schedule' });
      await approve.waitFor({ timeout: 10_000 });
      await expect(approve.isEnabled()).resolves.toBe(true);
      await wizard.getByText('1 host: suse01').waitFor();
      await wizard.getByText('3 package updates').waitFor();
      await page.screenshot({ path: shot('wizard-4-confirm.png'), fullPage: true });
      // The first draft made way for the one planned with "never" (ids may be reused).
      expect(first.rebootPolicy).toBe('if-required');
      const jobs = await core.call('jobs.list', {});
      expect(jobs.map((j) => [j.status, j.rebootPolicy])).toEqual([['draft', 'never']]);

      await wizard.getByRole('button', { name: 'Back' }).click();
      await wizard.getByRole('button', { name: 'Next: confirm' }).waitFor();
      await wizard.getByRole('button', { name: 'Discard' }).click();
      await page.getByRole('button', { name: 'New patch job' }).waitFor();
      await expect.poll(async () => (await core.call('jobs.list', {})).length).toBe(0);
    } finally {
      release();
      dryRunGate = Promise.resolve();
    }
  });

  it('sends the operator back to the review when the dry run planned again says something else', async () => {
    const { page, core } = app;
    dryRunOutput = fs.readFileSync(path.join(FIXTURES, 'lab-host.dry-run-security.xml'), 'utf8');
    const wizard = await reviewSecurityOnly();
    await expect
      .poll(() => wizard.getByRole('button', { name: 'Next: schedule and reboot' }).isEnabled())
      .toBe(true);
    await wizard.getByRole('button', { name: 'Next: schedule and reboot' }).click();
    await wizard.getByLabel(/Reboot: Always/).check();
    // The host changed in between: its next dry run lists nothing.
    dryRunOutput = fs.readFileSync(path.join(FIXTURES, 'lab-host.dry-run-installed.xml'), 'utf8');
    await wizard.getByRole('button', { name: 'Next: confirm' }).click();
    await wizard
      .getByText('The dry run changed since you reviewed it (a host changed in between). Review it again.')
      .waitFor({ timeout: 10_000 });
    await wizard.getByText('Dry run: 1 of 1 host · 0 will change').waitFor();
    await expect(
      wizard.getByRole('button', { name: 'Next: schedule and reboot' }).isDisabled(),
    ).resolves.toBe(true);
    expect((await core.call('jobs.list', {})).map((j) => j.rebootPolicy)).toEqual(['always']);
    await page.screenshot({ path: shot('wizard-2-review-changed.png'), fullPage: true });
    await wizard.getByRole('button', { name: 'Discard' }).click();
    await page.getByRole('button', { name: 'New patch job' }).waitFor();
    await expect.poll(async () => (await core.call('jobs.list', {})).length).toBe(0);
  });
});
