import type { Database } from 'better-sqlite3';
import { cached } from './statements';

/**
 * The current picture (migration 015): `current_audits` is kept by triggers; `current_findings`
 * is rebuilt here, for the hosts the triggers marked in `current_dirty`, before any read of it.
 * Storing an audit thus costs one marker, and a read after N audits rebuilds those N hosts only.
 */

/** "Debian GNU/Linux 12": the audit's OS name with its version, unless the name already says it. */
export const OS_LABEL = `CASE WHEN a.os_name IS NULL OR a.os_name = '' THEN NULL
  WHEN a.os_version IS NULL OR a.os_version = '' OR instr(a.os_name, a.os_version) > 0 THEN a.os_name
  ELSE a.os_name || ' ' || a.os_version END`;
const TIER_RANK = `CASE f.tier WHEN 'kev' THEN 0 WHEN 'critical' THEN 1 WHEN 'high' THEN 2 WHEN 'medium' THEN 3 WHEN 'low' THEN 4 ELSE 5 END`;
const SEVERITY_RANK = `CASE f.severity WHEN 'critical' THEN 0 WHEN 'important' THEN 1 WHEN 'moderate' THEN 2 WHEN 'low' THEN 3 WHEN 'unknown' THEN 4 ELSE 5 END`;

/** Above this many rebuilt rows the planner's statistics are refreshed (PRAGMA optimize). */
const OPTIMIZE_AFTER_ROWS = 20_000;
/** From this many rebuilt hosts (and at least half the fleet) the indexes are built after the rows. */
const BULK_REBUILD_HOSTS = 100;

