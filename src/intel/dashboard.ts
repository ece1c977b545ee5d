import type { Database } from 'better-sqlite3';
import type { Exposure, PriorityRow, Settings, UnfixedCve } from '../api';
import {
  auditTierCounts,
  dueFigures,
  epssFactsFor,
  getHost,
  hostCounts,
  kevFactsFor,
  mostExposedHosts,
  newestSuccessfulAudits,
  openAdvisoriesOfInstalled,
  openFindingsByTier,
  priorityGroups,
} from '../db';
import type { Clock } from '../util';
import { ecosystemOfHost, schemeOf } from './ecosystem';
import { skippedRow, type MatchOptions } from './match';
import { advisoryStatus } from './status';
import { compareVersions } from './version';

/**
 * The owner's questions at a glance: how exposed we are (open security findings per tier), what
 * is overdue, what is due this week, the trend from audit history, the most exposed hosts and
 * "patch these first". Each figure is one SQL query over the current findings.
 */

const DAY_MS = 86_400_000;
const TIERS = ['kev', 'critical', 'high', 'medium', 'low'] as const;

export function patchPriorities(db: Database, clock: Clock, limit: number): PriorityRow[] {
  return priorityGroups(db, new Date(clock.now()).toISOString(), limit);
}

/**
 * The trend of the last computation, and what the database was then: this connection's
 * total_changes() (every row it has written since opened, triggers included) and data_version
 * (moves when another connection commits). Both unchanged: no audit can have been written,
 * re-judged or deleted since, so the 20 000 audits are not read and parsed again on every open.
 */
const trendCache = new WeakMap<Database, { key: string; points: Exposure['trend'] }>();

function writeGeneration(db: Database): string {
  const changes = db.prepare('SELECT total_changes()').pluck().get() as number;
  return `${changes}:${db.pragma('data_version', { simple: true }) as number}`;
}

/** One point per day with an audit: for each host its newest judged audit up to that day, summed. */
export function exposureTrend(db: Database, maxDays = 365): Exposure['trend'] {
  const key = writeGeneration(db);
  let hit = trendCache.get(db);
  if (hit?.key !== key) trendCache.set(db, (hit = { key, points: computeTrend(db) }));
  return hit.points.slice(-maxDays).map((p) => ({ ...p }));
}

function computeTrend(db: Database): Exposure['trend'] {
  const latest = new Map<number, Record<string, number>>();
  const points: Exposure['trend'] = [];
  // The sums over every host's newest counts, kept as audits replace them (not re-added per day).
  const sums = { kev: 0, critical: 0, high: 0, medium: 0, low: 0 };
  const push = (date: string): void => {
    points.push({ date, ...sums });
  };
  let day: string | null = null;
  for (const a of auditTierCounts(db)) {
    const d = a.startedAt.slice(0, 10);
    if (day !== null && d !== day) push(day);
    day = d;
    const before = latest.get(a.hostId);
    for (const t of TIERS) sums[t] += (a.counts[t] ?? 0) - (before?.[t] ?? 0);
    latest.set(a.hostId, a.counts);
  }
  if (day !== null) push(day);
  return points;
}

