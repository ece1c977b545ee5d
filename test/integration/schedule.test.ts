import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execOnHost, labStatus, labUp, resetHost, type LabHost, type LabInventory } from '../lab';
import { describeAsRoot } from '../lab/testkit';
import { Core } from '../../src/core';
import { createNodePlatform } from '../../src/platform';
import { listAuditLog } from '../../src/db';
import type { JobStep, PatchJob } from '../../src/api/schemas';
import { assertLabRoute, enrolLab, waitForTask } from './support';

/**
 * Scheduling and cancelling on real lab hosts, with Patchdeck "closed" and "reopened" the way the
 * app is: a Core over the same workspace file and the same key store is dropped and created again.
 * A window missed while closed must be reported and never run late; a window still ahead survives
 * the restart and starts on time; a cancel lets the running install finish and skips the rest.
 */
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-sched-'));
const wsPath = path.join(dir, 'ws.sqlite');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function openCore(): Promise<Core> {
  const core = new Core({
    platform: createNodePlatform({ configDir: path.join(dir, 'config'), useKeychain: false }),
    carrier: 'test',
  });
  await core.openWorkspace(wsPath, { create: 'if-missing' });
  return core;
}

/** Installed versions on the host, from dpkg itself. */
async function installed(host: LabHost, names: string[]): Promise<Record<string, string>> {
  const out = await execOnHost(host.name, ['dpkg-query', '-W', '-f=${Package} ${Version}\\n', ...names]);
  return Object.fromEntries(
    out.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' ') as [string, string]),
  );
}

async function waitForJob(core: Core, id: number, done: (job: PatchJob) => boolean, ms = 60_000) {
  const until = Date.now() + ms;
  for (;;) {
    const detail = await core.call('jobs.get', { id });
    if (done(detail.job)) return detail;
    if (Date.now() > until) throw new Error(`job ${id} still ${detail.job.status} after ${ms} ms`);
    await sleep(200);
  }
}

const finished = (j: PatchJob) => ['succeeded', 'failed', 'cancelled', 'interrupted'].includes(j.status);

