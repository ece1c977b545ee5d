import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobStep, StepPreview, TargetPackage } from '../../src/api/schemas';
import {
  appendJobLog,
  completeAudit,
  getJob,
  insertHost,
  insertJob,
  listAuditLog,
  listJobLog,
  listSteps,
  startAudit,
  updateJob,
  updateStep,
  type FindingInput,
} from '../../src/db';
import { JobOptions } from '../../src/api/schemas';
import { launchApp, type E2eApp } from './harness';

/**
 * The Jobs page and the patch wizard over jobs seeded straight into the real workspace file with
 * the same functions the patch engine uses. Hosts point at a closed loopback port: whatever the
 * page asks the core to run (a dry run, a re-run) really runs and fails fast, on this machine only.
 */
let app: E2eApp;
let closedPort = 0;
const shot = (name: string): string => path.resolve('test-results', name);

const finding = (pkg: string, security: boolean, from: string, to: string): FindingInput => ({
  kind: 'package',
  package: pkg,
  arch: 'all',
  installedVersion: from,
  availableVersion: to,
  repository: security ? 'bookworm-security' : 'bookworm-updates',
  security,
  severity: null,
  vendorSeverity: null,
  advisories: security ? ['DSA-9999-1'] : [],
  held: false,
  rebootRequired: null,
});

const TOOL: TargetPackage = {
  name: 'acme-tool',
  arch: 'all',
  from: '1.0-1',
  to: '1.0-1+deb12u1',
  security: true,
};
const FIRMWARE: TargetPackage = {
  name: 'acme-firmware',
  arch: 'all',
  from: '20230210-1',
  to: '20230210-1+deb12u1',
  security: true,
};
const preview = (targets: TargetPackage[]): StepPreview => ({
  command: `apt-get -s install --only-upgrade ${targets.map((t) => t.name).join(' ')}`,
  upgrades: targets.map((t) => ({ name: t.name, arch: t.arch, from: t.from, to: t.to })),
  newPackages: [],
  removals: [],
  skipped: [],
  ranAt: new Date().toISOString(),
});

const ids = { web01: 0, web02: 0, web03: 0, failedJob: 0, scheduledJob: 0, runningJob: 0 };
let runningSteps: JobStep[] = [];

