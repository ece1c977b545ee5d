/**
 * The whole run, `npm run bench` with no bench named: every bench's `modest` argument sets in
 * order, one table at the end, the record written to bench-results/ (see bench/run.ts).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeRun, renderRunMarkdown, RUN_KIND, type RunRecord } from './results';
import { formatMet, renderText, type BenchRow, type RunRow } from './table';
import { formatMs, textOption } from './support';

export interface BenchModule {
  main(args: string[]): Promise<BenchRow[] | void>;
  modest?: string[][];
}

export async function loadBench(dir: string, name: string): Promise<BenchModule> {
  const file = path.join(dir, `${name}.ts`);
  if (!fs.existsSync(file)) throw new Error(`bench/${name}.ts does not exist`);
  return (await import(pathToFileURL(file).href)) as BenchModule;
}

const finite = (n: unknown): number | undefined =>
  typeof n === 'number' && Number.isFinite(n) ? n : undefined;

/**
 * What a bench returned, as a row of the record: only the row's own fields, numbers that are
 * finite (a NaN would not survive JSON), and a bench that returned something else is told so.
 */
export function toRunRow(row: BenchRow, bench: string, args: string[]): RunRow {
  if (typeof row !== 'object' || row === null || typeof row.benchmark !== 'string' || !row.benchmark)
    throw new Error('returned a row without a benchmark name');
  const goal = row.goal ?? null;
  if (goal !== null && !(['ratio', 'ms'].includes(goal.of) && finite(goal.max) !== undefined))
    throw new Error(`returned a row with a malformed goal: ${row.benchmark}`);
  const out: RunRow = {
    bench,
    args,
    benchmark: row.benchmark,
    baseline: String(row.baseline ?? '—'),
    patchdeck: String(row.patchdeck ?? '—'),
    goal: goal && { of: goal.of, max: goal.max },
  };
  const ratio = finite(row.ratio);
  const valueMs = finite(row.valueMs);
  if (ratio !== undefined) out.ratio = ratio;
  if (valueMs !== undefined) out.valueMs = valueMs;
  if (typeof row.note === 'string' && row.note) out.note = row.note;
  return out;
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n').find((l) => l.trim()) ?? text;
}

function failed(bench: string, args: string[], error: string): RunRow {
  return {
    bench,
    args,
    benchmark: `${bench} ${args.join(' ')}`.trim(),
    baseline: '—',
    patchdeck: 'failed',
    goal: null,
    error,
  };
}

