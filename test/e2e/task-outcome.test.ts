import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobOptions, type StepPreview, type TargetPackage } from '../../src/api/schemas';
import { completeAudit, insertJob, listSteps, startAudit, updateStep } from '../../src/db';
import { launchApp, type E2eApp } from './harness';

/**
 * Issue 10, bug 1, in Chromium: an audit in which every host failed, and a patch job in which 2 of
 * 3 hosts failed, must read as failures in the status bar, the Hosts banner and the Jobs list.
 * The hosts point at a loopback port that was just closed: every connection is really refused.
 */
let app: E2eApp;
let closedPort = 0;
const shot = (name: string): string => path.resolve('test-results', name);

const TOOL: TargetPackage = { name: 'acme-tool', arch: 'all', from: '1.0-1', to: '1.0-2', security: true };
const preview: StepPreview = {
  command: 'apt-get -s install --only-upgrade acme-tool',
  upgrades: [{ name: 'acme-tool', arch: 'all', from: '1.0-1', to: '1.0-2' }],
  newPackages: [],
  removals: [],
  skipped: [],
  ranAt: new Date().toISOString(),
};

beforeAll(async () => {
  closedPort = await new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
  app = await launchApp();
  fs.mkdirSync(path.resolve('test-results'), { recursive: true });
  await app.core.call('credentials.add', { name: 'agent', username: 'root', kind: 'agent' });
  for (const name of ['down01', 'down02', 'down03'])
    await app.core.call('hosts.add', { name, address: '127.0.0.1', sshPort: closedPort });
}, 60_000);
afterAll(async () => {
  await app?.close();
});

describe('failure looks like failure', () => {
  it('an audit of 3 unreachable hosts ends as failed in the status bar and the Hosts banner', async () => {
    const { page } = app;
    await page.getByRole('link', { name: 'Hosts' }).click();
    await page.getByRole('button', { name: /^Audit all/ }).click();
    const last = page.getByTestId('last-task');
    await expect
      .poll(() => last.textContent(), { timeout: 20_000 })
      .toContain('0 of 3 hosts succeeded, 3 failed');
    const text = (await last.textContent()) ?? '';
    expect(text).toBe('Last: Audit 3 hosts — failed: 0 of 3 hosts succeeded, 3 failed');
    expect(text).not.toMatch(/— succeeded/);
    expect(await last.locator('[data-outcome]').getAttribute('data-outcome')).toBe('failed');
    // In the failure colour, not the muted one.
    const colour = await last.locator('.task-outcome').evaluate((el) => getComputedStyle(el).color);
    const danger = await page.evaluate(() =>
      getComputedStyle(document.documentElement).getPropertyValue('--danger').trim(),
    );
    expect(colour).toBe(
      await page.evaluate((c) => {
        const probe = document.createElement('span');
        probe.style.color = c;
        document.body.append(probe);
        const value = getComputedStyle(probe).color;
        probe.remove();
        return value;
      }, danger),
    );
    const notice = page.getByTestId('hosts-notice');
    await expect
      .poll(() => notice.textContent())
      .toBe('Audit 3 hosts — failed: 0 of 3 hosts succeeded, 3 failed. See the Audit column.');
    expect(await notice.getAttribute('class')).toContain('error');
    await page.screenshot({ path: shot('task-outcome-audit-failed.png') });
  });

  it('a patch job with 2 of 3 hosts failed reads as partly failed in the status bar and the Jobs list', async () => {
    const { page, core } = app;
    const db = core.requireWorkspace().db;
    const hosts = await core.call('hosts.list', {});
    for (const host of hosts)
      completeAudit(db, startAudit(db, { hostId: host.id, taskId: null }), {
        osId: 'debian',
        osName: 'Debian GNU/Linux',
        osVersion: '12',
        kernel: '6.1.0',
        packageManager: 'apt',
        metadataAgeSeconds: 60,
        rebootRequired: false,
        warnings: [],
        durationMs: 1,
        findings: [
          {
            kind: 'package',
            package: TOOL.name,
            arch: TOOL.arch,
            installedVersion: TOOL.from!,
            availableVersion: TOOL.to,
            repository: 'bookworm-security',
            security: true,
            severity: null,
            vendorSeverity: null,
            advisories: [],
            held: false,
            rebootRequired: null,
          },
        ],
      });
    const jobId = insertJob(db, {
      name: 'Security updates',
      selection: { mode: 'security' },
      rebootPolicy: 'never',
      onFailure: 'continue',
      concurrency: 4,
      options: JobOptions.parse({}),
      steps: hosts.map((h) => ({ hostId: h.id, packages: [TOOL], packageManager: 'apt' })),
    });
    const steps = listSteps(db, jobId);
    for (const s of steps) updateStep(db, s.id, { phase: 'planned', preview });
    // One host is already patched (the state a re-run of failed hosts starts from).
    updateStep(db, steps[0]!.id, { status: 'succeeded', phase: 'done' });
    await core.call('jobs.approve', { id: jobId });
    await core.call('jobs.start', { id: jobId });

    const last = page.getByTestId('last-task');
    await expect
      .poll(() => last.textContent(), { timeout: 20_000 })
      .toBe(`Last: Patch job #${jobId}: Security updates — partly failed: 1 of 3 hosts succeeded, 2 failed`);
    expect(await last.locator('[data-outcome]').getAttribute('data-outcome')).toBe('partly-failed');

    await page.getByRole('link', { name: 'Jobs' }).click();
    const row = page.locator(`[data-job-id="${jobId}"]`);
    await expect.poll(() => row.locator('[data-outcome]').textContent()).toBe('partly failed');
    expect(await row.textContent()).toContain('1 of 3 hosts succeeded, 2 failed');
    expect(await row.textContent()).not.toContain('succeeded, 0 failed');
    // The status bar's list of recent tasks keeps the audit's failure too.
    await page.getByText('Recent tasks').click();
    const recent = page.getByRole('list', { name: 'Recent tasks' });
    expect(await recent.textContent()).toContain('Audit 3 hosts — failed: 0 of 3 hosts succeeded, 3 failed');
    await page.screenshot({ path: shot('task-outcome-job-partly-failed.png') });
    // The theme follows the system by default: the failure colour holds in the dark theme too.
    await page.emulateMedia({ colorScheme: 'dark' });
    await expect
      .poll(() => page.evaluate(() => document.documentElement.dataset.theme ?? 'light'))
      .toBe('dark');
    await page.screenshot({ path: shot('task-outcome-job-partly-failed-dark.png') });
  });
});
