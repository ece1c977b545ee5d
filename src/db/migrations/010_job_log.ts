import type { Migration } from './types';

/**
 * Issue 11, one name per thing: a job's log is its `job_log` (the glossary: "job step … with its
 * log"; the contract's `JobLogLine`, the `job.log` event and the CLI's `--log`). The table was
 * called `job_events`. Renaming keeps every row, its id (the window pages the log by id) and the
 * cascades from jobs and steps; no other table, trigger or view names it.
 */
export const migration010: Migration = {
  version: 10,
  name: 'job_events is job_log',
  up(db) {
    db.exec(`
      ALTER TABLE job_events RENAME TO job_log;
      DROP INDEX job_events_job;
      CREATE INDEX job_log_job ON job_log(job_id, id);
    `);
  },
};