/** Brings `current_findings` up to date; returns how many hosts were rebuilt (0: nothing had changed). */
export function refreshCurrentFindings(db: Database): number {
  const dirty = cached(db, 'SELECT host_id FROM current_dirty').pluck().all() as number[];
  if (dirty.length === 0) return 0;
  const hosts = JSON.stringify(dirty);
  let rows = 0;
  db.transaction(() => {
    // The updates whose sharing count can change: those of the rebuilt hosts, before and after.
    cached(
      db,
      `CREATE TEMP TABLE IF NOT EXISTS current_touched (kind TEXT NOT NULL, package TEXT NOT NULL, PRIMARY KEY (kind, package)) WITHOUT ROWID`,
    ).run();
    cached(db, 'DELETE FROM temp.current_touched').run();
    cached(
      db,
      `INSERT OR IGNORE INTO temp.current_touched (kind, package) SELECT kind, package FROM current_findings
        WHERE host_id IN (SELECT value FROM json_each(@hosts))`,
    ).run({ hosts });
    cached(db, 'DELETE FROM current_findings WHERE host_id IN (SELECT value FROM json_each(@hosts))').run({
      hosts,
    });
    // Most of the fleet rebuilt (the first read after an import, a migration): its indexes are
    // dropped and built again after the rows are in (one sort each), instead of one random
    // insert per row into each of them, which made the first read after a million findings ~4x slower.
    const bulk =
      dirty.length >= BULK_REBUILD_HOSTS &&
      dirty.length * 2 >= (cached(db, 'SELECT count(*) FROM current_audits').pluck().get() as number);
    const indexes = bulk
      ? (cached(
          db,
          `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'current_findings' AND sql IS NOT NULL`,
        ).all() as { name: string; sql: string }[])
      : [];
    for (const index of indexes) db.exec(`DROP INDEX "${index.name.replace(/"/g, '""')}"`);
    rows = cached(
      db,
      `INSERT INTO current_findings (id, audit_id, host_id, host_name, os_label, kind, package, arch, available_version,
         repository, security, severity, sev_rank, advisories, cves, kev, epss, tier, tier_rank, first_seen_at, due_at)
       SELECT f.id, f.audit_id, f.host_id, h.name, ${OS_LABEL}, f.kind, f.package, f.arch, f.available_version,
         f.repository, f.security, f.severity, ${SEVERITY_RANK}, f.advisories, f.cves, f.kev, f.epss, f.tier, ${TIER_RANK},
         f.first_seen_at, f.due_at
       FROM current_audits c JOIN audits a ON a.id = c.audit_id JOIN hosts h ON h.id = c.host_id
         CROSS JOIN findings f ON f.audit_id = c.audit_id
       WHERE c.host_id IN (SELECT value FROM json_each(@hosts))
       ORDER BY f.id`,
    ).run({ hosts }).changes;
    for (const index of indexes) db.exec(index.sql);
    cached(
      db,
      `INSERT OR IGNORE INTO temp.current_touched (kind, package) SELECT kind, package FROM current_findings
        WHERE host_id IN (SELECT value FROM json_each(@hosts))`,
    ).run({ hosts });
    // How many current findings are the same update (kind, package): the risk order's last key.
    // The package view's rows of those updates, and each finding's sharing count from them.
    cached(
      db,
      'DELETE FROM current_updates WHERE (kind, package) IN (SELECT kind, package FROM temp.current_touched)',
    ).run();
    cached(
      db,
      `INSERT INTO current_updates (kind, package, findings, security_findings, hosts, security, rank, repository, tier_rank,
         epss, first_seen_at, due_at, host_ids, arches, versions, version, advisories, open_findings, open_hosts,
         open_tier_rank, open_epss, open_kev, open_first_seen, open_due, open_host_ids, open_finding_ids, open_cves)
       SELECT f.kind, f.package, count(*), sum(f.security), count(DISTINCT f.host_id), max(f.security), min(f.sev_rank),
         min(f.repository), min(f.tier_rank), max(f.epss), min(f.first_seen_at), min(f.due_at),
         json_group_array(DISTINCT f.host_id), json_group_array(DISTINCT f.arch), count(DISTINCT f.available_version),
         min(f.available_version), json_group_array(DISTINCT f.advisories),
         count(f.tier), count(DISTINCT f.host_id) FILTER (WHERE f.tier IS NOT NULL),
         min(f.tier_rank) FILTER (WHERE f.tier IS NOT NULL), max(f.epss) FILTER (WHERE f.tier IS NOT NULL),
         max(f.kev) FILTER (WHERE f.tier IS NOT NULL), min(f.first_seen_at) FILTER (WHERE f.tier IS NOT NULL),
         min(f.due_at) FILTER (WHERE f.tier IS NOT NULL),
         coalesce(json_group_array(DISTINCT f.host_id) FILTER (WHERE f.tier IS NOT NULL), '[]'),
         coalesce(json_group_array(f.id) FILTER (WHERE f.tier IS NOT NULL), '[]'),
         coalesce(json_group_array(DISTINCT f.cves) FILTER (WHERE f.tier IS NOT NULL), '[]')
       FROM temp.current_touched t CROSS JOIN current_findings f ON f.kind = t.kind AND f.package = t.package
       GROUP BY f.kind, f.package`,
    ).run();
    cached(
      db,
      'DELETE FROM current_security_updates WHERE (kind, package) IN (SELECT kind, package FROM temp.current_touched)',
    ).run();
    cached(
      db,
      `INSERT INTO current_security_updates (kind, package, findings, security_findings, hosts, security, rank, repository,
         tier_rank, epss, first_seen_at, due_at, host_ids, arches, versions, version, advisories)
       SELECT f.kind, f.package, count(*), sum(f.security), count(DISTINCT f.host_id), max(f.security), min(f.sev_rank),
         min(f.repository), min(f.tier_rank), max(f.epss), min(f.first_seen_at), min(f.due_at),
         json_group_array(DISTINCT f.host_id), json_group_array(DISTINCT f.arch), count(DISTINCT f.available_version),
         min(f.available_version), json_group_array(DISTINCT f.advisories)
       FROM temp.current_touched t CROSS JOIN current_findings f ON f.kind = t.kind AND f.package = t.package
       WHERE f.security = 1
       GROUP BY f.kind, f.package`,
    ).run();
    cached(
      db,
      `UPDATE current_findings SET sharing = u.findings FROM current_updates u
        WHERE u.kind = current_findings.kind AND u.package = current_findings.package AND current_findings.sharing != u.findings
          AND (current_findings.kind, current_findings.package) IN (SELECT kind, package FROM temp.current_touched)`,
    ).run();
    // The filter lists' counts of the rebuilt hosts (findings.facets sums them).
    cached(db, 'DELETE FROM current_host_facets WHERE host_id IN (SELECT value FROM json_each(@hosts))').run({
      hosts,
    });
    cached(
      db,
      `INSERT INTO current_host_facets (host_id, facet, value, n, sec)
       SELECT host_id, 'host', min(host_name), count(*), sum(security) FROM current_findings
         WHERE host_id IN (SELECT value FROM json_each(@hosts)) GROUP BY host_id
       UNION ALL SELECT host_id, 'severity', coalesce(severity, 'none'), count(*), sum(security) FROM current_findings
         WHERE host_id IN (SELECT value FROM json_each(@hosts)) GROUP BY host_id, coalesce(severity, 'none')
       UNION ALL SELECT host_id, 'os', os_label, count(*), sum(security) FROM current_findings
         WHERE host_id IN (SELECT value FROM json_each(@hosts)) AND os_label IS NOT NULL GROUP BY host_id, os_label
       UNION ALL SELECT host_id, 'repository', repository, count(*), sum(security) FROM current_findings
         WHERE host_id IN (SELECT value FROM json_each(@hosts)) AND repository IS NOT NULL GROUP BY host_id, repository
       UNION ALL SELECT host_id, 'tier', tier, count(*), sum(security) FROM current_findings
         WHERE host_id IN (SELECT value FROM json_each(@hosts)) AND tier IS NOT NULL GROUP BY host_id, tier
       UNION ALL SELECT host_id, 'kev', 'kev', count(*), sum(security) FROM current_findings
         WHERE host_id IN (SELECT value FROM json_each(@hosts)) AND tier IS NOT NULL AND kev = 1 GROUP BY host_id
       UNION ALL SELECT host_id, 'kev-any', '1', count(*), sum(security) FROM current_findings
         WHERE host_id IN (SELECT value FROM json_each(@hosts)) AND kev = 1 GROUP BY host_id
       UNION ALL SELECT host_id, 'security', '1', count(*), count(*) FROM current_findings
         WHERE host_id IN (SELECT value FROM json_each(@hosts)) AND security = 1 GROUP BY host_id`,
    ).run({ hosts });
    cached(db, 'DELETE FROM current_dirty WHERE host_id IN (SELECT value FROM json_each(@hosts))').run({
      hosts,
    });
  })();
  if (rows >= OPTIMIZE_AFTER_ROWS) db.pragma('optimize');
  return dirty.length;
}
