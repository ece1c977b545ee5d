import type { Database } from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { findingFacets, queryFindingGroups, queryFindings, type FindingFilter } from './audits';
import { refreshCurrentFindings } from './current';
import { HAS_ACTIVE_EXCEPTION, insertException } from './exceptions';
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
    .prepare('SELECT host_id, facet, value, n, sec FROM current_host_facets ORDER BY host_id, facet, value')
    .all();
};
const directFacets = (db: Database) =>
  db
    .prepare(
      `SELECT host_id, facet, value, n, sec FROM (
         SELECT f.host_id, 'host' AS facet, h.name AS value, count(*) AS n, sum(f.security) AS sec ${CURRENT} GROUP BY f.host_id
         UNION ALL SELECT f.host_id, 'severity', coalesce(f.severity, 'none'), count(*), sum(f.security) ${CURRENT} GROUP BY f.host_id, 3
         UNION ALL SELECT f.host_id, 'os', CASE WHEN a.os_name IS NULL OR a.os_name = '' THEN NULL
             WHEN a.os_version IS NULL OR a.os_version = '' OR instr(a.os_name, a.os_version) > 0 THEN a.os_name
             ELSE a.os_name || ' ' || a.os_version END AS label, count(*), sum(f.security)
           ${CURRENT.replace('JOIN hosts h', 'JOIN audits a ON a.id = f.audit_id JOIN hosts h')} GROUP BY f.host_id, label
           HAVING label IS NOT NULL
         UNION ALL SELECT f.host_id, 'repository', f.repository, count(*), sum(f.security) ${CURRENT} AND f.repository IS NOT NULL GROUP BY f.host_id, f.repository
         UNION ALL SELECT f.host_id, 'tier', f.tier, count(*), sum(f.security) ${CURRENT} AND f.tier IS NOT NULL GROUP BY f.host_id, f.tier
         UNION ALL SELECT f.host_id, 'kev', 'kev', count(*), sum(f.security) ${CURRENT} AND f.tier IS NOT NULL AND f.kev = 1 GROUP BY f.host_id
         UNION ALL SELECT f.host_id, 'kev-any', '1', count(*), sum(f.security) ${CURRENT} AND f.kev = 1 GROUP BY f.host_id
         UNION ALL SELECT f.host_id, 'security', '1', count(*), count(*) ${CURRENT} AND f.security = 1 GROUP BY f.host_id)
       ORDER BY host_id, facet, value`,
    )
    .all();

/** The package view's "security only" rows kept per update, and the same aggregated directly. */
const UPDATE_COLUMNS = `findings, security_findings, hosts, security, rank, repository, tier_rank, epss, first_seen_at,
  due_at, host_ids, arches, versions, version, advisories`;
const keptSecurityUpdates = (db: Database) => {
  refreshCurrentFindings(db);
  return (
    db
      .prepare(`SELECT kind, package, ${UPDATE_COLUMNS} FROM current_security_updates ORDER BY kind, package`)
      .all() as Record<string, unknown>[]
  ).map(normaliseLists);
};
const directSecurityUpdates = (db: Database) =>
  (
    db
      .prepare(
        `SELECT f.kind, f.package, count(*) AS findings, sum(f.security) AS security_findings,
           count(DISTINCT f.host_id) AS hosts, max(f.security) AS security,
           min(CASE f.severity WHEN 'critical' THEN 0 WHEN 'important' THEN 1 WHEN 'moderate' THEN 2 WHEN 'low' THEN 3
             WHEN 'unknown' THEN 4 ELSE 5 END) AS rank, min(f.repository) AS repository,
           min(CASE f.tier WHEN 'kev' THEN 0 WHEN 'critical' THEN 1 WHEN 'high' THEN 2 WHEN 'medium' THEN 3 WHEN 'low' THEN 4
             ELSE 5 END) AS tier_rank, max(f.epss) AS epss, min(f.first_seen_at) AS first_seen_at, min(f.due_at) AS due_at,
           json_group_array(DISTINCT f.host_id) AS host_ids, json_group_array(DISTINCT f.arch) AS arches,
           count(DISTINCT f.available_version) AS versions, min(f.available_version) AS version,
           json_group_array(DISTINCT f.advisories) AS advisories
         ${CURRENT} AND f.security = 1 GROUP BY f.kind, f.package ORDER BY f.kind, f.package`,
      )
      .all() as Record<string, unknown>[]
  ).map(normaliseLists);
