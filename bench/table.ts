/**
 * The one result shape every benchmark returns, so that `npm run bench` with no argument can run
 * them all and print one table (benchmark, baseline, Patchdeck, ratio, goal, met?), and the
 * README's table can be regenerated from that output instead of typed by hand.
 */

/** A goal on one measured number: the ratio to the baseline, or an absolute time in ms. */
export interface BenchGoal {
  /** What the goal bounds: `ratio` (Patchdeck ÷ baseline) or `ms` (Patchdeck's own figure). */
  of: 'ratio' | 'ms';
  /** The goal holds when the measured number is at most this. */
  max: number;
}

export interface BenchRow {
  /** What was measured, in a few words: "audit 20 hosts, wall", "Updates page: sort by package, offset 900 000, p99". */
  benchmark: string;
  /** The baseline and its figure, "pssh -p 20 (same commands): 1.80 s"; "—" when the goal is absolute. */
  baseline: string;
  /** Patchdeck's figure as text, "1.62 s". */
  patchdeck: string;
  /** Patchdeck ÷ baseline, when there is a baseline. */
  ratio?: number;
  /** Patchdeck's figure in ms, when the goal is absolute. */
  valueMs?: number;
  /** The goal, or null for a row that only informs (an extra baseline, a size, a count). */
  goal: BenchGoal | null;
  /** A short remark printed under the table (rounds, sizes, why a figure is what it is). */
  note?: string;
}

/** Whether the row's goal was met; null when it has none or the figure is missing. */
export function goalMet(row: BenchRow): boolean | null {
  if (!row.goal) return null;
  const measured = row.goal.of === 'ratio' ? row.ratio : row.valueMs;
  if (measured === undefined || !Number.isFinite(measured)) return null;
  return measured <= row.goal.max;
}

export function formatGoal(goal: BenchGoal | null): string {
  if (!goal) return '—';
  return goal.of === 'ratio' ? `≤ ${goal.max}×` : `≤ ${goal.max} ms`;
}
