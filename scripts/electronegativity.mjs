#!/usr/bin/env node
// Electronegativity (Doyensec's Electron security scanner) over the desktop shell (electron/) and
// the built renderer (out/renderer, from `npm run build:renderer`), compared with the findings
// accepted, each with its reason, in .ci/electronegativity-accepted.json. A finding not accepted
// there, or an accepted one that is no longer found, fails the run (exit 1).
//
// The tool runs through a pinned `npx --package` from a temporary folder outside the project, so
// that its own dependencies (an old commander among them) never meet ours, and with
// scripts/loopback-only.cjs preloaded: it would otherwise fetch translations and Electron's
// release list from the internet at every run.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE = '@doyensec/electronegativity@1.10.3';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const acceptedFile = path.join(root, '.ci', 'electronegativity-accepted.json');
const rendererDir = path.join(root, 'out', 'renderer');

function fail(message) {
  process.stderr.write(`electronegativity: ${message}\n`);
  process.exit(2);
}

/** The Electron version the app is built with, so the tool judges today's defaults, not v0.1's. */
function electronVersion() {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const version = /\d+\.\d+\.\d+/.exec(pkg.devDependencies?.electron ?? '')?.[0];
  if (!version) fail('cannot read the Electron version from package.json.');
  return version;
}

/** What the scan sees: the shell's sources (not its tests) and the renderer as it ships. */
function prepareInput(dir) {
  if (!fs.existsSync(path.join(rendererDir, 'index.html')))
    fail('the renderer is not built: run `npm run build:renderer` first (`npm run electronegativity` does).');
  const electronDir = path.join(dir, 'electron');
  fs.mkdirSync(electronDir, { recursive: true });
  for (const name of fs.readdirSync(path.join(root, 'electron'))) {
    if (name.endsWith('.ts') && !name.endsWith('.test.ts'))
      fs.copyFileSync(path.join(root, 'electron', name), path.join(electronDir, name));
  }
  fs.cpSync(rendererDir, path.join(dir, 'renderer'), { recursive: true });
}

function run(command, args, options) {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (result.error) fail(`${command} could not run: ${result.error.message}`);
  return result;
}

/** Installs (or reuses, from npm's cache) the pinned tool, outside the project, and finds its bin. */
function toolBin(workDir) {
  const found = run('npx', ['--yes', '--package', PACKAGE, '-c', 'command -v electronegativity'], {
    cwd: workDir,
    timeout: 600_000,
  });
  const bin = found.stdout.trim().split('\n').pop() ?? '';
  if (found.status !== 0 || !path.isAbsolute(bin))
    fail(`npx could not provide ${PACKAGE}:\n${found.stderr}${found.stdout}`);
  return bin;
}

/** The source text a finding points at, for matching that survives lines moving. */
function sampleOf(inputDir, file, line, column) {
  if (!file) return '';
  let text;
  try {
    text = fs.readFileSync(path.join(inputDir, file), 'utf8');
  } catch {
    return '';
  }
  const source = text.split('\n')[line - 1] ?? '';
  // Minified bundles are one long line: keep the neighbourhood of the column.
  return source.length > 240 ? source.slice(Math.max(0, column - 1), column - 1 + 160) : source.trim();
}

function scan() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-electronegativity-'));
  try {
    const input = path.join(work, 'input');
    prepareInput(input);
    const bin = toolBin(work);
    const sarif = path.join(work, 'findings.sarif');
    const result = run(
      process.execPath,
      [
        '--require',
        path.join(root, 'scripts', 'loopback-only.cjs'),
        bin,
        '--input',
        input,
        '--relative',
        '--electron-version',
        electronVersion(),
        '--output',
        sarif,
        '--verbose',
        'false',
      ],
      { cwd: work, timeout: 600_000 },
    );
    if (result.status !== 0 || !fs.existsSync(sarif))
      fail(`the scan failed (exit ${result.status}):\n${result.stderr}${result.stdout}`);
    const refusals = (result.stderr.match(/^loopback-only: refused .*$/gm) ?? []).length;
    const report = JSON.parse(fs.readFileSync(sarif, 'utf8'));
    const findings = (report.runs?.[0]?.results ?? []).map((r) => {
      const location = r.locations?.[0]?.physicalLocation ?? {};
      const uri = location.artifactLocation?.uri ?? '';
      // Global checks (no CSP anywhere, …) point at file:/// rather than a file.
      const file = uri.startsWith('file:') ? '' : uri.split(path.sep).join('/');
      const line = location.region?.startLine ?? 0;
      const column = location.region?.startColumn ?? 0;
      const message = r.message?.text ?? '';
      return { check: r.ruleId, file, line, column, message, sample: sampleOf(input, file, line, column) };
    });
    return { findings, refusals };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Each accepted entry explains up to `count` (default 1) findings of one check in one file, whose
 * source line holds `contains` and whose message holds `message` (when given).
 */
function compare(findings, accepted) {
  const claimed = new Map();
  const stale = [];
  for (const entry of accepted) {
    const matches = findings.filter(
      (f) =>
        !claimed.has(f) &&
        f.check === entry.check &&
        f.file === (entry.file ?? '') &&
        (entry.contains === undefined || f.sample.includes(entry.contains)) &&
        (entry.message === undefined || f.message.includes(entry.message)),
    );
    if (matches.length === 0) stale.push(entry);
    for (const f of matches.slice(0, entry.count ?? 1)) claimed.set(f, entry);
  }
  return { claimed, stale };
}

const accepted = JSON.parse(fs.readFileSync(acceptedFile, 'utf8')).accepted ?? [];
for (const entry of accepted) {
  if (!entry.check || typeof entry.reason !== 'string' || entry.reason.trim().length < 20)
    fail(
      `every entry of ${path.relative(root, acceptedFile)} needs a check and a reason: ${JSON.stringify(entry)}`,
    );
}
const { findings, refusals } = scan();
const { claimed, stale } = compare(findings, accepted);
const fresh = findings.filter((f) => !claimed.has(f));

const rows = findings.map((f) => [
  claimed.has(f) ? 'accepted' : 'NEW',
  f.check,
  f.file ? `${f.file}:${f.line}` : '(global)',
  f.sample.slice(0, 70),
]);
const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length), 6));
process.stdout.write(`Electronegativity ${PACKAGE.split('@').pop()} on electron/ and out/renderer\n`);
for (const r of rows)
  process.stdout.write(`  ${r.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c)).join('  ')}\n`);
if (refusals) process.stdout.write(`(kept offline: ${refusals} connection attempts of the tool refused)\n`);
for (const f of fresh) {
  process.stdout.write(
    `\nNew finding ${f.check} at ${f.file || '(global)'}:${f.line} (${f.message}): fix it, or explain it in ${path.relative(root, acceptedFile)}.\n`,
  );
}
for (const entry of stale) {
  process.stdout.write(
    `\nAccepted ${entry.check} in ${entry.file || '(global)'}${entry.contains ? ` ("${entry.contains}")` : ''} is no longer found: remove it from ${path.relative(root, acceptedFile)}.\n`,
  );
}
process.stdout.write(
  `\n${findings.length} findings: ${claimed.size} accepted with a reason, ${fresh.length} new; ${stale.length} stale acceptances.\n`,
);
process.exit(fresh.length || stale.length ? 1 : 0);