function normaliseLists(row: Record<string, unknown>) {
  const out: Record<string, unknown> = { ...row };
  for (const k of ['host_ids', 'arches', 'advisories']) out[k] = sortedJson(row[k] as string);
  return out;
}

/**
 * The Updates page's filters as they were written over every current finding (a LIKE on each
 * finding's package, host name and advisories; a scan for each value), for the fast paths'
 * totals and rows to be compared with.
 */
function directPage(db: Database, filter: FindingFilter, now: string) {
  const where: string[] = [];
  const params: Record<string, unknown> = { now };
  if (filter.search !== undefined) {
    params.search = `%${filter.search}%`;
    where.push(`(f.package LIKE @search OR h.name LIKE @search
      OR EXISTS (SELECT 1 FROM json_each(f.advisories) adv WHERE adv.value LIKE @search))`);
  }
  if (filter.securityOnly) where.push('f.security = 1');
  if (filter.kevOnly) where.push('f.kev = 1');
  if (filter.tier) where.push(`f.tier = '${filter.tier}'`);
  if (filter.severity) where.push(`coalesce(f.severity, 'none') = '${filter.severity}'`);
  for (const [k, v] of Object.entries({
    repository: filter.repository,
    hostId: filter.hostId,
    tag: filter.tag,
    os: filter.os,
  }))
    if (v !== undefined) params[k] = v;
  if (filter.repository !== undefined) where.push('f.repository = @repository');
  if (filter.hostId !== undefined) where.push('f.host_id = @hostId');
  if (filter.tag !== undefined) where.push('EXISTS (SELECT 1 FROM json_each(h.tags) t WHERE t.value = @tag)');
  if (filter.os !== undefined)
    where.push(`(SELECT CASE WHEN instr(a.os_name, a.os_version) > 0 THEN a.os_name ELSE a.os_name || ' ' || a.os_version END
        FROM audits a WHERE a.id = f.audit_id) = @os`);
  if (filter.overdue) where.push(`f.due_at < @now AND NOT ${HAS_ACTIVE_EXCEPTION}`);
  if (filter.hasException !== undefined)
    where.push(`${filter.hasException ? '' : 'NOT '}${HAS_ACTIVE_EXCEPTION}`);
  const rows = db
    .prepare(`SELECT f.id, f.host_id, f.security ${CURRENT}${where.map((w) => ` AND ${w}`).join('')}`)
    .all(params) as { id: number; host_id: number; security: number }[];
  return {
    total: rows.length,
    securityTotal: rows.reduce((n, r) => n + r.security, 0),
    hostsTotal: new Set(rows.map((r) => r.host_id)).size,
    ids: rows.map((r) => r.id).sort((a, b) => a - b),
  };
}

