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

/** An EPSS score (0–1) as the percentage FIRST publishes it, e.g. 0.94 → "94.0%". */
export function formatEpss(score: number | null | undefined): string {
  if (score === null || score === undefined) return '—';
  const pct = score * 100;
  return `${pct < 1 ? pct.toFixed(2) : pct.toFixed(1)}%`;
}

/** A calendar date (YYYY-MM-DD) of an ISO time, as stored; a dash when there is none. */
export function dayOf(iso: string | null | undefined): string {
  if (!iso) return '—';
  return iso.slice(0, 10);
}

const DAY_MS = 86_400_000;

/**
 * A due date in words, never only in colour: "overdue since 2026-11-20 (11 days)", "due 2026-12-04
 * (in 3 days)", "no due date". An exception that accepts the risk says so instead of "overdue".
 */
export function dueText(
  f: Pick<Finding, 'dueAt' | 'overdue' | 'exception'>,
  now: number = Date.now(),
): string {
  if (!f.dueAt) return 'no due date';
  const due = Date.parse(f.dueAt);
  const days = Math.round((due - now) / DAY_MS);
  if (f.overdue) return `overdue since ${dayOf(f.dueAt)} (${Math.max(1, -days)} d)`;
  if (f.exception?.decision === 'accept' && due < now) return `accepted (was due ${dayOf(f.dueAt)})`;
  if (days <= 0) return `due ${dayOf(f.dueAt)} (today)`;
  return `due ${dayOf(f.dueAt)} (in ${days} d)`;
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
