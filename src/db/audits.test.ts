import { describe, expect, it } from 'vitest';
import {
  completeAudit,
  diffWithPrevious,
  failAudit,
  getAudit,
  listCurrentFindings,
  listFindings,
  markInterruptedAudits,
  findingFacets,
  iterateFindings,
  latestAudits,
  listAudits,
  queryFindingGroups,
  queryFindings,
  startAudit,
  type FindingInput,
  type FindingQueryInput,
} from './audits';
import { insertHost } from './hosts';
import { createMemoryWorkspace } from './workspace';

const finding = (pkg: string, available: string, security = false): FindingInput => ({
  kind: 'package',
  package: pkg,
  arch: 'all',
  installedVersion: '1.0',
  availableVersion: available,
  repository: 'bookworm-security',
  security,
  severity: null,
  vendorSeverity: null,
  advisories: [],
  held: false,
  rebootRequired: null,
});

function audit(
  db: ReturnType<typeof createMemoryWorkspace>,
  hostId: number,
  startedAt: string,
  findings: FindingInput[],
): number {
  const id = startAudit(db, { hostId, taskId: null });
  db.prepare('UPDATE audits SET started_at = ? WHERE id = ?').run(startedAt, id);
  completeAudit(db, id, {
    osId: 'debian',
    osName: 'Debian',
    osVersion: '12',
    kernel: null,
    packageManager: 'apt',
    metadataAgeSeconds: 60,
    rebootRequired: false,
    warnings: [],
    durationMs: 5,
    findings,
  });
  return id;
}

describe('audit history', () => {
  it('orders by when an audit was taken, so an older import does not hide a newer audit', () => {
    const db = createMemoryWorkspace();
    const host = insertHost(db, { name: 'lab01', address: '198.18.0.11' });
    const newer = audit(db, host.id, '2026-11-20T10:00:00.000Z', [finding('acme-tool', '1.1', true)]);
    const olderImport = audit(db, host.id, '2026-11-10T10:00:00.000Z', [
      finding('acme-tool', '1.1', true),
      finding('acme-lib', '2.1'),
    ]);
    expect(latestAudits(db).map((a) => a.id)).toEqual([newer]);
    expect(listAudits(db, host.id).map((a) => a.id)).toEqual([newer, olderImport]);
    expect(queryFindings(db, { offset: 0, limit: 10, sort: 'security' }).rows.map((f) => f.package)).toEqual([
      'acme-tool',
    ]);
    const diff = diffWithPrevious(db, newer);
    expect(diff.previousAuditId).toBe(olderImport);
    expect(diff.resolved.map((f) => f.package)).toEqual(['acme-lib']);
    expect(diff.unchanged.map((f) => f.package)).toEqual(['acme-tool']);
  });

  it('pages, filters and searches current findings in SQL, security first', () => {
    const db = createMemoryWorkspace();
    const a = insertHost(db, { name: 'alpha' });
    const b = insertHost(db, { name: 'beta' });
    audit(db, a.id, '2026-11-20T10:00:00.000Z', [finding('zlib', '2'), finding('openssl', '3', true)]);
    audit(db, b.id, '2026-11-20T10:00:00.000Z', [finding('curl_x', '8', true)]);
    const page = queryFindings(db, { offset: 0, limit: 2, sort: 'security' });
    expect(page).toMatchObject({ total: 3, securityTotal: 2, hostsTotal: 2 });
    expect(page.rows.map((f) => f.security)).toEqual([true, true]);
    expect(queryFindings(db, { offset: 2, limit: 2, sort: 'security' }).rows.map((f) => f.package)).toEqual([
      'zlib',
    ]);
    expect(
      queryFindings(db, { offset: 0, limit: 10, sort: 'package', securityOnly: true }).rows.map(
        (f) => f.package,
      ),
    ).toEqual(['curl_x', 'openssl']);
    // LIKE wildcards in the search are taken literally.
    expect(
      queryFindings(db, { offset: 0, limit: 10, sort: 'package', search: 'l_x' }).rows.map((f) => f.package),
    ).toEqual(['curl_x']);
    expect(queryFindings(db, { offset: 0, limit: 10, sort: 'package', search: '%' }).total).toBe(0);
  });
});