function git(root: string, args: string[]): string {
  try {
    return execFileSync('git', args, {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return '';
  }
}

function timestamp(iso: string): string {
  return iso.replace(/[:.]/g, '-');
}

function writeResults(run: RunRecord, out: string): string {
  fs.mkdirSync(out, { recursive: true });
  const json = `${JSON.stringify(run, null, 2)}\n`;
  const file = path.join(out, `${timestamp(run.startedAt)}.json`);
  fs.writeFileSync(file, json);
  fs.writeFileSync(path.join(out, 'latest.json'), json);
  fs.writeFileSync(path.join(out, 'latest.md'), renderRunMarkdown(run));
  return file;
}

export interface RunAllSetup {
  /** The folder of the bench modules (bench/). */
  dir: string;
  /** Where the results go (bench-results/). */
  outDir: string;
  order: readonly string[];
  /** Benches that start the lab: without root they fail at once, with one clear line. */
  labBenches: ReadonlySet<string>;
  root: boolean;
  lab: { isUp(): boolean; down(log: (line: string) => void): Promise<void> };
  /** Folder of the repository, for the commit. */
  repo: string;
}

/**
 * Runs every bench of `setup.order` (or `--only=`/`--skip=` of them) at its `modest` sets and writes
 * the record. Returns the exit code: 0 when every set ran (unmet goals are findings), 1 when a set failed.
 */
export async function runAll(options: string[], setup: RunAllSetup): Promise<number> {
  const ORDER = setup.order;
  const LAB_BENCHES = setup.labBenches;
  const root = setup.repo;
  const load = (name: string): Promise<BenchModule> => loadBench(setup.dir, name);
  const only = textOption(options, 'only')?.split(',');
  const skip = textOption(options, 'skip')?.split(',') ?? [];
  for (const name of [...(only ?? []), ...skip])
    if (!ORDER.includes(name)) throw new Error(`--only/--skip take some of ${ORDER.join(',')}`);
  const names = ORDER.filter((n) => (!only || only.includes(n)) && !skip.includes(n));
  const startedAt = new Date();
  const started = performance.now();
  const root_ = setup.root;
  const run: RunRecord = {
    kind: RUN_KIND,
    version: 1,
    command: `npm run bench${options.length ? ` -- ${options.join(' ')}` : ''}`,
    startedAt: startedAt.toISOString(),
    durationMs: 0,
    interrupted: false,
    machine: {
      cores: os.cpus().length,
      cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
      memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
      loadAverage: os.loadavg() as [number, number, number],
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
      root: root_,
    },
    commit: {
      sha: git(root, ['rev-parse', '--short=12', 'HEAD']) || 'unknown',
      dirty: git(root, ['status', '--porcelain', '--untracked-files=no']) !== '',
    },
    sets: [],
    rows: [],
  };
  // The lab comes down at the end only when this run brought it up: it was down at the start (a lab
  // already up is someone's) and one of this run's lab benches ran (one another process brought up
  // meanwhile is not this run's to take down).
  const labWasUp = root_ && setup.lab.isUp();
  let labBenchRan = false;
  const bringLabDown = async (): Promise<void> => {
    if (!root_ || labWasUp || !labBenchRan || !setup.lab.isUp()) return;
    console.log('\nbringing the lab down (this run brought it up)');
    await setup.lab.down((line) => console.log(line));
  };
  const finish = (): string => {
    run.durationMs = performance.now() - started;
    const file = writeResults(run, setup.outDir);
    console.log(`\n${'='.repeat(100)}\n${run.command}: ${describeRun(run)}\n`);
    console.log(renderText(run.rows as RunRow[]));
    console.log(`\nwritten to ${file} and latest.{json,md} beside it`);
    return file;
  };
  let stopping = false;
  let current: { name: string; args: string[]; t: number } | null = null;
  const onSigint = (): void => {
    if (stopping) process.exit(130);
    stopping = true;
    console.log(
      '\nSIGINT: writing what ran so far, then the lab down if this run brought it up (Ctrl-C again to leave now)',
    );
    run.interrupted = true;
    if (current) {
      run.rows.push(failed(current.name, current.args, 'interrupted (SIGINT)'));
      run.sets.push({
        bench: current.name,
        args: current.args,
        durationMs: performance.now() - current.t,
        rows: 0,
        error: 'interrupted (SIGINT)',
      });
    }
    finish();
    bringLabDown()
      .catch((error: unknown) => console.error(`lab down failed: ${firstLine(error)}`))
      .finally(() => process.exit(130));
  };
  process.on('SIGINT', onSigint);
  console.log(
    `npm run bench: ${names.join(', ')} at their modest sizes, on ${run.machine.cores} cores, load average ${run.machine.loadAverage.map((l) => l.toFixed(2)).join(' ')}`,
  );
  try {
    for (const name of names) {
      let module: BenchModule | null = null;
      let sets: string[][] = [[]];
      let loadError: string | undefined;
      if (LAB_BENCHES.has(name) && !root_)
        loadError = 'needs root: it starts the lab (network namespaces); run npm run bench as root';
      else if (!fs.existsSync(path.join(setup.dir, `${name}.ts`)))
        loadError = `bench/${name}.ts does not exist`;
      else
        try {
          module = await load(name);
          if (typeof module.main !== 'function') loadError = `bench/${name}.ts exports no main()`;
          else if (!Array.isArray(module.modest) || module.modest.length === 0)
            loadError = `bench/${name}.ts exports no modest argument sets`;
          else sets = module.modest;
        } catch (error) {
          loadError = `could not load bench/${name}.ts: ${firstLine(error)}`;
        }
      for (const args of sets) {
        if (stopping) break;
        const t = performance.now();
        current = { name, args, t };
        let rows: RunRow[];
        let error = loadError;
        if (!error) {
          if (LAB_BENCHES.has(name)) labBenchRan = true;
          console.log(`\n${'='.repeat(100)}\nnpm run bench -- ${[name, ...args].join(' ')}\n`);
          try {
            const returned = await module!.main([...args]);
            if (!Array.isArray(returned) || returned.length === 0) error = 'returned no rows';
            else rows = returned.map((row) => toRunRow(row, name, args));
          } catch (e) {
            error = firstLine(e) || 'failed without a message';
            console.error(`\n${name} ${args.join(' ')} failed: ${error}`);
          }
        }
        if (error) rows = [failed(name, args, error)];
        run.rows.push(...rows!);
        run.sets.push({
          bench: name,
          args,
          durationMs: performance.now() - t,
          rows: error ? 0 : rows!.length,
          ...(error ? { error } : {}),
        });
        current = null;
        if (!error) console.log(`\n${name} ${args.join(' ')}: ${formatMs(performance.now() - t)}`);
      }
    }
  } finally {
    process.off('SIGINT', onSigint);
    if (!stopping) {
      finish();
      await bringLabDown().catch((error: unknown) => {
        console.error(`lab down failed: ${firstLine(error)}`);
        run.sets.push({ bench: 'lab', args: ['down'], durationMs: 0, rows: 0, error: firstLine(error) });
        writeResults(run, setup.outDir);
      });
    }
  }
  console.log('\ntime per set:');
  for (const s of run.sets)
    console.log(
      `  ${`${s.bench} ${s.args.join(' ')}`.padEnd(50)} ${formatMs(s.durationMs).padStart(9)}${s.error ? '  FAILED' : ''}`,
    );
  const unmet = run.rows.filter((r) => formatMet(r) === 'NO').length;
  const failedSets = run.sets.filter((s) => s.error).length;
  console.log(`\n${run.rows.length} rows; ${unmet} goals not met; ${failedSets} sets failed`);
  return failedSets ? 1 : 0;
}