describeAsRoot('scheduled and cancelled patch jobs on lab hosts', () => {
  let lab: LabInventory;
  let core: Core | null = null;
  let ids: Map<string, number>;
  const byProfile = (profile: string): LabHost[] => lab.hosts.filter((h) => h.profile === profile);

  async function planApproved(hosts: LabHost[], extra: Record<string, unknown> = {}): Promise<number> {
    const hostIds = hosts.map((h) => ids.get(h.name)!);
    const audit = await core!.call('audits.start', { hostIds });
    await waitForTask(core!, audit.taskId);
    const { jobId, taskId } = await core!.call('jobs.plan', {
      hostIds,
      selection: { mode: 'security' },
      rebootPolicy: 'never',
      ...extra,
    });
    await waitForTask(core!, taskId);
    await core!.call('jobs.approve', { id: jobId });
    return jobId;
  }

  beforeAll(async () => {
    lab = await labUp({ hosts: 10, profile: 'security' });
    assertLabRoute(lab);
    for (const h of lab.hosts) await resetHost(h.name);
    lab = labStatus(); // the hosts' own keys after the resets: enrolLab checks each against them
    core = await openCore();
    ids = await enrolLab(core, lab);
  });
  afterAll(async () => {
    await core?.closeWorkspace();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a maintenance window missed while Patchdeck was closed is reported and not run late', async () => {
    const host = byProfile('security')[0]!;
    const before = await installed(host, ['acme-tool', 'acme-firmware']);
    const jobId = await planApproved([host]);
    // Room for scheduling and closing on a loaded machine before the window opens.
    const start = new Date(Date.now() + 5000);
    const end = new Date(start.getTime() + 1500);
    const scheduled = await core!.call('jobs.start', {
      id: jobId,
      window: { start: start.toISOString(), end: end.toISOString() },
    });
    expect(scheduled.status).toBe('scheduled');
    // Quit before the window opens; come back after it closed.
    await core!.closeWorkspace();
    core = null;
    expect(Date.now()).toBeLessThan(start.getTime());
    await sleep(end.getTime() - Date.now() + 500);
    core = await openCore();
    const detail = await core.call('jobs.get', { id: jobId });
    expect(detail.job.status).toBe('failed');
    expect(detail.job.message).toMatch(/^Missed its maintenance window .* it was not run late/);
    expect(detail.steps.map((s) => [s.status, s.errorKind])).toEqual([['skipped', 'missed-window']]);
    expect(detail.job.startedAt).toBeNull();
    const log = listAuditLog(core.requireWorkspace().db, { entityType: 'patch_job' });
    expect(log.some((e) => e.action === 'job.missed' && e.entityId === String(jobId))).toBe(true);
    // Nothing ran on the host.
    expect(await installed(host, ['acme-tool', 'acme-firmware'])).toEqual(before);
    expect(before['acme-tool']).toBe(host.pending.find((p) => p.name === 'acme-tool')!.installed);
  });

  it('a window still ahead survives a restart and the job starts only once it opens', async () => {
    const host = byProfile('security')[1]!;
    const jobId = await planApproved([host]);
    const start = new Date(Date.now() + 4000);
    await core!.call('jobs.start', {
      id: jobId,
      window: { start: start.toISOString(), end: new Date(start.getTime() + 3600_000).toISOString() },
    });
    await core!.closeWorkspace();
    core = await openCore();
    expect((await core.call('jobs.get', { id: jobId })).job.status).toBe('scheduled');
    const detail = await waitForJob(core, jobId, finished);
    expect(detail.job.status, detail.steps[0]?.errorMessage ?? '').toBe('succeeded');
    expect(Date.parse(detail.job.startedAt!)).toBeGreaterThanOrEqual(start.getTime());
    const targets = host.pending.filter((p) => p.security && !p.held);
    const now = await installed(
      host,
      targets.map((p) => p.name),
    );
    for (const p of targets) expect(now[p.name]).toBe(p.available);
  });

  it('cancel lets the running install finish cleanly and skips the hosts not started', async () => {
    const hosts = byProfile('security').slice(2, 5);
    const jobId = await planApproved(hosts, { concurrency: 1 });
    let cancelled: Promise<unknown> | null = null;
    const off = core!.events.subscribe((event, payload) => {
      const step = payload as JobStep;
      if (event === 'job.step' && !cancelled && step.phase === 'install' && step.status === 'running')
        cancelled = core!.call('jobs.cancel', { id: jobId });
    });
    try {
      const started = await core!.call('jobs.start', { id: jobId });
      await waitForTask(core!, started.taskId!);
    } finally {
      off();
    }
    expect(cancelled).not.toBeNull();
    await cancelled;
    const detail = await core!.call('jobs.get', { id: jobId });
    expect(detail.job.status).toBe('cancelled');
    const [first, ...rest] = detail.steps;
    // The install that was running finished: dpkg has nothing half-done and the packages are new.
    expect(first!.status).toBe('cancelled');
    expect(first!.errorMessage).toMatch(/after the install finished/);
    const audit = await execOnHost(hosts[0]!.name, ['dpkg', '--audit']);
    expect(audit.stdout.trim()).toBe('');
    for (const p of hosts[0]!.pending.filter((x) => x.security && !x.held))
      expect((await installed(hosts[0]!, [p.name]))[p.name]).toBe(p.available);
    // The others never started.
    for (const s of rest)
      expect([s.status, s.errorKind, s.startedAt]).toEqual(['cancelled', 'cancelled', null]);
    for (const h of hosts.slice(1))
      for (const p of h.pending.filter((x) => x.security))
        expect((await installed(h, [p.name]))[p.name]).toBe(p.installed);
    const log = listAuditLog(core!.requireWorkspace().db, { entityType: 'patch_job' });
    expect(log.some((e) => e.action === 'job.cancel' && e.entityId === String(jobId))).toBe(true);
  });
});
