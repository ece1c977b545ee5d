import type { Database } from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../util';
import { buildOwnerReport, OwnerReport } from './owner';
import { renderOwnerHtml } from './owner-html';
import { HOSTILE_NAME, REPORT_NOW, reportWorkspace } from './testing/workspace';
import { resolveRange, type ReportMeta } from './types';

// Every number of the owner report is recomputed here from the raw rows, in plain code that
// shares nothing with owner.ts's SQL: the newest successful audit per host, its findings, the
// exceptions in force (package, host × package and finding scopes, evaluated by hand), the
// audit pairs of the period and the job steps.

type Row = Record<string, unknown>;
const TIERS = ['kev', 'critical', 'high', 'medium', 'low'] as const;
const clock = new ManualClock(REPORT_NOW);
const WEEK_END = new Date(Date.parse(REPORT_NOW) + 7 * 86_400_000).toISOString();

function independent(db: Database, hostIds: number[] | null, fromIso: string, untilIso: string) {
  const inScope = (id: number) => hostIds === null || hostIds.includes(id);
  const hosts = (db.prepare('SELECT id, name FROM hosts').all() as Row[]).filter((h) =>
    inScope(h.id as number),
  );
  const audits = (db.prepare("SELECT * FROM audits WHERE status = 'succeeded'").all() as Row[]).sort(
    (a, b) => String(a.started_at).localeCompare(String(b.started_at)) || (a.id as number) - (b.id as number),
  );
  const findings = db.prepare('SELECT * FROM findings').all() as Row[];
  const exceptions = (db.prepare('SELECT * FROM finding_exceptions').all() as Row[]).filter(
    (e) => e.removed_at === null && (e.expires_at as string) > REPORT_NOW,
  );
  const covers = (e: Row, f: Row) =>
    (e.scope === 'package' && e.package === f.package) ||
    (e.scope === 'host-package' && e.host_id === f.host_id && e.package === f.package) ||
    (e.scope === 'finding' &&
      e.host_id === f.host_id &&
      e.package === f.package &&
      e.available_version === f.available_version);
  const accepted = (f: Row) => exceptions.some((e) => e.decision === 'accept' && covers(e, f));
  const excepted = (f: Row) => exceptions.some((e) => covers(e, f));
  const newest = new Map<number, Row>();
  for (const a of audits) newest.set(a.host_id as number, a);
  const open = findings.filter((f) => {
    const a = newest.get(f.host_id as number);
    return a && a.id === f.audit_id && inScope(f.host_id as number) && f.tier !== null && !accepted(f);
  });
  const overdue = open.filter((f) => f.due_at !== null && (f.due_at as string) < REPORT_NOW && !excepted(f));
  const byTier = Object.fromEntries(TIERS.map((t) => [t, open.filter((f) => f.tier === t).length]));
  // Fixed: consecutive audits of a host, the later one in the period.
  let gone: Row[] = [];
  const gonHosts = new Set<number>();
  const perHost = new Map<number, Row[]>();
  for (const a of audits) {
    if (!inScope(a.host_id as number)) continue;
    const list = perHost.get(a.host_id as number) ?? [];
    list.push(a);
    perHost.set(a.host_id as number, list);
  }
  for (const [hostId, list] of perHost)
    for (let i = 1; i < list.length; i++) {
      const after = list[i]!;
      if ((after.started_at as string) < fromIso || (after.started_at as string) >= untilIso) continue;
      const later = findings.filter((f) => f.audit_id === after.id);
      const disappeared = findings.filter(
        (f) =>
          f.audit_id === list[i - 1]!.id &&
          !later.some((g) => g.kind === f.kind && g.package === f.package && g.arch === f.arch),
      );
      if (disappeared.length) gonHosts.add(hostId);
      gone = gone.concat(disappeared);
    }
  const steps = (db.prepare('SELECT * FROM job_steps').all() as Row[]).filter(
    (s) =>
      s.finished_at !== null &&
      (s.finished_at as string) >= fromIso &&
      (s.finished_at as string) < untilIso &&
      inScope(s.host_id as number),
  );
  const jobIds = [...new Set(steps.map((s) => s.job_id as number))].sort((a, b) => a - b);
  const lastAudit = (id: number) =>
    [...audits].reverse().find((a) => a.host_id === id)?.started_at as string | undefined;
  const staleBefore = new Date(Date.parse(REPORT_NOW) - 30 * 86_400_000).toISOString();
  return {
    total: hosts.length,
    audited: hosts.filter((h) => lastAudit(h.id as number) !== undefined).length,
    exposed: new Set(open.map((f) => f.host_id)).size,
    withKnownExploited: new Set(open.filter((f) => f.tier === 'kev').map((f) => f.host_id)).size,
    withOverdue: new Set(overdue.map((f) => f.host_id)).size,
    notChecked: hosts
      .filter((h) => (lastAudit(h.id as number) ?? '') < staleBefore)
      .map((h) => h.name)
      .sort(),
    byTier,
    open: open.length,
    overdue: overdue.length,
    overdueByHost: Object.fromEntries(
      [...new Set(overdue.map((f) => f.host_id as number))].map((h) => [
        h,
        {
          count: overdue.filter((f) => f.host_id === h).length,
          kev: overdue.filter((f) => f.host_id === h && f.tier === 'kev').length,
          since: overdue
            .filter((f) => f.host_id === h)
            .map((f) => f.due_at as string)
            .sort()[0],
        },
      ]),
    ),
    dueSoon: open.filter(
      (f) =>
        f.due_at !== null &&
        (f.due_at as string) >= REPORT_NOW &&
        (f.due_at as string) < WEEK_END &&
        !excepted(f),
    ).length,
    excepted: open.filter(excepted).length,
    gone: gone.length,
    goneSecurity: gone.filter((f) => f.tier !== null).length,
    goneKev: gone.filter((f) => f.tier === 'kev').length,
    goneMachines: gonHosts.size,
    jobs: jobIds.map((id) => {
      const mine = steps.filter((s) => s.job_id === id);
      return {
        id,
        ok: mine.filter((s) => s.status === 'succeeded').length,
        failed: mine.filter((s) => s.status === 'failed').length,
        packages: mine
          .filter((s) => s.status === 'succeeded')
          .reduce((n, s) => n + (JSON.parse(s.packages as string) as unknown[]).length, 0),
      };
    }),
    exceptionIds: exceptions
      .filter((e) => e.host_id === null || inScope(e.host_id as number))
      .map((e) => e.id as number)
      .sort((a, b) => a - b),
  };
}

