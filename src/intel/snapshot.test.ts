/**
 * The snapshot store on the real published files under test/fixtures/advisories/ (see the README
 * in each folder for provenance), into real SQLite workspaces.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../api';
import { createMemoryWorkspace, insertHost, readSettings } from '../db';
import { recordAudit } from '../db/testing/audits';
import { ManualClock } from '../util';
import { bufferSource, fileSource, listFeedSources } from './feeds';
import { importFeedSources } from './snapshot';
import { advisoryStatus } from './status';

const FIXTURES = path.join(import.meta.dirname, '../../test/fixtures/advisories');
const KEV = path.join(FIXTURES, 'kev/known_exploited_vulnerabilities.json');
const EPSS = path.join(FIXTURES, 'epss/epss_scores-2026-08-16.csv.gz');
const ALMA = path.join(FIXTURES, 'osv-almalinux/almalinux9');
const SAMPLES = path.join(FIXTURES, 'osv-samples');
const TRACKER = path.join(FIXTURES, 'debian-tracker/debian_security_tracker_mock.json');

const kevJson = JSON.parse(fs.readFileSync(KEV, 'utf8')) as {
  dateReleased: string;
  catalogVersion: string;
  vulnerabilities: { cveID: string }[];
};
const almaFiles = fs.readdirSync(ALMA).filter((f) => f.endsWith('.json'));

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'patchdeck-snapshot-test-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const count = (db: Database, table: string): number =>
  db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;

/** Everything the snapshot holds, to compare before and after an import that must write nothing. */
function snapshotOf(db: Database): Record<string, number> {
  return Object.fromEntries(
    ['advisory_sources', 'advisories', 'advisory_packages', 'kev_entries', 'epss_scores'].map((t) => [
      t,
      count(db, t),
    ]),
  );
}

const clock = () => new ManualClock('2026-08-22T10:00:00Z');