async function seed(): Promise<void> {
  const db = app.core.requireWorkspace().db;
  const auditResult = (findings: FindingInput[]) => ({
    osId: 'debian',
    osName: 'Debian GNU/Linux',
    osVersion: '12',
    kernel: '6.1.0-18-amd64',
    packageManager: 'apt',
    metadataAgeSeconds: 60,
    rebootRequired: false,
    warnings: [],
    durationMs: 500,
    findings,
  });
  for (const name of ['web01', 'web02', 'web03'] as const) {
    const host = insertHost(db, { name, address: '127.0.0.1', sshPort: closedPort });
    ids[name] = host.id;
    if (name === 'web03') continue; // never audited
    completeAudit(
      db,
      startAudit(db, { hostId: host.id, taskId: null }),
      auditResult([
        finding('acme-tool', true, TOOL.from!, TOOL.to),
        finding('acme-lib', false, '2.0-1', '2.1-1'),
      ]),
    );
  }
  const options = JobOptions.parse({});
  const base = { rebootPolicy: 'never' as const, onFailure: 'continue' as const, concurrency: 16, options };
  const approved = { approvedBy: 'admin', approvedAt: new Date(Date.now() - 600_000).toISOString() };

  // 1. A finished job: web01 patched (versions, undo recipe, verify audit), web02 failed in install.
  ids.failedJob = insertJob(db, {
    ...base,
    name: 'Patch 2 hosts: security updates',
    selection: { mode: 'security' },
    steps: [
      { hostId: ids.web01, packages: [TOOL, FIRMWARE], packageManager: 'apt' },
      { hostId: ids.web02, packages: [TOOL], packageManager: 'apt' },
    ],
  });
  const [ok, bad] = listSteps(db, ids.failedJob);
  // Approved for real, so the audit log holds the digest of exactly this plan.
  updateStep(db, ok!.id, { phase: 'planned', preview: preview([TOOL, FIRMWARE]) });
  updateStep(db, bad!.id, { phase: 'planned', preview: preview([TOOL]) });
  await app.core.call('jobs.approve', { id: ids.failedJob });
  updateStep(db, ok!.id, {
    status: 'succeeded',
    phase: 'done',
    preview: preview([TOOL, FIRMWARE]),
    before: { 'acme-tool': TOOL.from, 'acme-firmware': FIRMWARE.from },
    after: { 'acme-tool': TOOL.to, 'acme-firmware': FIRMWARE.to },
    undoRecipe: `apt-get install --allow-downgrades acme-tool=${TOOL.from} acme-firmware=${FIRMWARE.from}`,
    verifyAuditId: 1,
    startedAt: new Date(Date.now() - 300_000).toISOString(),
    finishedAt: new Date(Date.now() - 240_000).toISOString(),
  });
  updateStep(db, bad!.id, {
    status: 'failed',
    phase: 'install',
    preview: preview([TOOL]),
    before: { 'acme-tool': TOOL.from },
    errorKind: 'command-failed',
    errorMessage:
      'web02: dpkg: error processing package acme-tool (--configure): post-installation script returned 1',
    startedAt: new Date(Date.now() - 300_000).toISOString(),
    finishedAt: new Date(Date.now() - 250_000).toISOString(),
  });
  updateJob(db, ids.failedJob, {
    status: 'failed',
    message: "1 host(s) failed; see each host's error and log.",
    startedAt: new Date(Date.now() - 300_000).toISOString(),
    finishedAt: new Date(Date.now() - 240_000).toISOString(),
  });
  const log = (stepId: number | null, stream: 'stdout' | 'stderr' | 'info' | 'error', text: string) =>
    appendJobLog(db, { jobId: ids.failedJob, stepId, stream, text });
  log(null, 'info', 'Starting Patch 2 hosts: security updates: 2 host(s), reboot never, on failure continue');
  log(ok!.id, 'stdout', 'Unpacking acme-tool (1.0-1+deb12u1) over (1.0-1) ...');
  log(ok!.id, 'stdout', 'Setting up acme-tool (1.0-1+deb12u1) ...');
  log(bad!.id, 'stderr', 'dpkg: error processing package acme-tool (--configure):');
  log(bad!.id, 'error', 'web02: post-installation script returned 1');
  log(null, 'error', "Job failed: 1 host(s) failed; see each host's error and log.");

  // 2. An approved job scheduled in tomorrow's maintenance window: it can still be cancelled.
  ids.scheduledJob = insertJob(db, {
    ...base,
    name: 'Patch web01: all updates',
    selection: { mode: 'all' },
    steps: [{ hostId: ids.web01, packages: [TOOL], packageManager: 'apt' }],
  });
  for (const s of listSteps(db, ids.scheduledJob))
    updateStep(db, s.id, { phase: 'planned', preview: preview([TOOL]) });
  const start = new Date(Date.now() + 24 * 3600_000);
  updateJob(db, ids.scheduledJob, {
    ...approved,
    status: 'scheduled',
    windowStart: start.toISOString(),
    windowEnd: new Date(start.getTime() + 2 * 3600_000).toISOString(),
    scheduledAt: start.toISOString(),
  });

  // 3. A running job whose progress and log the test drives through the core's event bus.
  ids.runningJob = insertJob(db, {
    ...base,
    name: 'Patch 2 hosts: acme-lib',
    selection: { mode: 'packages', packages: ['acme-lib'] },
    steps: [
      { hostId: ids.web01, packages: [TOOL], packageManager: 'apt' },
      { hostId: ids.web02, packages: [TOOL], packageManager: 'apt' },
    ],
  });
  runningSteps = listSteps(db, ids.runningJob);
  updateStep(db, runningSteps[0]!.id, { status: 'running', phase: 'install', preview: preview([TOOL]) });
  updateStep(db, runningSteps[1]!.id, { status: 'queued', phase: 'planned', preview: preview([TOOL]) });
  updateJob(db, ids.runningJob, { ...approved, status: 'running', startedAt: new Date().toISOString() });
  appendJobLog(db, {
    jobId: ids.runningJob,
    stepId: runningSteps[0]!.id,
    stream: 'info',
    text: 'web01: pre-checks passed',
  });
}

beforeAll(async () => {
  // A port that was just free: connections to it are refused at once.
  closedPort = await new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
  app = await launchApp();
  fs.mkdirSync(path.resolve('test-results'), { recursive: true });
  await seed();
  await app.page.setViewportSize({ width: 1400, height: 1000 });
});
afterAll(async () => {
  await app?.close();
});

