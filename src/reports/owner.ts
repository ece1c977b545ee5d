import type { Database } from 'better-sqlite3';
import { z } from 'zod';
import {
  EXCEPTION_ACTIVE,
  FINDING_OVERDUE,
  HAS_ACTIVE_ACCEPT,
  HAS_ACTIVE_EXCEPTION,
  readSettings,
} from '../db';
import { advisoryStatus } from '../intel';
import type { Clock } from '../util';
import { agree, plural } from './html';
import { hostsParam, type ReportRange } from './types';

/**
 * The owner report: one or two pages for someone who pays for patching and does not know what a
 * CVE is. Every figure is one query over the workspace, scoped to the report's hosts:
 * - the state (exposure, overdue, exceptions) is the hosts' newest successful audits as judged
 *   now (`asOf`), as the dashboard counts them: an update is "open" when the advisory data gave
 *   it a tier and no active accept covers it; "overdue" when its due date passed and no active
 *   exception covers it;
 * - "fixed in the period" is audit history: an update pending in one successful audit of a host
 *   and no longer pending in the host's next successful audit, when that next audit was taken in
 *   the period (whether it was a security update is the pending finding's: its tier or the
 *   package manager's security flag); and the patch jobs whose steps finished in the period.
 */

const TIER = z.enum(['kev', 'critical', 'high', 'medium', 'low']);
type TierName = z.infer<typeof TIER>;
export const OWNER_TIERS: readonly TierName[] = ['kev', 'critical', 'high', 'medium', 'low'];

const TierCounts = z.object({
  kev: z.number().int(),
  critical: z.number().int(),
  high: z.number().int(),
  medium: z.number().int(),
  low: z.number().int(),
});

export const OwnerReport = z.object({
  kind: z.literal('owner'),
  from: z.string(),
  to: z.string(),
  /** The instant the state figures are computed at (the report's generation). */
  asOf: z.string(),
  /** The hosts asked for, or null for every host in the inventory. */
  hostIds: z.array(z.number().int()).nullable(),
  machines: z.object({
    total: z.number().int(),
    /** With at least one successful audit. */
    audited: z.number().int(),
    /** With at least one open security update. */
    exposed: z.number().int(),
    withKnownExploited: z.number().int(),
    withOverdue: z.number().int(),
    /** Never audited, or not in the last 30 days before asOf. */
    notCheckedRecently: z.array(
      z.object({ hostId: z.number().int(), name: z.string(), lastAuditAt: z.string().nullable() }),
    ),
  }),
  exposure: z.object({
    byTier: TierCounts,
    open: z.number().int(),
    overdue: z.number().int(),
    /** Due within 7 days of asOf, not overdue, not under an exception. */
    dueSoon: z.number().int(),
    /** Open updates covered by an active exception of any kind (accepted ones are not open). */
    excepted: z.number().int(),
  }),
  fixed: z.object({
    /** Updates pending in one audit of a host and gone in its next audit, taken in the period. */
    updatesNoLongerPending: z.number().int(),
    /**
     * Of those, the security updates as the audit that listed them pending said: judged with a
     * tier, or marked security by the package manager (an audit never judged against advisory
     * data, one taken before any was imported, has no tier but keeps the package manager's flag).
     */
    securityNoLongerPending: z.number().int(),
    knownExploitedNoLongerPending: z.number().int(),
    machines: z.number().int(),
    jobs: z.array(
      z.object({
        id: z.number().int(),
        name: z.string(),
        status: z.string(),
        finishedAt: z.string().nullable(),
        hostsSucceeded: z.number().int(),
        hostsFailed: z.number().int(),
        /** Packages on the steps that succeeded in the period. */
        packagesInstalled: z.number().int(),
      }),
    ),
  }),
  overdue: z.array(
    z.object({
      hostId: z.number().int(),
      hostName: z.string(),
      count: z.number().int(),
      knownExploited: z.number().int(),
      worstTier: TIER,
      /** The earliest due date among its overdue updates: overdue since then. */
      since: z.string(),
      packages: z.array(z.string()),
      /** Why they are due then, in words (from the tier and the workspace's fix-within days). */
      why: z.string(),
    }),
  ),
  exceptions: z.array(
    z.object({
      id: z.number().int(),
      decision: z.enum(['accept', 'defer']),
      scope: z.string(),
      what: z.string(),
      reason: z.string(),
      owner: z.string(),
      expiresAt: z.string(),
      expiresSoon: z.boolean(),
    }),
  ),
  /**
   * One point per day in the period with an audit: each host's newest judged audit up to that day,
   * as judged then; when the period reaches today, a last point for today with the figures above.
   */
  trend: z.array(TierCounts.extend({ date: z.string() })),
  actions: z.array(
    z.object({
      text: z.string(),
      hostIds: z.array(z.number().int()),
      dueBy: z.string().nullable(),
    }),
  ),
  advisoryData: z.object({
    stale: z.boolean(),
    oldestDate: z.string().nullable(),
  }),
});
export type OwnerReport = z.infer<typeof OwnerReport>;

