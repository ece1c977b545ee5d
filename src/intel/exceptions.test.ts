import type { Database } from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../api';
import {
  createMemoryWorkspace,
  insertHost,
  listAuditLog,
  queryFindingGroups,
  queryFindings,
  type FindingInput,
  type FindingQueryInput,
} from '../db';
import { packageFinding, recordAudit, type AuditedSystem } from '../db/testing/audits';
import { ManualClock } from '../util';
import { exposure, patchPriorities } from './dashboard';
import { enrichCurrentFindings } from './enrich';
import { findingEvidence } from './evidence';
import { addFindingException, listFindingExceptions, removeFindingException } from './exceptions';
import { addAdvisory, addEpss, addKev, addSource, dateAudit } from './testing/snapshot';

// Exceptions of each scope, the findings filters and sorts of issue 13, and the dashboard's
// figures, over one workspace of two AlmaLinux hosts judged against real ALSA/KEV/EPSS values.

const ALMA_9: AuditedSystem = { osId: 'almalinux', osName: 'AlmaLinux', osVersion: '9.4' };
const NOW = '2024-03-05T00:00:00.000Z';

const upd = (name: string, from: string, to: string, extra: Partial<FindingInput> = {}) =>
  packageFinding({
    package: name,
    arch: 'x86_64',
    installedVersion: from,
    availableVersion: to,
    repository: 'baseos',
    ...extra,
  });
const toolbox = () => upd('toolbox', '0.0.99.3-9.el9_2', '0.0.99.3-10.el9_2');
const httpd = () => upd('httpd', '2.4.57-5.el9', '2.4.57-5.el9_2.alma.1');

function workspace() {
  const db = createMemoryWorkspace();
  const osv = addSource(db, { feed: 'osv', publisher: 'AlmaLinux', publishedAt: '2024-03-01T00:00:00.000Z' });
  const kev = addSource(db, { feed: 'kev', publisher: 'CISA', publishedAt: '2024-03-01T00:00:00.000Z' });
  const epss = addSource(db, { feed: 'epss', publisher: 'FIRST', publishedAt: '2024-03-01T00:00:00.000Z' });
  addAdvisory(db, osv, {
    advisoryId: 'ALSA-2023:6077',
    cves: ['CVE-2023-39325', 'CVE-2023-44487'],
    severity: 'medium',
    packages: [
      { ecosystem: 'AlmaLinux:9', package: 'toolbox', nameKind: 'binary', fixed: '0.0.99.3-10.el9_2' },
    ],
  });
  addAdvisory(db, osv, {
    advisoryId: 'ALSA-2024:0002',
    cves: ['CVE-2024-0002'],
    severity: 'critical',
    packages: [
      { ecosystem: 'AlmaLinux:9', package: 'httpd', nameKind: 'binary', fixed: '2.4.57-5.el9_2.alma.1' },
    ],
  });
  addKev(db, kev, 'CVE-2023-44487', { dateAdded: '2023-10-10', dueDate: '2023-10-31' });
  addEpss(db, epss, 'CVE-2023-44487', 0.99999, 0.99997);
  addEpss(db, epss, 'CVE-2023-39325', 0.03796, 0.89071);
  const h1 = insertHost(db, { name: 'alma1' }).id;
  const h2 = insertHost(db, { name: 'alma2' }).id;
  const a1 = recordAudit(db, h1, ALMA_9, 'dnf', [
    toolbox(),
    httpd(),
    upd('unrated', '1-1', '2-1', { security: true }),
    upd('bugfix', '1-1', '2-1'),
  ]);
  dateAudit(db, a1, '2024-01-01T00:00:00.000Z');
  const a2 = recordAudit(db, h2, ALMA_9, 'dnf', [toolbox(), httpd()]);
  dateAudit(db, a2, '2024-03-01T00:00:00.000Z');
  const clock = new ManualClock(NOW);
  enrichCurrentFindings(db, { clock, settings: DEFAULT_SETTINGS });
  return { db, h1, h2, clock };
}

const page = (db: Database, q: Partial<FindingQueryInput> = {}, now = NOW) =>
  queryFindings(db, { offset: 0, limit: 100, sort: 'risk', ...q, now }).rows;
const names = (rows: { hostName: string; package: string }[]) =>
  rows.map((r) => `${r.hostName}/${r.package}`);
const idOf = (db: Database, host: string, pkg: string) =>
  page(db).find((r) => r.hostName === host && r.package === pkg)!.id;
