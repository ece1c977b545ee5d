/**
 * The CI slice of `npm run fuzz`: every target in test/fuzz/targets/ (parsers, API, carriers),
 * a fixed seed and a few hundred inputs each, through the same runner and worker code. Any crash
 * (uncaught exception, unhandled rejection, hang) or unclean error fails the suite, with the
 * input that caused it in the message.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatProblems, formatTable, loadTargets, runFuzz } from '../fuzz/run';

const RUNS = 300;
const SEED = 20_260_509;

describe('fuzz targets, fixed-seed slice', () => {
  it('finds every target module', async () => {
    const targets = await loadTargets();
    expect(targets.map((t) => t.target.name)).toEqual(
      expect.arrayContaining([
        'collector:apt',
        'collector:zypper',
        'offline-import',
        'discovery:targets',
        ...[
          'intel:kev',
          'intel:epss',
          'intel:osv',
          'intel:osv-zip',
          'intel:debian-tracker',
          'intel:csaf',
          'intel:detect',
        ],
      ]),
    );
  });

  it(
    `runs ${RUNS} inputs of every target without a crash or an unclean error`,
    { timeout: 900_000 },
    async () => {
      const reports = await runFuzz({ runs: RUNS, seed: SEED, only: [], jobs: 2 });
      const summary = `${formatTable(reports)}\n${formatProblems(reports)}`;
      for (const report of reports) {
        expect(report.inputs, summary).toBe(RUNS);
        expect(report.crashes, summary).toEqual([]);
        expect(report.uncleanCount, summary).toBe(0);
      }
    },
  );
});

describe('fuzz runner', () => {
  it(
    'counts unclean errors and catches every kind of crash, attributed to its input',
    { timeout: 120_000 },
    async () => {
      const dir = fileURLToPath(new URL('./fuzz-runner/', import.meta.url));
      const reports = await runFuzz({ runs: 60, seed: 5, only: [], jobs: 2, dir });
      const by = Object.fromEntries(reports.map((r) => [r.target, r]));
      expect(reports.every((r) => r.inputs === 60)).toBe(true);
      expect(by.clean).toMatchObject({ crashes: [], uncleanCount: 0 });
      expect(by.unclean!.crashes).toEqual([]);
      expect(by.unclean!.uncleanCount).toBeGreaterThan(0);
      expect(by.unclean!.unclean[0]!.message).toBe('TypeError: not classified');
      for (const [name, kind] of [
        ['uncaught', /^uncaught exception$/],
        ['rejection', /^unhandled rejection$/],
        ['async-hang', /^hang/],
        ['sync-hang', /^hang .*worker stopped/],
      ] as const) {
        expect(by[name]!.crashes.length, name).toBeGreaterThan(0);
        expect(by[name]!.crashes[0]!.kind, name).toMatch(kind);
      }
      // After a synchronous hang the worker is replaced and the run goes on to the last input.
      expect(by['sync-hang']!.inputs).toBe(60);
    },
  );
});
