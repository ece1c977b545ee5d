#!/usr/bin/env node
/**
 * npm run mutate [-- --survivors] [-- --mutate src/remote/quote.ts[,…]]
 *
 * Runs StrykerJS (stryker.config.mjs) once per core module, each time with only that module's own
 * unit tests (scripts/mutate-modules.mjs): a module's tests must catch a wrong line in it, not
 * some other suite that happens to call it. Then prints one row per module: its mutation score
 * and how its mutants ended. Exits 1 when a module is below the goal or a Stryker run failed.
 * `--survivors` also lists each mutant no test caught; `--mutate` picks modules (comma
 * separated); any other argument goes to Stryker.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GOAL, MODULES } from './mutate-modules.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const reports = path.join(root, 'reports', 'mutation');
const report = path.join(reports, 'mutation.json');
const args = process.argv.slice(2);
const listSurvivors = args.includes('--survivors');
const strykerArgs = [];
let chosen = null;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--survivors') continue;
  if (args[i] === '--mutate' || args[i] === '-m') chosen = (args[++i] ?? '').split(',').filter(Boolean);
  else strykerArgs.push(args[i]);
}
const normal = (file) => path.relative(root, path.resolve(root, file));
const modules = chosen === null ? MODULES : MODULES.filter((m) => chosen.map(normal).includes(m.file));
const unknown = (chosen ?? []).map(normal).filter((f) => !MODULES.some((m) => m.file === f));
if (unknown.length || modules.length === 0) {
  console.error(
    `npm run mutate knows these modules only: ${MODULES.map((m) => m.file).join(', ')}${unknown.length ? ` (not ${unknown.join(', ')})` : ''}.`,
  );
  process.exit(2);
}

const require = createRequire(import.meta.url);
const cli = path.join(
  path.dirname(require.resolve('@stryker-mutator/core/package.json')),
  'bin',
  'stryker.js',
);
const files = {};
const failedRuns = [];
for (const m of modules) {
  // Only this run's report may be read: a stale one would print an old score as today's.
  rmSync(report, { force: true });
  console.log(`\n== ${m.file} (tests: ${m.tests.join(', ')})`);
  // The test files go to Vitest's include (scripts/mutate-vitest.config.mjs), not to Stryker's
  // --testFiles: with --testFiles, mutants in code that runs while a module loads (a lookup table,
  // a constant) were never activated and survived every test.
  const run = spawnSync(process.execPath, [cli, 'run', '--mutate', m.file, ...strykerArgs], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, PATCHDECK_MUTATE_TESTS: m.tests.join(',') },
  });
  if (run.error || run.status !== 0 || !existsSync(report)) {
    failedRuns.push(`${m.file} (${run.error ? run.error.message : `exit ${run.status ?? run.signal}`})`);
    continue;
  }
  const slug = m.file.replace(/^src\//, '').replace(/[/.]/g, '-');
  copyFileSync(report, path.join(reports, `${slug}.json`));
  copyFileSync(path.join(reports, 'mutation.html'), path.join(reports, `${slug}.html`));
  Object.assign(files, JSON.parse(readFileSync(report, 'utf8')).files ?? {});
}

const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);
const rows = [];
const survivors = [];
for (const [name, file] of Object.entries(files)) {
  const module = path.relative(path.join(root, 'src'), path.resolve(root, name));
  const count = (pred) => file.mutants.filter((m) => pred(m.status)).length;
  const detected = count((s) => DETECTED.has(s));
  const undetected = count((s) => UNDETECTED.has(s));
  const valid = detected + undetected;
  rows.push({
    module,
    score: valid === 0 ? null : (100 * detected) / valid,
    killed: count((s) => s === 'Killed'),
    timeout: count((s) => s === 'Timeout'),
    survived: count((s) => s === 'Survived'),
    noCoverage: count((s) => s === 'NoCoverage'),
    errors: count((s) => s === 'CompileError' || s === 'RuntimeError'),
  });
  for (const m of file.mutants.filter((x) => UNDETECTED.has(x.status))) {
    const where = `${module}:${m.location.start.line}:${m.location.start.column}`;
    const replacement = (m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 100);
    survivors.push(`${where}  ${m.status} ${m.mutatorName}: ${JSON.stringify(replacement)}`);
  }
}
const order = MODULES.map((m) => path.relative('src', m.file));
rows.sort((a, b) => order.indexOf(a.module) - order.indexOf(b.module));

if (listSurvivors && survivors.length) {
  console.log('\nMutants no test caught:');
  for (const line of survivors) console.log(`  ${line}`);
}
const pct = (s) => (s === null ? 'n/a' : `${s.toFixed(1)} %`);
const header = ['module', 'score', 'killed', 'timeout', 'survived', 'no coverage', 'errors', ''];
const table = rows.map((r) => [
  r.module,
  pct(r.score),
  String(r.killed),
  String(r.timeout),
  String(r.survived),
  String(r.noCoverage),
  String(r.errors),
  r.score !== null && r.score < GOAL ? `below ${GOAL} %` : '',
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
const line = (cells) =>
  cells
    .map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
    .join('  ')
    .trimEnd();
console.log(`\nMutation score per module (goal ${GOAL} %; reports: reports/mutation/<module>.html)`);
console.log(line(header));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const row of table) console.log(line(row));

const below = rows.filter((r) => r.score !== null && r.score < GOAL);
if (failedRuns.length) {
  console.error(`\nStryker did not complete for: ${failedRuns.join('; ')}. Those modules have no score.`);
  process.exit(1);
}
if (below.length) {
  console.error(
    `\n${below.length} of ${rows.length} modules are below ${GOAL} %: ${below.map((r) => r.module).join(', ')}.`,
  );
  process.exit(1);
}
console.log(`\nAll ${rows.length} modules reach ${GOAL} %.`);
