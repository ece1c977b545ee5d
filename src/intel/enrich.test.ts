import type { Database } from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, type Settings } from '../api';
import {
  createMemoryWorkspace,
  failAudit,
  insertHost,
  listFindings,
  startAudit,
  type FindingInput,
} from '../db';
import { OPENSUSE_LEAP_15, packageFinding, recordAudit, type AuditedSystem } from '../db/testing/audits';
import { ManualClock } from '../util';
import { enrichAudit, enrichCurrentFindings, recomputeDueDates } from './enrich';
import { findingEvidence } from './evidence';
import { unfixedCves } from './dashboard';
import { addAdvisory, addEpss, addKev, addSource, dateAudit } from './testing/snapshot';

// Matching, tiers and due dates over a real SQLite workspace. The snapshot rows copy real records
// of ../shared/fixtures/advisories: ALSA-2023:6077 (toolbox; CVE-2023-44487 only in its
// references, in KEV since 2023-10-10, due 2023-10-31), ALSA-2023:2654 and ALSA-2022:8832
// (nodejs:18 module stream), the EPSS scores of 2026-08-16, the tracker's apparmor entries.

const ALMA_9: AuditedSystem = { osId: 'almalinux', osName: 'AlmaLinux', osVersion: '9.4' };
const DEBIAN_12: AuditedSystem = { osId: 'debian', osName: 'Debian GNU/Linux', osVersion: '12' };
const settings: Settings = DEFAULT_SETTINGS;

function snapshot(db: Database) {
  const alma = addSource(db, {
    feed: 'osv',
    publisher: 'AlmaLinux',
    fileName: 'almalinux9',
    sha256: 'b'.repeat(64),
  });
  const tracker = addSource(db, { feed: 'debian-tracker', publisher: 'Debian', fileName: 'tracker.json' });
  const kev = addSource(db, { feed: 'kev', publisher: 'CISA', publishedAt: '2025-08-25T17:04:19.979Z' });
  const epss = addSource(db, { feed: 'epss', publisher: 'FIRST', publishedAt: '2026-08-16T00:00:00.000Z' });
  addAdvisory(db, alma, {
    advisoryId: 'ALSA-2023:6077',
    cves: ['CVE-2023-39325', 'CVE-2023-44487'],
    severity: 'medium',
    vendorSeverity: 'Moderate',
    url: 'https://errata.almalinux.org/9/ALSA-2023-6077.html',
    packages: ['toolbox', 'toolbox-tests'].map((p) => ({
      ecosystem: 'AlmaLinux:9',
      package: p,
      nameKind: 'binary' as const,
      fixed: '0.0.99.3-10.el9_2',
    })),
  });
  addAdvisory(db, alma, {
    advisoryId: 'ALSA-2023:2654',
    cves: ['CVE-2021-35065', 'CVE-2022-25881', 'CVE-2022-4904', 'CVE-2023-23918', 'CVE-2023-23919'],
    severity: 'medium',
    packages: [
      {
        ecosystem: 'AlmaLinux:9',
        package: 'nodejs',
        nameKind: 'binary',
        fixed: '1:18.14.2-2.module_el9.2.0+29+de583a0b',
      },
    ],
  });
  addAdvisory(db, alma, {
    advisoryId: 'ALSA-2022:8832',
    cves: ['CVE-2022-3517', 'CVE-2022-43548'],
    severity: 'medium',
    packages: [
      {
        ecosystem: 'AlmaLinux:9',
        package: 'nodejs',
        nameKind: 'binary',
        fixed: '1:18.12.1-1.module_el9.1.0+16+91bc168f',
      },
    ],
  });
  // A normal (non-module) build of nodejs between installed and available: another stream, must not count.
  addAdvisory(db, alma, {
    advisoryId: 'ALSA-2024:0001',
    cves: ['CVE-2024-0001'],
    severity: 'high',
    packages: [{ ecosystem: 'AlmaLinux:9', package: 'nodejs', nameKind: 'binary', fixed: '1:18.13.0-1.el9' }],
  });
  addAdvisory(db, alma, {
    advisoryId: 'ALSA-2024:0002',
    cves: ['CVE-2024-0002'],
    severity: 'critical',
    packages: [
      { ecosystem: 'AlmaLinux:9', package: 'httpd', nameKind: 'binary', fixed: '2.4.57-5.el9_2.alma.1' },
    ],
  });
  addAdvisory(db, alma, {
    advisoryId: 'ALSA-2024:0003',
    cves: ['CVE-2024-0003'],
    severity: 'high',
    packages: [{ ecosystem: 'AlmaLinux:9', package: 'epoch-pkg', nameKind: 'binary', fixed: '1:2.0-1.el9' }],
  });
  // Debian tracker: source names, source versions.
  const tracked = (
    cve: string,
    source: string,
    p: Partial<Parameters<typeof addAdvisory>[2]['packages'][0]>,
  ) =>
    addAdvisory(db, tracker, {
      feed: 'debian-tracker',
      advisoryId: `DEBIAN:${cve}:${source}`,
      cves: [cve],
      severity: null,
      packages: [{ ecosystem: 'Debian:12', package: source, nameKind: 'source', ...p }],
    });
  tracked('CVE-2024-1000', 'acme', { fixed: '5.1-1', status: 'fixed', urgency: 'high' });
  tracked('CVE-2024-1001', 'acme', { fixed: null, status: 'open', urgency: 'medium' });
  tracked('CVE-2024-1002', 'acme', { fixed: null, status: 'not-affected' });
  tracked('CVE-2024-1003', 'acme', { fixed: '5.1-1', status: 'undetermined' });
  tracked('CVE-2024-1004', 'acme', { fixed: '5.1-1', status: 'fixed', urgency: 'unimportant' });
  tracked('CVE-2024-1005', 'bpo', { fixed: '1.0-1', status: 'fixed', urgency: 'low**' });
  tracked('CVE-2016-1585', 'apparmor', { fixed: null, status: 'open', urgency: 'unimportant' });
  addKev(db, kev, 'CVE-2023-44487', {
    dateAdded: '2023-10-10',
    dueDate: '2023-10-31',
    name: 'HTTP/2 Rapid Reset',
  });
  addEpss(db, epss, 'CVE-2023-44487', 0.99999, 0.99997);
  addEpss(db, epss, 'CVE-2023-39325', 0.03796, 0.89071);
  addEpss(db, epss, 'CVE-2024-6387', 0.99506, 0.99942);
}

