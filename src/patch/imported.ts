import type { Database } from 'better-sqlite3';
import { PatchdeckError } from '../util';

/**
 * A job that came from a portable bundle (src/portable) is another workspace's record: its
 * approval, steps and previews were made there, for that site's hosts and credentials. Patchdeck
 * never approves, starts, resumes, re-runs or reboots it here, whatever its status says.
 */
export function refuseImportedJob(db: Database, id: number): void {
  const row = db
    .prepare(
      `SELECT r.origin_workspace AS origin,
              (SELECT i.origin_site FROM bundle_imports i WHERE i.origin_workspace = r.origin_workspace
               ORDER BY i.id DESC LIMIT 1) AS site
       FROM bundle_records r WHERE r.entity = 'job' AND r.local_id = ? LIMIT 1`,
    )
    .get(id) as { origin: string; site: string | null } | undefined;
  if (!row) return;
  const site = row.site ? ` (site ${row.site})` : '';
  throw new PatchdeckError(
    'conflict',
    `Job ${id} is the record of another workspace${site}, imported from a bundle; Patchdeck does not run it here.`,
  );
}
