import type { Migration } from './types';

/**
 * "Installed, reboot pending" (issue 10): a step whose updates are installed on a host that still
 * needs a reboot (not rebooted under policy "never", or still asking after its reboot) was stored
 * as plain `succeeded`. A column rather than a new status value: job_steps' status CHECK would
 * need a table rebuild, and dropping the old table would cascade into job_events. The repository
 * (src/db/patch-jobs.ts) reads `succeeded` + reboot_pending as the step status `reboot-pending`,
 * so nothing above the database ever sees such a step as succeeded.
 */
export const migration006: Migration = {
  version: 6,
  name: 'reboot pending',
  up(db) {
    db.exec(`
      ALTER TABLE job_steps ADD COLUMN reboot_pending INTEGER NOT NULL DEFAULT 0 CHECK (reboot_pending IN (0, 1));
    `);
  },
};
