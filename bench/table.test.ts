import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  README_BEGIN,
  README_END,
  readRunRecord,
  regenerateReadme,
  RUN_KIND,
  updateReadme,
  type RunRecord,
} from './results';
import { formatMet, goalMet, renderMarkdown, renderText, type BenchRow, type RunRow } from './table';

const row = (over: Partial<RunRow>): RunRow => ({
  bench: 'audit',
  args: ['--hosts=20'],
  benchmark: 'audit 20 hosts, wall',
  baseline: 'pssh -p 20: 1.80 s',
  patchdeck: '1.62 s',
  ratio: 0.9,
  goal: { of: 'ratio', max: 1.1 },
  ...over,
});

const run = (rows: RunRow[]): RunRecord => ({
  kind: RUN_KIND,
  version: 1,
  command: 'npm run bench',
  startedAt: '2026-12-02T01:50:41.000Z',
  durationMs: 754_000,
  interrupted: false,
  machine: {
    cores: 2,
    cpuModel: 'Test CPU',
    memoryGiB: 7.8,
    loadAverage: [0.1, 0.2, 0.3],
    node: 'v20.19.0',
    platform: 'linux 6.1',
    root: true,
  },
  commit: { sha: '9500c14abcde', dirty: false },
  sets: [{ bench: 'audit', args: ['--hosts=20'], durationMs: 40_000, rows: rows.length }],
  rows,
});

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-bench-table-'));
  dirs.push(d);
  return d;
}

describe('goalMet', () => {
  it('bounds the ratio or the ms figure the goal names, at most max', () => {
    expect(goalMet(row({ ratio: 1.1 }))).toBe(true);
    expect(goalMet(row({ ratio: 1.11 }))).toBe(false);
    // An ms goal reads valueMs, not the ratio beside it.
    const ms: BenchRow = { ...row({}), ratio: 0.2, valueMs: 51, goal: { of: 'ms', max: 50 } };
    expect(goalMet(ms)).toBe(false);
    expect(goalMet({ ...ms, valueMs: 50 })).toBe(true);
  });

  it('is null without a goal or without the figure the goal bounds', () => {
    expect(goalMet(row({ goal: null }))).toBeNull();
    expect(goalMet(row({ ratio: undefined }))).toBeNull();
    expect(goalMet(row({ ratio: Number.NaN }))).toBeNull();
    expect(goalMet(row({ goal: { of: 'ms', max: 50 } }))).toBeNull();
  });

  it('says FAILED for a failed row whatever its figures, and no figure for a goal without one', () => {
    expect(formatMet(row({ error: 'needs root' }))).toBe('FAILED');
    expect(formatMet(row({ ratio: undefined }))).toBe('no figure');
    expect(formatMet(row({ goal: null }))).toBe('—');
    expect(formatMet(row({ ratio: 2 }))).toBe('NO');
    expect(formatMet(row({}))).toBe('yes');
  });
});