describe('the Updates page queries', () => {
  const f = (pkg: string, overrides: Partial<FindingInput> = {}): FindingInput => ({
    ...finding(pkg, '2.0'),
    ...overrides,
  });
  function fleet() {
    const db = createMemoryWorkspace();
    const web = insertHost(db, { name: 'web01' });
    const db1 = insertHost(db, { name: 'db01' });
    const mail = insertHost(db, { name: 'Mail01' });
    db.prepare(`UPDATE hosts SET tags = ? WHERE id = ?`).run(JSON.stringify(['web', 'office']), web.id);
    db.prepare(`UPDATE hosts SET tags = ? WHERE id = ?`).run(JSON.stringify(['office']), mail.id);
    audit(db, web.id, '2026-11-20T10:00:00.000Z', [
      f('openssl', {
        arch: 'amd64',
        security: true,
        severity: 'important',
        advisories: ['DSA-5600-1', 'CVE-2026-1111'],
      }),
      f('tzdata', { arch: 'all', repository: 'bookworm-updates' }),
    ]);
    audit(db, mail.id, '2026-11-20T10:00:00.000Z', [
      f('openssl', {
        arch: 'amd64',
        security: true,
        severity: 'important',
        advisories: ['DSA-5600-1', 'CVE-2026-1111'],
      }),
      f('openssl', { arch: 'i386', security: true, severity: 'important', advisories: ['DSA-5600-1'] }),
      f('tzdata', { arch: 'all', repository: null }),
    ]);
    // db01 runs Rocky: a different OS, a critical fix, a newer version of openssl.
    const id = startAudit(db, { hostId: db1.id, taskId: null });
    completeAudit(db, id, {
      osId: 'rocky',
      osName: 'Rocky Linux',
      osVersion: '9.3',
      kernel: null,
      packageManager: 'dnf',
      metadataAgeSeconds: 60,
      rebootRequired: false,
      warnings: [],
      durationMs: 5,
      findings: [
        f('openssl', {
          arch: 'x86_64',
          availableVersion: '3.0.7-25',
          repository: 'baseos',
          security: true,
          severity: 'critical',
          advisories: ['RHSA-2026:0101', 'CVE-2026-2222'],
        }),
        f('kernel', { arch: 'x86_64', repository: 'baseos', kind: 'package' }),
      ],
    });
    return { db, web, db1, mail };
  }
  const q = (db: ReturnType<typeof createMemoryWorkspace>, extra: Partial<FindingQueryInput> = {}) =>
    queryFindings(db, { offset: 0, limit: 100, sort: 'package', ...extra });
  const names = (page: ReturnType<typeof queryFindings>) =>
    page.rows.map((r) => `${r.hostName}:${r.package}`);

  it('searches advisory and CVE ids as well as package and host names, literally', () => {
    const { db } = fleet();
    expect(names(q(db, { search: 'CVE-2026-2222' }))).toEqual(['db01:openssl']);
    expect(names(q(db, { search: 'dsa-5600', sort: 'host' }))).toEqual([
      'Mail01:openssl',
      'Mail01:openssl',
      'web01:openssl',
    ]);
    expect(names(q(db, { search: 'RHSA-2026:0101' }))).toEqual(['db01:openssl']);
    // JSON punctuation of the stored list is not searchable text.
    expect(q(db, { search: '","' }).total).toBe(0);
    expect(q(db, { search: '_' }).total).toBe(0);
  });

  it('filters by severity, OS, repository, host and tag, together', () => {
    const { db, mail } = fleet();
    expect(names(q(db, { severity: 'critical' }))).toEqual(['db01:openssl']);
    expect(q(db, { severity: 'none' }).total).toBe(3);
    expect(names(q(db, { os: 'Rocky Linux 9.3' }))).toEqual(['db01:kernel', 'db01:openssl']);
    expect(q(db, { os: 'Debian 12' }).total).toBe(5);
    expect(names(q(db, { repository: 'bookworm-updates' }))).toEqual(['web01:tzdata']);
    expect(q(db, { hostId: mail.id }).total).toBe(3);
    expect(names(q(db, { tag: 'web' }))).toEqual(['web01:openssl', 'web01:tzdata']);
    expect(names(q(db, { tag: 'office', securityOnly: true, sort: 'host' }))).toEqual([
      'Mail01:openssl',
      'Mail01:openssl',
      'web01:openssl',
    ]);
    expect(q(db, { tag: 'offi' }).total).toBe(0);
    const facets = findingFacets(db);
    expect(facets.severities.map((s) => [s.value, s.count])).toEqual([
      ['critical', 1],
      ['important', 3],
      ['none', 3],
    ]);
    expect(facets.os).toEqual([
      { value: 'Debian 12', count: 5 },
      { value: 'Rocky Linux 9.3', count: 2 },
    ]);
    expect(facets.repositories.map((r) => r.value)).toEqual([
      'bookworm-security',
      'baseos',
      'bookworm-updates',
    ]);
    expect(facets.tags).toEqual([
      { value: 'office', count: 5 },
      { value: 'web', count: 2 },
    ]);
    expect(facets.hosts.map((h) => h.name)).toEqual(['db01', 'Mail01', 'web01']);
  });

  it('sorts each column both ways, nulls last', () => {
    const { db } = fleet();
    expect(names(q(db, { sort: 'host' })).slice(0, 2)).toEqual(['db01:openssl', 'db01:kernel']);
    expect(names(q(db, { sort: 'host', direction: 'desc' }))[0]).toMatch(/^web01:/);
    expect(q(db, { sort: 'package', direction: 'desc' }).rows[0]!.package).toBe('tzdata');
    const repos = q(db, { sort: 'repository' }).rows.map((r) => r.repository);
    expect(repos).toEqual([
      'baseos',
      'baseos',
      'bookworm-security',
      'bookworm-security',
      'bookworm-security',
      'bookworm-updates',
      null,
    ]);
    expect(
      q(db, { sort: 'repository', direction: 'desc' })
        .rows.map((r) => r.repository)
        .at(-1),
    ).toBeNull();
    const security = q(db, { sort: 'security' }).rows;
    expect(security[0]).toMatchObject({ hostName: 'db01', severity: 'critical' });
    expect(security.slice(0, 4).every((r) => r.security)).toBe(true);
    expect(q(db, { sort: 'security', direction: 'desc' }).rows[0]!.security).toBe(false);
  });

  it('groups by package: one row per package with its hosts, arches listed apart, filtered and paged', () => {
    const { db, web, db1, mail } = fleet();
    const page = queryFindingGroups(db, { offset: 0, limit: 10, sort: 'package' });
    expect(page).toMatchObject({ total: 3, findingsTotal: 7, securityTotal: 4, hostsTotal: 3 });
    expect(page.rows.map((g) => [g.package, g.hosts, g.findings])).toEqual([
      ['kernel', 1, 1],
      ['openssl', 3, 4],
      ['tzdata', 2, 2],
    ]);
    const openssl = page.rows[1]!;
    expect(openssl).toMatchObject({
      arches: ['amd64', 'i386', 'x86_64'],
      hostIds: [web.id, db1.id, mail.id].sort((a, b) => a - b),
      security: true,
      severity: 'critical',
      availableVersion: null,
      availableVersions: 2,
      advisories: ['CVE-2026-1111', 'CVE-2026-2222', 'DSA-5600-1', 'RHSA-2026:0101'],
      advisoriesTotal: 4,
    });
    expect(page.rows[2]).toMatchObject({ arches: ['all'], availableVersion: '2.0', severity: null });
    // The most widespread first, and the filters apply before grouping.
    expect(queryFindingGroups(db, { offset: 0, limit: 1, sort: 'host' }).rows[0]!.package).toBe('openssl');
    const office = queryFindingGroups(db, { offset: 0, limit: 10, sort: 'security', tag: 'office' });
    expect(office.rows.map((g) => [g.package, g.hosts])).toEqual([
      ['openssl', 2],
      ['tzdata', 2],
    ]);
    expect(
      queryFindingGroups(db, { offset: 1, limit: 1, sort: 'package' }).rows.map((g) => g.package),
    ).toEqual(['openssl']);
    expect(
      queryFindingGroups(db, { offset: 0, limit: 10, sort: 'package', search: 'CVE-2026-2222' }).rows,
    ).toHaveLength(1);
  });

  it('iterates every filtered finding for an export, with the host address and OS', () => {
    const { db } = fleet();
    const rows = [...iterateFindings(db, { sort: 'host', search: 'openssl' })];
    expect(rows.map((r) => [r.hostName, r.os, r.arch])).toEqual([
      ['db01', 'Rocky Linux 9.3', 'x86_64'],
      ['Mail01', 'Debian 12', 'amd64'],
      ['Mail01', 'Debian 12', 'i386'],
      ['web01', 'Debian 12', 'amd64'],
    ]);
  });
});

