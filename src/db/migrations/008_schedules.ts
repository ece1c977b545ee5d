import type { Migration } from './types';

/**
 * Recurring discovery and audits (issue 10). `schedules` holds what runs and when (`target` and
 * `recurrence` as checked JSON, see src/api/schedule-schemas.ts) and the next time it is due;
 * `schedule_runs` records each run — started, made up late, missed while Patchdeck was not
 * running, skipped because the previous run was still going, or failed to start — and the task
 * that did the work, whose outcome is the run's outcome.
 */
export const migration008: Migration = {
  version: 8,
  name: 'schedules',
  up(db) {
    db.exec(`
      CREATE TABLE schedules (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL CHECK (kind IN ('audit','discovery')),
        target TEXT NOT NULL,
        recurrence TEXT NOT NULL,
        if_missed TEXT NOT NULL DEFAULT 'run-once' CHECK (if_missed IN ('run-once','skip')),
        enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0,1)),
        next_run_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;
      CREATE TABLE schedule_runs (
        id INTEGER PRIMARY KEY,
        schedule_id INTEGER NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
        due_at TEXT NOT NULL,
        started_at TEXT,
        status TEXT NOT NULL CHECK (status IN ('started','late','missed','skipped','failed')),
        trigger TEXT NOT NULL CHECK (trigger IN ('schedule','manual')),
        missed_count INTEGER NOT NULL DEFAULT 0,
        last_missed_at TEXT,
        message TEXT,
        task_id INTEGER REFERENCES tasks(id) ON DELETE SET NULL
      ) STRICT;
      CREATE INDEX schedule_runs_by_schedule ON schedule_runs(schedule_id, id);
    `);
  },
};
