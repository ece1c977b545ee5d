import { describe, expect, it } from 'vitest';
import { JobOptions } from '../../api/schemas';
import { getJob, getStep, insertJob, listSteps, updateStep } from '../patch-jobs';
import { createMemoryWorkspace, migrate, schemaVersion } from '../workspace';

describe('migration 006 (reboot pending)', () => {
  it('keeps old steps as they were, and reads "installed, reboot pending" as its own status everywhere', () => {
    const db = createMemoryWorkspace(5);
    const host = { id: 1 };
    db.prepare(`INSERT INTO hosts (id, name, created_at, updated_at) VALUES (1, 'web01', 't', 't')`).run();
    const jobId = insertJob(db, {
      name: 'security updates',
      selection: { mode: 'security' },
      rebootPolicy: 'never',
      onFailure: 'continue',
      concurrency: 1,
      options: JobOptions.parse({}),
      steps: [{ hostId: host.id, packageManager: 'apt', packages: [] }],
    });
    const stepId = listSteps(db, jobId)[0]!.id;
    db.prepare(`UPDATE job_steps SET status = 'succeeded' WHERE id = ?`).run(stepId);
    migrate(db, 6);
    expect(schemaVersion(db)).toBeGreaterThanOrEqual(6);
    expect(getStep(db, stepId)!.status).toBe('succeeded');

    updateStep(db, stepId, { status: 'reboot-pending', phase: 'done' });
    expect(getStep(db, stepId)!.status).toBe('reboot-pending');
    expect(getJob(db, jobId)!.counts).toEqual({ 'reboot-pending': 1 });
    // A later status (queued for Reboot now, then succeeded) clears it.
    updateStep(db, stepId, { status: 'queued' });
    expect(getStep(db, stepId)!.status).toBe('queued');
    updateStep(db, stepId, { status: 'succeeded' });
    expect(getJob(db, jobId)!.counts).toEqual({ succeeded: 1 });
    expect(() => db.prepare('UPDATE job_steps SET reboot_pending = 2 WHERE id = ?').run(stepId)).toThrow(
      /CHECK/,
    );
  });
});
