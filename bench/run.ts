/**
 * `npm run bench -- <name> [args…]` runs bench/<name>.ts, prints its detail, then its rows as a table.
 * `npm run bench` (no name) runs every benchmark's `modest` argument sets in ORDER, prints one
 * table (benchmark | baseline | Patchdeck | ratio | goal | met?) and writes it to
 * bench-results/<timestamp>.json and bench-results/latest.{json,md}; `--only=a,b` / `--skip=a,b`
 * choose benches. A bench that throws becomes a failed row and the run goes on. Exit code: 0 when
 * every set ran (an unmet goal is a finding, shown as NO), 1 when a set failed, 130 on SIGINT.
 * `npm run bench -- readme [bench-results/latest.json]` rewrites README.md's table from a run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isRoot, labDown, labStatus } from '../test/lab';
import { loadBench, runAll } from './all';
import { updateReadme } from './results';
import { renderText } from './table';

/** The order of the all-run: the order, then the benches of earlier issues. */
export const ORDER = ['discovery', 'audit', 'patch', 'workspace', 'ui', 'intel', 'winrm', 'event-loop'];
/**
 * Benches that start the lab (root). crash-loop is not in ORDER: it kills patch jobs to prove
 * they resume cleanly, a robustness loop with no performance goal.
 */
const LAB_BENCHES = new Set(['discovery', 'audit', 'patch', 'event-loop', 'crash-loop']);
const NOT_BENCHES = ['run', 'support', 'table', 'results', 'all'];

const dir = import.meta.dirname;
const root = path.resolve(dir, '..');

function available(): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !NOT_BENCHES.includes(f.slice(0, -3)))
    .map((f) => f.slice(0, -3));
}

async function runOne(name: string, args: string[]): Promise<void> {
  const module = await loadBench(dir, name);
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
  const code = await runAll(name === undefined ? [] : [name, ...args], {
    dir,
    outDir: path.join(root, 'bench-results'),
    order: ORDER,
    labBenches: LAB_BENCHES,
    root: isRoot(),
    lab: { isUp: () => labStatus().hosts.length > 0, down: labDown },
    repo: root,
  });
  process.exit(code);
} else if (!available().includes(name)) {
  console.error(`usage: npm run bench [-- --only=a,b --skip=a,b]   (all, modest sizes)
       npm run bench -- <${available().join('|')}> [options]
       npm run bench -- readme [bench-results/latest.json]`);
  process.exitCode = 2;
} else {
  await runOne(name, args);
}
