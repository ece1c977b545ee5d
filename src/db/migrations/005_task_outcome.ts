import type { Migration } from './types';

/**
 * Task outcomes (issue 10): an audit where every host failed ended as "succeeded", because the
 * task's status only said whether the work ran to its end. `outcome` says what the admin must
 * hear (`partly-failed` beside `failed`, see src/tasks/outcome.ts) and `summary` says how its
 * parts went in words. Separate columns rather than a new status: `status` keeps its CHECK
 * constraint without a table rebuild, and everything that checks it already sees a failure.
 * Tasks finished before this version keep the outcome their status said, and no summary.
 */
export const migration005: Migration = {
  version: 5,
  name: 'task outcome',
  up(db) {
    db.exec(`
      ALTER TABLE tasks ADD COLUMN outcome TEXT
        CHECK (outcome IS NULL OR outcome IN ('succeeded','partly-failed','failed','cancelled','interrupted'));
      ALTER TABLE tasks ADD COLUMN summary TEXT;
      UPDATE tasks SET outcome = status WHERE status IN ('succeeded','failed','cancelled','interrupted');
    `);
  },
};