type Row = Record<string, unknown>;
const DAY_MS = 86_400_000;

/** The SQL condition "host column `col` is in the report's hosts" (param @hosts: JSON or null). */
const inScope = (col: string): string =>
  `(@hosts IS NULL OR ${col} IN (SELECT value FROM json_each(@hosts)))`;

const CURRENT_AUDITS = `SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY host_id ORDER BY started_at DESC, id DESC) AS rn
  FROM audits WHERE status = 'succeeded') WHERE rn = 1`;
const CURRENT = `FROM findings f JOIN (${CURRENT_AUDITS}) l ON l.id = f.audit_id`;
const OPEN = `f.tier IS NOT NULL AND NOT ${HAS_ACTIVE_ACCEPT}`;
const TIER_RANK = `CASE f.tier WHEN 'kev' THEN 0 WHEN 'critical' THEN 1 WHEN 'high' THEN 2 WHEN 'medium' THEN 3 WHEN 'low' THEN 4 ELSE 5 END`;

/** "8 Dec 2026" (UTC), the way the report says a date. */
export function plainDate(iso: string): string {
  const d = new Date(iso);
  if (!Number.isFinite(d.getTime())) return iso;
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  return `${d.getUTCDate()} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
}

const TIER_WORDS: Record<TierName, string> = {
  kev: 'being exploited by attackers now',
  critical: 'critical',
  high: 'high risk',
  medium: 'medium risk',
  low: 'low risk',
};

/** "OFFICE-PC3" / "OFFICE-PC3 and 2 others": the host with the most first. */
function hostPhrase(names: string[]): string {
  if (names.length === 0) return 'no machine';
  if (names.length === 1) return names[0]!;
  return `${names[0]} and ${plural(names.length - 1, 'other')}`;
}

export function buildOwnerReport(db: Database, range: ReportRange, clock: Clock): OwnerReport {
  const asOfMs = clock.now();
  const asOf = new Date(asOfMs).toISOString();
  const weekEnd = new Date(asOfMs + 7 * DAY_MS).toISOString();
  const staleBefore = new Date(asOfMs - 30 * DAY_MS).toISOString();
  const hosts = hostsParam(range);
  const p = { hosts, now: asOf, weekEnd, from: range.fromIso, until: range.untilIso };
  const settings = readSettings(db);

  // ---- Machines ----
  const hostRows = db
    .prepare(
      `SELECT h.id, h.name, (SELECT max(a.started_at) FROM audits a WHERE a.host_id = h.id AND a.status = 'succeeded') AS last_audit
       FROM hosts h WHERE ${inScope('h.id')} ORDER BY h.name COLLATE NOCASE, h.id`,
    )
    .all(p) as Row[];
  const perHost = db
    .prepare(
      `SELECT count(DISTINCT f.host_id) AS exposed,
         count(DISTINCT CASE WHEN f.tier = 'kev' THEN f.host_id END) AS kev_hosts,
         count(DISTINCT CASE WHEN ${FINDING_OVERDUE} THEN f.host_id END) AS overdue_hosts
       ${CURRENT} WHERE ${OPEN} AND ${inScope('f.host_id')}`,
    )
    .get(p) as Row;

  // ---- Exposure now ----
  const byTier = { kev: 0, critical: 0, high: 0, medium: 0, low: 0 };
  for (const r of db
    .prepare(
      `SELECT f.tier AS tier, count(*) AS n ${CURRENT} WHERE ${OPEN} AND ${inScope('f.host_id')} GROUP BY f.tier`,
    )
    .all(p) as { tier: TierName; n: number }[])
    byTier[r.tier] = r.n;
  const due = db
    .prepare(
      `SELECT coalesce(sum(${FINDING_OVERDUE}), 0) AS overdue,
         coalesce(sum(f.due_at >= @now AND f.due_at < @weekEnd AND NOT ${HAS_ACTIVE_EXCEPTION}), 0) AS due_soon,
         coalesce(sum(${HAS_ACTIVE_EXCEPTION}), 0) AS excepted
       ${CURRENT} WHERE ${OPEN} AND ${inScope('f.host_id')}`,
    )
    .get(p) as { overdue: number; due_soon: number; excepted: number };

  // ---- Fixed in the period ----
  const gone = db
    .prepare(
      `WITH ok AS (SELECT id, host_id, started_at,
           row_number() OVER (PARTITION BY host_id ORDER BY started_at, id) AS n
         FROM audits WHERE status = 'succeeded' AND ${inScope('host_id')}),
       pairs AS (SELECT b.id AS before_id, a.id AS after_id, a.host_id AS host_id FROM ok a
         JOIN ok b ON b.host_id = a.host_id AND b.n = a.n - 1
         WHERE a.started_at >= @from AND a.started_at < @until)
       SELECT count(*) AS n, coalesce(sum(f.tier IS NOT NULL OR f.security = 1), 0) AS security,
         coalesce(sum(f.tier = 'kev'), 0) AS kev, count(DISTINCT p.host_id) AS machines
       FROM pairs p JOIN findings f ON f.audit_id = p.before_id
       WHERE NOT EXISTS (SELECT 1 FROM findings g WHERE g.audit_id = p.after_id AND g.kind = f.kind
         AND g.package = f.package AND g.arch IS f.arch)`,
    )
    .get(p) as { n: number; security: number; kev: number; machines: number };
  const jobs = (
    db
      .prepare(
        `SELECT j.id, j.name, j.status, max(s.finished_at) AS finished_at,
           sum(s.status = 'succeeded') AS ok, sum(s.status = 'failed') AS failed,
           coalesce(sum(CASE WHEN s.status = 'succeeded' THEN json_array_length(s.packages) END), 0) AS packages
         FROM patch_jobs j JOIN job_steps s ON s.job_id = j.id
         WHERE s.finished_at >= @from AND s.finished_at < @until AND ${inScope('s.host_id')}
         GROUP BY j.id ORDER BY finished_at, j.id`,
      )
      .all(p) as Row[]
  ).map((r) => ({
    id: r.id as number,
    name: r.name as string,
    status: r.status as string,
    finishedAt: (r.finished_at as string | null) ?? null,
    hostsSucceeded: r.ok as number,
    hostsFailed: r.failed as number,
    packagesInstalled: r.packages as number,
  }));

  // ---- Overdue, per machine ----
  const sla = settings.slaDays;
  const overdue = (
    db
      .prepare(
        `SELECT f.host_id, h.name AS host_name, count(*) AS n, sum(f.tier = 'kev') AS kev, min(${TIER_RANK}) AS worst,
           min(f.due_at) AS since, json_group_array(DISTINCT f.package) AS packages,
           json_group_array(DISTINCT f.tier) AS tiers
         ${CURRENT} JOIN hosts h ON h.id = f.host_id
         WHERE ${OPEN} AND ${FINDING_OVERDUE} AND ${inScope('f.host_id')}
         GROUP BY f.host_id ORDER BY kev DESC, n DESC, since, h.name COLLATE NOCASE, f.host_id`,
      )
      .all(p) as Row[]
  ).map((r) => {
    const tiers = OWNER_TIERS.filter((t) => (JSON.parse(r.tiers as string) as string[]).includes(t));
    const packages = (JSON.parse(r.packages as string) as string[]).sort();
    const why = tiers
      .map((t) =>
        t === 'kev'
          ? `${TIER_WORDS.kev}: fix within ${sla.kev} days of first seeing it, or by CISA's date if sooner`
          : `${TIER_WORDS[t]}: fix within ${sla[t]} days of first seeing it`,
      )
      .join('; ');
    return {
      hostId: r.host_id as number,
      hostName: r.host_name as string,
      count: r.n as number,
      knownExploited: r.kev as number,
      worstTier: OWNER_TIERS[r.worst as number]!,
      since: r.since as string,
      packages: packages.slice(0, 6),
      why,
    };
  });

  // ---- Exceptions (active now, on these hosts or on every host) ----
  const soon = new Date(asOfMs + 14 * DAY_MS).toISOString();
  const exceptions = (
    db
      .prepare(
        `SELECT e.*, h.name AS host_name FROM finding_exceptions e LEFT JOIN hosts h ON h.id = e.host_id
         WHERE ${EXCEPTION_ACTIVE} AND (e.host_id IS NULL OR ${inScope('e.host_id')})
         ORDER BY e.expires_at, e.id`,
      )
      .all(p) as Row[]
  ).map((r) => {
    const pkg = (r.package as string | null) ?? '';
    const host = (r.host_name as string | null) ?? '';
    const what =
      r.scope === 'cve'
        ? `${r.cve as string} on every machine`
        : r.scope === 'package'
          ? `${pkg} on every machine`
          : r.scope === 'host-package'
            ? `${pkg} on ${host}`
            : `${pkg} ${(r.available_version as string | null) ?? ''} on ${host}`;
    return {
      id: r.id as number,
      decision: r.decision as 'accept' | 'defer',
      scope: r.scope as string,
      what,
      reason: r.reason as string,
      owner: r.owner as string,
      expiresAt: r.expires_at as string,
      expiresSoon: (r.expires_at as string) < soon,
    };
  });

  // ---- Trend over the period (each audit's counts as judged then) ----
  const trend: OwnerReport['trend'] = [];
  const latest = new Map<number, Record<string, number>>();
  let day: string | null = null;
  const push = (date: string): void => {
    const point = { date, kev: 0, critical: 0, high: 0, medium: 0, low: 0 };
    for (const counts of latest.values()) for (const t of OWNER_TIERS) point[t] += counts[t] ?? 0;
    trend.push(point);
  };
  for (const r of db
    .prepare(
      `SELECT host_id, started_at, intel_counts FROM audits
       WHERE status = 'succeeded' AND intel_counts IS NOT NULL AND started_at < @until AND ${inScope('host_id')}
       ORDER BY started_at, id`,
    )
    .all(p) as Row[]) {
    const d = (r.started_at as string).slice(0, 10);
    if (day !== null && d !== day && day >= range.from) push(day);
    day = d;
    latest.set(r.host_id as number, JSON.parse(r.intel_counts as string) as Record<string, number>);
  }
  if (day !== null && day >= range.from) push(day);

  // ---- Advisory data ----
  const status = advisoryStatus(db, settings, clock);
  const dates = status.feeds.map((f) => f.publishedAt ?? f.importedAt).sort();

  const notCheckedRecently = hostRows
    .filter((r) => r.last_audit === null || (r.last_audit as string) < staleBefore)
    .map((r) => ({
      hostId: r.id as number,
      name: r.name as string,
      lastAuditAt: (r.last_audit as string | null) ?? null,
    }));

  // The newest point is what the figures above say now (an accept added since an audit's judging
  // counts as it does there), when the period reaches today: the dashboard's rule.
  const today = asOf.slice(0, 10);
  if (today >= range.from && today <= range.to) {
    if (trend.length > 0 && trend[trend.length - 1]!.date === today) trend.pop();
    trend.push({ date: today, ...byTier });
  }

  const report: OwnerReport = {
    kind: 'owner',
    from: range.from,
    to: range.to,
    asOf,
    hostIds: range.hostIds,
    machines: {
      total: hostRows.length,
      audited: hostRows.filter((r) => r.last_audit !== null).length,
      exposed: perHost.exposed as number,
      withKnownExploited: perHost.kev_hosts as number,
      withOverdue: perHost.overdue_hosts as number,
      notCheckedRecently,
    },
    exposure: {
      byTier,
      open: OWNER_TIERS.reduce((n, t) => n + byTier[t], 0),
      overdue: due.overdue,
      dueSoon: due.due_soon,
      excepted: due.excepted,
    },
    fixed: {
      updatesNoLongerPending: gone.n,
      securityNoLongerPending: gone.security,
      knownExploitedNoLongerPending: gone.kev,
      machines: gone.machines,
      jobs,
    },
    overdue,
    exceptions,
    trend,
    actions: [],
    advisoryData: { stale: status.feeds.some((f) => f.stale), oldestDate: dates[0] ?? null },
  };
  report.actions = nextActions(db, report, p);
  return OwnerReport.parse(report);
}