const actor = 'alice';
const until = (expiresAt: string) => ({
  reason: 'vendor appliance, replaced in April',
  owner: 'ops team',
  expiresAt,
});

describe('due dates and overdue', () => {
  it('marks what is past its due date', () => {
    const { db } = workspace();
    const rows = page(db);
    expect(rows.map((r) => [r.hostName, r.package, r.tier, r.dueAt, r.overdue])).toEqual([
      ['alma1', 'toolbox', 'kev', '2023-10-31T23:59:59.999Z', true],
      ['alma2', 'toolbox', 'kev', '2023-10-31T23:59:59.999Z', true],
      ['alma1', 'httpd', 'critical', '2024-01-16T00:00:00.000Z', true],
      ['alma2', 'httpd', 'critical', '2024-03-16T00:00:00.000Z', false],
      ['alma1', 'unrated', 'medium', '2024-03-31T00:00:00.000Z', false],
      ['alma1', 'bugfix', null, null, false],
    ]);
    expect(rows.every((r) => r.exception === null)).toBe(true);
  });
});

describe('exceptions', () => {
  it('a CVE accepted covers an update only when all its CVEs are: accepting one leaves the other, known-exploited one open', () => {
    const { db, clock } = workspace();
    // toolbox's update fixes CVE-2023-39325 and the known-exploited CVE-2023-44487.
    const b = addFindingException(
      db,
      { scope: 'cve', decision: 'accept', cve: 'CVE-2023-39325', ...until('2024-04-01T00:00:00Z') },
      { clock, actor },
    );
    expect(b).toMatchObject({ cve: 'CVE-2023-39325', state: 'active', findings: 0 });
    expect(names(page(db, { hasException: true }))).toEqual([]);
    expect(names(page(db, { kevOnly: true, overdue: true }))).toEqual(['alma1/toolbox', 'alma2/toolbox']);
    const before = exposure(db, { clock, settings: DEFAULT_SETTINGS });
    expect(before.byTier.kev).toBe(2);
    expect(before.overdue).toBe(3);
    expect(before.patchFirst[0]).toMatchObject({ package: 'toolbox', tier: 'kev', overdue: 2 });
    // A defer of the other CVE does not make the accept cover it: the defer applies.
    const d = addFindingException(
      db,
      { scope: 'cve', decision: 'defer', cve: 'CVE-2023-44487', ...until('2024-03-20T00:00:00Z') },
      { clock, actor },
    );
    expect(page(db, { hasException: true }).map((r) => [r.package, r.exception?.decision])).toEqual([
      ['toolbox', 'defer'],
      ['toolbox', 'defer'],
    ]);
    expect(exposure(db, { clock, settings: DEFAULT_SETTINGS }).byTier.kev).toBe(2);
    removeFindingException(db, d.id, { clock, actor });

    const a = addFindingException(
      db,
      { scope: 'cve', decision: 'accept', cve: 'cve-2023-44487', ...until('2024-04-15T00:00:00Z') },
      { clock, actor },
    );
    expect(a).toMatchObject({ cve: 'CVE-2023-44487', state: 'active', findings: 2, createdBy: 'alice' });
    expect(listFindingExceptions(db, clock).find((e) => e.id === b.id)!.findings).toBe(2);
    expect(names(page(db, { overdue: true }))).toEqual(['alma1/httpd']);
    expect(names(page(db, { kevOnly: true, overdue: true }))).toEqual([]);
    expect(names(page(db, { hasException: true }))).toEqual(['alma1/toolbox', 'alma2/toolbox']);
    expect(page(db, { hasException: true })[0]!.exception).toMatchObject({
      id: a.id,
      decision: 'accept',
      scope: 'cve',
    });
    const after = exposure(db, { clock, settings: DEFAULT_SETTINGS });
    expect(after.byTier.kev).toBe(0);
    expect(after.patchFirst.map((p) => p.package)).not.toContain('toolbox');
    // Nothing runs at the expiry: once the first accept expires, the finding is back by itself.
    expect(names(page(db, { overdue: true }, '2024-04-02T00:00:00.000Z'))).toEqual([
      'alma1/toolbox',
      'alma2/toolbox',
      'alma1/httpd',
      'alma2/httpd',
      'alma1/unrated',
    ]);
    clock.set('2024-04-16T00:00:00.000Z');
    expect(listFindingExceptions(db, clock)).toEqual([]);
    expect(listFindingExceptions(db, clock, { includeInactive: true })[0]!.state).toBe('expired');
  });

  it('a finding deferred: its due date moves to the expiry while it lasts', () => {
    const { db, clock } = workspace();
    const findingId = idOf(db, 'alma1', 'httpd');
    addFindingException(
      db,
      { scope: 'finding', decision: 'defer', findingId, ...until('2024-03-20T00:00:00Z') },
      { clock, actor },
    );
    expect(names(page(db, { overdue: true }))).toEqual(['alma1/toolbox', 'alma2/toolbox']);
    const ev = findingEvidence(db, findingId, { clock, settings: DEFAULT_SETTINGS });
    expect(ev).toMatchObject({
      dueAt: '2024-03-20T00:00:00.000Z',
      overdue: false,
      exception: { decision: 'defer' },
    });
    // Another host's httpd is another finding: not deferred.
    expect(page(db, { hasException: true }).map((r) => r.id)).toEqual([findingId]);
    clock.set('2024-03-21T00:00:00.000Z');
    expect(findingEvidence(db, findingId, { clock, settings: DEFAULT_SETTINGS })).toMatchObject({
      dueAt: '2024-01-16T00:00:00.000Z',
      overdue: true,
      exception: null,
    });
  });

  it('a package, and a host × package', () => {
    const { db, clock, h2 } = workspace();
    const pkg = addFindingException(
      db,
      { scope: 'package', decision: 'accept', package: 'httpd', ...until('2025-01-01T00:00:00Z') },
      { clock, actor },
    );
    expect(pkg.findings).toBe(2);
    expect(names(page(db, { hasException: true }))).toEqual(['alma1/httpd', 'alma2/httpd']);
    removeFindingException(db, pkg.id, { clock, actor });
    const hp = addFindingException(
      db,
      {
        scope: 'host-package',
        decision: 'accept',
        hostId: h2,
        package: 'toolbox',
        ...until('2025-01-01T00:00:00Z'),
      },
      { clock, actor },
    );
    expect(hp).toMatchObject({ hostName: 'alma2', package: 'toolbox', findings: 1 });
    expect(names(page(db, { hasException: false, overdue: true }))).toEqual(['alma1/toolbox', 'alma1/httpd']);
  });

  it('removal brings the finding back at once, and both changes are in the audit log with who, why, owner and expiry', () => {
    const { db, clock } = workspace();
    const e = addFindingException(
      db,
      { scope: 'cve', decision: 'accept', cve: 'CVE-2023-44487', ...until('2024-04-01T00:00:00Z') },
      { clock, actor },
    );
    expect(
      removeFindingException(db, e.id, { clock, actor: 'bob', reason: 'appliance replaced early' }),
    ).toBe(true);
    expect(removeFindingException(db, e.id, { clock, actor: 'bob' })).toBe(false);
    expect(names(page(db, { overdue: true }))).toEqual(['alma1/toolbox', 'alma2/toolbox', 'alma1/httpd']);
    const log = listAuditLog(db, { entityType: 'exception' });
    expect(log.map((l) => [l.action, l.actor, l.entityId])).toEqual([
      ['exception.removed', 'bob', String(e.id)],
      ['exception.added', 'alice', String(e.id)],
    ]);
    expect(log[1]!.details).toMatchObject({
      scope: 'cve',
      decision: 'accept',
      cve: 'CVE-2023-44487',
      reason: 'vendor appliance, replaced in April',
      owner: 'ops team',
      expiresAt: '2024-04-01T00:00:00.000Z',
    });
    expect(log[0]!.details).toMatchObject({ reason: 'appliance replaced early' });
    expect(listFindingExceptions(db, clock, { includeInactive: true })[0]).toMatchObject({
      state: 'removed',
      removedBy: 'bob',
    });
  });

  it('refuses an expiry in the past and a scope without what it names', () => {
    const { db, clock } = workspace();
    expect(() =>
      addFindingException(
        db,
        { scope: 'cve', decision: 'accept', cve: 'CVE-2023-44487', ...until('2024-01-01T00:00:00Z') },
        { clock, actor },
      ),
    ).toThrow('The expiry must be in the future.');
    expect(() =>
      addFindingException(
        db,
        { scope: 'package', decision: 'defer', ...until('2025-01-01T00:00:00Z') },
        { clock, actor },
      ),
    ).toThrow('An exception for a package names the package.');
    expect(listAuditLog(db, { entityType: 'exception' })).toEqual([]);
  });
});

