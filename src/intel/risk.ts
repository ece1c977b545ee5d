import type { SlaDays, Tier } from '../api';
import type { KevFact } from '../db';
import type { AdvisorySeverity } from './types';

/**
 * Risk tiers and due dates. Severity is the distro's own rating first (the advisories the update
 * fixes, then the package manager's word), then the CVSS band of the strongest vector; the tier is
 * 'kev' when any CVE is in CISA's catalogue, else that band. The due date runs from the first
 * audit that saw the update pending: SLA days per tier, and for 'kev' CISA's own due date when
 * that is sooner.
 */

const DAY_MS = 86_400_000;
const BANDS: readonly Tier[] = ['critical', 'high', 'medium', 'low'];

/** The package manager's normalised severity (collectors: critical, important, moderate, low) as a band. */
export function bandOfFindingSeverity(severity: string | null): Tier | null {
  switch (severity) {
    case 'critical':
      return 'critical';
    case 'important':
      return 'high';
    case 'moderate':
      return 'medium';
    case 'low':
      return 'low';
    default:
      return null;
  }
}

/** A CVSS base score's band (FIRST's qualitative scale); 0 is 'none'. */
export function bandOfScore(score: number): AdvisorySeverity {
  if (score <= 0) return 'none';
  if (score < 4) return 'low';
  if (score < 7) return 'medium';
  if (score < 9) return 'high';
  return 'critical';
}

export interface TierInput {
  /** The finding fixes a security issue by the package manager's word. */
  security: boolean;
  /** The package manager's normalised severity. */
  findingSeverity: string | null;
  cves: readonly string[];
  /** The snapshot advisories it fixes: their ratings and scores. */
  advisories: readonly { advisoryId: string; severity: AdvisorySeverity | null; cvssScore: number | null }[];
  kev: ReadonlyMap<string, KevFact>;
}

export interface TierJudgement {
  tier: Tier | null;
  /** Why, in words for the evidence panel. */
  reason: string | null;
  /** The KEV entries among its CVEs. */
  kevCves: string[];
}

/** A distro's 'none' still names a CVE fix: the lowest band, not "no rating". */
const bandOfAdvisory = (s: AdvisorySeverity | null): Tier | null =>
  s === null ? null : s === 'none' ? 'low' : s;

export function judgeTier(input: TierInput): TierJudgement {
  const kevCves = input.cves.filter((c) => input.kev.has(c));
  if (!input.security && input.cves.length === 0) return { tier: null, reason: null, kevCves };
  if (kevCves.length > 0) {
    const first = input.kev.get(kevCves[0]!)!;
    return {
      tier: 'kev',
      reason: `${kevCves[0]} is in CISA's KEV catalogue${first.dateAdded ? ` (added ${first.dateAdded})` : ''}${kevCves.length > 1 ? `, and ${kevCves.length - 1} more of its CVEs` : ''}`,
      kevCves,
    };
  }
  let distro: Tier | null = null;
  let distroId: string | null = null;
  for (const a of input.advisories) {
    const band = bandOfAdvisory(a.severity);
    if (band !== null && (distro === null || BANDS.indexOf(band) < BANDS.indexOf(distro))) {
      distro = band;
      distroId = a.advisoryId;
    }
  }
  if (distro !== null)
    return { tier: distro, reason: `the distribution rates ${distroId} ${distro}`, kevCves };
  const pm = bandOfFindingSeverity(input.findingSeverity);
  if (pm !== null)
    return { tier: pm, reason: `the package manager rates this update ${input.findingSeverity}`, kevCves };
  let best: number | null = null;
  let bestId: string | null = null;
  for (const a of input.advisories)
    if (a.cvssScore !== null && (best === null || a.cvssScore > best)) {
      best = a.cvssScore;
      bestId = a.advisoryId;
    }
  if (best !== null) {
    const band = bandOfAdvisory(bandOfScore(best))!;
    return { tier: band, reason: `CVSS ${best.toFixed(1)} (${bestId}): ${band}`, kevCves };
  }
  return {
    tier: 'medium',
    reason: 'a security update that no source rates: medium until one does (README: Which updates matter)',
    kevCves,
  };
}

/** CISA's dueDate ("2023-10-31") as the end of that day, UTC; null when it is no date. */
export function kevDueInstant(dueDate: string | null): string | null {
  if (!dueDate || !/^\d{4}-\d{2}-\d{2}$/.test(dueDate)) return null;
  const t = Date.parse(`${dueDate}T23:59:59.999Z`);
  return Number.isFinite(t) ? new Date(t).toISOString() : null;
}

export interface DueJudgement {
  dueAt: string | null;
  reason: string | null;
}

/** first seen + SLA days of the tier; for 'kev', CISA's own due date when sooner. */
export function dueDate(
  tier: Tier | null,
  firstSeenAt: string | null,
  sla: SlaDays,
  kevCves: readonly string[],
  kev: ReadonlyMap<string, KevFact>,
): DueJudgement {
  if (tier === null || firstSeenAt === null) return { dueAt: null, reason: null };
  const start = Date.parse(firstSeenAt);
  if (!Number.isFinite(start)) return { dueAt: null, reason: null };
  const days = sla[tier];
  let due = new Date(start + days * DAY_MS).toISOString();
  let reason = `${tier === 'kev' ? 'known exploited' : tier}: ${days} days from first seen (${firstSeenAt.slice(0, 10)})`;
  if (tier === 'kev') {
    let cisa: string | null = null;
    let cisaDate: string | null = null;
    for (const cve of kevCves) {
      const d = kevDueInstant(kev.get(cve)?.dueDate ?? null);
      if (d !== null && (cisa === null || d < cisa)) {
        cisa = d;
        cisaDate = kev.get(cve)!.dueDate;
      }
    }
    if (cisa !== null && cisa < due) {
      due = cisa;
      reason = `CISA's due date ${cisaDate}, sooner than ${days} days from first seen (${firstSeenAt.slice(0, 10)})`;
    } else if (cisa !== null) {
      reason += `; CISA's due date ${cisaDate} is later`;
    }
  }
  return { dueAt: due, reason };
}

/** Tiers in risk order, for sorting in code (the SQL has its own CASE). */
export function tierRank(tier: Tier | null): number {
  return tier === null ? 5 : tier === 'kev' ? 0 : BANDS.indexOf(tier) + 1;
}
