/**
 * `npm run bench -- intel [--hosts N] [--per-host N]`: issue 13's benchmark, in one run and one
 * workspace, printing peak memory:
 * - import the real KEV + EPSS + 1 783 AlmaLinux OSV files (test/fixtures/advisories): ≤ 5 s;
 * - enrich 100 000 findings (100 AlmaLinux 9 hosts × 1 000 pending updates named after the
 *   snapshot's own packages, installed below each fix): ≤ 2 s;
 * - each of the dashboard's queries at 100 000 findings: ≤ 50 ms (median of 5).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_SETTINGS } from '../src/api';
import { completeAudit, createMemoryWorkspace, insertHost, queryFindings, startAudit } from '../src/db';
import { packageFinding } from '../src/db/testing/audits';
import {
  dueFigures,
  hostCounts,
  mostExposedHosts,
  openFindingsByTier,
  priorityGroups,
} from '../src/db/intel';
import { enrichCurrentFindings } from '../src/intel/enrich';
import { compareRpm } from '../src/intel/version';
import { exposure, exposureTrend } from '../src/intel/dashboard';
import { systemClock } from '../src/util';
import { median } from './support';
import type { BenchRow } from './table';

const FIXTURES = path.resolve(import.meta.dirname, '../test/fixtures/advisories');

function option(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

let peak = 0;
const sample = (): void => {
  peak = Math.max(peak, process.memoryUsage().rss);
};

function time<T>(fn: () => T): { ms: number; value: T } {
  const t = performance.now();
  const value = fn();
  sample();
  return { ms: performance.now() - t, value };
}

const line = (label: string, ms: number, goal: number): void =>
  console.log(
    `${label.padEnd(44)} ${ms.toFixed(1).padStart(9)} ms   goal ≤ ${goal} ms ${ms <= goal ? 'met' : 'MISSED'}`,
  );

/** A row with an absolute goal in ms (no baseline: issue 13's goals are times). */
const msRow = (benchmark: string, ms: number, max: number | null, note?: string): BenchRow => ({
  benchmark,
  baseline: '—',
  patchdeck: ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`,
  valueMs: ms,
  goal: max === null ? null : { of: 'ms', max },
  ...(note ? { note } : {}),
});

/** `npm run bench` (no argument) runs issue 13's sizes. */
export const modest: string[][] = [['--hosts', '100', '--per-host', '1000']];

export async function main(args: string[]): Promise<BenchRow[]> {
  const hosts = option(args, '--hosts', 100);
  const perHost = option(args, '--per-host', 1000);
  const timer = setInterval(sample, 20);
  const db = createMemoryWorkspace();
  const clock = systemClock;

  // 1. The import (the snapshot's owner's code, src/intel/snapshot.ts).
  const intel = (await import('../src/intel')) as typeof import('../src/intel');
  const sources = await intel.listFeedSources([
    path.join(FIXTURES, 'kev/known_exploited_vulnerabilities.json'),
    path.join(FIXTURES, 'epss'),
    path.join(FIXTURES, 'osv-almalinux/almalinux9'),
  ]);
  const t0 = performance.now();
  const summary = await intel.importFeedSources(db, sources, { clock });
  sample();
  const importMs = performance.now() - t0;
  line(`import ${summary.files.length} files (${summary.advisories} advisories)`, importMs, 5000);
  const rows: BenchRow[] = [
    msRow(
      `intel: import KEV + EPSS + ${summary.files.length - 2} OSV files`,
      importMs,
      5000,
      `${summary.advisories} advisories, in-memory workspace`,
    ),
  ];

  // 2. A fleet whose updates fix real advisories: each binary installed at the fix before its newest
  // one (or below it when there is one only), offered the newest, as a host a patch behind is.
  const fixes = new Map<string, string[]>();
  for (const r of db
    .prepare(
      `SELECT DISTINCT package, fixed FROM advisory_packages WHERE ecosystem = 'AlmaLinux:9' AND status = 'fixed' AND fixed IS NOT NULL`,
    )
    .all() as { package: string; fixed: string }[])
    (fixes.get(r.package) ?? fixes.set(r.package, []).get(r.package)!).push(r.fixed);
  const updates = [...fixes]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([name, versions]) => {
      const sorted = versions.sort((a, b) => compareRpm(a, b));
      return {
        name,
        installed: sorted.length > 1 ? sorted[sorted.length - 2]! : '0:0-0.el9',
        available: sorted[sorted.length - 1]!,
      };
    });
  if (updates.length === 0) throw new Error('the import left no AlmaLinux 9 advisories to match');
  for (let h = 0; h < hosts; h++) {
    const hostId = insertHost(db, { name: `alma${String(h).padStart(3, '0')}` }).id;
    const auditId = startAudit(db, { hostId, taskId: null });
    const findings = [];
    for (let i = 0; i < perHost; i++) {
      const u = updates[(h * 7 + i) % updates.length]!;
      findings.push(
        packageFinding({
          package: i < updates.length ? u.name : `${u.name}-extra${i}`,
          arch: 'x86_64',
          installedVersion: u.installed,
          availableVersion: u.available,
          repository: 'baseos',
          security: i % 3 === 0,
        }),
      );
    }
    completeAudit(db, auditId, {
      osId: 'almalinux',
      osName: 'AlmaLinux',
      osVersion: '9.4',
      kernel: null,
      packageManager: 'dnf',
      metadataAgeSeconds: 0,
      rebootRequired: false,
      warnings: [],
      durationMs: 1,
      findings,
    });
  }
  const enrich = time(() => enrichCurrentFindings(db, { clock, settings: DEFAULT_SETTINGS }));
  line(`enrich ${enrich.value.findings} findings`, enrich.ms, 2000);
  rows.push(
    msRow(
      `intel: enrich ${enrich.value.findings} findings`,
      enrich.ms,
      2000,
      `${hosts} AlmaLinux 9 hosts × ${perHost} pending updates`,
    ),
  );

  // 3. The dashboard's queries, each on its own.
  const now = new Date().toISOString();
  const week = new Date(Date.now() + 7 * 86_400_000).toISOString();
  const queries: [string, () => unknown][] = [
    ['open findings by tier', () => openFindingsByTier(db, now)],
    ['overdue / due this week / excepted', () => dueFigures(db, now, week)],
    ['hosts', () => hostCounts(db)],
    ['trend', () => exposureTrend(db)],
    ['most exposed hosts', () => mostExposedHosts(db, now, 10)],
    ['patch these first', () => priorityGroups(db, now, 10)],
  ];
  // Not the dashboard's, but the Updates page's first page with issue 13's order and filter: said.
  const pages: [string, () => unknown][] = [
    ['Updates page, sorted by risk', () => queryFindings(db, { offset: 0, limit: 100, sort: 'risk', now })],
    [
      'Updates page, overdue only',
      () => queryFindings(db, { offset: 0, limit: 100, sort: 'risk', overdue: true, now }),
    ],
  ];
  for (const [label, fn] of pages) {
    const ms = median(Array.from({ length: 3 }, () => time(fn).ms));
    console.log(`${label.padEnd(44)} ${ms.toFixed(1).padStart(9)} ms`);
    rows.push(msRow(`intel: ${label}, first page (median of 3)`, ms, null));
  }
  for (const [label, fn] of queries) {
    const times = Array.from({ length: 5 }, () => time(fn).ms);
    line(`dashboard: ${label}`, median(times), 50);
    rows.push(msRow(`intel: dashboard ${label}, median of 5`, median(times), 50));
  }
  const whole = time(() => exposure(db, { clock, settings: DEFAULT_SETTINGS }));
  console.log(`${'dashboard.exposure, all of it'.padEnd(44)} ${whole.ms.toFixed(1).padStart(9)} ms`);
  clearInterval(timer);
  console.log(`peak memory (RSS): ${(peak / 1024 / 1024).toFixed(0)} MiB on ${os.cpus().length} cores`);
  fs.writeSync(1, '');
  rows.push(msRow('intel: dashboard.exposure, all of it', whole.ms, null));
  rows.push({
    benchmark: 'intel: peak memory (RSS)',
    baseline: '—',
    patchdeck: `${(peak / 1024 / 1024).toFixed(0)} MiB`,
    goal: null,
  });
  db.close();
  return rows;
}
