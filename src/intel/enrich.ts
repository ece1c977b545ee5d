import type { Database } from 'better-sqlite3';
import type { Settings } from '../api';
import { getAudit, readSettings, type AuditRecord } from '../db';
import {
  advisoriesWithIds,
  appendAuditWarning,
  currentJudgedFindings,
  earlierSuccessfulAudits,
  epssFactsFor,
  findingKeysOfAudit,
  findingsToJudge,
  kevFactsFor,
  newestSuccessfulAudits,
  snapshotPackagesFor,
  updateDueDates,
  writeAuditIntel,
  type EpssFact,
  type FindingJudgement,
  type JudgeableFinding,
  type KevFact,
  type KnownAdvisory,
  type SnapshotPackageRow,
} from '../db';
import { systemClock, type Clock } from '../util';
import { ecosystemOfHost, schemeOf } from './ecosystem';
import { advisoryLookupIds, matchFinding, type MatchOptions, type MatchResult } from './match';
import { dueDate, judgeTier, type TierJudgement } from './risk';

/**
 * The enrichment: after each audit (live or imported) and after each snapshot import, every
 * finding of the audit is judged against the snapshot (match.ts), given its CVEs with their
 * evidence, KEV flag, highest EPSS score, tier, first sighting and due date (risk.ts), all written
 * in one transaction. The snapshot rows are loaded once per audit for the names it has.
 */

export interface IntelContext {
  clock: Clock;
  settings: Settings;
  match?: MatchOptions;
}

const keyOf = (f: { kind: string; package: string; arch: string | null }): string =>
  `${f.kind}\u0000${f.package}\u0000${f.arch ?? ''}`;

/**
 * When each finding was first seen: the started_at of the first audit in the host's unbroken run
 * of successful audits that had the same (kind, package, arch) pending. Carried from an earlier
 * finding's own first_seen_at when it has one; an audit that did not have it ends the run (the
 * clock restarts). Failed audits say nothing either way and are passed over.
 */
export function firstSightings(
  db: Database,
  audit: AuditRecord,
  findings: readonly JudgeableFinding[],
): Map<string, string> {
  const first = new Map<string, string>();
  const pending = new Set<string>();
  for (const f of findings) {
    first.set(keyOf(f), audit.startedAt);
    pending.add(keyOf(f));
  }
  for (const earlier of earlierSuccessfulAudits(db, audit.hostId, audit.id, audit.startedAt)) {
    if (pending.size === 0) break;
    const had = new Map(findingKeysOfAudit(db, earlier.id).map((f) => [keyOf(f), f.firstSeenAt]));
    for (const key of [...pending]) {
      if (!had.has(key)) {
        pending.delete(key);
        continue;
      }
      const carried = had.get(key);
      if (carried) {
        first.set(key, carried < earlier.startedAt ? carried : earlier.startedAt);
        pending.delete(key);
      } else first.set(key, earlier.startedAt);
    }
  }
  return first;
}

/**
 * What one enrichment run has read already, shared by the audits it judges: the snapshot rows per
 * ecosystem and name, the advisories looked up by id, and each distinct update's match (hosts of a
 * fleet mostly have the same updates pending, so most findings are judged once for all).
 */
export class EnrichCache {
  private readonly rows = new Map<string, Map<string, SnapshotPackageRow[]>>();
  private readonly known = new Map<string, KnownAdvisory[]>();
  readonly matches = new Map<string, MatchResult>();
  /** KEV and EPSS facts of every CVE asked about so far (a CVE absent from the maps has none). */
  readonly kev = new Map<string, KevFact>();
  readonly epss = new Map<string, EpssFact>();
  private readonly askedCves = new Set<string>();
  /** Each match's tier and highest EPSS, per (security, severity) of the findings judged with it. */
  readonly judged = new WeakMap<MatchResult, Map<string, { tier: TierJudgement; epss: number | null }>>();
  /** Due dates per tier (for 'kev': its KEV CVEs) and first sighting. */
  readonly due = new Map<string, string | null>();

  constructor(private readonly db: Database) {}

