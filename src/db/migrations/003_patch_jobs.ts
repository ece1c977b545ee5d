import type { Migration } from './types';

/**
 * Patch jobs need a few facts 001 did not foresee: a job-level message (why it failed or was
 * missed), per-step dry-run preview and package manager, the audit that verified the step, and
 * the job's options (disk threshold, lock wait, …) kept apart from the selection.
 */
export const migration003: Migration = {
  version: 3,
  name: 'patch job details',
  up(db) {
    db.exec(`
      ALTER TABLE patch_jobs ADD COLUMN message TEXT;
      ALTER TABLE patch_jobs ADD COLUMN options TEXT NOT NULL DEFAULT '{}';
      ALTER TABLE job_steps ADD COLUMN package_manager TEXT;
      ALTER TABLE job_steps ADD COLUMN preview TEXT;
      ALTER TABLE job_steps ADD COLUMN verify_audit_id INTEGER REFERENCES audits(id) ON DELETE SET NULL;
      CREATE INDEX patch_jobs_status ON patch_jobs(status);
      CREATE INDEX job_steps_job ON job_steps(job_id, id);
    `);
  },
};