function workspace() {
  const db = createMemoryWorkspace();
  snapshot(db);
  const alma = insertHost(db, { name: 'alma1' }).id;
  const deb = insertHost(db, { name: 'deb1' }).id;
  return { db, alma, deb };
}

const upd = (name: string, from: string | null, to: string, extra: Partial<FindingInput> = {}) =>
  packageFinding({
    package: name,
    arch: 'x86_64',
    installedVersion: from,
    availableVersion: to,
    repository: 'baseos',
    ...extra,
  });

function audit(
  db: Database,
  hostId: number,
  system: AuditedSystem,
  findings: FindingInput[],
  at = '2023-10-20T08:00:00.000Z',
) {
  const id = recordAudit(db, hostId, system, 'dnf', findings);
  dateAudit(db, id, at);
  return id;
}

const ctx = (at = '2023-10-21T00:00:00.000Z', s: Settings = settings) => ({
  clock: new ManualClock(at),
  settings: s,
});
const byPackage = (db: Database, auditId: number) =>
  new Map(listFindings(db, auditId).map((f) => [f.package, f]));

describe('which CVEs a pending update fixes', () => {
  it('binary names (AlmaLinux): each binary of one source matches its own row, a binary the feed does not name matches nothing', () => {
    const { db, alma } = workspace();
    const id = audit(db, alma, ALMA_9, [
      upd('toolbox', '0.0.99.3-9.el9_2', '0.0.99.3-10.el9_2', { sourcePackage: 'toolbox', security: true }),
      upd('toolbox-tests', '0.0.99.3-9.el9_2', '0.0.99.3-10.el9_2', { sourcePackage: 'toolbox' }),
      // Built from the same source, but AlmaLinux's OSV names binaries: podman is not named.
      upd('podman', '4.4.1-1.el9', '4.4.1-2.el9', { sourcePackage: 'toolbox' }),
    ]);
    enrichAudit(db, id, ctx());
    const f = byPackage(db, id);
    expect(f.get('toolbox')!.cves).toEqual(['CVE-2023-39325', 'CVE-2023-44487']);
    expect(f.get('toolbox-tests')!.cves).toEqual(['CVE-2023-39325', 'CVE-2023-44487']);
    expect(f.get('podman')!.cves).toEqual([]);
    expect(f.get('toolbox')).toMatchObject({ kev: true, epss: 0.99999, tier: 'kev' });
    expect(f.get('podman')!.tier).toBeNull();
  });

  it('source names and source versions (Debian tracker): the binary’s own versions are not compared', () => {
    const { db, deb } = workspace();
    const id = audit(db, deb, DEBIAN_12, [
      // The binary's versions (2.1 → 2.2) say nothing about the source's (5.0 → 5.1), which the tracker names.
      upd('libacme2', '2.1-1', '2.2-1', {
        sourcePackage: 'acme',
        sourceInstalledVersion: '5.0-1',
        sourceAvailableVersion: '5.1-1',
      }),
      // Source unknown: the source is the binary, at the binary's versions.
      upd('acme', '5.0-1', '5.1-1'),
      // A backport: 1.0-1~bpo12+1 < 1.0-1 ≤ 1.0-2~bpo12+1, but 1.0-1~bpo12+2 is still below the fix.
      upd('bpo', '1.0-1~bpo12+1', '1.0-2~bpo12+1'),
      upd('bpo-utils', '1.0-1~bpo12+1', '1.0-1~bpo12+2', { sourcePackage: 'bpo' }),
    ]);
    enrichAudit(db, id, ctx());
    const f = byPackage(db, id);
    // not-affected, undetermined and 'unimportant' rows are skipped; the open one is not a fix.
    expect(f.get('libacme2')!.cves).toEqual(['CVE-2024-1000']);
    expect(f.get('acme')!.cves).toEqual(['CVE-2024-1000']);
    expect(f.get('bpo')!.cves).toEqual(['CVE-2024-1005']);
    expect(f.get('bpo-utils')!.cves).toEqual([]);
    const ev = findingEvidence(db, f.get('libacme2')!.id, ctx());
    expect(ev.cves[0]!.evidence).toEqual([
      expect.objectContaining({
        advisoryId: 'DEBIAN:CVE-2024-1000:acme',
        feed: 'debian-tracker',
        matchedName: 'acme',
        nameKind: 'source',
        fixedVersion: '5.1-1',
        sourceFile: 'tracker.json',
        publisher: 'Debian',
      }),
    ]);
  });

  it('installed < fixed ≤ available with epochs and .alma rebuilds; a new dependency fixes nothing', () => {
    const { db, alma } = workspace();
    const id = audit(db, alma, ALMA_9, [
      upd('httpd', '2.4.57-5.el9', '2.4.57-5.el9_2.alma.1'),
      // Fixed in 1:2.0: an update to 2.5 without the epoch is below it.
      upd('epoch-pkg', '1.0-1.el9', '2.5-1.el9'),
      // Already at the fixed version: nothing left to fix.
      upd('toolbox', '0.0.99.3-10.el9_2', '0.0.99.3-11.el9_2'),
      // Pulled in as a new dependency: nothing installed, nothing vulnerable.
      upd('toolbox-tests', null, '0.0.99.3-10.el9_2'),
    ]);
    enrichAudit(db, id, ctx());
    const f = byPackage(db, id);
    expect(f.get('httpd')!.cves).toEqual(['CVE-2024-0002']);
    expect(f.get('epoch-pkg')!.cves).toEqual([]);
    expect(f.get('toolbox')!.cves).toEqual([]);
    expect(f.get('toolbox-tests')!.cves).toEqual([]);
  });

  it('a zypper patch (nothing installed) keeps the CVEs zypper names: KEV flag, EPSS and tier kev', () => {
    const { db } = workspace();
    const suse = insertHost(db, { name: 'leap1' }).id;
    const id = audit(db, suse, OPENSUSE_LEAP_15, [
      {
        ...upd('openSUSE-SLE-15.5-2023-4141', null, 'openSUSE-SLE-15.5-2023-4141', {
          security: true,
          severity: 'important',
          advisories: ['openSUSE-SLE-15.5-2023-4141', 'CVE-2023-44487'],
          arch: null,
        }),
        kind: 'patch',
      },
    ]);
    enrichAudit(db, id, ctx());
    const f = byPackage(db, id).get('openSUSE-SLE-15.5-2023-4141')!;
    expect(f.cves).toEqual(['CVE-2023-44487']);
    expect(f.kev).toBe(true);
    expect(f.epss).toBe(0.99999);
    expect(f.tier).toBe('kev');
  });

  it('module streams: a module build compares only with module builds of its stream', () => {
    const { db, alma } = workspace();
    const id = audit(db, alma, ALMA_9, [
      upd('nodejs', '1:18.12.1-1.module_el9.1.0+16+91bc168f', '1:18.14.2-2.module_el9.2.0+29+de583a0b'),
    ]);
    enrichAudit(db, id, ctx());
    // ALSA-2022:8832 is the installed build itself; ALSA-2024:0001's normal build does not count.
    expect(byPackage(db, id).get('nodejs')!.cves).toEqual([
      'CVE-2021-35065',
      'CVE-2022-25881',
      'CVE-2022-4904',
      'CVE-2023-23918',
      'CVE-2023-23919',
    ]);
  });

  it('reconciles what the package manager reported: RHSA and ALSA are one advisory, CVE ids join, unknown ids are kept apart', () => {
    const { db, alma } = workspace();
    const id = audit(db, alma, ALMA_9, [
      upd('toolbox', '0.0.99.3-9.el9_2', '0.0.99.3-10.el9_2', {
        security: true,
        severity: 'moderate',
        advisories: ['RHSA-2023:6077', 'ALSA-2023:6077', 'CVE-2024-6387', 'ALSA-2099:9999'],
      }),
    ]);
    enrichAudit(db, id, ctx());
    const f = byPackage(db, id).get('toolbox')!;
    expect(f.cves).toEqual(['CVE-2023-39325', 'CVE-2023-44487', 'CVE-2024-6387']);
    expect(f.epss).toBe(0.99999);
    const ev = findingEvidence(db, f.id, ctx());
    // Each snapshot CVE once (from the snapshot's row), the package manager's CVE once.
    const rows = ev.cves.flatMap((c) => c.evidence.map((e) => [c.cve, e.advisoryId, e.nameKind]));
    expect(rows).toEqual([
      ['CVE-2023-39325', 'ALSA-2023:6077', 'binary'],
      ['CVE-2023-44487', 'ALSA-2023:6077', 'binary'],
      ['CVE-2024-6387', 'CVE-2024-6387', 'package-manager'],
    ]);
    expect(ev.unmatchedAdvisories).toEqual(['ALSA-2099:9999']);
    expect(ev.cves.find((c) => c.cve === 'CVE-2023-44487')!.kev).toEqual({
      dateAdded: '2023-10-10',
      dueDate: '2023-10-31',
      ransomware: false,
      name: 'HTTP/2 Rapid Reset',
      catalogDate: '2025-08-25T17:04:19.979Z',
    });
    expect(ev.cves.find((c) => c.cve === 'CVE-2023-39325')!.epss).toEqual({
      score: 0.03796,
      percentile: 0.89071,
      scoreDate: '2026-08-16T00:00:00.000Z',
    });
  });

  it('a reported advisory the snapshot knows but did not match for this build counts its CVEs once, on the package manager’s word', () => {
    const { db, alma } = workspace();
    // The snapshot's row says 0.0.99.3-10; this host is offered a differently numbered build.
    const id = audit(db, alma, ALMA_9, [
      upd('toolbox', '0.0.99.3-10.el9_2', '0.0.99.3-10.el9_2.1', {
        security: true,
        advisories: ['RHSA-2023:6077'],
      }),
    ]);
    enrichAudit(db, id, ctx());
    const f = byPackage(db, id).get('toolbox')!;
    expect(f.cves).toEqual(['CVE-2023-39325', 'CVE-2023-44487']);
    const ev = findingEvidence(db, f.id, ctx());
    expect(ev.cves.map((c) => c.evidence.map((e) => [e.advisoryId, e.feed]))).toEqual([
      [['ALSA-2023:6077', 'package-manager']],
      [['ALSA-2023:6077', 'package-manager']],
    ]);
    expect(ev.unmatchedAdvisories).toEqual([]);
  });

  it('lists CVEs with no fix yet apart, for installed packages, with no due date; unimportant ones skipped', () => {
    const { db, deb } = workspace();
    const id = audit(db, deb, DEBIAN_12, []);
    const put = db.prepare(
      'INSERT INTO audit_packages (audit_id, name, arch, version, source_name, source_version) VALUES (?, ?, ?, ?, ?, ?)',
    );
    put.run(id, 'libacme2', 'amd64', '2.1-1', 'acme', '5.0-1');
    put.run(id, 'apparmor', 'amd64', '3.0.8-3', null, null);
    put.run(id, 'other', 'amd64', '1.0-1', null, null);
    enrichAudit(db, id, ctx());
    const unfixed = unfixedCves(db, { limit: 10 });
    expect(unfixed.total).toBe(1);
    expect(unfixed.rows[0]).toMatchObject({
      hostName: 'deb1',
      package: 'libacme2',
      sourcePackage: 'acme',
      cve: 'CVE-2024-1001',
      status: 'open',
      urgency: 'medium',
    });
    expect(
      unfixedCves(db, { limit: 10, match: { includeUnimportant: true } })
        .rows.map((r) => r.cve)
        .sort(),
    ).toEqual(['CVE-2016-1585', 'CVE-2024-1001']);
  });
});