  /** Loads the KEV and EPSS facts of the CVEs not asked about before. */
  loadFacts(cves: Iterable<string>): void {
    const missing: string[] = [];
    for (const c of cves)
      if (!this.askedCves.has(c)) {
        this.askedCves.add(c);
        missing.push(c);
      }
    if (missing.length === 0) return;
    for (const [c, f] of kevFactsFor(this.db, missing)) this.kev.set(c, f);
    for (const [c, f] of epssFactsFor(this.db, missing)) this.epss.set(c, f);
  }

  /** The snapshot rows naming each of `names` in `ecosystem`, loading only names not asked for before. */
  rowsFor(ecosystem: string, names: Iterable<string>): Map<string, SnapshotPackageRow[]> {
    let byName = this.rows.get(ecosystem);
    if (!byName) this.rows.set(ecosystem, (byName = new Map()));
    const missing = [...new Set(names)].filter((n) => !byName.has(n));
    for (const n of missing) byName.set(n, []);
    for (let i = 0; i < missing.length; i += 5000)
      for (const row of snapshotPackagesFor(this.db, ecosystem, missing.slice(i, i + 5000)))
        byName.get(row.package)!.push(row);
    return byName;
  }

  knownFor(ids: Iterable<string>): Map<string, KnownAdvisory[]> {
    const missing = [...new Set(ids)].filter((id) => !this.known.has(id));
    for (const id of missing) this.known.set(id, []);
    for (const k of advisoriesWithIds(this.db, missing)) {
      const key = k.advisoryId.toUpperCase();
      const list = this.known.get(key);
      if (list) list.push(k);
      else this.known.set(key, [k]);
    }
    return this.known;
  }
}

/** What a match depends on, as one string (NUL cannot occur in names, versions or ids read from a host). */
const matchKey = (ecosystem: string | null, f: JudgeableFinding): string =>
  [
    ecosystem ?? '\u0001',
    f.package,
    f.installedVersion ?? '\u0001',
    f.availableVersion,
    f.sourcePackage ?? '\u0001',
    f.sourceInstalledVersion ?? '\u0001',
    f.sourceAvailableVersion ?? '\u0001',
    JSON.stringify(f.advisories),
  ].join('\u0000');