function fastPage(db: Database, filter: FindingFilter, now: string) {
  const page = queryFindings(db, { ...filter, now, offset: 0, limit: 1_000_000, sort: 'package' });
  return {
    total: page.total,
    securityTotal: page.securityTotal,
    hostsTotal: page.hostsTotal,
    ids: page.rows.map((r) => r.id).sort((a, b) => a - b),
  };
}

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

  it('keep the package view security only as aggregated directly, after audits, deletions and renames', () => {
    const db = createMemoryWorkspace();
    const { hostIds, auditIds } = fillFleet(db, {
      hosts: 10,
      auditsPerHost: 3,
      findingsPerAudit: 20,
      seed: 5,
    });
    const check = () => expect(keptSecurityUpdates(db)).toEqual(directSecurityUpdates(db));
    check();
    expect(keptSecurityUpdates(db).length).toBeGreaterThan(0);
    db.prepare('DELETE FROM audits WHERE id = ?').run(auditIds[auditIds.length - 1]);
    check();
    updateHost(db, hostIds[0]!, { name: 'renamed-host' } as never);
    deleteHost(db, hostIds[1]!);
    check();
    // The package view security only (from the kept rows) equals the same filter computed directly:
    // any other filter next to it takes the direct path.
    const at = '2026-06-01T00:00:00.000Z';
    for (const sort of ['security', 'host', 'package', 'risk'] as const) {
      const kept = queryFindingGroups(db, { offset: 0, limit: 500, sort, now: at, securityOnly: true });
      const direct = queryFindingGroups(db, {
        offset: 0,
        limit: 500,
        sort,
        now: at,
        securityOnly: true,
        epssAtLeast: -1,
      });
      expect(kept.rows.length).toBeGreaterThan(0);
      expect(kept).toEqual(direct);
    }
  });

  it('give each Updates-page filter the totals and rows of the direct filter, with and without exceptions', () => {
    const db = createMemoryWorkspace();
    const { hostIds } = fillFleet(db, { hosts: 14, auditsPerHost: 2, findingsPerAudit: 25, seed: 11 });
    for (const id of hostIds.filter((_, i) => i % 3 === 0)) updateHost(db, id, { tags: ['web'] } as never);
    updateHost(db, hostIds[2]!, { name: 'renamed-host' } as never);
    judgeAtMiddle(db);
    const facets = findingFacets(db);
    const advisory = db
      .prepare(`SELECT adv.value FROM current_findings f, json_each(f.advisories) adv LIMIT 1`)
      .pluck()
      .get() as string;
    const filters: FindingFilter[] = [
      {},
      { securityOnly: true },
      { kevOnly: true },
      { tier: 'high' },
      { tier: 'critical' },
      { severity: 'important' },
      { severity: 'none' },
      { os: facets.os[0]!.value },
      { repository: facets.repositories[0]!.value },
      { hostId: hostIds[3]! },
      { hostId: 999_999 },
      { tag: 'web' },
      { tag: 'no-such-tag' },
      { hasException: false },
      { hasException: true },
      { overdue: true },
      { securityOnly: true, tier: 'high' },
      { search: 'renamed' },
      { search: 'ssl' },
      { search: advisory.slice(0, 6) },
      { search: advisory },
      { search: 'no-such-thing' },
    ];
    const compare = () => {
      for (const filter of filters)
        expect([filter, fastPage(db, filter, NOW)]).toEqual([filter, directPage(db, filter, NOW)]);
    };
    compare();
    expect(directPage(db, { kevOnly: true }, NOW).total).toBeGreaterThan(0);
    expect(directPage(db, { search: advisory.slice(0, 6) }, NOW).total).toBeGreaterThan(0);
    expect(directPage(db, { tag: 'web' }, NOW).total).toBeGreaterThan(0);
    // An active exception on one host's package: covered findings leave "no exception", overdue.
    const covered = db
      .prepare('SELECT host_id, package FROM current_findings WHERE due_at < ? LIMIT 1')
      .get(NOW) as {
      host_id: number;
      package: string;
    };
    insertException(db, {
      scope: 'host-package',
      decision: 'defer',
      hostId: covered.host_id,
      package: covered.package,
      availableVersion: null,
      cve: null,
      reason: 'test',
      owner: 'test',
      expiresAt: '2099-01-01T00:00:00.000Z',
      createdAt: '2026-01-01T00:00:00.000Z',
      createdBy: 'test',
    });
    expect(directPage(db, { hasException: true }, NOW).total).toBeGreaterThan(0);
    compare();
  });
});
