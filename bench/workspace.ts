/**
 * `npm run bench -- workspace [--hosts=2000] [--audits=10] [--per-audit=50] [--rounds=25] [--per-transaction=20] [--plans]`:
 * issue 15's "a million findings". In a fresh workspace FILE (WAL, as the app opens it):
 * - ingest: 2 000 hosts × 10 audits × 50 findings through the project's own insert path
 *   (src/db/testing/bulk.ts:fillFleet: insertHost, startAudit + completeAudit with each finding's
 *   judgement in its INSERT, writeAuditIntel for the evidence and counts, the host's sighting; the
 *   audits of 20 hosts per commit, as an import stores them) and the first build of the current
 *   picture: goal ≤ 5 000 ms. Not included: reading the hosts over SSH, inventing the fleet, and
 *   matching against a snapshot (the judgement is derived from the package names; bench/intel.ts
 *   measures the matching).
 * - every Updates-page query shape through Core.call as renderer/features/findings calls it (page
 *   of 200): each sort in both directions, each filter, a search, the first, middle and last page,
 *   and the package view (findings.groups) and its filters (findings.facets): p99 ≤ 50 ms each.
 * - the Dashboard page's calls on open, together (dashboard.exposure, hosts.list, audits.latest,
 *   findings.query limit 1): ≤ 50 ms; hosts.list alone (informative).
 * - the database file's size (informative). --plans prints EXPLAIN QUERY PLAN of the main shapes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import { Core } from '../src/core/core';
import { findingQuerySql } from '../src/db/audits';
import { refreshCurrentFindings } from '../src/db/current';
import { fillFleet } from '../src/db/testing/bulk';
import { createNodePlatform } from '../src/platform';
import type { BenchRow } from './table';

/** `npm run bench` (no argument): the issue's full size, a million findings, 10 rounds per shape. */
export const modest: string[][] = [['--rounds=10']];