describe('tiers and due dates', () => {
  it('severity: the distro first, then the package manager, then CVSS; no rating: medium; not security: none', () => {
    const { db, alma } = workspace();
    const cvss = addSource(db, { feed: 'osv', publisher: 'AlmaLinux' });
    addAdvisory(db, cvss, {
      advisoryId: 'ALSA-2024:0009',
      cves: ['CVE-2024-0009'],
      severity: null,
      cvssScore: 9.8,
      packages: [{ ecosystem: 'AlmaLinux:9', package: 'scored', nameKind: 'binary', fixed: '2-1.el9' }],
    });
    const id = audit(db, alma, ALMA_9, [
      upd('httpd', '2.4.57-5.el9', '2.4.57-5.el9_2.alma.1', { security: true, severity: 'low' }),
      upd('rated', '1-1', '2-1', { security: true, severity: 'important' }),
      upd('scored', '1-1.el9', '2-1.el9'),
      upd('unrated', '1-1', '2-1', { security: true }),
      upd('bugfix', '1-1', '2-1'),
    ]);
    enrichAudit(db, id, ctx());
    const f = byPackage(db, id);
    expect(f.get('httpd')!.tier).toBe('critical'); // AlmaLinux's own 'Critical' over dnf's 'low'
    expect(f.get('rated')!.tier).toBe('high');
    expect(f.get('scored')!.tier).toBe('critical');
    expect(f.get('unrated')!.tier).toBe('medium');
    expect(f.get('bugfix')!.tier).toBeNull();
    expect(f.get('bugfix')!.dueAt).toBeNull();
    expect(findingEvidence(db, f.get('scored')!.id, ctx()).tierReason).toBe(
      'CVSS 9.8 (ALSA-2024:0009): critical',
    );
  });

  it("Debian tracker: a host is rated by its own release's urgency, not another release's", () => {
    const { db, deb } = workspace();
    // CVE-2023-4039 of gcc-12 as the tracker has it: the record's highest urgency is bullseye's.
    const tracker = addSource(db, { feed: 'debian-tracker', publisher: 'Debian', fileName: 'tracker2.json' });
    addAdvisory(db, tracker, {
      feed: 'debian-tracker',
      advisoryId: 'DEBIAN:CVE-2023-4039:gcc-12',
      cves: ['CVE-2023-4039'],
      severity: 'high',
      vendorSeverity: 'high',
      packages: [
        {
          ecosystem: 'Debian:12',
          package: 'gcc-12',
          nameKind: 'source',
          fixed: '12.2.0-14+deb12u1',
          urgency: 'low',
        },
        {
          ecosystem: 'Debian:11',
          package: 'gcc-12',
          nameKind: 'source',
          fixed: '12.2.0-14~deb11u1',
          urgency: 'high',
        },
      ],
    });
    const id = audit(db, deb, DEBIAN_12, [
      upd('libgcc-s1', '12.2.0-14', '12.2.0-14+deb12u1', { security: true, sourcePackage: 'gcc-12' }),
    ]);
    enrichAudit(db, id, ctx());
    const f = byPackage(db, id).get('libgcc-s1')!;
    expect(f.cves).toEqual(['CVE-2023-4039']);
    expect(f.tier).toBe('low');
    const ev = findingEvidence(db, f.id, ctx());
    expect(ev.tierReason).toBe('the distribution rates DEBIAN:CVE-2023-4039:gcc-12 low');
    expect(ev.cves[0]!.evidence[0]).toMatchObject({ severity: 'low', vendorSeverity: 'low' });
  });

  it("KEV: 7 days from first seen, or CISA's own due date when sooner", () => {
    const { db, alma } = workspace();
    const early = audit(
      db,
      alma,
      ALMA_9,
      [upd('toolbox', '0.0.99.3-9.el9_2', '0.0.99.3-10.el9_2')],
      '2023-10-20T08:00:00.000Z',
    );
    enrichAudit(db, early, ctx());
    expect(byPackage(db, early).get('toolbox')!.dueAt).toBe('2023-10-27T08:00:00.000Z');
    const other = insertHost(db, { name: 'alma2' }).id;
    const late = audit(
      db,
      other,
      ALMA_9,
      [upd('toolbox', '0.0.99.3-9.el9_2', '0.0.99.3-10.el9_2')],
      '2023-10-30T08:00:00.000Z',
    );
    enrichAudit(db, late, ctx());
    const f = byPackage(db, late).get('toolbox')!;
    expect(f.dueAt).toBe('2023-10-31T23:59:59.999Z');
    expect(findingEvidence(db, f.id, ctx()).dueReason).toBe(
      "CISA's due date 2023-10-31, sooner than 7 days from first seen (2023-10-30)",
    );
  });

  it('first seen is carried over the audit history; a gap restarts the clock, a failed audit does not', () => {
    const { db, alma } = workspace();
    const pending = [upd('httpd', '2.4.57-5.el9', '2.4.57-5.el9_2.alma.1')];
    const a1 = audit(db, alma, ALMA_9, pending, '2024-01-01T00:00:00.000Z');
    enrichAudit(db, a1, ctx());
    const failed = startAudit(db, { hostId: alma, taskId: null });
    failAudit(db, failed, { kind: 'timeout', message: 'no answer', durationMs: 1 });
    dateAudit(db, failed, '2024-01-05T00:00:00.000Z');
    // a2 is not enriched on its own: a3 must still walk back through it to a1.
    const a2 = audit(db, alma, ALMA_9, pending, '2024-01-10T00:00:00.000Z');
    const a3 = audit(db, alma, ALMA_9, pending, '2024-01-20T00:00:00.000Z');
    enrichAudit(db, a3, ctx());
    const f3 = byPackage(db, a3).get('httpd')!;
    expect(f3.firstSeenAt).toBe('2024-01-01T00:00:00.000Z');
    expect(f3.dueAt).toBe('2024-01-16T00:00:00.000Z'); // critical: 15 days
    expect(findingEvidence(db, f3.id, ctx()).firstSeenAuditId).toBe(a1);
    expect(a2).toBeGreaterThan(a1);
    // Patched, then pending again: a new run.
    audit(db, alma, ALMA_9, [], '2024-02-01T00:00:00.000Z');
    const a5 = audit(db, alma, ALMA_9, pending, '2024-02-10T00:00:00.000Z');
    enrichAudit(db, a5, ctx());
    expect(byPackage(db, a5).get('httpd')!.firstSeenAt).toBe('2024-02-10T00:00:00.000Z');
  });

  it('a change of SLA days moves every current due date; an import re-judges the newest audits', () => {
    const { db, alma } = workspace();
    const id = audit(
      db,
      alma,
      ALMA_9,
      [upd('httpd', '2.4.57-5.el9', '2.4.57-5.el9_2.alma.1')],
      '2024-01-01T00:00:00.000Z',
    );
    expect(enrichCurrentFindings(db, ctx()).findings).toBe(1);
    recomputeDueDates(db, ctx(undefined, { ...settings, slaDays: { ...settings.slaDays, critical: 3 } }));
    expect(byPackage(db, id).get('httpd')!.dueAt).toBe('2024-01-04T00:00:00.000Z');
    const counts = db.prepare('SELECT intel_counts FROM audits WHERE id = ?').get(id) as {
      intel_counts: string;
    };
    expect(JSON.parse(counts.intel_counts)).toEqual({ kev: 0, critical: 1, high: 0, medium: 0, low: 0 });
  });
});
