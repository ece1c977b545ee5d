/**
 * `npm run fuzz`: runs every fuzz target in test/fuzz/targets/ and prints a table of target,
 * inputs, crashes, unclean errors and the slowest input.
 *
 *   npm run fuzz                          100 000 inputs per target, a random seed
 *   npm run fuzz -- --runs 5000 --seed 7  fewer inputs, reproducible
 *   npm run fuzz -- --only parser:apt     one target (comma-separated names, or a prefix ending in *)
 *   npm run fuzz -- --jobs 1              one worker at a time (default: 2)
 *
 * Each target runs in worker threads. A crash is an uncaught exception, an unhandled rejection
 * or a hang: an input that runs past the target's timeoutMs (a synchronous one is stopped by
 * terminating its worker, which then resumes after it). An unclean error is a throw that the
 * target's `classified` rejects. The exit code is 1 when there is either.
 */
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { inputAt, isFuzzTarget, preview, type Slowest, type WorkerData, type WorkerMessage } from './shared';
import type { FuzzTarget } from './target';

const HERE = dirname(fileURLToPath(import.meta.url));
export const TARGETS_DIR = join(HERE, 'targets');
const WORKER_ENTRY = join(HERE, 'worker-entry.mjs');

export interface FuzzOptions {
  runs: number;
  seed: number;
  /** Target names; an entry ending in `*` is a prefix. Empty: every target. */
  only: string[];
  jobs: number;
  /** Inputs per worker before it is replaced (bounds what a leaky target can accumulate). */
  chunk?: number;
  /** Where the target modules are (default test/fuzz/targets/). */
  dir?: string;
  /** Called as targets finish, for live output. */
  onReport?: (report: FuzzReport) => void;
}

export interface FuzzProblem {
  kind: string;
  index: number;
  preview: string;
  message: string;
}

export interface FuzzReport {
  target: string;
  file: string;
  inputs: number;
  crashes: FuzzProblem[];
  unclean: FuzzProblem[];
  uncleanCount: number;
  slowest: Slowest;
  seed: number;
}

interface LoadedTarget {
  file: string;
  target: FuzzTarget;
}

/** Every FuzzTarget exported by the modules in test/fuzz/targets/ (single values or arrays). */
export async function loadTargets(dir = TARGETS_DIR): Promise<LoadedTarget[]> {
  const files = readdirSync(dir)
    .filter((f) => /\.(?:ts|mts|js|mjs)$/.test(f) && !/\.d\.ts$|\.test\./.test(f))
    .sort();
  const loaded: LoadedTarget[] = [];
  const names = new Set<string>();
  for (const f of files) {
    const file = join(dir, f);
    const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    for (const value of Object.values(module).flatMap((v) => (Array.isArray(v) ? v : [v]))) {
      if (!isFuzzTarget(value) || names.has(value.name)) continue;
      names.add(value.name);
      loaded.push({ file, target: value });
    }
  }
  return loaded;
}

function selected(name: string, only: string[]): boolean {
  if (only.length === 0) return true;
  return only.some((o) => (o.endsWith('*') ? name.startsWith(o.slice(0, -1)) : name === o));
}

/** Runs inputs [from, to) of one target in one worker; resolves when they are all done. */
function runChunk(
  loaded: LoadedTarget,
  seed: number,
  from: number,
  to: number,
  report: FuzzReport,
): Promise<void> {
  const timeoutMs = loaded.target.timeoutMs ?? 2000;
  return new Promise((resolve) => {
    const heartbeat = new SharedArrayBuffer(8);
    const beat = new Int32Array(heartbeat);
    Atomics.store(beat, 0, from);
    const data: WorkerData = { file: loaded.file, name: loaded.target.name, seed, from, to, heartbeat };
    const worker = new Worker(WORKER_ENTRY, { workerData: data });
    let finished = false;
    let uncleanBase = report.uncleanCount;
    let watched = { index: -1, since: performance.now() };
    const finish = (resumeAt: number | null): void => {
      if (finished) return;
      finished = true;
      clearInterval(watchdog);
      void worker.terminate();
      if (resumeAt !== null && resumeAt < to) {
        runChunk(loaded, seed, resumeAt, to, report).then(resolve, resolve);
      } else resolve();
    };
    // A synchronous hang never yields to the worker's own timer: stop it from here.
    const watchdog = setInterval(() => {
      const index = Atomics.load(beat, 0);
      const running = Atomics.load(beat, 1) === 1;
      if (index !== watched.index || !running) {
        watched = { index, since: performance.now() };
        return;
      }
      // The worker's own timer reports an async hang at timeoutMs; past twice that, nothing yields.
      if (performance.now() - watched.since > timeoutMs + Math.max(250, timeoutMs)) {
        report.crashes.push({
          kind: `hang (> ${timeoutMs} ms, worker stopped)`,
          index,
          preview: preview(inputAt(loaded.target.arbitrary, seed, index)),
          message: 'a synchronous loop never returned',
        });
        report.inputs = Math.max(report.inputs, index + 1);
        finish(index + 1);
      }
    }, 100);
    worker.on('message', (message: WorkerMessage) => {
      switch (message.type) {
        case 'crash':
          report.crashes.push(message);
          break;
        case 'unclean':
          if (report.unclean.length < 5) report.unclean.push({ kind: 'unclean error', ...message });
          break;
        case 'progress':
        case 'done':
          report.inputs = Math.max(report.inputs, message.done);
          report.uncleanCount = uncleanBase + message.unclean;
          if (message.slowest.ms > report.slowest.ms) report.slowest = message.slowest;
          if (message.type === 'done') {
            uncleanBase = report.uncleanCount;
            finish(null);
          }
          break;
        case 'fatal':
          report.crashes.push({
            kind: 'target failed to start',
            index: from,
            preview: '',
            message: message.message,
          });
          finish(null);
          break;
      }
    });
    worker.on('error', (error) => {
      const index = Atomics.load(beat, 0);
      report.crashes.push({
        kind: 'worker crashed',
        index,
        preview: '',
        message: String(error).slice(0, 300),
      });
      finish(index + 1);
    });
    worker.on('exit', (code) => {
      if (finished) return;
      const index = Atomics.load(beat, 0);
      report.crashes.push({
        kind: `worker exited (${code})`,
        index,
        preview: '',
        message: 'the process ended mid-run',
      });
      finish(index + 1);
    });
  });
}