describe('importFeedSources', { timeout: 60_000 }, () => {
  it('imports the real KEV, EPSS, AlmaLinux OSV folder, OSV samples and tracker, recording each source', async () => {
    const db = createMemoryWorkspace();
    const sources = await listFeedSources([KEV, EPSS, ALMA, SAMPLES, TRACKER]);
    const summary = await importFeedSources(db, sources, { clock: clock() });
    const refused = summary.files.filter((f) => f.status !== 'imported');
    expect(refused).toEqual([]);
    expect(summary.files.length).toBe(2 + almaFiles.length + 4 + 1);
    expect(count(db, 'kev_entries')).toBe(new Set(kevJson.vulnerabilities.map((v) => v.cveID)).size);
    expect(summary.kev).toBe(count(db, 'kev_entries'));
    expect(count(db, 'epss_scores')).toBe(360_142);
    expect(summary.epss).toBe(360_142);
    const kev = db.prepare("SELECT * FROM advisory_sources WHERE feed = 'kev'").get() as Record<
      string,
      unknown
    >;
    expect(kev).toMatchObject({
      publisher: 'CISA',
      record_count: kevJson.vulnerabilities.length,
      superseded_at: null,
    });
    expect(kev.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(String(kev.published_at).slice(0, 10)).toBe(kevJson.dateReleased.slice(0, 10));
    // One advisory per ALSA/ALBA record (duplicates in the folder count once), each with packages.
    const almaIds = new Set(
      almaFiles.map((f) => (JSON.parse(fs.readFileSync(path.join(ALMA, f), 'utf8')) as { id: string }).id),
    );
    const alma = db
      .prepare(
        "SELECT count(*) FROM advisories a JOIN advisory_sources s ON s.id = a.source_id WHERE s.publisher = 'AlmaLinux'",
      )
      .pluck()
      .get();
    expect(alma).toBe(almaIds.size);
    const noPackages = db
      .prepare(
        "SELECT count(*) FROM advisories a WHERE a.feed = 'osv' AND a.advisory_id LIKE 'AL%' AND NOT EXISTS (SELECT 1 FROM advisory_packages p WHERE p.advisory = a.id AND p.ecosystem = 'AlmaLinux:9')",
      )
      .pluck()
      .get();
    expect(noPackages).toBe(0);
    // ALSA-2023:6077 names CVE-2023-44487 only in its references; the store keeps what the reader found.
    const rapid = db
      .prepare("SELECT cves FROM advisories WHERE advisory_id = 'ALSA-2023:6077'")
      .pluck()
      .get();
    expect(JSON.parse(String(rapid))).toContain('CVE-2023-44487');
    expect(count(db, "advisories WHERE feed = 'debian-tracker'")).toBeGreaterThan(0);
    expect(summary.peakRssBytes).toBeGreaterThan(0);
  });

  it('says already-imported for the same file again and writes nothing', async () => {
    const db = createMemoryWorkspace();
    const c = clock();
    await importFeedSources(db, await listFeedSources([KEV, SAMPLES]), { clock: c });
    const before = snapshotOf(db);
    c.advance(3600_000);
    const again = await importFeedSources(db, await listFeedSources([KEV, SAMPLES]), { clock: c });
    expect(again.files.map((f) => f.status)).toEqual(Array(5).fill('already-imported'));
    expect(again.files[0]!.message).toMatch(/already imported/);
    expect(snapshotOf(db)).toEqual(before);
    expect(again.enrichment).toBeNull();
  });

  it('keeps an older KEV catalogue out, and a newer one replaces the current one', async () => {
    const db = createMemoryWorkspace();
    await importFeedSources(db, [fileSource(KEV)], { clock: clock() });
    const older = {
      ...kevJson,
      dateReleased: '2024-01-02T00:00:00.000Z',
      vulnerabilities: kevJson.vulnerabilities.slice(0, 10),
      count: 10,
    };
    const before = snapshotOf(db);
    const kept = await importFeedSources(
      db,
      [bufferSource('old-kev.json', Buffer.from(JSON.stringify(older)))],
      {
        clock: clock(),
      },
    );
    expect(kept.files[0]).toMatchObject({ status: 'older-than-current', feed: 'kev' });
    expect(kept.files[0]!.message).toMatch(/older than the current/);
    expect(snapshotOf(db)).toEqual(before);

    const newer = {
      ...kevJson,
      dateReleased: '2026-01-02T00:00:00.000Z',
      vulnerabilities: kevJson.vulnerabilities.slice(0, 10),
      count: 10,
    };
    const replaced = await importFeedSources(
      db,
      [bufferSource('new-kev.json', Buffer.from(JSON.stringify(newer)))],
      {
        clock: clock(),
      },
    );
    expect(replaced.files[0]!.status).toBe('imported');
    expect(count(db, 'kev_entries')).toBe(10);
    const rows = db
      .prepare("SELECT file_name, superseded_at FROM advisory_sources WHERE feed = 'kev' ORDER BY id")
      .all();
    expect(rows).toEqual([
      { file_name: KEV, superseded_at: '2026-08-22T10:00:00.000Z' },
      { file_name: 'new-kev.json', superseded_at: null },
    ]);
  });

  it('refuses a truncated file in a batch whole and imports the others', async () => {
    const db = createMemoryWorkspace();
    const bytes = fs.readFileSync(KEV);
    const truncated = bufferSource('truncated-kev.json', bytes.subarray(0, Math.floor(bytes.length / 2)));
    const gz = fs.readFileSync(EPSS);
    const truncatedGz = bufferSource('truncated-epss.csv.gz', gz.subarray(0, Math.floor(gz.length * 0.8)));
    const summary = await importFeedSources(
      db,
      [truncated, truncatedGz, ...(await listFeedSources([SAMPLES, TRACKER]))],
      { clock: clock() },
    );
    expect(summary.files.map((f) => [f.name, f.status])).toEqual([
      ['truncated-kev.json', 'refused'],
      ['truncated-epss.csv.gz', 'refused'],
      ...summary.files.slice(2).map((f) => [f.name, 'imported']),
    ]);
    expect(summary.files.slice(2)).toHaveLength(5);
    expect(summary.files[0]!.message).toMatch(/truncated-kev\.json/);
    expect(count(db, 'kev_entries')).toBe(0);
    expect(count(db, 'epss_scores')).toBe(0);
    expect(count(db, "advisory_sources WHERE feed IN ('kev', 'epss')")).toBe(0);
    expect(count(db, 'advisories')).toBeGreaterThan(0);
  });

  it('refuses a file that is no feed, naming what it reads', async () => {
    const db = createMemoryWorkspace();
    const summary = await importFeedSources(db, [bufferSource('notes.txt', Buffer.from('hello\n'))], {
      clock: clock(),
    });
    expect(summary.files[0]).toMatchObject({ status: 'refused', feed: null });
    expect(summary.files[0]!.message).toMatch(/not a feed Patchdeck reads/);
    expect(snapshotOf(db)).toEqual({
      advisory_sources: 0,
      advisories: 0,
      advisory_packages: 0,
      kev_entries: 0,
      epss_scores: 0,
    });
  });

  it('a newer OSV record replaces the advisory and its packages; an older one is kept out', async () => {
    const db = createMemoryWorkspace();
    const file = path.join(SAMPLES, 'DSA-3029-1.json');
    const record = JSON.parse(fs.readFileSync(file, 'utf8')) as { modified: string; affected: unknown[] };
    await importFeedSources(db, [fileSource(file)], { clock: clock() });
    const packages = count(db, 'advisory_packages');
    expect(packages).toBeGreaterThan(0);
    const older = { ...record, modified: '2000-01-01T00:00:00Z', affected: [] };
    await importFeedSources(db, [bufferSource('older.json', Buffer.from(JSON.stringify(older)))], {
      clock: clock(),
    });
    expect(count(db, 'advisory_packages')).toBe(packages);
    const newer = { ...record, modified: '2030-01-01T00:00:00Z', affected: [record.affected[0]] };
    const summary = await importFeedSources(
      db,
      [bufferSource('newer.json', Buffer.from(JSON.stringify(newer)))],
      {
        clock: clock(),
      },
    );
    expect(summary.advisories).toBe(1);
    expect(count(db, 'advisories')).toBe(1);
    expect(db.prepare('SELECT modified_at FROM advisories').pluck().get()).toMatch(/^2030-01-01/);
    expect(count(db, 'advisory_packages')).toBeLessThanOrEqual(packages);
  });

  it('stops at a cancel between files: files before it stay, nothing of the rest is written', async () => {
    const db = createMemoryWorkspace();
    const controller = new AbortController();
    const sources = await listFeedSources([ALMA]);
    await expect(
      importFeedSources(db, sources, {
        clock: clock(),
        signal: controller.signal,
        onProgress: (done) => {
          if (done === 5) controller.abort();
        },
      }),
    ).rejects.toThrow();
    expect(count(db, 'advisory_sources')).toBe(5);
  });

  it('judges current findings again after an import that wrote something', async () => {
    const db = createMemoryWorkspace();
    const host = insertHost(db, { name: 'alma1', address: '198.18.0.9' });
    recordAudit(db, host.id, { osId: 'almalinux', osName: 'AlmaLinux', osVersion: '9.4' }, 'dnf', []);
    const summary = await importFeedSources(db, [fileSource(KEV)], { clock: clock() });
    expect(summary.enrichment).toMatchObject({ findings: 0 });
  });
});

describe('advisoryStatus', { timeout: 60_000 }, () => {
  it('gives each feed its age from its own date and warns when one is older than the setting', async () => {
    const db = createMemoryWorkspace();
    const c = new ManualClock('2026-08-20T12:00:00Z');
    await importFeedSources(db, await listFeedSources([KEV, EPSS, SAMPLES]), { clock: c });
    const host = insertHost(db, { name: 'alma1', address: '198.18.0.9' });
    recordAudit(db, host.id, { osId: 'almalinux', osName: 'AlmaLinux', osVersion: '9.4' }, 'dnf', []);
    const status = advisoryStatus(db, readSettings(db), c);
    const kev = status.feeds.find((f) => f.feed === 'kev')!;
    const epss = status.feeds.find((f) => f.feed === 'epss')!;
    const kevAge = Math.floor((c.now() - Date.parse(kevJson.dateReleased)) / 86_400_000);
    expect(kev).toMatchObject({
      publisher: 'CISA',
      ageDays: kevAge,
      stale: true,
      recordCount: kevJson.vulnerabilities.length,
    });
    expect(epss).toMatchObject({ publisher: 'FIRST', ageDays: 4, stale: false, recordCount: 360_142 });
    expect(status.warnings).toContain(
      `The KEV catalogue is ${kevAge} days old (older than ${DEFAULT_SETTINGS.advisoryMaxAgeDays} days): import a newer file.`,
    );
    expect(status.warnings.some((w) => w.startsWith('The EPSS scores'))).toBe(false);
    expect(status.ecosystems).toEqual([{ ecosystem: 'AlmaLinux:9', hosts: 1, covered: false }]);
    expect(status.warnings.some((w) => w.includes('No advisories cover AlmaLinux:9 (1 host)'))).toBe(true);
    // Four days on, EPSS is past the 7-day default too.
    c.advance(4 * 86_400_000);
    const later = advisoryStatus(db, { ...readSettings(db), advisoryMaxAgeDays: 7 }, c);
    expect(later.feeds.find((f) => f.feed === 'epss')).toMatchObject({ ageDays: 8, stale: true });
    expect(later.warnings).toContain(
      'The EPSS scores are 8 days old (older than 7 days): import a newer file.',
    );
    // A longer allowance quiets it again.
    const relaxed = advisoryStatus(db, { ...readSettings(db), advisoryMaxAgeDays: 365 }, c);
    expect(relaxed.feeds.every((f) => !f.stale)).toBe(true);
  });

  it('warns when KEV or EPSS was never imported', () => {
    const db = createMemoryWorkspace();
    const status = advisoryStatus(db, readSettings(db), clock());
    expect(status.feeds).toEqual([]);
    expect(status.warnings).toEqual([
      'No KEV catalogue imported: known-exploited CVEs cannot be flagged.',
      'No EPSS scores imported: findings have no exploit likelihood.',
    ]);
    expect(status.counts).toEqual({ advisories: 0, kev: 0, epss: 0 });
  });
});
