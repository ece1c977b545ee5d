import { describe, expect, it } from 'vitest';
import { createMemoryWorkspace, migrate, schemaVersion } from '../workspace';

describe('migration 008 (schedules)', () => {
  it('adds schedules and their runs to a workspace with tasks in it, and keeps the rows honest', () => {
    const db = createMemoryWorkspace(7);
    db.prepare(
      `INSERT INTO tasks (id, kind, title, status, created_at) VALUES (1, 'audit', 'Audit 2 hosts', 'succeeded', 't')`,
    ).run();
    migrate(db, 8);
    expect(schemaVersion(db)).toBe(8);
    const schedule = db.prepare(
      `INSERT INTO schedules (name, kind, target, recurrence, next_run_at, created_at, updated_at) VALUES (?, ?, '{}', '{}', NULL, 't', 't')`,
    );
    schedule.run('nightly', 'audit');
    expect(() => schedule.run('Nightly-2', 'patch')).toThrow(/CHECK/);
    expect(() => schedule.run('nightly', 'discovery')).toThrow(/UNIQUE/);
    expect(db.prepare('SELECT if_missed, enabled FROM schedules').get()).toEqual({
      if_missed: 'run-once',
      enabled: 1,
    });
    const run = db.prepare(
      `INSERT INTO schedule_runs (schedule_id, due_at, status, trigger, task_id) VALUES (1, 't', ?, 'schedule', ?)`,
    );
    run.run('started', 1);
    expect(() => run.run('succeeded', 1)).toThrow(/CHECK/);
    expect(() => run.run('started', 99)).toThrow(/FOREIGN KEY/);
    // A task cleaned away leaves the run's record; a schedule removed takes its runs with it.
    db.prepare('DELETE FROM tasks WHERE id = 1').run();
    expect(db.prepare('SELECT task_id FROM schedule_runs').get()).toEqual({ task_id: null });
    db.prepare('DELETE FROM schedules').run();
    expect(db.prepare('SELECT count(*) n FROM schedule_runs').get()).toEqual({ n: 0 });
  });
});
