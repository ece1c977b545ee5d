/**
 * Advisory bundles: the real snapshot exported, carried, imported into an empty workspace; and
 * bundles changed on the way (a byte, a size, a file more or less, a newer format) refused whole.
 */
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { createMemoryWorkspace } from '../db';
import { ManualClock } from '../util';
import { exportAdvisoryBundle } from './bundle';
import { bufferSource, listFeedSources } from './feeds';
import { importFeedSources } from './snapshot';
import { zipEntries, zipOf } from './testing/zip';

const FIXTURES = path.join(import.meta.dirname, '../../test/fixtures/advisories');
const SOURCES = [
  'kev/known_exploited_vulnerabilities.json',
  'epss/epss_scores-2026-08-16.csv.gz',
  'osv-almalinux/almalinux9',
  'osv-samples',
  'debian-tracker/debian_security_tracker_mock.json',
].map((p) => path.join(FIXTURES, p));

const clock = () => new ManualClock('2026-08-22T10:00:00Z');

const unzip = async (bytes: Buffer) => new Map(await zipEntries(bytes));

/** The snapshot's content, independent of row ids and sources. */
function contentOf(db: Database) {
  return {
    kev: db
      .prepare(
        'SELECT cve, vendor, product, name, date_added, due_date, ransomware FROM kev_entries ORDER BY cve',
      )
      .all(),
    epss: db.prepare('SELECT count(*) AS n, sum(epss) AS s, sum(percentile) AS p FROM epss_scores').get(),
    advisories: db
      .prepare(
        `SELECT a.feed, s.publisher, a.advisory_id, a.severity, a.cvss_vector, a.cves, a.withdrawn, a.modified_at,
                (SELECT json_group_array(json_array(p.ecosystem, p.package, p.name_kind, p.fixed, p.status, p.urgency))
                   FROM (SELECT * FROM advisory_packages p WHERE p.advisory = a.id
                          ORDER BY p.ecosystem, p.package, p.fixed, p.status) p) AS packages
           FROM advisories a JOIN advisory_sources s ON s.id = a.source_id ORDER BY a.feed, a.advisory_id`,
      )
      .all(),
  };
}

const EMPTY = { advisory_sources: 0, advisories: 0, advisory_packages: 0, kev_entries: 0, epss_scores: 0 };
function countsOf(db: Database): Record<string, number> {
  return Object.fromEntries(
    Object.keys(EMPTY).map((t) => [t, db.prepare(`SELECT count(*) FROM ${t}`).pluck().get() as number]),
  );
}

let office: Database;
let bundle: Awaited<ReturnType<typeof exportAdvisoryBundle>>;
beforeAll(async () => {
  office = createMemoryWorkspace();
  const summary = await importFeedSources(office, await listFeedSources(SOURCES), { clock: clock() });
  expect(summary.files.filter((f) => f.status !== 'imported')).toEqual([]);
  bundle = await exportAdvisoryBundle(office, clock());
}, 120_000);