function check(db: Database, report: OwnerReport, hostIds: number[] | null) {
  const range = resolveRange(
    db,
    { from: report.from, to: report.to, ...(hostIds ? { hostIds } : {}) },
    clock,
  );
  const want = independent(db, hostIds, range.fromIso, range.untilIso);
  expect(report.machines).toMatchObject({
    total: want.total,
    audited: want.audited,
    exposed: want.exposed,
    withKnownExploited: want.withKnownExploited,
    withOverdue: want.withOverdue,
  });
  expect(report.machines.notCheckedRecently.map((h) => h.name).sort()).toEqual(want.notChecked);
  expect(report.exposure).toEqual({
    byTier: want.byTier,
    open: want.open,
    overdue: want.overdue,
    dueSoon: want.dueSoon,
    excepted: want.excepted,
  });
  expect(report.fixed).toMatchObject({
    updatesNoLongerPending: want.gone,
    securityNoLongerPending: want.goneSecurity,
    knownExploitedNoLongerPending: want.goneKev,
    machines: want.goneMachines,
  });
  expect(
    report.fixed.jobs.map((j) => ({
      id: j.id,
      ok: j.hostsSucceeded,
      failed: j.hostsFailed,
      packages: j.packagesInstalled,
    })),
  ).toEqual(want.jobs);
  expect(
    Object.fromEntries(
      report.overdue.map((o) => [o.hostId, { count: o.count, kev: o.knownExploited, since: o.since }]),
    ),
  ).toEqual(want.overdueByHost);
  expect(report.exceptions.map((e) => e.id).sort((a, b) => a - b)).toEqual(want.exceptionIds);
  return want;
}

const META: ReportMeta = {
  generatedAt: REPORT_NOW,
  generatedBy: 'Dana <admin>',
  siteName: 'Acme & Sons <Ltd>',
  workspacePath: '/tmp/acme.patchdeck',
  patchdeckVersion: '0.1.0',
};

