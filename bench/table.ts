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

/** A row of a run: what a benchmark returned, or a failed row naming why it gave none. */
export interface RunRow extends BenchRow {
  /** The bench (bench/<bench>.ts) and the arguments of the set that gave this row. */
  bench: string;
  args: string[];
  /** Set when the set failed (threw, returned no rows, needed root): the row has no figure. */
  error?: string;
}

/** `0.62×`, `—` when the row has no ratio. */
export function formatRatio(row: BenchRow): string {
  return row.ratio === undefined || !Number.isFinite(row.ratio) ? '—' : `${row.ratio.toFixed(2)}×`;
}

/** The met? column: yes, no, — (informative, or no figure), FAILED. */
export function formatMet(row: RunRow | BenchRow): string {
  if ('error' in row && row.error !== undefined) return 'FAILED';
  const met = goalMet(row);
  if (met === null) return row.goal ? 'no figure' : '—';
  return met ? 'yes' : 'NO';
}

export const TABLE_HEADERS = ['benchmark', 'baseline', 'Patchdeck', 'ratio', 'goal', 'met?'] as const;

/** One cell: a single line, at most `max` characters (a failed bench's message can be long). */
function cell(text: string, max = 160): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function cells(row: RunRow | BenchRow): string[] {
  return [
    cell(row.benchmark),
    cell(row.baseline),
    cell(row.patchdeck),
    formatRatio(row),
    formatGoal(row.goal),
    formatMet(row),
  ];
}

/** The notes under a table: each row's note (or a failed row's error), by its row's number. */
function notes(rows: readonly (RunRow | BenchRow)[]): { n: number; benchmark: string; text: string }[] {
  const out: { n: number; benchmark: string; text: string }[] = [];
  rows.forEach((row, i) => {
    const error = 'error' in row ? row.error : undefined;
    const text = error !== undefined ? `failed: ${error}` : row.note;
    if (text) out.push({ n: i + 1, benchmark: cell(row.benchmark, 80), text: cell(text, 600) });
  });
  return out;
}

/** The table for a terminal: aligned columns, rows numbered for their notes below. */
export function renderText(rows: readonly (RunRow | BenchRow)[]): string {
  const headers = ['#', ...TABLE_HEADERS];
  const body = rows.map((row, i) => [String(i + 1), ...cells(row)]);
  const widths = headers.map((h, c) => Math.max(h.length, ...body.map((r) => r[c]!.length)));
  const line = (r: string[]): string =>
    r
      .map((text, c) => text.padEnd(widths[c]!))
      .join('  ')
      .trimEnd();
  const text = [line(headers), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
  const n = notes(rows).map((x) => `${x.n}. ${x.benchmark}: ${x.text}`);
  return [...text, ...(n.length ? ['', ...n] : [])].join('\n');
}

/**
 * A Markdown cell: `|` escaped so it cannot open a column, `<` so that no text from a bench
 * (an error message, a host's output) can become HTML or a README marker, `*`/`_` unchanged.
 */
function md(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '&lt;');
}

/** The table in Markdown (README, bench-results/latest.md), unmet goals and failures in bold. */
export function renderMarkdown(rows: readonly (RunRow | BenchRow)[]): string {
  const line = (r: readonly string[]): string => `| ${r.join(' | ')} |`;
  const body = rows.map((row) => {
    const c = cells(row).map(md);
    if (c[5] === 'NO' || c[5] === 'FAILED') c[5] = `**${c[5]}**`;
    return line(c);
  });
  const n = notes(rows).map((x) => `- ${md(x.benchmark)}: ${md(x.text)}`);
  return [
    line(TABLE_HEADERS),
    line(TABLE_HEADERS.map(() => '---')),
    ...body,
    ...(n.length ? ['', ...n] : []),
  ].join('\n');
}
