import type { Tier } from '../../src/api/intel-schemas';
import type { Finding } from '../../src/api/schemas';

/** The risk tiers in their order, with the words the window uses for them. */
export const TIER_ORDER: readonly Tier[] = ['kev', 'critical', 'high', 'medium', 'low'];
export const TIER_LABELS: Record<Tier, string> = {
  kev: 'Known exploited',
  critical: 'Critical',
  high: 'High',
  medium: 'Medium',
  low: 'Low',
};

/**
 * An EPSS score or percentile (0–1) as a percentage, e.g. 0.94 → "94.0%". Cut down, never rounded
 * up, so 0.99999 reads "99.9%" and no score reads as a certainty it is not.
 */
export function formatEpss(score: number | null | undefined): string {
  if (score === null || score === undefined) return '—';
  const pct = score * 100;
  return pct < 1
    ? `${(Math.floor(pct * 100) / 100).toFixed(2)}%`
    : `${(Math.floor(pct * 10) / 10).toFixed(1)}%`;
}

/** A calendar date (YYYY-MM-DD) of an ISO time, as stored; a dash when there is none. */
export function dayOf(iso: string | null | undefined): string {
  if (!iso) return '—';
  return iso.slice(0, 10);
}

const DAY_MS = 86_400_000;

/**
 * A due date in words, never only in colour: "overdue since 2026-11-20 (11 d)", "due 2026-12-04
 * (in 3 d)", "no due date". Under an exception the text says what the exception did to it:
 * "to 2026-12-31 (was due 2026-11-20)" after a "deferred" or "accepted" badge.
 */
export function dueText(
  f: Pick<Finding, 'dueAt' | 'overdue' | 'exception'>,
  now: number = Date.now(),
): string {
  if (!f.dueAt) return 'no due date';
  const due = Date.parse(f.dueAt);
  const days = Math.round((due - now) / DAY_MS);
  if (f.overdue) return `overdue since ${dayOf(f.dueAt)} (${Math.max(1, -days)} d)`;
  if (f.exception?.decision === 'defer')
    return `to ${dayOf(f.exception.expiresAt)} (was due ${dayOf(f.dueAt)})`;
  if (f.exception?.decision === 'accept')
    return `until ${dayOf(f.exception.expiresAt)} (due ${dayOf(f.dueAt)})`;
  if (due < now) return `was due ${dayOf(f.dueAt)}`;
  if (days <= 0) return `due ${dayOf(f.dueAt)} (today)`;
  return `due ${dayOf(f.dueAt)} (in ${days} d)`;
}

/** The word an exception's badge shows before the due text. */
export function exceptionWord(decision: 'accept' | 'defer'): string {
  return decision === 'accept' ? 'accepted' : 'deferred';
}

/** The CVEs of a finding, shortened for one table cell: "CVE-2023-44487, CVE-2023-4863 +3". */
export function cveCellText(cves: readonly string[], shown = 2): string {
  if (cves.length === 0) return '—';
  const more = cves.length - shown;
  return cves.slice(0, shown).join(', ') + (more > 0 ? ` +${more}` : '');
}

/** A sha256 cut to what a person compares by eye. */
export function shortSha(sha: string | null | undefined): string {
  return sha ? sha.slice(0, 12) : '—';
}
