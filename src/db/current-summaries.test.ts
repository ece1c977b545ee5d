import type { Database } from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { findingFacets, queryFindingGroups } from './audits';
import { refreshCurrentFindings } from './current';
import { insertException } from './exceptions';
import { deleteHost, updateHost } from './hosts';
import { dueFigures, mostExposedHosts, openFindingsByTier, priorityGroups } from './intel';
import { fillFleet } from './testing/bulk';
import { createMemoryWorkspace } from './workspace';

/**
 * The summaries kept with the current picture (current_updates' lists and judged figures,
 * current_host_facets) against the same figures computed directly from `findings` and each
 * host's newest successful audit, after audits, deletions and renames; and the Dashboard's
 * figures read from them against the direct queries (which an active exception selects).
 */

const CURRENT = `FROM findings f JOIN hosts h ON h.id = f.host_id
  WHERE f.audit_id IN (SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY host_id ORDER BY started_at DESC, id DESC) AS rn
    FROM audits WHERE status = 'succeeded') WHERE rn = 1)`;

const sortedJson = (text: string): unknown[] =>
  (JSON.parse(text) as unknown[]).map((v) => JSON.stringify(v)).sort() as unknown[];

function keptUpdates(db: Database) {
  refreshCurrentFindings(db);
  return (
    db
      .prepare(
        `SELECT kind, package, findings, hosts, host_ids, arches, versions, version, advisories, open_findings, open_hosts,
           open_tier_rank, open_epss, open_kev, open_first_seen, open_due, open_host_ids, open_finding_ids, open_cves
         FROM current_updates ORDER BY kind, package`,
      )
      .all() as Record<string, unknown>[]
  ).map(normalise);
}

function directUpdates(db: Database) {
  return (
    db
      .prepare(
        `SELECT f.kind, f.package, count(*) AS findings, count(DISTINCT f.host_id) AS hosts,
           json_group_array(DISTINCT f.host_id) AS host_ids, json_group_array(DISTINCT f.arch) AS arches,
           count(DISTINCT f.available_version) AS versions, min(f.available_version) AS version,
           json_group_array(DISTINCT f.advisories) AS advisories,
           count(f.tier) AS open_findings, count(DISTINCT CASE WHEN f.tier IS NOT NULL THEN f.host_id END) AS open_hosts,
           min(CASE WHEN f.tier IS NOT NULL THEN CASE f.tier WHEN 'kev' THEN 0 WHEN 'critical' THEN 1 WHEN 'high' THEN 2
             WHEN 'medium' THEN 3 WHEN 'low' THEN 4 ELSE 5 END END) AS open_tier_rank,
           max(CASE WHEN f.tier IS NOT NULL THEN f.epss END) AS open_epss,
           max(CASE WHEN f.tier IS NOT NULL THEN f.kev END) AS open_kev,
           min(CASE WHEN f.tier IS NOT NULL THEN f.first_seen_at END) AS open_first_seen,
           min(CASE WHEN f.tier IS NOT NULL THEN f.due_at END) AS open_due,
           coalesce(json_group_array(DISTINCT f.host_id) FILTER (WHERE f.tier IS NOT NULL), '[]') AS open_host_ids,
           coalesce(json_group_array(f.id) FILTER (WHERE f.tier IS NOT NULL), '[]') AS open_finding_ids,
           coalesce(json_group_array(DISTINCT f.cves) FILTER (WHERE f.tier IS NOT NULL), '[]') AS open_cves
         ${CURRENT} GROUP BY f.kind, f.package ORDER BY f.kind, f.package`,
      )
      .all() as Record<string, unknown>[]
  ).map(normalise);
}

function normalise(row: Record<string, unknown>) {
  const out: Record<string, unknown> = { ...row };
  for (const k of ['host_ids', 'arches', 'advisories', 'open_host_ids', 'open_finding_ids', 'open_cves'])
    out[k] = sortedJson(row[k] as string);
  return out;
}

const keptFacets = (db: Database) => {
  refreshCurrentFindings(db);
  return db
    .prepare('SELECT host_id, facet, value, n FROM current_host_facets ORDER BY host_id, facet, value')
    .all();
};
const directFacets = (db: Database) =>
  db
    .prepare(
      `SELECT host_id, facet, value, n FROM (
         SELECT f.host_id, 'host' AS facet, h.name AS value, count(*) AS n ${CURRENT} GROUP BY f.host_id
         UNION ALL SELECT f.host_id, 'severity', coalesce(f.severity, 'none'), count(*) ${CURRENT} GROUP BY f.host_id, 3
         UNION ALL SELECT f.host_id, 'os', CASE WHEN a.os_name IS NULL OR a.os_name = '' THEN NULL
             WHEN a.os_version IS NULL OR a.os_version = '' OR instr(a.os_name, a.os_version) > 0 THEN a.os_name
             ELSE a.os_name || ' ' || a.os_version END AS label, count(*)
           ${CURRENT.replace('JOIN hosts h', 'JOIN audits a ON a.id = f.audit_id JOIN hosts h')} GROUP BY f.host_id, label
           HAVING label IS NOT NULL
         UNION ALL SELECT f.host_id, 'repository', f.repository, count(*) ${CURRENT} AND f.repository IS NOT NULL GROUP BY f.host_id, f.repository
         UNION ALL SELECT f.host_id, 'tier', f.tier, count(*) ${CURRENT} AND f.tier IS NOT NULL GROUP BY f.host_id, f.tier
         UNION ALL SELECT f.host_id, 'kev', 'kev', count(*) ${CURRENT} AND f.tier IS NOT NULL AND f.kev = 1 GROUP BY f.host_id)
       ORDER BY host_id, facet, value`,
    )
    .all();

