import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../api';
import { auditTierCounts, createMemoryWorkspace, insertHost } from '../db';
import { fillFleet } from '../db/testing/bulk';
import { packageFinding, recordAudit, type AuditedSystem } from '../db/testing/audits';
import { ManualClock } from '../util';
import { exposure, exposureTrend } from './dashboard';
import { enrichCurrentFindings } from './enrich';
import { advisoryStatus } from './status';
import { addAdvisory, addEpss, addKev, addSource, dateAudit } from './testing/snapshot';

// The snapshot's date and freshness as the dashboard and `advisories status` tell them, and the
// one rule for "no distro advisories": real dates of the shared fixtures (the oldest ALSA file of
// the AlmaLinux OSV folder is from 2022-06-30, its newest from 2026-08-21; KEV of 2026-08-20).

const ALMA_9: AuditedSystem = { osId: 'almalinux', osName: 'AlmaLinux', osVersion: '9.4' };
const NOW = '2026-08-25T00:00:00.000Z';
const ctx = (now = NOW) => ({ clock: new ManualClock(now), settings: DEFAULT_SETTINGS });

function workspace() {
  const db = createMemoryWorkspace();
  const host = insertHost(db, { name: 'alma1' }).id;
  const kev = addSource(db, { feed: 'kev', publisher: 'CISA', publishedAt: '2026-08-20T17:00:00.000Z' });
  const epss = addSource(db, { feed: 'epss', publisher: 'FIRST', publishedAt: '2026-08-21T00:00:00.000Z' });
  addKev(db, kev, 'CVE-2023-44487', { dateAdded: '2023-10-10', dueDate: '2023-10-31' });
  addEpss(db, epss, 'CVE-2023-44487', 0.99999, 0.99997);
  const audit = recordAudit(db, host, ALMA_9, 'dnf', [
    packageFinding({
      package: 'toolbox',
      arch: 'x86_64',
      installedVersion: '0.0.99.3-9.el9_2',
      availableVersion: '0.0.99.3-10.el9_2',
      repository: 'appstream',
      security: true,
      advisories: ['CVE-2023-44487'],
    }),
  ]);
  dateAudit(db, audit, '2026-08-24T00:00:00.000Z');
  return { db };
}

function addAlmaFile(db: ReturnType<typeof workspace>['db'], id: string, publishedAt: string) {
  const src = addSource(db, { feed: 'osv', publisher: 'AlmaLinux', fileName: `${id}.json`, publishedAt });
  addAdvisory(db, src, {
    advisoryId: id,
    cves: ['CVE-2022-0001'],
    packages: [{ ecosystem: 'AlmaLinux:9', package: 'other', nameKind: 'binary', fixed: '2-1.el9' }],
  });
}

describe('the snapshot date', () => {
  it('is the oldest of one date per feed and publisher (its newest file), not the oldest OSV file', () => {
    const { db } = workspace();
    addAlmaFile(db, 'ALSA-2022:5139', '2022-06-30T00:00:00.000Z');
    addAlmaFile(db, 'ALSA-2026:9999', '2026-08-21T00:00:00.000Z');
    enrichCurrentFindings(db, ctx());
    const x = exposure(db, ctx());
    expect(x.snapshotDate).toBe('2026-08-20T17:00:00.000Z');
    expect(x.snapshotStale).toBe(false);
    const status = advisoryStatus(db, DEFAULT_SETTINGS, new ManualClock(NOW));
    expect(status.feeds.find((f) => f.feed === 'osv')!.publishedAt).toBe('2026-08-21T00:00:00.000Z');
    // Months later every feed is stale; the warning's verb agrees with its subject.
    const late = advisoryStatus(db, DEFAULT_SETTINGS, new ManualClock('2026-12-01T00:00:00.000Z'));
    expect(late.warnings).toContain(
      "AlmaLinux's OSV advisories are 102 days old (older than 7 days): import a newer file.",
    );
    expect(late.warnings).toContain(
      'The KEV catalogue is 102 days old (older than 7 days): import a newer file.',
    );
    expect(exposure(db, ctx('2026-12-01T00:00:00.000Z')).snapshotStale).toBe(true);
  });

  it('a feed with no date of its own (the tracker JSON) is aged from its import, and says so', () => {
    const { db } = workspace();
    addSource(db, {
      feed: 'debian-tracker',
      publisher: 'Debian',
      fileName: 'tracker.json',
      publishedAt: null,
    });
    const status = advisoryStatus(db, DEFAULT_SETTINGS, new ManualClock('2026-12-01T00:00:00.000Z'));
    const tracker = status.feeds.find((f) => f.feed === 'debian-tracker')!;
    expect(tracker).toMatchObject({
      publishedAt: null,
      importedAt: '2026-08-17T00:00:00.000Z',
      ageDays: 106,
      stale: true,
    });
    expect(status.warnings).toContain(
      'The Debian Security Tracker data has no date of its own and was imported 106 days ago (longer than 7 days): import a newer file.',
    );
  });
});

