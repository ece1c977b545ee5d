/**
 * The findings' refresh after a job, through the real audit service and task runner on a real
 * in-memory workspace: a refresh that fails (here the host has no credential, so its audit stops
 * before connecting) is written to the job's log and leaves every verified step as it was.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getJob, listAudits, listJobLog, listSteps, updateJob, updateStep } from '../db';
import { refreshFindings, stepsToRefresh } from './refresh';
import { insertApprovedJob, memoryPatchService, type MemoryPatchService } from './testing/jobs';

let m: MemoryPatchService;
beforeEach(() => {
  m = memoryPatchService();
});
afterEach(async () => {
  await m.tasks.shutdown();
  m.db.close();
});

describe('refreshFindings', () => {
  it('a refresh audit that fails is logged; the verified step stays succeeded, and only changed hosts are audited', async () => {
    const jobId = insertApprovedJob(m.db, 2, true);
    const [changed, untouched] = listSteps(m.db, jobId);
    updateStep(m.db, changed!.id, {
      status: 'succeeded',
      phase: 'verify',
      before: { 'acme-tool': '1.0-1' },
      after: { 'acme-tool': '1.0-1+deb12u1' },
    });
    // Failed in its pre-check: nothing changed on that host, nothing to refresh.
    updateStep(m.db, untouched!.id, { status: 'failed', errorKind: 'disk-full', errorMessage: 'full' });
    updateJob(m.db, jobId, { status: 'failed', finishedAt: new Date().toISOString() });
    expect(stepsToRefresh(m.svc.deps(), jobId).map((s) => s.id)).toEqual([changed!.id]);

    const taskId = await refreshFindings(
      m.svc.deps(),
      m.tasks,
      getJob(m.db, jobId)!,
      new AbortController().signal,
    );
    expect(taskId).not.toBeNull();
    const audits = listAudits(m.db, changed!.hostId);
    expect(audits).toHaveLength(1);
    expect(audits[0]!.taskId).toBe(taskId);
    expect(audits[0]!.status).toBe('failed');
    expect(listAudits(m.db, untouched!.hostId)).toHaveLength(0);

    const after = listSteps(m.db, jobId).find((s) => s.id === changed!.id)!;
    expect(after.status).toBe('succeeded');
    expect(after.verifyAuditId).toBeNull();
    expect(getJob(m.db, jobId)!.status).toBe('failed');
    const log = listJobLog(m.db, jobId).map((e) => `${e.stream}: ${e.text}`);
    expect(log.some((l) => /^info: Refreshing the findings of 1 host\(s\) with a full audit/.test(l))).toBe(
      true,
    );
    expect(
      log.some((l) =>
        /^error: web01: the audit refreshing its findings failed.*its step stays succeeded \(verified by installed versions\)/.test(
          l,
        ),
      ),
    ).toBe(true);
    expect(log.at(-1)).toBe('error: Findings refreshed on 0 of 1 host(s).');
  });

  it('nothing changed on any host: no audit is started', async () => {
    const jobId = insertApprovedJob(m.db, 1, true);
    expect(
      await refreshFindings(m.svc.deps(), m.tasks, getJob(m.db, jobId)!, new AbortController().signal),
    ).toBeNull();
    expect(m.tasks.list()).toHaveLength(0);
  });
});
