import { describe, expect, it } from 'vitest';
import { createMemoryWorkspace, migrate, schemaVersion } from '../workspace';

describe('migration 005 (task outcome)', () => {
  it('gives finished tasks the outcome their status said, leaves running ones open, and checks outcomes', () => {
    const db = createMemoryWorkspace(4);
    const task = db.prepare(
      `INSERT INTO tasks (id, kind, title, status, created_at) VALUES (?, 'audit', ?, ?, 't')`,
    );
    task.run(1, 'old success', 'succeeded');
    task.run(2, 'old failure', 'failed');
    task.run(3, 'old cancel', 'cancelled');
    task.run(4, 'crash', 'interrupted');
    task.run(5, 'still going', 'running');
    migrate(db, 5);
    expect(schemaVersion(db)).toBe(5);
    expect(db.prepare('SELECT id, status, outcome, summary FROM tasks ORDER BY id').all()).toEqual([
      { id: 1, status: 'succeeded', outcome: 'succeeded', summary: null },
      { id: 2, status: 'failed', outcome: 'failed', summary: null },
      { id: 3, status: 'cancelled', outcome: 'cancelled', summary: null },
      { id: 4, status: 'interrupted', outcome: 'interrupted', summary: null },
      { id: 5, status: 'running', outcome: null, summary: null },
    ]);
    db.prepare(
      `UPDATE tasks SET outcome = 'partly-failed', summary = '1 of 2 hosts succeeded, 1 failed' WHERE id = 5`,
    ).run();
    expect(() => db.prepare(`UPDATE tasks SET outcome = 'fine' WHERE id = 1`).run()).toThrow(/CHECK/);
  });
  it('corrects the history that said "succeeded" for audits with failed hosts and for failed patch jobs', () => {
    const db = createMemoryWorkspace(4);
    const host = db.prepare(`INSERT INTO hosts (id, name, created_at, updated_at) VALUES (?, ?, 't', 't')`);
    for (const id of [1, 2, 3]) host.run(id, `h${id}`);
    const task = db.prepare(
      `INSERT INTO tasks (id, kind, title, status, result, created_at) VALUES (?, ?, ?, ?, ?, 't')`,
    );
    const audit = db.prepare(
      `INSERT INTO audits (host_id, task_id, status, started_at) VALUES (?, ?, ?, 't')`,
    );
    task.run(1, 'audit', 'Audit 3 hosts', 'succeeded', '{"audited":3,"failed":2,"skipped":0}');
    audit.run(1, 1, 'succeeded');
    audit.run(2, 1, 'failed');
    audit.run(3, 1, 'failed');
    task.run(2, 'audit', 'Audit 2 hosts', 'succeeded', '{"audited":2,"failed":2,"skipped":0}');
    audit.run(1, 2, 'failed');
    audit.run(2, 2, 'failed');
    task.run(3, 'audit', 'Audit h1', 'succeeded', '{"audited":1,"failed":0,"skipped":0}');
    audit.run(1, 3, 'succeeded');
    task.run(4, 'patch', 'Security updates', 'succeeded', '{"jobId":1,"status":"failed"}');
    task.run(5, 'patch', 'All updates', 'succeeded', '{"jobId":2,"status":"succeeded"}');
    const job = db.prepare(
      `INSERT INTO patch_jobs (id, name, status, selection, reboot_policy, task_id, created_at) VALUES (?, ?, ?, '{}', 'never', ?, 't')`,
    );
    job.run(1, 'Security updates', 'failed', 4);
    job.run(2, 'All updates', 'succeeded', 5);
    const step = db.prepare(`INSERT INTO job_steps (job_id, host_id, status) VALUES (?, ?, ?)`);
    step.run(1, 1, 'succeeded');
    step.run(1, 2, 'failed');
    step.run(1, 3, 'interrupted');
    step.run(2, 1, 'succeeded');
    migrate(db, 5);
    expect(db.prepare('SELECT id, status, outcome, summary FROM tasks ORDER BY id').all()).toEqual([
      { id: 1, status: 'failed', outcome: 'partly-failed', summary: '1 of 3 hosts succeeded, 2 failed' },
      { id: 2, status: 'failed', outcome: 'failed', summary: '0 of 2 hosts succeeded, 2 failed' },
      { id: 3, status: 'succeeded', outcome: 'succeeded', summary: null },
      { id: 4, status: 'failed', outcome: 'partly-failed', summary: '1 of 3 hosts succeeded, 2 failed' },
      { id: 5, status: 'succeeded', outcome: 'succeeded', summary: null },
    ]);
  });
});