/** What to do next, most urgent first, each a sentence an owner can hand on as it is. */
function nextActions(
  db: Database,
  report: OwnerReport,
  p: Record<string, string | null>,
): OwnerReport['actions'] {
  const actions: OwnerReport['actions'] = [];
  const group = (where: string): { hostIds: number[]; names: string[]; n: number; dueBy: string | null } => {
    const rows = db
      .prepare(
        `SELECT f.host_id, h.name, count(*) AS n, min(f.due_at) AS due ${CURRENT} JOIN hosts h ON h.id = f.host_id
         WHERE ${OPEN} AND ${where} AND ${inScope('f.host_id')}
         GROUP BY f.host_id ORDER BY n DESC, h.name COLLATE NOCASE, f.host_id`,
      )
      .all(p) as Row[];
    const dues = rows
      .map((r) => r.due as string | null)
      .filter((d): d is string => d !== null)
      .sort();
    return {
      hostIds: rows.map((r) => r.host_id as number),
      names: rows.map((r) => r.name as string),
      n: rows.reduce((s, r) => s + (r.n as number), 0),
      dueBy: dues[0] ?? null,
    };
  };
  const kev = group(`f.tier = 'kev' AND NOT ${HAS_ACTIVE_EXCEPTION}`);
  if (kev.n > 0) {
    const late = kev.dueBy !== null && kev.dueBy < report.asOf;
    actions.push({
      text: `Install the ${plural(kev.n, 'known-exploited fix', 'known-exploited fixes')} on ${hostPhrase(kev.names)} ${
        kev.dueBy === null
          ? 'now'
          : late
            ? `now: ${agree(kev.n, 'it was', 'they were')} due by ${plainDate(kev.dueBy)}`
            : `by ${plainDate(kev.dueBy)}`
      }. Attackers are already using ${agree(kev.n, 'this weakness', 'these weaknesses')}.`,
      hostIds: kev.hostIds,
      dueBy: kev.dueBy,
    });
  }
  const late = group(`f.tier <> 'kev' AND ${FINDING_OVERDUE}`);
  if (late.n > 0)
    actions.push({
      text: `Install the ${plural(late.n, 'overdue security update')} on ${hostPhrase(late.names)} now: ${agree(late.n, 'it', 'the oldest')} was due by ${plainDate(late.dueBy!)}.`,
      hostIds: late.hostIds,
      dueBy: late.dueBy,
    });
  const soon = group(
    `f.tier <> 'kev' AND f.due_at >= @now AND f.due_at < @weekEnd AND NOT ${HAS_ACTIVE_EXCEPTION}`,
  );
  if (soon.n > 0)
    actions.push({
      text: `Install the ${plural(soon.n, 'security update')} due this week on ${hostPhrase(soon.names)} by ${plainDate(soon.dueBy!)}.`,
      hostIds: soon.hostIds,
      dueBy: soon.dueBy,
    });
  const ending = report.exceptions.filter((e) => e.expiresSoon);
  if (ending.length > 0)
    actions.push({
      text: `Decide again on ${plural(ending.length, 'exception')} that ${ending.length === 1 ? 'ends' : 'end'} by ${plainDate(ending[ending.length - 1]!.expiresAt)} (${ending
        .slice(0, 3)
        .map((e) => e.what)
        .join(
          ', ',
        )}${ending.length > 3 ? ', …' : ''}): renew it with a reason, or let the update be installed.`,
      hostIds: [],
      dueBy: ending[0]!.expiresAt,
    });
  const unchecked = report.machines.notCheckedRecently;
  if (unchecked.length > 0)
    actions.push({
      text: `Check ${plural(unchecked.length, 'machine')} not checked in the last 30 days (${unchecked
        .slice(0, 3)
        .map((h) => h.name)
        .join(', ')}${unchecked.length > 3 ? ', …' : ''}): run an audit so this report sees them.`,
      hostIds: unchecked.map((h) => h.hostId),
      dueBy: null,
    });
  if (report.advisoryData.stale)
    actions.push({
      text: 'Update the security advisory data: it is more than a week old, so newer risks are not counted yet.',
      hostIds: [],
      dueBy: null,
    });
  if (actions.length === 0)
    actions.push({
      text: 'Nothing is urgent. Keep auditing the machines every week.',
      hostIds: [],
      dueBy: null,
    });
  return actions;
}