describe('what an audit stores, field by field', () => {
  const full: FindingInput = {
    kind: 'package',
    package: 'pd-held',
    arch: null,
    installedVersion: null,
    availableVersion: '1.2-1',
    repository: null,
    security: true,
    severity: 'important',
    vendorSeverity: 'Important',
    advisories: ['DSA-1-1', 'CVE-2026-1'],
    held: true,
    rebootRequired: true,
  };

  it('gives back every finding field as written, held and reboot flags included', () => {
    const db = createMemoryWorkspace();
    const host = insertHost(db, { name: 'lab01' });
    const id = audit(db, host.id, '2026-11-20T10:00:00.000Z', [
      full,
      { ...finding('acme-lib', '2.1'), held: false, rebootRequired: false },
      { ...finding('acme-doc', '3.0'), kind: 'patch' },
    ]);
    const rows = listFindings(db, id);
    expect(rows.map((r) => r.package)).toEqual(['pd-held', 'acme-doc', 'acme-lib']);
    // Migration 013's columns read back as "not judged yet" until the advisory enrichment runs.
    const notJudged = {
      sourcePackage: null,
      sourceInstalledVersion: null,
      sourceAvailableVersion: null,
      cves: [],
      kev: false,
      epss: null,
      tier: null,
      firstSeenAt: null,
      dueAt: null,
    };
    expect(rows[0]).toEqual({ ...full, ...notJudged, id: rows[0]!.id, auditId: id, hostId: host.id });
    expect(rows[2]).toMatchObject({ held: false, rebootRequired: false, security: false, arch: 'all' });
    expect(rows[1]).toMatchObject({ kind: 'patch', rebootRequired: null, installedVersion: '1.0' });
    expect(listCurrentFindings(db).map((r) => [r.hostName, r.package, r.held])).toEqual([
      ['lab01', 'pd-held', true],
      ['lab01', 'acme-doc', false],
      ['lab01', 'acme-lib', false],
    ]);
  });

  it('records a completed audit with its counts, flags and warnings', () => {
    const db = createMemoryWorkspace();
    const host = insertHost(db, { name: 'lab01' });
    const id = startAudit(db, { hostId: host.id, taskId: null, source: 'import', refreshed: true });
    expect(getAudit(db, id)).toMatchObject({
      status: 'running',
      source: 'import',
      refreshed: true,
      finishedAt: null,
      durationMs: null,
      rebootRequired: null,
      updatesCount: 0,
      warnings: [],
    });
    completeAudit(db, id, {
      osId: 'debian',
      osName: 'Debian GNU/Linux',
      osVersion: '12',
      kernel: '6.1.0-18-amd64',
      packageManager: 'apt',
      metadataAgeSeconds: 120,
      rebootRequired: true,
      warnings: ['apt keeps back pd-x (not held, not phased)'],
      durationMs: 42,
      findings: [full, finding('acme-lib', '2.1'), finding('acme-tool', '1.1', true)],
    });
    const done = getAudit(db, id)!;
    expect(done).toMatchObject({
      id,
      hostId: host.id,
      taskId: null,
      status: 'succeeded',
      osId: 'debian',
      osName: 'Debian GNU/Linux',
      osVersion: '12',
      kernel: '6.1.0-18-amd64',
      packageManager: 'apt',
      metadataAgeSeconds: 120,
      rebootRequired: true,
      updatesCount: 3,
      securityCount: 2,
      errorKind: null,
      errorMessage: null,
      errorStderr: null,
      warnings: ['apt keeps back pd-x (not held, not phased)'],
      durationMs: 42,
    });
    expect(done.finishedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    const plain = startAudit(db, { hostId: host.id, taskId: null });
    expect(getAudit(db, plain)).toMatchObject({ source: 'ssh', refreshed: false });
    completeAudit(db, plain, {
      osId: null,
      osName: null,
      osVersion: null,
      kernel: null,
      packageManager: null,
      metadataAgeSeconds: null,
      rebootRequired: false,
      warnings: [],
      durationMs: 1,
      findings: [],
    });
    expect(getAudit(db, plain)).toMatchObject({ rebootRequired: false, updatesCount: 0, securityCount: 0 });
    expect(getAudit(db, 999_999)).toBeNull();
  });

  it('records failures, cancellations (stderr capped at 64 KiB) and audits a restart interrupted', () => {
    const db = createMemoryWorkspace();
    const host = insertHost(db, { name: 'lab01' });
    const failed = startAudit(db, { hostId: host.id, taskId: null });
    failAudit(db, failed, {
      kind: 'sudo',
      message: 'sudo needs a password',
      stderr: 'x'.repeat(70_000),
      durationMs: 9,
    });
    expect(getAudit(db, failed)).toMatchObject({
      status: 'failed',
      errorKind: 'sudo',
      errorMessage: 'sudo needs a password',
      durationMs: 9,
    });
    expect(getAudit(db, failed)!.errorStderr).toHaveLength(64 * 1024);
    expect(getAudit(db, failed)!.finishedAt).not.toBeNull();
    const cancelled = startAudit(db, { hostId: host.id, taskId: null });
    failAudit(db, cancelled, {
      status: 'cancelled',
      kind: 'cancelled',
      message: 'Cancelled.',
      durationMs: 1,
    });
    expect(getAudit(db, cancelled)).toMatchObject({ status: 'cancelled', errorStderr: '' });
    const a = startAudit(db, { hostId: host.id, taskId: null });
    const b = startAudit(db, { hostId: host.id, taskId: null });
    expect(markInterruptedAudits(db)).toBe(2);
    expect([getAudit(db, a)!.status, getAudit(db, b)!.status]).toEqual(['interrupted', 'interrupted']);
    expect(getAudit(db, failed)!.status).toBe('failed');
    expect(markInterruptedAudits(db)).toBe(0);
    // The newest finished audit is the current picture, whatever its outcome; running ones are not.
    startAudit(db, { hostId: host.id, taskId: null });
    expect(latestAudits(db).map((x) => x.id)).toEqual([b]);
    expect(listAudits(db, host.id, 2)).toHaveLength(2);
  });
});

describe('the audit diff', () => {
  it('shows a finding whose available version moved on as new, not as unchanged', () => {
    const db = createMemoryWorkspace();
    const host = insertHost(db, { name: 'lab01' });
    const first = audit(db, host.id, '2026-11-10T10:00:00.000Z', [
      finding('acme-tool', '1.1', true),
      finding('acme-lib', '2.1'),
      { ...finding('acme-lib', '2.1'), arch: 'i386' },
      finding('acme-gone', '5.0'),
    ]);
    expect(diffWithPrevious(db, first)).toMatchObject({ previousAuditId: null, resolved: [], unchanged: [] });
    expect(diffWithPrevious(db, first).added).toHaveLength(4);
    // A failed audit in between is not what the next one is compared with.
    const broken = startAudit(db, { hostId: host.id, taskId: null });
    db.prepare('UPDATE audits SET started_at = ? WHERE id = ?').run('2026-11-15T10:00:00.000Z', broken);
    failAudit(db, broken, { kind: 'timeout', message: 'timed out', durationMs: 1 });
    const second = audit(db, host.id, '2026-11-20T10:00:00.000Z', [
      finding('acme-tool', '1.2', true),
      finding('acme-lib', '2.1'),
      { ...finding('acme-lib', '2.2'), arch: 'i386' },
      finding('acme-new', '1.0'),
    ]);
    const diff = diffWithPrevious(db, second);
    const pick = (list: { package: string; arch: string | null; availableVersion: string }[]) =>
      list.map((f) => `${f.package}:${f.arch}=${f.availableVersion}`).sort();
    expect(diff.previousAuditId).toBe(first);
    expect(pick(diff.added)).toEqual(['acme-lib:i386=2.2', 'acme-new:all=1.0', 'acme-tool:all=1.2']);
    expect(pick(diff.unchanged)).toEqual(['acme-lib:all=2.1']);
    expect(pick(diff.resolved)).toEqual(['acme-gone:all=5.0']);
    expect(diffWithPrevious(db, 999_999)).toEqual({
      previousAuditId: null,
      added: [],
      resolved: [],
      unchanged: [],
    });
  });

  it('breaks a tie of the same start time by the older row, and never compares with a later audit', () => {
    const db = createMemoryWorkspace();
    const host = insertHost(db, { name: 'lab01' });
    const other = insertHost(db, { name: 'lab02' });
    audit(db, other.id, '2026-11-01T10:00:00.000Z', [finding('acme-tool', '1.1')]);
    const a = audit(db, host.id, '2026-11-20T10:00:00.000Z', [finding('acme-tool', '1.1')]);
    const b = audit(db, host.id, '2026-11-20T10:00:00.000Z', [finding('acme-tool', '1.1')]);
    const later = audit(db, host.id, '2026-11-21T10:00:00.000Z', []);
    expect(diffWithPrevious(db, b).previousAuditId).toBe(a);
    expect(diffWithPrevious(db, a).previousAuditId).toBeNull();
    expect(diffWithPrevious(db, later)).toMatchObject({ previousAuditId: b, added: [] });
    expect(diffWithPrevious(db, later).resolved.map((f) => f.package)).toEqual(['acme-tool']);
  });
});