function option(args: string[], name: string, fallback: number): number {
  const hit = args.find((a) => a.startsWith(`--${name}=`));
  if (!hit) return fallback;
  const value = Number(hit.slice(name.length + 3));
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer`);
  return value;
}

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};
const fmt = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);
const msRow = (benchmark: string, ms: number, max: number | null, note?: string): BenchRow => ({
  benchmark,
  baseline: '—',
  patchdeck: fmt(ms),
  valueMs: ms,
  goal: max === null ? null : { of: 'ms', max },
  ...(note ? { note } : {}),
});

type Query = Record<string, unknown>;
interface Shape {
  name: string;
  method: 'findings.query' | 'findings.groups' | 'findings.facets';
  args: Query;
}

const PAGE = 200;
const SORTS = ['security', 'host', 'package', 'repository', 'risk', 'due'] as const;

function shapes(total: number, hostId: number, osLabel: string, repository: string, pkg: string): Shape[] {
  const base = { limit: PAGE, offset: 0, sort: 'security', direction: 'asc' };
  const q = (name: string, args: Query): Shape => ({
    name,
    method: 'findings.query',
    args: { ...base, ...args },
  });
  const middle = Math.floor(total / 2 / PAGE) * PAGE;
  const last = Math.max(0, Math.floor((total - 1) / PAGE) * PAGE);
  const out: Shape[] = [];
  for (const sort of SORTS)
    for (const direction of ['asc', 'desc'])
      out.push(q(`sort ${sort} ${direction}, first page`, { sort, direction }));
  for (const sort of SORTS) {
    out.push(q(`sort ${sort}, middle page (offset ${middle})`, { sort, offset: middle }));
    out.push(q(`sort ${sort}, last page (offset ${last})`, { sort, offset: last }));
  }
  out.push(q('security only', { securityOnly: true }));
  out.push(q('security only, sort risk', { securityOnly: true, sort: 'risk' }));
  out.push(q('tier high', { tier: 'high' }));
  out.push(q('kev only', { kevOnly: true }));
  out.push(q('overdue', { overdue: true, sort: 'due' }));
  out.push(q('epss ≥ 0.5', { epssAtLeast: 0.5 }));
  out.push(q('severity important', { severity: 'important' }));
  out.push(q('one host', { hostId }));
  out.push(q(`os ${osLabel}`, { os: osLabel }));
  out.push(q(`repository ${repository}`, { repository }));
  out.push(q('tag web', { tag: 'web' }));
  out.push(q('has exception', { hasException: true }));
  out.push(q('no exception', { hasException: false }));
  out.push(q(`search "${pkg}"`, { search: pkg }));
  out.push(q('search "fleet-0001"', { search: 'fleet-0001' }));
  out.push(q('search "DSA-55"', { search: 'DSA-55' }));
  const g = (name: string, args: Query): Shape => ({
    name,
    method: 'findings.groups',
    args: { ...base, ...args },
  });
  for (const sort of SORTS) out.push(g(`package view, sort ${sort}`, { sort }));
  out.push(g('package view, security only', { securityOnly: true, sort: 'risk' }));
  out.push(g(`package view, search "${pkg}"`, { search: pkg }));
  out.push({ name: 'filter lists (findings.facets)', method: 'findings.facets', args: {} });
  return out;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

/** EXPLAIN QUERY PLAN of a statement, as indented lines. */
function plan(db: Database, sql: string, params: Record<string, unknown>): string[] {
  const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as {
    id: number;
    parent: number;
    detail: string;
  }[];
  const depth = new Map<number, number>([[0, 0]]);
  return rows.map((r) => {
    const d = (depth.get(r.parent) ?? 0) + 1;
    depth.set(r.id, d);
    return `${'  '.repeat(d)}${r.detail}`;
  });
}

export async function main(args: string[]): Promise<BenchRow[]> {
  const hosts = option(args, 'hosts', 2000);
  const audits = option(args, 'audits', 10);
  const perAudit = option(args, 'per-audit', 50);
  const rounds = option(args, 'rounds', 25);
  // Hosts whose audits are committed together: an import stores many at once (bulk.ts).
  const perTransaction = option(args, 'per-transaction', 20);
  const showPlans = args.includes('--plans');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'patchdeck-bench-workspace-'));
  const file = path.join(dir, 'fleet.sqlite');
  const core = new Core({
    platform: createNodePlatform({ configDir: dir, useKeychain: false }),
    carrier: 'test',
  });
  try {
    await core.openWorkspace(file, { create: 'always' });
    const db = core.requireWorkspace().db;
    const findings = hosts * audits * perAudit;

    // 1. Ingest.
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const filled = fillFleet(db, {
      hosts,
      auditsPerHost: audits,
      findingsPerAudit: perAudit,
      seed: 15,
      hostsPerTransaction: perTransaction,
    });
    const fillMs = performance.now() - t0;
    // Only the project's insert path counts; inventing the fleet and its judgement does not.
    const storeMs = filled.storeMs;
    // The current picture is built lazily: the first read after the ingest builds it for every host.
    const t1 = performance.now();
    refreshCurrentFindings(db);
    const buildMs = performance.now() - t1;
    const ingestMs = storeMs + buildMs;
    // On a shared machine the wall time says more about the neighbours than about the ingest.
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    console.log(
      `ingest CPU time (this process, all threads, with generating the fleet): ${fmt(cpuMs)}; wall ${fmt(fillMs + buildMs)} of which generating ${fmt(fillMs - storeMs)} (not counted)`,
    );
    console.log(
      `store ${fmt(storeMs)} (${hosts > perTransaction ? `${perTransaction} hosts' audits per commit` : 'one commit'}) + build the current picture at the first read ${fmt(buildMs)} (${(db.prepare('SELECT count(*) FROM current_findings').pluck().get() as number).toLocaleString('en')} current findings)`,
    );
    console.log(
      `ingest ${findings.toLocaleString('en')} findings (${hosts} hosts × ${audits} audits × ${perAudit}): ${fmt(ingestMs)} (${((ingestMs / findings) * 1e5).toFixed(0)} ms per 100 000)`,
    );
    // A few hosts carry a tag, as an admin would give them (the tag filter has something to find).
    for (let id = 1; id <= hosts; id += 7) await core.call('hosts.update', { id, patch: { tags: ['web'] } });
    const rows: BenchRow[] = [
      msRow(
        `workspace: ingest ${(findings / 1e6).toFixed(findings % 1e6 === 0 ? 0 : 2)} M findings (${hosts} hosts × ${audits} audits × ${perAudit})`,
        ingestMs,
        5000,
        `store ${fmt(storeMs)} (insertHost, startAudit, completeAudit with each finding's judgement in its INSERT, writeAuditIntel for evidence and counts; ${perTransaction} hosts' audits per commit, as an import; generating the fleet and its judgement, the stand-in for snapshot matching, not counted) + build the current picture ${fmt(buildMs)}, WAL workspace file; CPU incl. generation ${fmt(cpuMs)}`,
      ),
    ];

    // 2. The Updates page's shapes.
    const first = (await core.call('findings.query', { limit: 1, offset: 0, sort: 'package' })) as {
      total: number;
      rows: { hostId: number; package: string }[];
    };
    const facets = (await core.call('findings.facets', {})) as {
      os: { value: string }[];
      repositories: { value: string }[];
    };
    const list = shapes(
      first.total,
      first.rows[0]?.hostId ?? 1,
      facets.os[0]?.value ?? 'Debian GNU/Linux 12',
      facets.repositories[0]?.value ?? 'baseos',
      'openssl',
    );
    console.log(
      `${first.total.toLocaleString('en')} current findings; ${list.length} shapes × ${rounds} rounds (page of ${PAGE})`,
    );
    const times = new Map<string, number[]>(list.map((s) => [s.name, []]));
    const answered = new Map<string, number>();
    for (let r = 0; r < rounds; r++)
      for (const s of list) {
        const { ms, value } = await timed(() => core.call(s.method, s.args));
        times.get(s.name)!.push(ms);
        const v = value as { rows?: unknown[]; total?: number };
        answered.set(s.name, v.total ?? v.rows?.length ?? 0);
      }
    let worst = { name: '', p99: 0 };
    console.log(`${'shape'.padEnd(52)} ${'p50'.padStart(9)} ${'p99'.padStart(9)}  rows`);
    for (const s of list) {
      const t = times.get(s.name)!;
      const p99 = percentile(t, 99);
      if (p99 > worst.p99) worst = { name: s.name, p99 };
      console.log(
        `${s.name.padEnd(52)} ${percentile(t, 50).toFixed(1).padStart(9)} ${p99.toFixed(1).padStart(9)}  ${answered.get(s.name)} ${p99 <= 50 ? '' : 'MISSED'}`,
      );
      rows.push(msRow(`workspace: Updates page, ${s.name}, p99`, p99, 50));
    }
    console.log(`worst shape: ${worst.name} p99 ${fmt(worst.p99)}`);

    // 3. The Dashboard page on open, and hosts.list.
    const dashboard: number[] = [];
    const hostsList: number[] = [];
    for (let r = 0; r < rounds; r++) {
      dashboard.push(
        (
          await timed(() =>
            Promise.all([
              core.call('dashboard.exposure', {}),
              core.call('hosts.list', { inventoryOnly: true }),
              core.call('audits.latest', {}),
              core.call('findings.query', { limit: 1, offset: 0, sort: 'security' }),
            ]),
          )
        ).ms,
      );
      hostsList.push((await timed(() => core.call('hosts.list', {}))).ms);
    }
    const dashP99 = percentile(dashboard, 99);
    console.log(`dashboard on open (4 calls): p50 ${fmt(percentile(dashboard, 50))} p99 ${fmt(dashP99)}`);
    console.log(`hosts.list: p50 ${fmt(percentile(hostsList, 50))} p99 ${fmt(percentile(hostsList, 99))}`);
    rows.push(
      msRow(
        'workspace: Dashboard on open (exposure, hosts.list, audits.latest, findings.query), p99',
        dashP99,
        50,
      ),
    );
    rows.push(msRow(`workspace: hosts.list (${hosts} hosts), p99`, percentile(hostsList, 99), null));

    // 4. Size.
    db.pragma('wal_checkpoint(TRUNCATE)');
    const bytes = fs.statSync(file).size;
    console.log(`database file: ${(bytes / 2 ** 20).toFixed(1)} MiB`);
    rows.push({
      benchmark: `workspace: database file at ${(findings / 1e6).toFixed(2)} M findings`,
      baseline: '—',
      patchdeck: `${(bytes / 2 ** 20).toFixed(1)} MiB`,
      goal: null,
    });

    if (showPlans) printPlans(db, list);
    return rows;
  } finally {
    await core.closeWorkspace();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The plans of the main shapes, through the statements src/db/audits.ts builds. */
function printPlans(db: Database, list: Shape[]): void {
  for (const s of list) {
    if (s.method !== 'findings.query') continue;
    if (!/first page|middle|search "openssl"|security only$|one host|overdue/.test(s.name)) continue;
    const total = (
      db.prepare(findingQuerySql(s.args as never).totals).get(findingQuerySql(s.args as never).params) as {
        total: number;
      }
    ).total;
    const sql = findingQuerySql(s.args as never, total);
    console.log(`\nplan: ${s.name}${sql.reversed ? ' (read from the other end)' : ''}`);
    for (const l of plan(db, sql.ids, sql.params)) console.log(l);
  }
}
