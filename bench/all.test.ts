import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runAll, type RunAllSetup } from './all';
import { readRunRecord } from './results';

// Real bench modules in a folder of their own, run by the all-run as `npm run bench` runs bench/.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-bench-all-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const benches: Record<string, string> = {
  good: `export const modest = [['--size=1'], ['--size=2']];
export async function main(args) {
  return [
    { benchmark: 'good ' + args[0], baseline: 'tool: 2 s', patchdeck: '1 s', ratio: 0.5, goal: { of: 'ratio', max: 0.7 }, note: 'n', extra: 'dropped' },
    { benchmark: 'good size ' + args[0], baseline: '—', patchdeck: '?', ratio: NaN, valueMs: 80, goal: { of: 'ms', max: 50 } },
  ];
}`,
  throws: `export const modest = [[]];
export async function main() { throw new Error('the host went away\\n    at somewhere (file.ts:1)'); }`,
  silent: `export const modest = [[]];
export async function main() { console.log('detail only'); }`,
  nomodest: `export async function main() { return [{ benchmark: 'x', baseline: '', patchdeck: '', goal: null }]; }`,
  labby: `throw new Error('a lab bench must not even be loaded without root');`,
};
for (const [name, text] of Object.entries(benches)) fs.writeFileSync(path.join(dir, `${name}.ts`), text);

function setup(order: string[], out: string): RunAllSetup {
  return {
    dir,
    outDir: path.join(dir, out),
    order,
    labBenches: new Set(['labby']),
    root: false,
    lab: {
      isUp: () => {
        throw new Error('without root the all-run never looks at the lab');
      },
      down: () => Promise.reject(new Error('without root the all-run never touches the lab')),
    },
    repo: path.resolve(import.meta.dirname, '..'),
  };
}

describe('npm run bench (the all-run)', () => {
  it('runs every set in order, turns each failure into a failed row and goes on; exit 1', async () => {
    const order = ['good', 'throws', 'silent', 'nomodest', 'missing', 'labby'];
    expect(await runAll([], setup(order, 'out1'))).toBe(1);
    const run = readRunRecord(path.join(dir, 'out1', 'latest.json'));
    expect(run.command).toBe('npm run bench');
    expect(run.machine.root).toBe(false);
    expect(run.sets.map((s) => [s.bench, s.args.join(' '), s.rows, s.error])).toEqual([
      ['good', '--size=1', 2, undefined],
      ['good', '--size=2', 2, undefined],
      ['throws', '', 0, 'the host went away'],
      ['silent', '', 0, 'returned no rows'],
      ['nomodest', '', 0, 'bench/nomodest.ts exports no modest argument sets'],
      ['missing', '', 0, 'bench/missing.ts does not exist'],
      ['labby', '', 0, 'needs root: it starts the lab (network namespaces); run npm run bench as root'],
    ]);
    expect(run.rows).toHaveLength(9);
    // A bench's rows keep their own fields only; a NaN is no figure.
    expect(run.rows[0]).toEqual({
      bench: 'good',
      args: ['--size=1'],
      benchmark: 'good --size=1',
      baseline: 'tool: 2 s',
      patchdeck: '1 s',
      ratio: 0.5,
      goal: { of: 'ratio', max: 0.7 },
      note: 'n',
    });
    expect(run.rows[1]).not.toHaveProperty('ratio');
    expect(run.rows[4]).toMatchObject({
      benchmark: 'throws',
      patchdeck: 'failed',
      error: 'the host went away',
    });
    const md = fs.readFileSync(path.join(dir, 'out1', 'latest.md'), 'utf8');
    expect(md).toContain('| good --size=1 | tool: 2 s | 1 s | 0.50× | ≤ 0.7× | yes |');
    expect(md).toContain('| good size --size=1 | — | ? | — | ≤ 50 ms | **NO** |');
    expect(md).toContain('| silent | — | failed | — | — | **FAILED** |');
    // The timestamped copy is the same record.
    const copies = fs.readdirSync(path.join(dir, 'out1')).filter((f) => /^\d{4}-.*\.json$/.test(f));
    expect(copies).toHaveLength(1);
    expect(readRunRecord(path.join(dir, 'out1', copies[0]!))).toEqual(run);
  });

  it('exits 0 when every set ran, unmet goals included; --only and --skip choose benches', async () => {
    expect(await runAll(['--only=good,throws', '--skip=throws'], setup(['good', 'throws'], 'out2'))).toBe(0);
    const run = readRunRecord(path.join(dir, 'out2', 'latest.json'));
    expect(run.command).toBe('npm run bench -- --only=good,throws --skip=throws');
    expect(run.sets.map((s) => s.bench)).toEqual(['good', 'good']);
    expect(run.rows.filter((r) => r.goal?.of === 'ms')).toHaveLength(2);
    await expect(runAll(['--only=nosuch'], setup(['good'], 'out3'))).rejects.toThrow(
      '--only/--skip take some of good',
    );
  });
});