describe('advisory bundles', { timeout: 60_000 }, () => {
  it('export at the office, import on site: the same snapshot', async () => {
    expect(bundle.fileName).toBe('patchdeck-advisories-2026-08-22.zip');
    const entries = await unzip(bundle.bytes);
    const manifest = JSON.parse(entries.get('manifest.json')!.toString()) as {
      format: string;
      version: number;
      files: { path: string; feed: string; sha256: string; bytes: number }[];
    };
    expect(manifest).toMatchObject({ format: 'patchdeck-advisories', version: 1 });
    expect([...entries.keys()].sort()).toEqual(
      ['manifest.json', ...manifest.files.map((f) => f.path)].sort(),
    );
    expect(manifest.files.map((f) => f.feed).sort()).toEqual(
      expect.arrayContaining(['kev', 'epss', 'osv', 'debian-tracker']),
    );

    const site = createMemoryWorkspace();
    const summary = await importFeedSources(site, [bufferSource(bundle.fileName, bundle.bytes)], {
      clock: clock(),
    });
    expect(summary.files.filter((f) => f.status !== 'imported')).toEqual([]);
    expect(summary.files).toHaveLength(manifest.files.length);
    expect(summary.files[0]!.name).toMatch(/^patchdeck-advisories-2026-08-22\.zip: /);
    const a = countsOf(office);
    const b = countsOf(site);
    expect({ ...b, advisory_sources: 0 }).toEqual({ ...a, advisory_sources: 0 });
    expect(contentOf(site)).toEqual(contentOf(office));

    // The same bundle again: every file already imported, nothing written.
    const again = await importFeedSources(site, [bufferSource(bundle.fileName, bundle.bytes)], {
      clock: clock(),
    });
    expect(again.files.map((f) => f.status)).toEqual(manifest.files.map(() => 'already-imported'));
    expect(countsOf(site)).toEqual(b);
  });

  async function refusedWith(bytes: Buffer, message: RegExp): Promise<void> {
    const site = createMemoryWorkspace();
    const summary = await importFeedSources(site, [bufferSource('carried.zip', bytes)], { clock: clock() });
    expect(summary.files).toHaveLength(1);
    expect(summary.files[0]).toMatchObject({ name: 'carried.zip', status: 'refused' });
    expect(summary.files[0]!.message).toMatch(message);
    expect(countsOf(site)).toEqual(EMPTY);
  }

  it('refuses a bundle with a changed file whole', async () => {
    const entries = await unzip(bundle.bytes);
    const kev = entries.get('kev/known_exploited_vulnerabilities.json')!;
    const changed = Buffer.from(kev.toString().replace('"Microsoft"', '"Microsoft"'.replace('M', 'N')));
    expect(changed.length).toBe(kev.length);
    expect(changed.equals(kev)).toBe(false);
    entries.set('kev/known_exploited_vulnerabilities.json', changed);
    await refusedWith(await zipOf(entries), /does not match its manifest's sha256/);
  });

  it('refuses a bundle whose file has another size than its manifest says', async () => {
    const entries = await unzip(bundle.bytes);
    const tracker = [...entries.keys()].find((k) => k.startsWith('debian-tracker/'))!;
    entries.set(tracker, Buffer.concat([entries.get(tracker)!, Buffer.from(' ')]));
    await refusedWith(await zipOf(entries), /bytes, its manifest says/);
  });

  it('refuses a truncated bundle', async () => {
    await refusedWith(bundle.bytes.subarray(0, Math.floor(bundle.bytes.length * 0.6)), /carried\.zip/);
  });

  it('refuses a bundle with a file missing, or one more than its manifest names', async () => {
    const missing = await unzip(bundle.bytes);
    const epss = [...missing.keys()].find((k) => k.startsWith('epss/'))!;
    missing.delete(epss);
    await refusedWith(await zipOf(missing), /lacks epss\//);
    const extra = await unzip(bundle.bytes);
    extra.set('osv/extra.json', Buffer.from('{}'));
    await refusedWith(await zipOf(extra), /holds osv\/extra\.json, which its manifest does not name/);
  });

  it('refuses a bundle made by a newer format version', async () => {
    const entries = await unzip(bundle.bytes);
    const manifest = JSON.parse(entries.get('manifest.json')!.toString()) as { version: number };
    entries.set('manifest.json', Buffer.from(JSON.stringify({ ...manifest, version: 2 })));
    await refusedWith(await zipOf(entries), /made by a newer Patchdeck \(bundle format 2/);
  });

  it('refuses a manifest whose files would inflate beyond what a bundle may hold, before extracting any', async () => {
    const entries = await unzip(bundle.bytes);
    const manifest = JSON.parse(entries.get('manifest.json')!.toString()) as { files: object[] };
    const huge = Array.from({ length: 5 }, (_, i) => ({
      path: `osv/huge-${i}.zip`,
      feed: 'osv',
      publisher: 'AlmaLinux',
      sha256: '0'.repeat(64),
      bytes: 4 * 1024 ** 3,
      publishedAt: null,
      records: 1,
      sourceSha256: null,
    }));
    entries.set(
      'manifest.json',
      Buffer.from(JSON.stringify({ ...manifest, files: [...manifest.files, ...huge] })),
    );
    await refusedWith(await zipOf(entries), /more than a bundle may hold/);
  });

  it('refuses a manifest naming a path outside the bundle', async () => {
    const entries = await unzip(bundle.bytes);
    const manifest = JSON.parse(entries.get('manifest.json')!.toString()) as { files: { path: string }[] };
    manifest.files = manifest.files.map((f) =>
      f.path.startsWith('kev/') ? { ...f, path: '../kev.json' } : f,
    );
    entries.set('manifest.json', Buffer.from(JSON.stringify(manifest)));
    await refusedWith(await zipOf(entries), /cannot describe/);
  });
});
