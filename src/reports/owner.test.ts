import type { Database } from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../api';
import { createMemoryWorkspace, insertHost } from '../db';
import { DEBIAN_12, packageFinding, recordAudit } from '../db/testing/audits';
import { enrichAudit } from '../intel/enrich';
import { addKev, addSource, dateAudit } from '../intel/testing/snapshot';
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
  const inventory = new Set(
    (db.prepare('SELECT id, in_inventory FROM hosts').all() as Row[])
      .filter((h) => h.in_inventory === 1)
      .map((h) => h.id as number),
  );
  // Without a choice of hosts, the report covers the inventory (as the Reports and Hosts pages do).
  const inScope = (id: number) => (hostIds === null ? inventory.has(id) : hostIds.includes(id));
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
    // A security update by the finding that was pending: its tier, or the package manager's flag
    // when that audit was never judged against advisory data.
    goneSecurity: gone.filter((f) => f.tier !== null || f.security === 1).length,
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
  it('counts in sentences that agree in number: one update on one machine, one known-exploited fix', () => {
    const w = oneMachine();
    const report = buildOwnerReport(
      w.db,
      resolveRange(w.db, { from: '2026-11-01', to: '2026-11-30' }, clock),
      clock,
    );
    check(w.db, report, null);
    const text = textOf(renderOwnerHtml(report, META));
    expect(text).toContain(
      '1 of 1 machine has a security update waiting, for a weakness attackers are using now; it is past its due date.',
    );
    expect(text).toContain(
      '1 update was installed on 1 machine (seen in the audits of the period); it was a security update.',
    );
    expect(report.actions[0]!.text).toBe(
      'Install the 1 known-exploited fix on PC1 now: it was due by 10 Nov 2026. Attackers are already using this weakness.',
    );
    for (const label of [
      '1 machine',
      '1 machine with security updates waiting',
      '1 machine open to attacks in use now',
      '1 machine with overdue updates',
      '1 security update installed in the period',
    ])
      expect(text).toContain(label);
    // No count of one with a plural noun, nor a plural verb after it, anywhere in the document.
    expect(text).not.toMatch(
      /\b1 (?:[a-z-]+ ){0,2}(?:updates|machines|fixes|jobs|exceptions|days|entries|findings|weaknesses|others)\b/u,
    );
    expect(text).not.toMatch(/\b1 [a-z ]*\bwere\b/u);
  });

  it('several counts read in the plural', () => {
    const { db } = reportWorkspace();
    const report = buildOwnerReport(
      db,
      resolveRange(db, { from: '2026-11-01', to: '2026-11-30' }, clock),
      clock,
    );
    const text = textOf(renderOwnerHtml(report, META));
    expect(text).toContain(
      '3 updates were installed on 2 machines (seen in the audits of the period); 2 of them were security updates, 1 for a weakness being exploited.',
    );
    expect(text).toContain(
      '4 of 5 machines have security updates waiting (7 updates in all); 2 of those updates fix weaknesses attackers are using now; 5 are past their due date.',
    );
  });

  it('an update pending in an audit never judged against advisory data counts as security by its own flag', () => {
    // PC1's first audit predates the advisory data (never judged: no tier), and lists libwebp7
    // from the security archive; a job installed it before the second audit.
    const w = oneMachine();
    const before = w.db
      .prepare("SELECT tier, security FROM findings WHERE package = 'libwebp7'")
      .get() as Row;
    expect(before).toEqual({ tier: null, security: 1 });
    const report = buildOwnerReport(
      w.db,
      resolveRange(w.db, { from: '2026-11-01', to: '2026-11-30' }, clock),
      clock,
    );
    expect(report.fixed).toMatchObject({
      updatesNoLongerPending: 1,
      securityNoLongerPending: 1,
      machines: 1,
    });
    check(w.db, report, null);
  });

  it('covers the inventory when no host is chosen: a host only discovered on the network is left out unless chosen', () => {
    const w = oneMachine();
    const all = buildOwnerReport(
      w.db,
      resolveRange(w.db, { from: '2026-11-01', to: '2026-11-30' }, clock),
      clock,
    );
    check(w.db, all, null);
    expect(all.machines.total).toBe(1);
    expect(all.machines.notCheckedRecently).toEqual([]);
    expect(all.exposure.open).toBe(1);
    const chosen = buildOwnerReport(
      w.db,
      resolveRange(w.db, { from: '2026-11-01', to: '2026-11-30', hostIds: [w.found] }, clock),
      clock,
    );
    check(w.db, chosen, [w.found]);
    expect(chosen.machines).toMatchObject({ total: 1, audited: 1, exposed: 1 });
    expect(chosen.hostIds).toEqual([w.found]);
  });
});

/** The document's text, as a reader sees it (tags dropped, entities and spaces folded). */
function textOf(html: string): string {
  return html
    .replace(/<style>[\s\S]*?<\/style>/gu, '')
    .replace(/<[^>]+>/gu, ' ')
    .replace(/&amp;/gu, '&')
    .replace(/\s+/gu, ' ');
}

/**
 * One inventory machine, PC1: an audit of 2 Nov taken before any advisory data was imported (never
 * judged) listing libwebp7 from the security archive; an audit of 20 Nov, judged, where libwebp7
 * is gone and a known-exploited OpenSSL fix (due 10 Nov) waits. Plus a host only discovered on
 * the network (not in the inventory), audited with a pending security update.
 */
function oneMachine() {
  const db = createMemoryWorkspace();
  const pc = insertHost(db, { name: 'PC1' }).id;
  const found = insertHost(db, { name: 'found-on-lan', inInventory: false }).id;
  const update = (pkg: string, advisories: string[] = []) =>
    packageFinding({
      package: pkg,
      arch: 'amd64',
      installedVersion: '1.0-1',
      availableVersion: '1.0-1+deb12u1',
      repository: 'bookworm-security',
      security: true,
      advisories,
    });
  dateAudit(db, recordAudit(db, pc, DEBIAN_12, 'apt', [update('libwebp7')]), '2026-11-02T09:00:00.000Z');
  const kev = addSource(db, { feed: 'kev', publisher: 'CISA', publishedAt: '2026-11-28T00:00:00.000Z' });
  addKev(db, kev, 'CVE-2024-1111', { dateAdded: '2024-05-01', dueDate: '2026-11-10' });
  const judged = (hostId: number, at: string, findings: ReturnType<typeof update>[]) => {
    const id = recordAudit(db, hostId, DEBIAN_12, 'apt', findings);
    dateAudit(db, id, at);
    enrichAudit(db, id, { clock: new ManualClock(at), settings: DEFAULT_SETTINGS });
  };
  judged(pc, '2026-11-20T09:00:00.000Z', [update('openssl', ['CVE-2024-1111'])]);
  judged(found, '2026-11-21T09:00:00.000Z', [update('sudo')]);
  return { db, pc, found };
}
