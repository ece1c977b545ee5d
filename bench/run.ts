/**
 * `npm run bench -- <name> [args…]` runs bench/<name>.ts, prints its detail, then its rows as a table.
 * `npm run bench` (no name) runs every benchmark's `modest` argument sets in ORDER, prints one
 * table (benchmark | baseline | Patchdeck | ratio | goal | met?) and writes it to
 * bench-results/<timestamp>.json and bench-results/latest.{json,md}; `--only=a,b` / `--skip=a,b`
 * choose benches. A bench that throws becomes a failed row and the run goes on. Exit code: 0 when
 * every set ran (an unmet goal is a finding, shown as NO), 1 when a set failed, 130 on SIGINT.
 * `npm run bench -- readme [bench-results/latest.json]` rewrites README.md's table from a run.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isRoot, labDown, labStatus } from '../test/lab';
import { describeRun, renderRunMarkdown, RUN_KIND, updateReadme, type RunRecord } from './results';
import { formatMet, renderText, type BenchRow, type RunRow } from './table';
import { formatMs, textOption } from './support';

/** The order of the all-run: the issue's order, then the benches of earlier issues. */
export const ORDER = ['discovery', 'audit', 'patch', 'workspace', 'ui', 'intel', 'winrm', 'event-loop'];
/** Benches that start the lab (root). crash-loop is a robustness loop, not a performance bench. */
const LAB_BENCHES = new Set(['discovery', 'audit', 'patch', 'event-loop', 'crash-loop']);
const NOT_BENCHES = ['run', 'support', 'table', 'results'];

const dir = import.meta.dirname;
const root = path.resolve(dir, '..');

interface BenchModule {
  main(args: string[]): Promise<BenchRow[] | void>;
  modest?: string[][];
}

function available(): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !NOT_BENCHES.includes(f.slice(0, -3)))
    .map((f) => f.slice(0, -3));
}

async function load(name: string): Promise<BenchModule> {
  const file = path.join(dir, `${name}.ts`);
  if (!fs.existsSync(file)) throw new Error(`bench/${name}.ts does not exist`);
  return (await import(pathToFileURL(file).href)) as BenchModule;
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

function git(args: string[]): string {
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

function writeResults(run: RunRecord): string {
  const out = path.join(root, 'bench-results');
  fs.mkdirSync(out, { recursive: true });
  const json = `${JSON.stringify(run, null, 2)}\n`;
  const file = path.join(out, `${timestamp(run.startedAt)}.json`);
  fs.writeFileSync(file, json);
  fs.writeFileSync(path.join(out, 'latest.json'), json);
  fs.writeFileSync(path.join(out, 'latest.md'), renderRunMarkdown(run));
  return file;
}

async function runAll(options: string[]): Promise<number> {
  const only = textOption(options, 'only')?.split(',');
  const skip = textOption(options, 'skip')?.split(',') ?? [];
  for (const name of [...(only ?? []), ...skip])
    if (!ORDER.includes(name)) throw new Error(`--only/--skip take some of ${ORDER.join(',')}`);
  const names = ORDER.filter((n) => (!only || only.includes(n)) && !skip.includes(n));
  const startedAt = new Date();
  const started = performance.now();
  const root_ = isRoot();
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
      sha: git(['rev-parse', '--short=12', 'HEAD']) || 'unknown',
      dirty: git(['status', '--porcelain', '--untracked-files=no']) !== '',
    },
    sets: [],
    rows: [],
  };
  // The lab comes down at the end only when this run brought it up (a lab already up is someone's).
  const labWasUp = root_ && labStatus().hosts.length > 0;
  const bringLabDown = async (): Promise<void> => {
    if (!root_ || labWasUp || labStatus().hosts.length === 0) return;
    console.log('\nbringing the lab down (this run brought it up)');
    await labDown((line) => console.log(line));
  };
  const finish = (): string => {
    run.durationMs = performance.now() - started;
    const file = writeResults(run);
    console.log(`\n${'='.repeat(100)}\n${run.command}: ${describeRun(run)}\n`);
    console.log(renderText(run.rows as RunRow[]));
    console.log(`\nwritten to ${path.relative(process.cwd(), file)} and bench-results/latest.{json,md}`);
    return file;
  };
  let stopping = false;
  const onSigint = (): void => {
    if (stopping) process.exit(130);
    stopping = true;
    console.log('\nSIGINT: writing what ran so far and bringing the lab down (Ctrl-C again to leave now)');
    run.interrupted = true;
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
        let rows: RunRow[];
        let error = loadError;
        if (!error) {
          console.log(`\n${'='.repeat(100)}\nnpm run bench -- ${[name, ...args].join(' ')}\n`);
          try {
            const returned = await module!.main([...args]);
            if (!Array.isArray(returned) || returned.length === 0) error = 'returned no rows';
            else rows = returned.map((row) => ({ ...row, bench: name, args }));
          } catch (e) {
            error = firstLine(e);
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

async function runOne(name: string, args: string[]): Promise<void> {
  const module = await load(name);
  const rows = await module.main(args);
  // A bench's own sub-process (event-loop's --serve) returns nothing: print nothing more.
  if (Array.isArray(rows) && rows.length > 0) console.log(`\n${renderText(rows)}`);
}

const [name, ...args] = process.argv.slice(2);
if (name === 'readme') {
  const file = args[0] ?? path.join(root, 'bench-results/latest.json');
  try {
    const changed = updateReadme(path.join(root, 'README.md'), file);
    console.log(
      changed ? `README.md's benchmark table regenerated from ${file}` : 'README.md already shows that run',
    );
  } catch (error) {
    console.error(`npm run bench -- readme: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 2;
  }
} else if (name === undefined || name.startsWith('--')) {
  // Every result is written by now; a bench's leftover handle must not keep the run alive.
  process.exit(await runAll(name === undefined ? [] : [name, ...args]));
} else if (!available().includes(name)) {
  console.error(`usage: npm run bench [-- --only=a,b --skip=a,b]   (all, modest sizes)
       npm run bench -- <${available().join('|')}> [options]
       npm run bench -- readme [bench-results/latest.json]`);
  process.exitCode = 2;
} else {
  await runOne(name, args);
}