async function runTarget(loaded: LoadedTarget, options: FuzzOptions): Promise<FuzzReport> {
  const report: FuzzReport = {
    target: loaded.target.name,
    file: loaded.file,
    inputs: 0,
    crashes: [],
    unclean: [],
    uncleanCount: 0,
    slowest: { ms: -1, index: -1, preview: '' },
    seed: options.seed,
  };
  const chunk = options.chunk ?? 25_000;
  for (let from = 0; from < options.runs; from += chunk) {
    await runChunk(loaded, options.seed, from, Math.min(options.runs, from + chunk), report);
  }
  report.inputs = Math.min(report.inputs, options.runs);
  return report;
}

/** Runs the selected targets, `jobs` at a time; the reports come back in target order. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport[]> {
  const targets = (await loadTargets(options.dir)).filter((t) => selected(t.target.name, options.only));
  if (targets.length === 0) throw new Error(`no fuzz target matches ${options.only.join(', ') || '(any)'}`);
  const reports: FuzzReport[] = new Array<FuzzReport>(targets.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < targets.length) {
      const i = next++;
      reports[i] = await runTarget(targets[i]!, options);
      options.onReport?.(reports[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.jobs, targets.length)) }, lane));
  return reports;
}

export function formatTable(reports: readonly FuzzReport[]): string {
  const rows = [
    ['target', 'inputs', 'crashes', 'unclean errors', 'slowest input'],
    ...reports.map((r) => [
      r.target,
      String(r.inputs),
      String(r.crashes.length),
      String(r.uncleanCount),
      r.slowest.ms < 0 ? '-' : `${r.slowest.ms.toFixed(1)} ms  #${r.slowest.index} ${r.slowest.preview}`,
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const format = (row: string[]): string =>
    row
      .map((cell, c) => (c === 1 || c === 2 || c === 3 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  return [format(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(format)].join(
    '\n',
  );
}

export function formatProblems(reports: readonly FuzzReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    for (const p of [...r.crashes, ...r.unclean].slice(0, 10)) {
      lines.push(`${r.target} ${p.kind} at input #${p.index} (--seed ${r.seed}): ${p.message}`);
      if (p.preview) lines.push(`    input: ${p.preview}`);
    }
  }
  return lines.join('\n');
}

export function parseArgs(argv: readonly string[]): FuzzOptions {
  const options: FuzzOptions = {
    runs: 100_000,
    seed: (Date.now() ^ (process.pid << 16)) >>> 0,
    only: [],
    jobs: Math.max(1, Math.min(2, availableParallelism())),
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    const count = (v: string): number => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${arg} takes a positive whole number, not ${v}`);
      return n;
    };
    if (arg === '--runs') options.runs = count(value());
    else if (arg === '--seed') options.seed = Number(value()) >>> 0;
    else if (arg === '--only') options.only.push(...value().split(',').filter(Boolean));
    else if (arg === '--jobs') options.jobs = count(value());
    else throw new Error(`unknown option ${arg} (known: --runs N, --seed S, --only NAME, --jobs J)`);
  }
  return options;
}

async function main(): Promise<void> {
  let options: FuzzOptions;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(String(error instanceof Error ? error.message : error));
    process.exit(2);
  }
  console.log(`fuzzing: ${options.runs} inputs per target, seed ${options.seed}, ${options.jobs} at a time`);
  const started = performance.now();
  const reports = await runFuzz({
    ...options,
    onReport: (r) =>
      console.log(
        `  ${r.target}: ${r.inputs} inputs, ${r.crashes.length} crashes, ${r.uncleanCount} unclean (${preview(r.slowest.preview, 40)})`,
      ),
  });
  console.log(`\n${formatTable(reports)}\n`);
  const problems = formatProblems(reports);
  if (problems) console.log(`${problems}\n`);
  console.log(
    `${reports.length} targets in ${((performance.now() - started) / 1000).toFixed(0)} s, seed ${options.seed}`,
  );
  const bad = reports.some((r) => r.crashes.length > 0 || r.uncleanCount > 0);
  process.exit(bad ? 1 : 0);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) await main();