let NOW = '';
let WEEK = '';
/** Judged at the middle due date of the fleet: some findings are overdue, some due that week. */
function judgeAtMiddle(db: Database): void {
  refreshCurrentFindings(db);
  const dues = db
    .prepare('SELECT due_at FROM current_findings WHERE due_at IS NOT NULL ORDER BY due_at')
    .pluck()
    .all() as string[];
  NOW = dues[Math.floor(dues.length / 2)]!;
  WEEK = new Date(Date.parse(NOW) + 7 * 86_400_000).toISOString();
}
/** The Dashboard's and package view's figures, from whichever path the exceptions select. */
const figures = (db: Database) => ({
  tiers: openFindingsByTier(db, NOW),
  due: dueFigures(db, NOW, WEEK),
  exposed: mostExposedHosts(db, NOW, 10),
  first: priorityGroups(db, NOW, 10),
  groups: queryFindingGroups(db, { offset: 0, limit: 50, sort: 'risk', now: NOW }),
  facets: findingFacets(db),
});

describe('the summaries kept with the current picture', () => {
  it('equal the direct figures after audits, an audit deleted, a host renamed and a host deleted', () => {
    const db = createMemoryWorkspace();
    const { hostIds, auditIds } = fillFleet(db, {
      hosts: 12,
      auditsPerHost: 3,
      findingsPerAudit: 20,
      seed: 7,
    });
    const check = () => {
      expect(keptUpdates(db)).toEqual(directUpdates(db));
      expect(keptFacets(db)).toEqual(directFacets(db));
    };
    check();
    expect(keptUpdates(db).some((u) => (u.open_findings as number) > 0)).toBe(true);
    // The newest audit of a host deleted: its previous audit is current again.
    db.prepare('DELETE FROM audits WHERE id = ?').run(auditIds[auditIds.length - 1]);
    check();
    updateHost(db, hostIds[0]!, { name: 'renamed-host' } as never);
    check();
    expect(findingFacets(db).hosts.some((h) => h.name === 'renamed-host')).toBe(true);
    deleteHost(db, hostIds[1]!);
    check();
    // More audits on top (a second fill adds hosts of its own).
    fillFleet(db, { hosts: 3, auditsPerHost: 2, findingsPerAudit: 10, seed: 8 });
    check();
  });

  it('give the Dashboard and the package view the figures the direct queries give', () => {
    const db = createMemoryWorkspace();
    fillFleet(db, { hosts: 15, auditsPerHost: 2, findingsPerAudit: 30, seed: 3 });
    judgeAtMiddle(db);
    const kept = figures(db);
    expect(kept.first.length).toBeGreaterThan(0);
    expect(kept.due.overdue).toBeGreaterThan(0);
    expect(kept.exposed.some((h) => h.overdue > 0)).toBe(true);
    // An active exception that covers nothing sends every figure through the direct queries.
    insertException(db, {
      scope: 'package',
      decision: 'defer',
      hostId: null,
      package: 'no-such-package',
      availableVersion: null,
      cve: null,
      reason: 'test',
      owner: 'test',
      expiresAt: '2099-01-01T00:00:00.000Z',
      createdAt: '2026-01-01T00:00:00.000Z',
      createdBy: 'test',
    });
    const direct = figures(db);
    expect(kept.tiers).toEqual(direct.tiers);
    expect(kept.due).toEqual({ ...direct.due, exceptionsExpiringSoon: 0 });
    expect(kept.exposed).toEqual(direct.exposed);
    expect(kept.first).toEqual(direct.first);
    // Filtered (by a filter that keeps every finding), the package view computes its lists directly.
    const groups = queryFindingGroups(db, {
      offset: 0,
      limit: 50,
      sort: 'risk',
      now: NOW,
      hasException: false,
    });
    expect(kept.groups).toEqual(groups);
    expect(kept.groups.rows.some((g) => g.hostIds.length > 1 && g.advisories.length > 0)).toBe(true);
    expect(kept.facets).toEqual(direct.facets);
  });
});