describe('the findings filters and sorts of issue 13', () => {
  it('filters: known-exploited, tier, EPSS at least', () => {
    const { db } = workspace();
    expect(names(page(db, { kevOnly: true }))).toEqual(['alma1/toolbox', 'alma2/toolbox']);
    expect(names(page(db, { tier: 'critical' }))).toEqual(['alma1/httpd', 'alma2/httpd']);
    expect(names(page(db, { tier: 'medium' }))).toEqual(['alma1/unrated']);
    expect(names(page(db, { epssAtLeast: 0.5 }))).toEqual(['alma1/toolbox', 'alma2/toolbox']);
    expect(page(db, { epssAtLeast: 1 })).toEqual([]);
    expect(queryFindings(db, { offset: 0, limit: 1, sort: 'risk', kevOnly: true, now: NOW }).total).toBe(2);
  });

  it('sort by risk (tier, EPSS, age, hosts) and by due date, both directions', () => {
    const { db } = workspace();
    const asc = names(page(db, { sort: 'risk' }));
    expect(asc).toEqual([
      'alma1/toolbox',
      'alma2/toolbox',
      'alma1/httpd',
      'alma2/httpd',
      'alma1/unrated',
      'alma1/bugfix',
    ]);
    expect(names(page(db, { sort: 'risk', direction: 'desc' }))).toEqual([...asc].reverse());
    expect(names(page(db, { sort: 'due' }))).toEqual([
      'alma1/toolbox',
      'alma2/toolbox',
      'alma1/httpd',
      'alma2/httpd',
      'alma1/unrated',
      'alma1/bugfix',
    ]);
    // Latest first; findings with no due date stay last either way.
    expect(names(page(db, { sort: 'due', direction: 'desc' }))).toEqual([
      'alma1/unrated',
      'alma2/httpd',
      'alma1/httpd',
      'alma1/toolbox',
      'alma2/toolbox',
      'alma1/bugfix',
    ]);
    const groups = (direction: 'asc' | 'desc') =>
      queryFindingGroups(db, { offset: 0, limit: 10, sort: 'risk', direction, now: NOW }).rows.map(
        (g) => g.package,
      );
    expect(groups('asc')).toEqual(['toolbox', 'httpd', 'unrated', 'bugfix']);
    expect(groups('desc')).toEqual(['bugfix', 'unrated', 'httpd', 'toolbox']);
  });

  it('the risk order counts the hosts an update is pending on when tier, EPSS and age tie', () => {
    const db = createMemoryWorkspace();
    const osv = addSource(db, { feed: 'osv', publisher: 'AlmaLinux' });
    for (const [id, pkg] of [
      ['ALSA-2024:0010', 'aaa'],
      ['ALSA-2024:0011', 'zzz'],
    ] as const)
      addAdvisory(db, osv, {
        advisoryId: id,
        cves: [id.replace('ALSA', 'CVE').replace(':', '-1')],
        severity: 'high',
        packages: [{ ecosystem: 'AlmaLinux:9', package: pkg, nameKind: 'binary', fixed: '2-1.el9' }],
      });
    const at = '2024-01-01T00:00:00.000Z';
    const a = recordAudit(db, insertHost(db, { name: 'h1' }).id, ALMA_9, 'dnf', [
      upd('aaa', '1-1.el9', '2-1.el9'),
      upd('zzz', '1-1.el9', '2-1.el9'),
    ]);
    const b = recordAudit(db, insertHost(db, { name: 'h2' }).id, ALMA_9, 'dnf', [
      upd('zzz', '1-1.el9', '2-1.el9'),
    ]);
    dateAudit(db, a, at);
    dateAudit(db, b, at);
    enrichCurrentFindings(db, { clock: new ManualClock(NOW), settings: DEFAULT_SETTINGS });
    expect(names(page(db, { sort: 'risk' }))).toEqual(['h1/zzz', 'h2/zzz', 'h1/aaa']);
  });
});