/** CVEs that affect installed packages and have no fix published yet (tracker or OSV rows with no fixed version). */
export function unfixedCves(
  db: Database,
  options: { hostId?: number; limit: number; match?: MatchOptions },
): { total: number; rows: UnfixedCve[] } {
  const out: UnfixedCve[] = [];
  const seen = new Set<string>();
  // An ecosystem with no open advisory row cannot give any host an unfixed CVE: asked once per
  // ecosystem, not once per host (2 000 lookups that found nothing were most of the Dashboard).
  const openRows = new Map<string, boolean>();
  const anyOpen = (ecosystem: string): boolean => {
    let known = openRows.get(ecosystem);
    if (known === undefined)
      openRows.set(
        ecosystem,
        (known =
          db
            .prepare(`SELECT 1 FROM advisory_packages WHERE ecosystem = ? AND status = 'open' LIMIT 1`)
            .get(ecosystem) !== undefined),
      );
    return known;
  };
  for (const audit of newestSuccessfulAudits(db)) {
    if (options.hostId !== undefined && audit.hostId !== options.hostId) continue;
    const ecosystem = ecosystemOfHost(audit.osId, audit.osVersion);
    const scheme = ecosystem === null ? null : schemeOf(ecosystem);
    if (ecosystem === null || scheme === null || !anyOpen(ecosystem)) continue;
    const open = openAdvisoriesOfInstalled(db, audit.id, ecosystem);
    // The host's name only when it has something to show (a full host read per host was most of the dashboard).
    if (open.length === 0) continue;
    const hostName = getHost(db, audit.hostId)?.name ?? String(audit.hostId);
    for (const c of open) {
      if (skippedRow(c.row, options.match)) continue;
      const version = c.row.nameKind === 'source' ? (c.sourceVersion ?? c.version) : c.version;
      const introduced = c.row.introduced;
      if (introduced && introduced !== '0' && compareVersions(scheme, version, introduced) < 0) continue;
      for (const cve of c.row.cves) {
        const key = `${audit.hostId}\u0000${c.name}\u0000${cve}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({
          hostId: audit.hostId,
          hostName,
          package: c.name,
          sourcePackage: c.sourceName,
          version: c.version,
          cve,
          advisoryId: c.row.advisoryId,
          feed: c.row.feed,
          status: c.row.status,
          urgency: c.row.urgency,
          severity: c.row.severity,
          kev: false,
          epss: null,
        });
      }
    }
  }
  const cves = [...new Set(out.map((r) => r.cve))];
  const kev = kevFactsFor(db, cves);
  const epss = epssFactsFor(db, cves);
  for (const r of out) {
    r.kev = kev.has(r.cve);
    r.epss = epss.get(r.cve)?.epss ?? null;
  }
  out.sort(
    (a, b) =>
      Number(b.kev) - Number(a.kev) ||
      (b.epss ?? -1) - (a.epss ?? -1) ||
      a.hostName.localeCompare(b.hostName) ||
      a.package.localeCompare(b.package) ||
      a.cve.localeCompare(b.cve),
  );
  return { total: out.length, rows: out.slice(0, options.limit) };
}

/**
 * Each point counts the open findings as judged then (accepted ones left out as of that judging);
 * the newest point is each host's newest audit, so it is what the tier cards say now (an accept
 * added or expired since the judging counts as it does there).
 */
function newestAsNow(
  trend: Exposure['trend'],
  byTier: Record<(typeof TIERS)[number], number>,
): Exposure['trend'] {
  if (trend.length === 0) return trend;
  const last = trend[trend.length - 1]!;
  return [...trend.slice(0, -1), { ...last, ...byTier }];
}

export function exposure(db: Database, ctx: { clock: Clock; settings: Settings }): Exposure {
  const nowMs = ctx.clock.now();
  const now = new Date(nowMs).toISOString();
  const weekEnd = new Date(nowMs + 7 * DAY_MS).toISOString();
  const byTier = openFindingsByTier(db, now);
  const due = dueFigures(db, now, weekEnd);
  const hosts = hostCounts(db);
  // One date per (feed, publisher), as `advisories status` and Settings show them: the newest of
  // its current files (an OSV folder is many files of many dates), the import date for a feed
  // with no date of its own. The snapshot is as old as its oldest feed.
  const status = advisoryStatus(db, ctx.settings, ctx.clock);
  const dates = status.feeds.map((f) => f.publishedAt ?? f.importedAt).sort();
  const snapshotDate = dates[0] ?? null;
  return {
    byTier,
    open: TIERS.reduce((n, t) => n + byTier[t], 0),
    overdue: due.overdue,
    dueThisWeek: due.dueThisWeek,
    excepted: due.excepted,
    exceptionsExpiringSoon: due.exceptionsExpiringSoon,
    unfixedCves: unfixedCves(db, { limit: 1 }).total,
    hosts: hosts.hosts,
    hostsAudited: hosts.audited,
    trend: newestAsNow(exposureTrend(db), byTier),
    mostExposed: mostExposedHosts(db, now, 10),
    patchFirst: priorityGroups(db, now, 10),
    snapshotDate,
    snapshotStale: status.feeds.some((f) => f.stale),
    // The same rule as Settings → Advisories and `advisories status`.
    noSnapshot: status.noDistroAdvisories,
  };
}
