/**
 * Opt-in phase timings for patch runs: with PATCHDECK_TRACE=1, each phase of each host (and the
 * CLI's own stages) prints one line to stderr — `[trace] <ms since process start> <who> <phase> <ms>`.
 * Off by default; it never touches the workspace.
 */
const enabled = (): boolean => process.env.PATCHDECK_TRACE === '1';

export function traceMark(who: string, what: string, ms?: number): void {
  if (!enabled()) return;
  process.stderr.write(
    `[trace] ${performance.now().toFixed(0).padStart(6)} ${who} ${what}${ms === undefined ? '' : ` ${ms.toFixed(0)}`}\n`,
  );
}

/** Times one awaited phase: `await traced('lab01', 'connect', () => open(host))`. */
export async function traced<T>(who: string, what: string, work: () => Promise<T>): Promise<T> {
  if (!enabled()) return work();
  const started = performance.now();
  try {
    return await work();
  } finally {
    traceMark(who, what, performance.now() - started);
  }
}