describe('the owner report', () => {
  it('every number equals the same count made by hand over the workspace rows', () => {
    const { db } = reportWorkspace();
    const range = resolveRange(db, { from: '2026-11-01', to: '2026-11-30' }, clock);
    const report = buildOwnerReport(db, range, clock);
    const want = check(db, report, null);
    // The scenario is not empty: each figure is exercised by something that counts.
    expect(want).toMatchObject({
      total: 5,
      audited: 4,
      overdue: 5,
      withOverdue: 3,
      gone: 3,
      goneSecurity: 2,
      goneKev: 1,
      excepted: 1,
    });
    expect(want.byTier.kev).toBe(2);
    expect(want.jobs).toEqual([{ id: 1, ok: 1, failed: 1, packages: 2 }]);
    expect(OwnerReport.parse(report)).toEqual(report);
    // The trend: one point per audit day in the period, each host's newest audit's judged counts
    // up to that day; the period reaches today, so its last point is today's figures.
    expect(report.trend.map((t) => t.date)).toEqual(['2026-11-05', '2026-11-15', '2026-11-20', '2026-11-30']);
    expect(report.trend.at(-1)).toEqual({ date: '2026-11-30', ...want.byTier });
    const counts = (
      db
        .prepare("SELECT host_id, started_at, intel_counts FROM audits WHERE status = 'succeeded'")
        .all() as Row[]
    )
      .filter((a) => (a.started_at as string) < '2026-11-16')
      .sort((a, b) => String(a.started_at).localeCompare(String(b.started_at)));
    const newestBy = new Map(
      counts.map((a) => [a.host_id, JSON.parse(a.intel_counts as string) as Record<string, number>]),
    );
    const sum = Object.fromEntries(
      TIERS.map((t) => [t, [...newestBy.values()].reduce((n, c) => n + (c[t] ?? 0), 0)]),
    );
    expect(report.trend[1]).toEqual({ date: '2026-11-15', ...sum });
  });

  it('the same holds for a chosen set of hosts and another period', () => {
    const { db, hosts } = reportWorkspace();
    const ids = [hosts.office, hosts.srvC];
    const range = resolveRange(db, { from: '2026-10-01', to: '2026-11-14', hostIds: ids }, clock);
    const report = buildOwnerReport(db, range, clock);
    const want = check(db, report, ids);
    expect(want.total).toBe(2);
    // October's first audit of OFFICE-PC3 had no audit before it, and its second is after the period.
    expect(want.gone).toBe(0);
  });

  it('says what to do next in order, naming the machine with the most known-exploited fixes and the date', () => {
    const { db } = reportWorkspace();
    const report = buildOwnerReport(
      db,
      resolveRange(db, { from: '2026-11-01', to: '2026-11-30' }, clock),
      clock,
    );
    expect(report.actions[0]!.text).toBe(
      'Install the 2 known-exploited fixes on OFFICE-PC3 and 1 other now: they were due by 8 Oct 2026. Attackers are already using these weaknesses.',
    );
    const texts = report.actions.map((a) => a.text);
    expect(
      texts.some((t) =>
        t.startsWith('Decide again on 1 exception that ends by 5 Dec 2026 (zlib1g on OFFICE-PC3)'),
      ),
    ).toBe(true);
    expect(
      texts.some((t) => t.startsWith('Check 2 machines not checked in the last 30 days (srv-b, srv-c)')),
    ).toBe(true);
    // The overdue table says why, in words.
    const office = report.overdue.find((o) => o.hostName === 'OFFICE-PC3')!;
    expect(office.why).toContain(
      "being exploited by attackers now: fix within 7 days of first seeing it, or by CISA's date if sooner",
    );
  });

  it('the HTML escapes every name, reason and the site; it carries no script and two inline charts', () => {
    const { db } = reportWorkspace();
    const report = buildOwnerReport(
      db,
      resolveRange(db, { from: '2026-11-01', to: '2026-11-30' }, clock),
      clock,
    );
    const html = renderOwnerHtml(report, META);
    expect(html).not.toContain(HOSTILE_NAME);
    expect(html).not.toContain('<img');
    expect(html).not.toMatch(/<script/iu);
    expect(html).not.toContain('<b>1.34</b>');
    expect(html).toContain('the vendor pins tar &lt;b&gt;1.34&lt;/b&gt;');
    expect(html).toContain('Acme &amp; Sons &lt;Ltd&gt;');
    expect(html).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;pc&quot;');
    expect(html.match(/<svg /gu)?.length).toBe(2);
    expect(html).toContain("default-src 'none'");
  });
});