describe('no distro advisories', () => {
  it('one rule for the dashboard and advisories status: no OSV, tracker or CSAF feed covers the audited hosts', () => {
    const { db } = workspace();
    enrichCurrentFindings(db, ctx());
    // KEV and EPSS are imported, and the CVE dnf named carries its KEV flag: still no distro advisories.
    expect(exposure(db, ctx())).toMatchObject({ noSnapshot: true, byTier: { kev: 1 } });
    expect(advisoryStatus(db, DEFAULT_SETTINGS, new ManualClock(NOW)).noDistroAdvisories).toBe(true);
    // Debian advisories do not cover an AlmaLinux host.
    const deb = addSource(db, { feed: 'osv', publisher: 'Debian' });
    addAdvisory(db, deb, {
      advisoryId: 'DSA-5000-1',
      cves: ['CVE-2021-0001'],
      packages: [{ ecosystem: 'Debian:12', package: 'x', nameKind: 'source', fixed: '1' }],
    });
    expect(exposure(db, ctx()).noSnapshot).toBe(true);
    expect(advisoryStatus(db, DEFAULT_SETTINGS, new ManualClock(NOW)).noDistroAdvisories).toBe(true);
    addAlmaFile(db, 'ALSA-2026:9999', '2026-08-21T00:00:00.000Z');
    expect(exposure(db, ctx()).noSnapshot).toBe(false);
    expect(advisoryStatus(db, DEFAULT_SETTINGS, new ManualClock(NOW)).noDistroAdvisories).toBe(false);
  });
});

describe('the trend', () => {
  /** Each day with an audit: every host's newest judged counts up to that day, summed (computed afresh). */
  function directTrend(db: ReturnType<typeof createMemoryWorkspace>) {
    const latest = new Map<number, Record<string, number>>();
    const days = new Map<string, Record<string, number>>();
    for (const a of auditTierCounts(db)) {
      latest.set(a.hostId, a.counts);
      const sums: Record<string, number> = { kev: 0, critical: 0, high: 0, medium: 0, low: 0 };
      for (const counts of latest.values()) for (const t of Object.keys(sums)) sums[t]! += counts[t] ?? 0;
      days.set(a.startedAt.slice(0, 10), sums);
    }
    return [...days].map(([date, sums]) => ({ date, ...sums }));
  }

  it('is read again after any write to the audits, and equals the trend computed afresh', () => {
    const db = createMemoryWorkspace();
    const { auditIds } = fillFleet(db, { hosts: 6, auditsPerHost: 4, findingsPerAudit: 15, seed: 4 });
    const first = exposureTrend(db);
    expect(first.some((p) => p.high + p.critical + p.medium + p.low + p.kev > 0)).toBe(true);
    expect(first).toEqual(directTrend(db));
    // Nothing written: the same figures (from the kept computation).
    expect(exposureTrend(db)).toEqual(first);
    // An old audit re-judged, an audit deleted, more audits: each shows at the next read.
    db.prepare(
      `UPDATE audits SET intel_counts = '{"kev":7,"critical":0,"high":0,"medium":0,"low":0}' WHERE id = ?`,
    ).run(auditIds[1]);
    expect(exposureTrend(db)).toEqual(directTrend(db));
    expect(exposureTrend(db)).not.toEqual(first);
    db.prepare('DELETE FROM audits WHERE id = ?').run(auditIds[auditIds.length - 1]);
    expect(exposureTrend(db)).toEqual(directTrend(db));
    fillFleet(db, { hosts: 2, auditsPerHost: 2, findingsPerAudit: 5, seed: 9 });
    expect(exposureTrend(db)).toEqual(directTrend(db));
    // A caller changing what it was given does not change the next answer.
    exposureTrend(db)[0]!.kev = 1_000;
    expect(exposureTrend(db)).toEqual(directTrend(db));
  });
});