describe('the dashboard', () => {
  it('due this week counts an update deferred to a day inside the week, unless an accept covers it too', () => {
    const { db, clock, h2 } = workspace();
    const week = { clock, settings: DEFAULT_SETTINGS };
    expect(exposure(db, week).dueThisWeek).toBe(0);
    // alma2/httpd is due 2024-03-16 (outside the week); deferred to 2024-03-10, it is due then.
    const defer = addFindingException(
      db,
      {
        scope: 'host-package',
        decision: 'defer',
        hostId: h2,
        package: 'httpd',
        ...until('2024-03-10T00:00:00Z'),
      },
      { clock, actor },
    );
    expect(exposure(db, week).dueThisWeek).toBe(1);
    // A defer beyond the week: not due this week.
    removeFindingException(db, defer.id, { clock, actor });
    const later = addFindingException(
      db,
      {
        scope: 'host-package',
        decision: 'defer',
        hostId: h2,
        package: 'httpd',
        ...until('2024-03-20T00:00:00Z'),
      },
      { clock, actor },
    );
    expect(exposure(db, week).dueThisWeek).toBe(0);
    removeFindingException(db, later.id, { clock, actor });
    // An accept outranks a defer ending this week: nothing is due.
    addFindingException(
      db,
      {
        scope: 'host-package',
        decision: 'defer',
        hostId: h2,
        package: 'httpd',
        ...until('2024-03-09T00:00:00Z'),
      },
      { clock, actor },
    );
    expect(exposure(db, week).dueThisWeek).toBe(1);
    addFindingException(
      db,
      { scope: 'package', decision: 'accept', package: 'httpd', ...until('2024-03-08T00:00:00Z') },
      { clock, actor },
    );
    expect(exposure(db, week).dueThisWeek).toBe(0);
  });

  it('its figures equal straightforward questions over the same findings', () => {
    const { db, clock, h1 } = workspace();
    addFindingException(
      db,
      {
        scope: 'host-package',
        decision: 'accept',
        hostId: h1,
        package: 'unrated',
        ...until('2024-03-10T00:00:00Z'),
      },
      { clock, actor },
    );
    const x = exposure(db, { clock, settings: DEFAULT_SETTINGS });
    const rows = page(db);
    const open = rows.filter((r) => r.tier !== null && r.exception?.decision !== 'accept');
    const count = (tier: string) => open.filter((r) => r.tier === tier).length;
    expect(x.byTier).toEqual({ kev: count('kev'), critical: count('critical'), high: 0, medium: 0, low: 0 });
    expect(x.byTier).toEqual({ kev: 2, critical: 2, high: 0, medium: 0, low: 0 });
    expect(x.open).toBe(open.length);
    expect(x.overdue).toBe(rows.filter((r) => r.overdue).length);
    const week = '2024-03-12T00:00:00.000Z';
    expect(x.dueThisWeek).toBe(
      rows.filter((r) => r.dueAt && r.dueAt >= NOW && r.dueAt < week && !r.exception).length,
    );
    expect(x.dueThisWeek).toBe(0);
    expect(x.excepted).toBe(1);
    expect(x.exceptionsExpiringSoon).toBe(1);
    expect({ hosts: x.hosts, audited: x.hostsAudited }).toEqual({ hosts: 2, audited: 2 });
    // alma1/unrated was judged (2024-01-01's point) before it was accepted; the newest point is
    // what the tier cards say now, without it.
    expect(x.trend).toEqual([
      { date: '2024-01-01', kev: 1, critical: 1, high: 0, medium: 1, low: 0 },
      { date: '2024-03-01', kev: 2, critical: 2, high: 0, medium: 0, low: 0 },
    ]);
    expect(x.trend.at(-1)).toMatchObject(x.byTier);
    // Judged again with the accept active, the audit's stored counts leave it out too.
    enrichCurrentFindings(db, { clock, settings: DEFAULT_SETTINGS });
    const stored = db.prepare('SELECT intel_counts FROM audits WHERE host_id = ?').pluck().get(h1) as string;
    expect(JSON.parse(stored)).toEqual({ kev: 1, critical: 1, high: 0, medium: 0, low: 0 });
    expect(x.mostExposed.map((h) => [h.hostName, h.open, h.overdue, h.kev, h.worstTier])).toEqual([
      ['alma1', 2, 2, 1, 'kev'],
      ['alma2', 2, 1, 1, 'kev'],
    ]);
    expect(x.patchFirst.map((p) => [p.package, p.tier, p.hosts, p.overdue, p.cves])).toEqual([
      ['toolbox', 'kev', 2, 2, ['CVE-2023-39325', 'CVE-2023-44487']],
      ['httpd', 'critical', 2, 1, ['CVE-2024-0002']],
    ]);
    expect(patchPriorities(db, clock, 1)[0]!.findingIds).toEqual(
      rows
        .filter((r) => r.package === 'toolbox')
        .map((r) => r.id)
        .sort((p, q) => p - q),
    );
    expect({ date: x.snapshotDate, stale: x.snapshotStale, none: x.noSnapshot }).toEqual({
      date: '2024-03-01T00:00:00.000Z',
      stale: false,
      none: false,
    });
  });
});