describe('the table', () => {
  const rows = [
    row({ note: 'median of 3 rounds' }),
    row({
      benchmark: 'ingest 1 000 000 findings',
      baseline: '—',
      patchdeck: '6.20 s',
      ratio: undefined,
      valueMs: 6200,
      goal: { of: 'ms', max: 5000 },
    }),
    row({ benchmark: 'DB size', baseline: '—', patchdeck: '96 MiB', ratio: undefined, goal: null }),
    row({
      bench: 'ui',
      benchmark: 'ui',
      baseline: '—',
      patchdeck: 'failed',
      ratio: undefined,
      goal: null,
      error: 'Chromium\nnot found',
    }),
  ];

  it('prints aligned columns, the computed met?, and notes and errors under the table', () => {
    const text = renderText(rows).split('\n');
    expect(text[0]).toMatch(/^#\s+benchmark\s+baseline\s+Patchdeck\s+ratio\s+goal\s+met\?$/);
    // Every row's columns start where the header's do.
    const at = text[0]!.indexOf('met?');
    expect(text.slice(2, 6).map((l) => l.slice(at))).toEqual(['yes', 'NO', '—', 'FAILED']);
    expect(text[2]).toContain('0.90×');
    expect(text[2]).toContain('≤ 1.1×');
    expect(text[3]).toContain('≤ 5000 ms');
    expect(text.slice(7)).toEqual([
      '1. audit 20 hosts, wall: median of 3 rounds',
      '4. ui: failed: Chromium not found',
    ]);
  });

  it('writes Markdown whose cells cannot open a column, become HTML or a marker', () => {
    const hostile = row({
      benchmark: 'a | b',
      baseline: `${README_END} <img src=x>`,
      note: 'x | y',
    });
    const md = renderMarkdown([hostile, rows[1]!]).split('\n');
    expect(md[0]).toBe('| benchmark | baseline | Patchdeck | ratio | goal | met? |');
    expect(md[1]).toBe('| --- | --- | --- | --- | --- | --- |');
    expect(md[2]).toBe(
      '| a \\| b | &lt;!-- bench-table:end --> &lt;img src=x> | 1.62 s | 0.90× | ≤ 1.1× | yes |',
    );
    expect(md[3]).toContain('| **NO** |');
    expect(md.join('\n')).not.toContain(README_END);
    expect(md.slice(5)).toEqual(['- a \\| b: x \\| y']);
    // Six columns in every row: the escaped pipes are not separators.
    for (const line of md.slice(0, 4)) expect(line.split(/(?<!\\)\|/).length - 2).toBe(6);
  });
});

describe('README regeneration', () => {
  const readme = `# Patchdeck\n\n## Benchmarks\n\nIntro.\n\n${README_BEGIN}\nold table\n${README_END}\n\nProse kept.\n\n## Security\n\nText.\n`;

  function files(text: string, record: unknown = run([row({})])): { readme: string; json: string } {
    const d = tmp();
    const files = { readme: path.join(d, 'README.md'), json: path.join(d, 'bench-results', 'latest.json') };
    fs.mkdirSync(path.dirname(files.json));
    fs.writeFileSync(files.readme, text);
    fs.writeFileSync(files.json, JSON.stringify(record));
    return files;
  }

  it('replaces only what lies between the markers, and is idempotent', () => {
    const f = files(readme);
    expect(updateReadme(f.readme, f.json)).toBe(true);
    const once = fs.readFileSync(f.readme, 'utf8');
    expect(once).not.toContain('old table');
    expect(once.startsWith('# Patchdeck\n\n## Benchmarks\n\nIntro.\n\n' + README_BEGIN + '\n')).toBe(true);
    expect(once.endsWith(`${README_END}\n\nProse kept.\n\n## Security\n\nText.\n`)).toBe(true);
    expect(once).toContain('| audit 20 hosts, wall | pssh -p 20: 1.80 s | 1.62 s | 0.90× | ≤ 1.1× | yes |');
    expect(once).toContain('npm run bench -- readme bench-results/latest.json');
    expect(once).toContain(
      '2026-12-02 01:50 UTC, 2 cores (Test CPU), 7.8 GiB, load average 0.10 0.20 0.30 before the start, Node v20.19.0; commit 9500c14abcde; 12 min 34 s in all',
    );
    expect(updateReadme(f.readme, f.json)).toBe(false);
    expect(fs.readFileSync(f.readme, 'utf8')).toBe(once);
    // A new run replaces the table again, in place.
    fs.writeFileSync(f.json, JSON.stringify(run([row({ ratio: 1.5 })])));
    expect(updateReadme(f.readme, f.json)).toBe(true);
    const twice = fs.readFileSync(f.readme, 'utf8');
    expect(twice).toContain('| 1.50× | ≤ 1.1× | **NO** |');
    expect(twice.split(README_BEGIN).length).toBe(2);
  });

  it('refuses a README without markers, or with them outside Benchmarks, and leaves it as it was', () => {
    const cases: [string, RegExp][] = [
      [readme.replace(`${README_BEGIN}\n`, ''), /lacks the markers/],
      [
        readme.replace(`${README_END}\n`, '').replace('Text.\n', `Text.\n${README_END}\n`),
        /inside "## Benchmarks"/,
      ],
      [
        readme
          .replace(README_BEGIN, README_END)
          .replace(`old table\n${README_END}`, `old table\n${README_BEGIN}`),
        /begin then end/,
      ],
      [readme + README_END, /more than once/],
      [readme.replace('## Benchmarks', '## Speed'), /no "## Benchmarks" section/],
    ];
    for (const [text, message] of cases) {
      const f = files(text);
      expect(() => updateReadme(f.readme, f.json)).toThrow(message);
      expect(fs.readFileSync(f.readme, 'utf8')).toBe(text);
    }
  });

  it('refuses a JSON file that is not a bench run, naming the file', () => {
    const good = run([row({})]);
    const bad: unknown[] = [
      { ...good, kind: 'something-else' },
      { ...good, rows: [{ ...good.rows[0], goal: { of: 'percent', max: 1 } }] },
      { ...good, rows: [{ ...good.rows[0], extra: 1 }] },
      { ...good, startedAt: 'yesterday' },
      [good],
    ];
    for (const record of bad) {
      const f = files(readme, record);
      expect(() => updateReadme(f.readme, f.json)).toThrow(/is not a bench run/);
      expect(fs.readFileSync(f.readme, 'utf8')).toBe(readme);
    }
    const f = files(readme);
    fs.writeFileSync(f.json, '{"kind": "patchdeck-bench-run",');
    expect(() => readRunRecord(f.json)).toThrow(`${f.json} is not a bench run`);
    expect(readRunRecord(files(readme).json)).toEqual(good);
  });

  it('the repository README has the markers inside its Benchmarks section', () => {
    const real = fs.readFileSync(path.resolve(import.meta.dirname, '../README.md'), 'utf8');
    expect(() => regenerateReadme(real, run([row({})]), 'x.json')).not.toThrow();
  });
});
