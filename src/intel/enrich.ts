import type { Database } from 'better-sqlite3';
import type { Settings } from '../api';
import { getAudit, listFindings, readSettings, type AuditRecord, type FindingRecord } from '../db';
import {
  advisoriesWithIds,
  appendAuditWarning,
  currentJudgedFindings,
  earlierSuccessfulAudits,
  epssFactsFor,
  findingKeysOfAudit,
  kevFactsFor,
  newestSuccessfulAudits,
  snapshotPackagesFor,
  updateDueDates,
  writeAuditIntel,
  type FindingJudgement,
  type SnapshotPackageRow,
} from '../db';
import { systemClock, type Clock } from '../util';
import { ecosystemOfHost, schemeOf } from './ecosystem';
import { advisoryLookupIds, matchFinding, type MatchOptions } from './match';
import { dueDate, judgeTier } from './risk';

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
  findings: readonly FindingRecord[],
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

/** Judges and writes one audit's findings. Does nothing for an audit that did not succeed. */
export function enrichAudit(db: Database, auditId: number, ctx: IntelContext): number {
  const audit = getAudit(db, auditId);
  if (!audit || audit.status !== 'succeeded') return 0;
  const findings = listFindings(db, auditId);
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
  const byName = new Map<string, SnapshotPackageRow[]>();
  if (ecosystem !== null && scheme !== null)
    for (const row of snapshotPackagesFor(db, ecosystem, [...names])) {
      const list = byName.get(row.package);
      if (list) list.push(row);
      else byName.set(row.package, [row]);
    }
  const known = advisoriesWithIds(db, [...reported]);
  const knownById = new Map<string, typeof known>();
  for (const k of known) {
    const list = knownById.get(k.advisoryId.toUpperCase());
    if (list) list.push(k);
    else knownById.set(k.advisoryId.toUpperCase(), [k]);
  }

  const matches = findings.map((f) => {
    const rows = [
      ...(byName.get(f.package) ?? []),
      ...(f.sourcePackage && f.sourcePackage !== f.package ? (byName.get(f.sourcePackage) ?? []) : []),
    ];
    const knownHere = f.advisories.flatMap((id) =>
      advisoryLookupIds(id).flatMap((l) => knownById.get(l) ?? []),
    );
    return matchFinding(f, ecosystem, scheme, rows, knownHere, ctx.match);
  });
  const allCves = new Set<string>();
  for (const m of matches) for (const c of m.cves) allCves.add(c);
  const kev = kevFactsFor(db, [...allCves]);
  const epss = epssFactsFor(db, [...allCves]);
  const first = firstSightings(db, audit, findings);

  const counts: Record<string, number> = { kev: 0, critical: 0, high: 0, medium: 0, low: 0 };
  const judgements: FindingJudgement[] = findings.map((f, i) => {
    const m = matches[i]!;
    const judged = judgeTier({
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
    const firstSeenAt = judged.tier === null ? null : (first.get(keyOf(f)) ?? audit.startedAt);
    const due = dueDate(judged.tier, firstSeenAt, ctx.settings.slaDays, judged.kevCves, kev);
    if (judged.tier !== null) counts[judged.tier] = (counts[judged.tier] ?? 0) + 1;
    return {
      findingId: f.id,
      cves: m.cves,
      kev: judged.kevCves.length > 0,
      epss: top,
      tier: judged.tier,
      // Every pending update keeps its first sighting (a later CVE import judges it from then).
      firstSeenAt: first.get(keyOf(f)) ?? audit.startedAt,
      dueAt: due.dueAt,
      evidence: m.evidence,
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
  for (const audit of newestSuccessfulAudits(db)) n += enrichAudit(db, audit.id, ctx);
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