/** Judges and writes one audit's findings. Does nothing for an audit that did not succeed. */
export function enrichAudit(
  db: Database,
  auditId: number,
  ctx: IntelContext,
  cache: EnrichCache = new EnrichCache(db),
): number {
  const audit = getAudit(db, auditId);
  if (!audit || audit.status !== 'succeeded') return 0;
  const findings = findingsToJudge(db, auditId);
  const ecosystem = ecosystemOfHost(audit.osId, audit.osVersion);
  const scheme = ecosystem === null ? null : schemeOf(ecosystem);

  // The snapshot rows for every binary and source name of the audit, in one query.
  const names = new Set<string>();
  const reported = new Set<string>();
  for (const f of findings) {
    names.add(f.package);
    if (f.sourcePackage) names.add(f.sourcePackage);
    for (const id of f.advisories) for (const lookup of advisoryLookupIds(id)) reported.add(lookup);
  }
  const byName =
    ecosystem !== null && scheme !== null
      ? cache.rowsFor(ecosystem, names)
      : new Map<string, SnapshotPackageRow[]>();
  const knownById = cache.knownFor(reported);

  const matches = findings.map((f) => {
    const key = matchKey(ecosystem, f);
    const cached = cache.matches.get(key);
    if (cached) return cached;
    const rows = [
      ...(byName.get(f.package) ?? []),
      ...(f.sourcePackage && f.sourcePackage !== f.package ? (byName.get(f.sourcePackage) ?? []) : []),
    ];
    const knownHere = f.advisories.flatMap((id) =>
      advisoryLookupIds(id).flatMap((l) => knownById.get(l) ?? []),
    );
    const result = matchFinding(f, ecosystem, scheme, rows, knownHere, ctx.match);
    cache.matches.set(key, result);
    return result;
  });
  const allCves = new Set<string>();
  for (const m of matches) for (const c of m.cves) allCves.add(c);
  cache.loadFacts(allCves);
  const { kev, epss } = cache;
  const first = firstSightings(db, audit, findings);

  // Findings with the same match, security flag and severity get the same tier and EPSS: judged once.
  const judgeOnce = (f: JudgeableFinding, m: MatchResult): { tier: TierJudgement; epss: number | null } => {
    let byFinding = cache.judged.get(m);
    if (!byFinding) cache.judged.set(m, (byFinding = new Map()));
    const key = `${f.security ? 1 : 0}${f.severity ?? '\u0000'}`;
    const known = byFinding.get(key);
    if (known) return known;
    const tier = judgeTier({
      security: f.security,
      findingSeverity: f.severity,
      cves: m.cves,
      advisories: m.advisories,
      kev,
    });
    let top: number | null = null;
    for (const c of m.cves) {
      const score = epss.get(c)?.epss;
      if (score !== undefined && (top === null || score > top)) top = score;
    }
    const judged = { tier, epss: top };
    byFinding.set(key, judged);
    return judged;
  };
  // A due date depends on the tier and first sighting only, and for 'kev' on its KEV CVEs too.
  const dueOnce = (judged: TierJudgement, firstSeenAt: string | null): string | null => {
    const key = `${judged.tier === 'kev' ? judged.kevCves.join(',') : judged.tier}\u0000${firstSeenAt}`;
    if (cache.due.has(key)) return cache.due.get(key)!;
    const dueAt = dueDate(judged.tier, firstSeenAt, ctx.settings.slaDays, judged.kevCves, kev).dueAt;
    cache.due.set(key, dueAt);
    return dueAt;
  };

  const counts: Record<string, number> = { kev: 0, critical: 0, high: 0, medium: 0, low: 0 };
  const judgements: FindingJudgement[] = findings.map((f, i) => {
    const m = matches[i]!;
    const { tier: judged, epss: top } = judgeOnce(f, m);
    // Every pending update keeps its first sighting (a later CVE import judges it from then).
    const seen = first.get(keyOf(f)) ?? audit.startedAt;
    const dueAt = dueOnce(judged, judged.tier === null ? null : seen);
    if (judged.tier !== null) counts[judged.tier] = (counts[judged.tier] ?? 0) + 1;
    return {
      findingId: f.id,
      cves: m.cves,
      kev: judged.kevCves.length > 0,
      epss: top,
      tier: judged.tier,
      firstSeenAt: seen,
      dueAt,
      evidence: m.evidence,
      previous: f.judged,
    };
  });
  writeAuditIntel(db, auditId, judgements, counts, new Date(ctx.clock.now()).toISOString());
  return findings.length;
}

/** Re-judges every host's newest successful audit (after an import or a change of settings). */
export function enrichCurrentFindings(
  db: Database,
  ctx: IntelContext,
): { findings: number; durationMs: number } {
  const started = performance.now();
  let n = 0;
  const cache = new EnrichCache(db);
  for (const audit of newestSuccessfulAudits(db)) n += enrichAudit(db, audit.id, ctx, cache);
  return { findings: n, durationMs: Math.round(performance.now() - started) };
}

/** The SLA days changed: every current finding's due date again from its tier and first sighting. */
export function recomputeDueDates(db: Database, ctx: IntelContext): number {
  const rows = currentJudgedFindings(db);
  const kev = kevFactsFor(db, [...new Set(rows.flatMap((r) => r.kevCves))]);
  const updates = rows.map((r) => ({
    id: r.id,
    dueAt: dueDate(r.tier, r.firstSeenAt, ctx.settings.slaDays, r.kevCves, kev).dueAt,
  }));
  updateDueDates(db, updates);
  return updates.length;
}

/**
 * The audit's one call after completeAudit: judges its findings now, and never turns a
 * successful audit into a failed one. A failure is written to the audit's warnings in words.
 */
export function enrichAfterAudit(db: Database, auditId: number, clock: Clock = systemClock): void {
  try {
    enrichAudit(db, auditId, { clock, settings: readSettings(db) });
  } catch (error) {
    appendAuditWarning(
      db,
      auditId,
      `matching against the advisory snapshot failed (${error instanceof Error ? error.message : String(error)}); these updates show no CVEs or due dates until the next advisory import`,
    );
  }
}
