import type { Database } from 'better-sqlite3';
import type { CveFacts, FindingEvidence, Settings, Tier } from '../api';
import {
  advisoriesWithIds,
  appliedExceptionId,
  auditTakenAt,
  evidenceOfFinding,
  epssFactsFor,
  exceptionsById,
  findingWithContext,
  kevFactsFor,
} from '../db';
import { PatchdeckError, type Clock } from '../util';
import { ecosystemOfHost } from './ecosystem';
import { advisoryKey, advisoryLookupIds } from './match';
import { dueDate, judgeTier } from './risk';
import type { AdvisorySeverity } from './types';

/**
 * Why a finding fixes which CVEs, and why its tier and due date: every record the answer rests
 * on (advisory, feed file with its sha256 and date, KEV and EPSS facts with their catalogue's
 * date), so that an admin can check each claim instead of trusting it.
 */

const CVE_ID = /^CVE-\d{4}-\d{4,7}$/i;

export function findingEvidence(
  db: Database,
  findingId: number,
  ctx: { clock: Clock; settings: Settings },
): FindingEvidence {
  const f = findingWithContext(db, findingId);
  if (!f) throw new PatchdeckError('not-found', `There is no finding ${findingId}.`);
  const now = new Date(ctx.clock.now()).toISOString();
  const rows = evidenceOfFinding(db, findingId);
  const cves = [...new Set(rows.map((r) => r.cve))].sort();
  const kev = kevFactsFor(db, cves);
  const epss = epssFactsFor(db, cves);
  const facts: CveFacts[] = cves.map((cve) => {
    const mine = rows.filter((r) => r.cve === cve);
    const scored = mine.filter((r) => r.cvssScore !== null).sort((a, b) => b.cvssScore! - a.cvssScore!)[0];
    const k = kev.get(cve);
    const e = epss.get(cve);
    return {
      cve,
      kev: k
        ? {
            dateAdded: k.dateAdded,
            dueDate: k.dueDate,
            ransomware: k.ransomware,
            name: k.name,
            catalogDate: k.catalogDate,
          }
        : null,
      epss: e ? { score: e.epss, percentile: e.percentile, scoreDate: e.scoreDate } : null,
      cvssScore: scored?.cvssScore ?? null,
      cvssVector: scored?.cvssVector ?? null,
      severity: mine.find((r) => r.severity !== null)?.severity ?? null,
      evidence: mine.map((r) => ({
        advisoryId: r.advisoryId,
        feed: r.feed,
        publisher: r.publisher,
        ecosystem: r.ecosystem,
        matchedName: r.matchedName,
        nameKind: r.nameKind,
        fixedVersion: r.fixedVersion,
        url: r.url,
        severity: r.severity,
        vendorSeverity: r.vendorSeverity,
        sourceFile: r.sourceFile,
        sourceSha256: r.sourceSha256,
        snapshotDate: r.snapshotDate,
      })),
    };
  });

  const advisories = new Map<
    number,
    { advisoryId: string; severity: AdvisorySeverity | null; cvssScore: number | null }
  >();
  for (const r of rows)
    if (r.advisoryRowId !== null)
      advisories.set(r.advisoryRowId, {
        advisoryId: r.advisoryId,
        severity: r.severity as AdvisorySeverity | null,
        cvssScore: r.cvssScore,
      });
  const security = f.security === 1;
  const judged = judgeTier({
    security,
    findingSeverity: (f.severity as string | null) ?? null,
    cves,
    advisories: [...advisories.values()],
    kev,
  });
  const tier = (f.tier as Tier | null) ?? null;
  const firstSeenAt = (f.first_seen_at as string | null) ?? null;
  const dueAt = (f.due_at as string | null) ?? null;
  const exceptionId = appliedExceptionId(db, findingId, now);
  const exception =
    exceptionId === null ? null : (exceptionsById(db, [exceptionId]).get(exceptionId) ?? null);
  let dueReason =
    tier === null ? null : dueDate(tier, firstSeenAt, ctx.settings.slaDays, judged.kevCves, kev).reason;
  if (exception?.decision === 'defer')
    dueReason = `deferred until ${exception.expiresAt.slice(0, 10)} (exception ${exception.id}); before that: ${dueReason ?? 'no due date'}`;
  if (exception?.decision === 'accept')
    dueReason = `accepted until ${exception.expiresAt.slice(0, 10)} (exception ${exception.id}); ${dueReason ?? 'no due date'}`;

  // What the package manager reported that the snapshot does not know (kept apart, never counted twice).
  const reported = JSON.parse((f.advisories as string) || '[]') as string[];
  const evidenceKeys = new Set(rows.map((r) => advisoryKey(r.advisoryId)));
  const lookups = reported.filter((id) => !CVE_ID.test(id)).flatMap(advisoryLookupIds);
  const knownKeys = new Set(advisoriesWithIds(db, lookups).map((k) => advisoryKey(k.advisoryId)));
  const unmatchedAdvisories = reported.filter(
    (id) => !CVE_ID.test(id) && !evidenceKeys.has(advisoryKey(id)) && !knownKeys.has(advisoryKey(id)),
  );

  return {
    findingId,
    hostId: f.host_id as number,
    hostName: f.host_name,
    package: f.package as string,
    sourcePackage: (f.source_package as string | null) ?? null,
    installedVersion: (f.installed_version as string | null) ?? null,
    availableVersion: f.available_version as string,
    ecosystem: ecosystemOfHost(f.os_id, f.os_version),
    tier,
    tierReason: tier === null ? null : judged.reason,
    firstSeenAt,
    firstSeenAuditId: firstSeenAt === null ? null : auditTakenAt(db, f.host_id as number, firstSeenAt),
    dueAt: exception?.decision === 'defer' ? exception.expiresAt : dueAt,
    dueReason,
    overdue: exception === null && dueAt !== null && dueAt < now,
    cves: facts,
    unmatchedAdvisories,
    exception: exception
      ? {
          id: exception.id,
          decision: exception.decision,
          scope: exception.scope,
          expiresAt: exception.expiresAt,
          reason: exception.reason,
          owner: exception.owner,
        }
      : null,
    judgedAt: (f.intel_at as string | null) ?? null,
  };
}
