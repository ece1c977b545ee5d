import type { Database } from 'better-sqlite3';
import type { Task } from '../api';

const finished = (task: Task): boolean => task.status !== 'running' && task.status !== 'queued';
/** The work that contacts the workspace's hosts (a patch job re-audits the hosts it patched). */
const REACHING_KINDS = new Set(['audit', 'patch', 'discovery']);

/**
 * Whether a finished task is evidence that the laptop is on this workspace's client's network:
 * it reached at least one of the workspace's own hosts. An audit (or a patch job's re-audit)
 * counts when one of its hosts' audits succeeded; a discovery scan when it found again a host
 * that was already in the inventory (a host it found new proves nothing). A failed audit, an
 * audit whose hosts were all skipped, or a scan that found only strangers teach nothing.
 */
export function reachedOwnHost(db: Database, task: Task): boolean {
  if (!finished(task) || !REACHING_KINDS.has(task.kind)) return false;
  if (task.kind === 'discovery')
    return (
      db
        .prepare(
          `SELECT 1 FROM scans s JOIN scan_hosts sh ON sh.scan_id = s.id JOIN hosts h ON h.id = sh.host_id
           WHERE s.task_id = ? AND sh.was_new = 0 AND h.in_inventory = 1 LIMIT 1`,
        )
        .get(task.id) !== undefined
    );
  return (
    db.prepare(`SELECT 1 FROM audits WHERE task_id = ? AND status = 'succeeded' LIMIT 1`).get(task.id) !==
    undefined
  );
}
