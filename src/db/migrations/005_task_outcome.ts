import type { Migration } from './types';

/**
 * Task outcomes (issue 10): an audit where every host failed ended as "succeeded", because the
 * task's status only said whether the work ran to its end. `outcome` says what the admin must
 * hear (`partly-failed` beside `failed`, see src/tasks/outcome.ts) and `summary` says how its
 * parts went in words. Separate columns rather than a new status: `status` keeps its CHECK
 * constraint without a table rebuild, and everything that checks it already sees a failure.
 * Tasks finished before this version keep the outcome their status said, except the ones whose
 * "succeeded" was the very bug: an audit task with failed host audits, and a patch task whose job
 * ended failed, become failed (or partly failed) with a summary counted from their rows.
 */
export const migration005: Migration = {
  version: 5,
  name: 'task outcome',
  up(db) {
    db.exec(`
      ALTER TABLE tasks ADD COLUMN outcome TEXT
        CHECK (outcome IS NULL OR outcome IN ('succeeded','reboot-pending','partly-failed','failed','cancelled','interrupted'));
      ALTER TABLE tasks ADD COLUMN summary TEXT;
      UPDATE tasks SET outcome = status WHERE status IN ('succeeded','failed','cancelled','interrupted');
    `);
    const summary = (ok: string, bad: string): string =>
      `printf('%d of %d host%s succeeded, %d failed', ${ok}, ${ok} + ${bad}, CASE WHEN ${ok} + ${bad} = 1 THEN '' ELSE 's' END, ${bad})`;
    // Each audit of an audit task carries its task id: count them.
    db.exec(`
      WITH counts AS (
        SELECT t.id,
          (SELECT COUNT(*) FROM audits a WHERE a.task_id = t.id AND a.status = 'succeeded') AS ok,
          (SELECT COUNT(*) FROM audits a WHERE a.task_id = t.id AND a.status = 'failed') AS bad
        FROM tasks t WHERE t.kind = 'audit' AND t.status = 'succeeded'
      )
      UPDATE tasks SET status = 'failed',
        outcome = CASE WHEN counts.ok = 0 THEN 'failed' ELSE 'partly-failed' END,
        summary = ${summary('counts.ok', 'counts.bad')}
      FROM counts WHERE tasks.id = counts.id AND counts.bad > 0;
    `);
    // A patch task's result names its job and the job's final status; its steps say how each host stands.
    db.exec(`
      WITH counts AS (
        SELECT t.id,
          (SELECT COUNT(*) FROM job_steps s WHERE s.job_id = json_extract(t.result, '$.jobId') AND s.status = 'succeeded') AS ok,
          (SELECT COUNT(*) FROM job_steps s WHERE s.job_id = json_extract(t.result, '$.jobId') AND s.status IN ('failed','interrupted')) AS bad
        FROM tasks t
        WHERE t.kind = 'patch' AND t.status = 'succeeded' AND json_valid(t.result)
          AND json_extract(t.result, '$.status') = 'failed'
      )
      UPDATE tasks SET status = 'failed',
        outcome = CASE WHEN counts.ok = 0 OR counts.bad = 0 THEN 'failed' ELSE 'partly-failed' END,
        summary = CASE WHEN counts.bad = 0 THEN 'the job failed' ELSE ${summary('counts.ok', 'counts.bad')} END
      FROM counts WHERE tasks.id = counts.id;
    `);
  },
};
