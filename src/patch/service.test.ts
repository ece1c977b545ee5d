import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Core } from '../core';
import {
  appendJobLog,
  getJob,
  getTask,
  insertHost,
  listSteps,
  updateJob,
  updateStep,
  writeSettings,
} from '../db';
import { kbFinding, recordAudit, WINDOWS_11 } from '../db/testing/audits';
import { ACME_SECURITY_UPDATE, insertTestJob } from '../db/testing/jobs';
import { createNodePlatform } from '../platform';
import type { TaskRunner } from '../tasks';
import { continueJob, jobDetail, planJob, startJob, type PatchService } from './service';
import { insertApprovedJob, memoryPatchService } from './testing/jobs';

let dir: string;
let core: Core;
let ws: string;
beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-resume-'));
  ws = path.join(dir, 'ws.sqlite');
  core = new Core({
    platform: createNodePlatform({ configDir: path.join(dir, 'config'), useKeychain: false }),
    carrier: 'cli',
  });
  await core.openWorkspace(ws, { create: 'always' });
});
afterEach(async () => {
  await core.closeWorkspace();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('resume of a job stopped after its last host finished', () => {
  it('settles the job from its steps instead of refusing and leaving it interrupted', async () => {
    const db = core.requireWorkspace().db;
    const hosts = ['web01', 'web02'].map((name) => insertHost(db, { name, address: '127.0.0.1' }));
    const jobId = insertTestJob(
      db,
      hosts.map((h) => h.id),
      { concurrency: 2, packages: [ACME_SECURITY_UPDATE] },
    );
    // What a run leaves when the process dies right after its last step was committed as done.
    updateJob(db, jobId, { status: 'running', approvedBy: 'admin', approvedAt: '2026-01-01T00:00:00Z' });
    for (const s of listSteps(db, jobId)) updateStep(db, s.id, { status: 'succeeded', phase: 'done' });
    await core.closeWorkspace();

    await core.openWorkspace(ws); // the next open records the crash
    expect((await core.call('jobs.get', { id: jobId })).job.status).toBe('interrupted');
    const resumed = await core.call('jobs.resume', { id: jobId });
    expect(resumed.status).toBe('succeeded');
    expect(resumed.message).toMatch(/every host had finished before Patchdeck stopped/);
    expect((await core.call('jobs.list', {})).filter((j) => j.status === 'interrupted')).toEqual([]);
  });
});

let db: Database;
let tasks: TaskRunner;
let svc: PatchService;
/** Gives each test of the calling describe a fresh patch service over an in-memory workspace. */
function withMemoryService(): void {
  beforeEach(() => {
    ({ db, tasks, svc } = memoryPatchService());
  });
  afterEach(async () => {
    await tasks.shutdown();
    db.close();
  });
}

describe('the doors jobs.plan and jobs.get go through', () => {
  // No host here has an audit, so planning settles every step at once and connects to nothing.
  withMemoryService();

  it("fills what a plan leaves out: the workspace's reboot policy, 'continue', 16 hosts at a time", () => {
    writeSettings(db, { rebootPolicy: 'always' });
    const host = insertHost(db, { name: 'web01', address: '127.0.0.1' });
    const planned = planJob(svc, { hostIds: [host.id], selection: { mode: 'security' } });
    expect(planned.hosts).toBe(1);
    expect(getJob(db, planned.jobId)).toMatchObject({
      rebootPolicy: 'always',
      onFailure: 'continue',
      concurrency: 16,
    });
    writeSettings(db, { rebootPolicy: 'never' });
    const defaulted = planJob(svc, { hostIds: [host.id], selection: { mode: 'security' } });
    expect(getJob(db, defaulted.jobId)?.rebootPolicy).toBe('never');
    const chosen = planJob(svc, {
      hostIds: [host.id],
      selection: { mode: 'security' },
      rebootPolicy: 'if-required',
      onFailure: 'stop',
      concurrency: 3,
    });
    expect(getJob(db, chosen.jobId)).toMatchObject({
      rebootPolicy: 'if-required',
      onFailure: 'stop',
      concurrency: 3,
    });
  });

  it('names the plan of a job of Windows PCs only a plan, not a dry run (Windows Update has none)', async () => {
    const win = insertHost(db, { name: 'win1', address: '127.0.0.1' });
    recordAudit(db, win.id, WINDOWS_11, 'windows-update', [
      kbFinding('KB5034441', { updateId: '12345678-1234-1234-1234-123456789abc', revision: 1 }),
    ]);
    const planned = planJob(svc, { hostIds: [win.id], selection: { mode: 'all' } });
    expect(getTask(db, planned.taskId)?.title).toBe(`Plan for job ${planned.jobId}`);
    const linux = insertHost(db, { name: 'web01', address: '127.0.0.1' });
    recordAudit(db, linux.id, { osId: 'debian', osName: 'Debian', osVersion: '12' }, 'apt', [
      {
        kind: 'package',
        package: 'acme-tool',
        arch: 'all',
        installedVersion: '1.0-1',
        availableVersion: '1.0-1+deb12u1',
        repository: 'Debian-Security',
        security: true,
        severity: null,
        vendorSeverity: null,
        advisories: [],
        held: false,
        rebootRequired: null,
      },
    ]);
    const mixed = planJob(svc, { hostIds: [win.id, linux.id], selection: { mode: 'all' } });
    expect(getTask(db, mixed.taskId)?.title).toBe(`Dry run for job ${mixed.jobId}`);
  });

  it('answers a job with its steps and a page of its log, and names a job that does not exist', () => {
    const host = insertHost(db, { name: 'web01', address: '127.0.0.1' });
    const jobId = insertTestJob(db, [host.id]);
    const [step] = listSteps(db, jobId);
    const lines = ['one', 'two', 'three'].map((text) =>
      appendJobLog(db, { jobId, stepId: step!.id, stream: 'info', text }),
    );
    const all = jobDetail(db, jobId);
    expect(all.job.id).toBe(jobId);
    expect(all.steps.map((s) => s.hostId)).toEqual([host.id]);
    expect(all.log.map((e) => e.text)).toEqual(['one', 'two', 'three']);
    const page = jobDetail(db, jobId, { afterId: lines[0]!.id, limit: 1 });
    expect(page.log.map((e) => e.text)).toEqual(['two']);
    expect(() => jobDetail(db, jobId + 1)).toThrow(
      expect.objectContaining({ code: 'not-found', message: `Job ${jobId + 1} does not exist.` }),
    );
  });
});

describe('a run that breaks off', () => {
  // The hosts have no credential: each step stops at its connection, and no secret is read.
  withMemoryService();

  /** An approved two-host job whose steps carry an update and its approved dry run. */
  const approvedJob = (): number => insertApprovedJob(db, 2, true);

  const settle = async (id: number) => {
    await tasks.wait(getJob(db, id)!.taskId!);
    return getJob(db, id)!;
  };
  const states = (id: number) => listSteps(db, id).map((s) => [s.status, s.errorKind]);

  it('leaves the job interrupted with the reason, its hosts resumable, and Resume runs them', async () => {
    const id = approvedJob();
    // The workspace refuses to record the first host's end (what a full disk does to that write).
    db.exec(
      `CREATE TEMP TRIGGER no_end BEFORE UPDATE OF status ON job_steps WHEN NEW.status = 'failed' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END`,
    );
    startJob(svc, id, {});
    const job = await settle(id);
    expect(job.status).toBe('interrupted');
    expect(job.message).toBe(
      'The run stopped: disk I/O error. Resume re-audits the unfinished hosts and finishes what is still missing.',
    );
    expect(job.finishedAt).not.toBeNull();
    // The host that was running is interrupted in its phase; the one not reached stays queued.
    expect(states(id)).toEqual([
      ['interrupted', 'interrupted'],
      ['queued', null],
    ]);
    expect(listSteps(db, id)[0]!.errorMessage).toBe('The run stopped while this host was in phase precheck.');
    expect(jobDetail(db, id).log.map((e) => [e.stream, e.text])).toContainEqual(['error', job.message]);

    db.exec('DROP TRIGGER no_end');
    expect((await continueJob(svc, id, 'resume')).status).toBe('running');
    const resumed = await settle(id);
    expect(states(id)).toEqual([
      ['failed', 'no-credential'],
      ['failed', 'no-credential'],
    ]);
    expect(resumed.status).toBe('failed');
    expect(resumed.message).toBe("2 host(s) failed; see each host's error and log.");
  });
});