describe('Jobs page in Chromium', () => {
  it('shows a finished job: per-host outcome, progress, versions, undo recipe and log', async () => {
    const { page } = app;
    await page.getByRole('link', { name: 'Patch jobs' }).click();
    const list = page.getByRole('table', { name: 'Patch jobs' });
    await list.locator(`tr[data-job-id="${ids.failedJob}"]`).waitFor();
    expect(await list.locator('tbody tr').count()).toBe(3);
    await list.getByRole('button', { name: `#${ids.failedJob} Patch 2 hosts: security updates` }).click();

    const detail = page.getByRole('region', { name: `Job ${ids.failedJob}` });
    await detail.getByText("1 host(s) failed; see each host's error and log.", { exact: true }).waitFor();
    await expect(detail.getByText('by admin').isVisible()).resolves.toBe(true);
    await expect(
      detail.getByRole('progressbar', { name: 'Job progress' }).getAttribute('value'),
    ).resolves.toBe('2');

    const hosts = detail.getByRole('list', { name: 'Hosts in this job' });
    const web01 = hosts.getByRole('listitem', { name: 'web01' });
    const web02 = hosts.getByRole('listitem', { name: 'web02' });
    const bar1 = web01.getByRole('progressbar', { name: 'web01 progress' });
    await expect(bar1.getAttribute('aria-valuenow')).resolves.toBe('5');
    await expect(bar1.getAttribute('aria-valuetext')).resolves.toBe('done, verified');
    const bar2 = web02.getByRole('progressbar', { name: 'web02 progress' });
    await expect(bar2.getAttribute('aria-valuenow')).resolves.toBe('1');
    await expect(bar2.getAttribute('aria-valuetext')).resolves.toBe('failed during installing');
    await web02.getByText('post-installation script returned 1').first().waitFor();
    await web01.getByText('Verified by re-audit #1').waitFor();

    // Before/after versions and the undo recipe, shown and never run.
    await web01.getByText(/Versions before → after \(2 packages\)/).click();
    const versions = web01.getByRole('table', { name: 'Versions on web01' });
    await versions.getByRole('row', { name: /acme-tool 1\.0-1 1\.0-1\+deb12u1/ }).waitFor();
    const undo = web01.getByLabel('Undo recipe for web01', { exact: true });
    await expect(undo.textContent()).resolves.toBe(
      'apt-get install --allow-downgrades acme-tool=1.0-1 acme-firmware=20230210-1',
    );
    await expect(web01.getByText('Patchdeck never runs it').isVisible()).resolves.toBe(true);

    // The log: every host, then one host's lines only.
    const log = detail.getByRole('log', { name: 'Log lines' });
    await expect(log.locator('.log-line').count()).resolves.toBe(6);
    await web02.getByRole('button', { name: 'Log' }).click();
    await expect.poll(() => log.locator('.log-line').count()).toBe(2);
    await expect(log.locator('.log-line').first().textContent()).resolves.toContain('dpkg: error processing');
    await detail.getByLabel('Show the log of').selectOption('');
    await expect.poll(() => log.locator('.log-line').count()).toBe(6);

    // Only what the core would accept is offered: re-run the failed host, no resume, no cancel.
    await expect(detail.getByRole('button', { name: 'Re-run failed hosts (1)' }).isVisible()).resolves.toBe(
      true,
    );
    await expect(detail.getByRole('button', { name: 'Resume' }).count()).resolves.toBe(0);
    await expect(detail.getByRole('button', { name: 'Cancel job' }).count()).resolves.toBe(0);
    await page.screenshot({ path: shot('jobs-finished.png'), fullPage: true });
  });

  it('moves a running host’s progress bar and appends log lines as the events arrive', async () => {
    const { page, core } = app;
    const db = core.requireWorkspace().db;
    await page
      .getByRole('table', { name: 'Patch jobs' })
      .getByRole('button', { name: `#${ids.runningJob} Patch 2 hosts: acme-lib` })
      .click();
    const detail = page.getByRole('region', { name: `Job ${ids.runningJob}` });
    const log = detail.getByRole('log', { name: 'Log lines' });
    await log.getByText('web01: pre-checks passed').waitFor();
    const bar = detail.getByRole('progressbar', { name: 'web01 progress' });
    await expect(bar.getAttribute('aria-valuetext')).resolves.toBe('installing');

    // What the engine does on each transition: commit, then emit.
    for (let i = 1; i <= 3; i++) {
      const event = appendJobLog(db, {
        jobId: ids.runningJob,
        stepId: runningSteps[0]!.id,
        stream: 'stdout',
        text: `Setting up acme-tool (1.0-1+deb12u1) ... line ${i}`,
      });
      core.events.emit('job.log', event);
    }
    await log.getByText('line 3').waitFor();
    updateStep(db, runningSteps[0]!.id, { phase: 'verify' });
    core.events.emit('job.step', listSteps(db, ids.runningJob)[0]!);
    await expect.poll(() => bar.getAttribute('aria-valuetext')).toBe('verifying (re-audit)');
    await expect(bar.getAttribute('aria-valuenow')).resolves.toBe('3');
    // A line that arrives twice (event and refetch) is shown once.
    core.events.emit('job.log', listJobLog(db, ids.runningJob).at(-1)!);
    await new Promise((r) => setTimeout(r, 300));
    await expect(log.getByText('line 3').count()).resolves.toBe(1);
    await page.screenshot({ path: shot('jobs-running.png'), fullPage: true });
  });

  it('cancels a scheduled job through the API after an inline confirmation', async () => {
    const { page, core } = app;
    await page
      .getByRole('table', { name: 'Patch jobs' })
      .getByRole('button', { name: `#${ids.scheduledJob} Patch web01: all updates` })
      .click();
    const detail = page.getByRole('region', { name: `Job ${ids.scheduledJob}` });
    await detail.getByText(/^window /).waitFor();
    await detail.getByRole('button', { name: 'Cancel job' }).click();
    await detail.getByRole('button', { name: 'Keep it' }).click();
    expect(getJob(core.requireWorkspace().db, ids.scheduledJob)!.status).toBe('scheduled');
    await detail.getByRole('button', { name: 'Cancel job' }).click();
    await detail.getByRole('button', { name: `Yes, cancel job ${ids.scheduledJob}` }).click();
    await detail.locator('.detail-head').getByText('cancelled').waitFor();
    const db = core.requireWorkspace().db;
    expect(getJob(db, ids.scheduledJob)!.status).toBe('cancelled');
    expect(listSteps(db, ids.scheduledJob).map((s) => s.status)).toEqual(['cancelled']);
    expect(
      listAuditLog(db, { entityType: 'patch_job', limit: 100 }).some(
        (e) => e.action === 'job.cancel' && e.entityId === String(ids.scheduledJob),
      ),
    ).toBe(true);
    await expect(detail.getByRole('button', { name: 'Cancel job' }).count()).resolves.toBe(0);
  });

  it('re-runs the failed host through the API; the page shows what the core did, live', async () => {
    const { page, core } = app;
    const db = core.requireWorkspace().db;
    await page
      .getByRole('table', { name: 'Patch jobs' })
      .getByRole('button', { name: `#${ids.failedJob} Patch 2 hosts: security updates` })
      .click();
    const detail = page.getByRole('region', { name: `Job ${ids.failedJob}` });
    const before = listJobLog(db, ids.failedJob).length;
    await detail.getByRole('button', { name: 'Re-run failed hosts (1)' }).click();
    // jobs.rerunFailed re-audits web02 first (a closed loopback port: it fails at once) and says so.
    await expect
      .poll(() => listJobLog(db, ids.failedJob).some((e) => /^web02: re-audit failed/.test(e.text)))
      .toBe(true);
    await expect.poll(() => getJob(db, ids.failedJob)!.status, { timeout: 30_000 }).not.toBe('running');
    const job = getJob(db, ids.failedJob)!;
    const events = listJobLog(db, ids.failedJob);
    expect(events.length).toBeGreaterThan(before);
    // The patched host keeps its outcome whatever happens to the failed one.
    expect(listSteps(db, ids.failedJob)[0]!.status).toBe('succeeded');
    // The page catches up with the core: every new log line and the job's final message.
    const log = detail.getByRole('log', { name: 'Log lines' });
    await log.getByText(/web02: re-audit failed/).waitFor();
    await expect.poll(() => log.locator('.log-line').count()).toBe(events.length);
    await detail.getByText(job.message!, { exact: true }).waitFor();
    await page.screenshot({ path: shot('jobs-rerun.png'), fullPage: true });
  });

  // Found by this page: the re-run used to be refused by the approval digest (which covers every
  // host) because runJob could not tell it was resuming; launch now says so explicitly.
  it('re-running the failed host really retries it (not refused by the approval digest)', () => {
    const db = app.core.requireWorkspace().db;
    const job = getJob(db, ids.failedJob)!;
    expect(job.message ?? '').not.toMatch(/plan differs from what was approved/);
    expect(
      listAuditLog(db, { entityType: 'patch_job', limit: 100 }).some(
        (e) => e.action === 'job.resume' && e.entityId === String(ids.failedJob),
      ),
    ).toBe(true);
    expect(listSteps(db, ids.failedJob).map((s) => s.status)).toEqual(['succeeded', 'failed']);
  });

  it('wizard: selects hosts and security updates, runs the dry run, shows each host’s result, and discards the draft without leaving a job behind', async () => {
    const { page, core } = app;
    const db = core.requireWorkspace().db;
    await page.getByRole('button', { name: 'New patch job' }).click();
    const wizard = page.getByRole('region', { name: 'New patch job' });
    const hosts = wizard.getByRole('table', { name: 'Hosts to patch' });
    await hosts.getByText('never audited — audit it first').waitFor();
    await expect(wizard.getByRole('button', { name: 'Review dry run' }).isDisabled()).resolves.toBe(true);
    await wizard.getByLabel('Patch web01').check();
    await wizard.getByLabel('Security updates only').check();
    await wizard.getByText('1 host selected · last audits found 2 updates, 1 security').waitFor();

    // Chosen packages lists what is pending on the selected hosts.
    await wizard.getByLabel('Chosen packages').check();
    const packages = wizard.getByRole('list', { name: 'Packages to patch' });
    await packages.getByText('acme-lib').waitFor();
    expect(await packages.getByRole('listitem').count()).toBe(2);
    await wizard.getByLabel('Security updates only').check();
    await page.screenshot({ path: shot('jobs-wizard-select.png'), fullPage: true });

    const jobsBefore = (await core.call('jobs.list', {})).length;
    await wizard.getByRole('button', { name: 'Review dry run' }).click();
    const review = wizard.getByRole('article', { name: 'Dry run on web01' });
    await review.getByText('failed', { exact: true }).waitFor({ timeout: 30_000 });
    const jobs = await core.call('jobs.list', {});
    expect(jobs.length).toBe(jobsBefore + 1);
    const draft = jobs[0]!;
    expect(draft.selection).toEqual({ mode: 'security' });
    expect(draft.status).toBe('draft');
    const [step] = listSteps(db, draft.id);
    expect(step!.hostName).toBe('web01');
    expect(step!.packages.map((p) => p.name)).toEqual(['acme-tool']);
    await review.getByText(step!.errorMessage!).waitFor();
    await wizard.getByText('Dry run: 1 of 1 host · 0 will change').waitFor();
    await expect(
      wizard.getByRole('button', { name: 'Next: schedule and reboot' }).isDisabled(),
    ).resolves.toBe(true);
    await page.screenshot({ path: shot('jobs-wizard-review-failed.png'), fullPage: true });

    await wizard.getByRole('button', { name: 'Discard' }).click();
    await page.getByRole('button', { name: 'New patch job' }).waitFor();
    // Nobody approved the draft: discarding deletes it, so no "cancelled" job is left in the history.
    await expect.poll(() => getJob(db, draft.id)).toBeNull();
    expect((await core.call('jobs.list', {})).length).toBe(jobsBefore);
  });

  it('keeps focus visible and reads well in the dark theme', async () => {
    const { page, core } = app;
    await core.call('settings.set', { patch: { theme: 'dark' } });
    await page.reload();
    await page.getByRole('button', { name: `#${ids.failedJob} Patch 2 hosts: security updates` }).click();
    const detail = page.getByRole('region', { name: `Job ${ids.failedJob}` });
    await detail.getByRole('list', { name: 'Hosts in this job' }).waitFor();
    // Reached by keyboard, as :focus-visible means.
    await detail.getByRole('button', { name: 'Log' }).first().focus();
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Tab');
    await expect(page.evaluate(() => document.activeElement?.textContent)).resolves.toBe('Log');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    expect(outline).not.toBe('none');
    await page.screenshot({ path: shot('jobs-dark.png'), fullPage: true });
  });
});
