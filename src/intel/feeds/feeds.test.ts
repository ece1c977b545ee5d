/**
 * The feed readers on the real published files copied under test/fixtures/advisories/ (see the
 * README.md beside each): every record of each file read and checked against the file itself.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import yazl from 'yazl';
import type { AdvisoryRecord, EpssRecord, FeedFileFacts, FeedItem, KevRecord } from '../types';
import { bufferSource, detectFeed, fileSource, listFeedSources, readFeed, type FeedSource } from './index';

const FIXTURES = join(import.meta.dirname, '../../../test/fixtures/advisories');
const KEV = join(FIXTURES, 'kev/known_exploited_vulnerabilities.json');
const EPSS = join(FIXTURES, 'epss/epss_scores-2026-08-16.csv.gz');
const ALMA = join(FIXTURES, 'osv-almalinux/almalinux9');
const SAMPLES = join(FIXTURES, 'osv-samples');
const TRACKER = join(FIXTURES, 'debian-tracker/debian_security_tracker_mock.json');
const CSAF = join(FIXTURES, 'csaf/rhsa-2023_5835.json');

export async function readAll(
  source: FeedSource,
  kind: Parameters<typeof readFeed>[1],
): Promise<{ items: FeedItem[]; facts: FeedFileFacts }> {
  const reader = readFeed(source, kind);
  const items: FeedItem[] = [];
  for (;;) {
    const next = await reader.next();
    if (next.done) return { items, facts: next.value };
    items.push(next.value);
  }
}

const advisories = (items: FeedItem[]): AdvisoryRecord[] =>
  items.map((i) => (i.kind === 'advisory' ? i.record : expect.unreachable(`not an advisory: ${i.kind}`)));

/** The CVE ids an OSV record names, found the simplest way: every CVE-shaped word anywhere in those fields. */
function expectedCves(raw: Record<string, unknown>): string[] {
  const text = JSON.stringify([
    raw.id,
    raw.aliases ?? [],
    raw.related ?? [],
    raw.upstream ?? [],
    raw.references ?? [],
  ]);
  return [...new Set([...text.matchAll(/CVE-\d{4}-\d{4,7}(?!\d)/gi)].map((m) => m[0].toUpperCase()))].sort();
}

describe('KEV', () => {
  it('reads all 1,404 entries of catalogVersion 2025.08.25, each as the catalog says', async () => {
    const { items, facts } = await readAll(fileSource(KEV), 'kev');
    const raw = JSON.parse(readFileSync(KEV, 'utf8')) as {
      vulnerabilities: {
        cveID: string;
        dueDate: string;
        dateAdded: string;
        knownRansomwareCampaignUse: string;
        vendorProject: string;
      }[];
    };
    expect(facts).toEqual({
      feed: 'kev',
      publisher: 'CISA',
      publishedAt: '2025-08-25T17:04:19.9796Z',
      recordCount: 1404,
      ecosystems: [],
      details: { catalogVersion: '2025.08.25' },
    });
    const records = items.map((i) => i.record as KevRecord);
    expect(records).toHaveLength(1404);
    expect(records.map((r) => [r.cve, r.dueDate, r.dateAdded, r.ransomware, r.vendor])).toEqual(
      raw.vulnerabilities.map((v) => [
        v.cveID,
        v.dueDate,
        v.dateAdded,
        v.knownRansomwareCampaignUse === 'Known',
        v.vendorProject.trim(),
      ]),
    );
    expect(records[0]).toEqual({
      cve: 'CVE-2025-48384',
      vendor: 'Git',
      product: 'Git',
      name: 'Git Link Following Vulnerability',
      dateAdded: '2025-08-25',
      dueDate: '2025-09-15',
      ransomware: false,
    });
    expect(records.some((r) => r.ransomware)).toBe(true);
  });
});

describe('EPSS', () => {
  it('reads all 360,142 rows of the csv.gz with its score date, each as the file says', async () => {
    const { items, facts } = await readAll(fileSource(EPSS), 'epss');
    expect(facts).toEqual({
      feed: 'epss',
      publisher: 'FIRST',
      publishedAt: '2026-08-16T00:00:00+00:00',
      recordCount: 360_142,
      ecosystems: [],
      details: { modelVersion: 'unknown' },
    });
    const lines = gunzipSync(readFileSync(EPSS)).toString('utf8').trimEnd().split('\n').slice(2);
    expect(items).toHaveLength(lines.length);
    for (let i = 0; i < lines.length; i++) {
      const [cve, epss, percentile] = lines[i]!.split(',');
      const record = items[i]!.record as EpssRecord;
      if (record.cve !== cve || record.epss !== Number(epss) || record.percentile !== Number(percentile))
        expect(record, `line ${i + 3}`).toEqual({ cve, epss: Number(epss), percentile: Number(percentile) });
    }
  });

  it('reads the same rows from the plain csv', async () => {
    const csv = gunzipSync(readFileSync(EPSS));
    const { items, facts } = await readAll(bufferSource('epss.csv', csv), 'epss');
    expect(facts.recordCount).toBe(360_142);
    expect(items[0]!.record).toEqual({ cve: 'CVE-1999-1593', epss: 0.18126, percentile: 0.96946 });
  });
});

describe('OSV, AlmaLinux 9', () => {
  const records: AdvisoryRecord[] = [];
  const facts: FeedFileFacts[] = [];
  const raws = new Map<string, Record<string, unknown>>();

  beforeAll(async () => {
    const sources = await listFeedSources([ALMA]);
    expect(sources).toHaveLength(1783);
    for (const source of sources) {
      expect(await detectFeed(source), source.name).toBe('osv');
      const read = await readAll(source, 'osv');
      records.push(...advisories(read.items));
      facts.push(read.facts);
    }
    for (const f of readdirSync(ALMA)) {
      const raw = JSON.parse(readFileSync(join(ALMA, f), 'utf8')) as Record<string, unknown>;
      raws.set(raw.id as string, raw);
    }
  }, 60_000);

  it('parses every one of the 1,783 records, with every CVE the record names', () => {
    expect(records).toHaveLength(1783);
    expect(facts.every((f) => f.recordCount === 1 && f.publisher === 'AlmaLinux' && f.feed === 'osv')).toBe(
      true,
    );
    for (const record of records) {
      const raw = raws.get(record.advisoryId)!;
      expect(record.cves, record.advisoryId).toEqual(expectedCves(raw));
      // Each record links AlmaLinux's own errata page for it.
      expect(record.url, record.advisoryId).toMatch(
        /^https:\/\/errata\.almalinux\.org\/\d+\/AL[BES]A-\d{4}-[A-Z0-9]+\.html$/,
      );
      expect(record.modifiedAt).toBe(raw.modified);
      expect(record.publishedAt).toBe(raw.published);
    }
  });

  it('finds CVEs named only in references (ALSA-2023:6077 → CVE-2023-44487), rated by the summary', () => {
    const alsa = records.find((r) => r.advisoryId === 'ALSA-2023:6077')!;
    expect(alsa).toMatchObject({
      cves: ['CVE-2023-39325', 'CVE-2023-44487'],
      severity: 'medium',
      vendorSeverity: 'Moderate',
      summary: 'Moderate: toolbox security update',
      url: 'https://errata.almalinux.org/9/ALSA-2023-6077.html',
      withdrawn: false,
    });
    expect(alsa.affected).toEqual([
      {
        ecosystem: 'AlmaLinux:9',
        package: 'toolbox',
        nameKind: 'binary',
        introduced: null,
        fixed: '0.0.99.3-10.el9_2',
        status: 'fixed',
        urgency: null,
      },
      {
        ecosystem: 'AlmaLinux:9',
        package: 'toolbox-tests',
        nameKind: 'binary',
        introduced: null,
        fixed: '0.0.99.3-10.el9_2',
        status: 'fixed',
        urgency: null,
      },
    ]);
    const words = new Map<string, string>();
    for (const r of records) words.set(r.vendorSeverity ?? 'null', r.severity ?? 'null');
    expect(Object.fromEntries(words)).toEqual({
      Critical: 'critical',
      Important: 'high',
      Moderate: 'medium',
      Low: 'low',
      None: 'none',
    });
  });

  it('keeps every fixed version verbatim (.alma suffixes, module releases) under its own ecosystem', () => {
    const expected: string[] = [];
    for (const raw of raws.values())
      for (const a of raw.affected as {
        package: { ecosystem: string; name: string };
        ranges: { events: Record<string, string>[] }[];
      }[])
        for (const r of a.ranges)
          for (const e of r.events)
            if (e.fixed)
              expected.push(`${raw.id as string} ${a.package.ecosystem} ${a.package.name} ${e.fixed}`);
    const got = records.flatMap((r) =>
      r.affected.map((a) => `${r.advisoryId} ${a.ecosystem} ${a.package} ${a.fixed}`),
    );
    expect([...new Set(got)].sort()).toEqual([...new Set(expected)].sort());
    expect(got.some((g) => /\.alma(?:\.\d+)?$/.test(g))).toBe(true);
    expect(got.some((g) => /module_el9\.\d+\.\d+\+\d+\+[0-9a-f]+/.test(g))).toBe(true);
    const perEcosystem = (list: string[]): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const g of new Set(list)) {
        const eco = g.split(' ')[1]!;
        out[eco] = (out[eco] ?? 0) + 1;
      }
      return out;
    };
    expect(perEcosystem(got)).toEqual(perEcosystem(expected));
    expect(Object.keys(perEcosystem(got)).sort()).toEqual(['AlmaLinux:10', 'AlmaLinux:8', 'AlmaLinux:9']);
  });

  describe('as an all.zip export', () => {
    let dir = '';
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'patchdeck-osv-zip-'));
      const zip = new yazl.ZipFile();
      for (const f of readdirSync(ALMA).sort()) zip.addFile(join(ALMA, f), f);
      zip.end();
      const parts: Buffer[] = [];
      for await (const chunk of zip.outputStream) parts.push(chunk as Buffer);
      writeFileSync(join(dir, 'all.zip'), Buffer.concat(parts));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('reads every entry as the same record the folder gives', async () => {
      const source = fileSource(join(dir, 'all.zip'));
      expect(await detectFeed(source)).toBe('osv-zip');
      const { items, facts: zipFacts } = await readAll(source, 'osv-zip');
      const byId = (a: AdvisoryRecord, b: AdvisoryRecord): number => a.advisoryId.localeCompare(b.advisoryId);
      expect(advisories(items).sort(byId)).toEqual([...records].sort(byId));
      expect(zipFacts).toMatchObject({
        feed: 'osv',
        publisher: 'AlmaLinux',
        recordCount: 1783,
        ecosystems: ['AlmaLinux:10', 'AlmaLinux:8', 'AlmaLinux:9'],
      });
      const newest = [...raws.values()]
        .map((r) => r.modified as string)
        .sort((a, b) => Date.parse(a) - Date.parse(b))
        .at(-1);
      expect(zipFacts.publishedAt).toBe(newest);
    });
  });
});

describe('OSV samples from osv.dev', () => {
  it('reads Debian records by source package name', async () => {
    const dsa = await readAll(fileSource(join(SAMPLES, 'DSA-3029-1.json')), 'osv');
    expect(dsa.facts).toMatchObject({ publisher: 'Debian', recordCount: 1, ecosystems: ['Debian:7'] });
    expect(advisories(dsa.items)).toEqual([
      {
        feed: 'osv',
        advisoryId: 'DSA-3029-1',
        summary: 'nginx - security update',
        severity: null,
        vendorSeverity: null,
        cvssVector: null,
        cvssScore: null,
        publishedAt: '2014-09-20T00:00:00Z',
        modifiedAt: '2014-09-20T08:18:07Z',
        cves: ['CVE-2014-3616'],
        url: 'https://www.debian.org/security/2014/dsa-3029',
        withdrawn: false,
        affected: [
          {
            ecosystem: 'Debian:7',
            package: 'nginx',
            nameKind: 'source',
            introduced: null,
            fixed: '1.2.1-2.2+wheezy3',
            status: 'fixed',
            urgency: null,
          },
        ],
      },
    ]);
    const dla = await readAll(fileSource(join(SAMPLES, 'DLA-3623-1.json')), 'osv');
    const [record] = advisories(dla.items);
    expect(dla.facts.publisher).toBe('Debian');
    expect(record!.affected).toEqual([]);
    expect(record!.cves).toHaveLength(44);
    expect(record!.cves).toContain('CVE-2023-4921');
  });

  it('keeps only real CVE ids from upstream lists (not UBUNTU-CVE-…)', async () => {
    const usn = await readAll(fileSource(join(SAMPLES, 'USN-6332-1.json')), 'osv');
    const [record] = advisories(usn.items);
    expect(usn.facts.publisher).toBe('Ubuntu');
    expect(record!.cves).toHaveLength(34);
    expect(record!.cves.every((c) => c.startsWith('CVE-'))).toBe(true);
  });

  it('skips an Ubuntu Pro record (not in the host repositories) and reads Ubuntu priority where the ecosystem is audited', async () => {
    const path = join(SAMPLES, 'UBUNTU-CVE-2025-38094.json');
    const pro = await readAll(fileSource(path), 'osv');
    expect(pro.items).toEqual([]);
    expect(pro.facts).toMatchObject({
      recordCount: 0,
      details: { skippedRecords: '1', skippedAffected: '1' },
    });
    // The same record as osv.dev serves it for a release in the host repositories.
    const text = readFileSync(path, 'utf8').replace('"Ubuntu:Pro:14.04:LTS"', '"Ubuntu:22.04:LTS"');
    const lts = await readAll(bufferSource('UBUNTU-CVE-2025-38094.json', Buffer.from(text)), 'osv');
    const [record] = advisories(lts.items);
    expect(lts.facts).toMatchObject({ publisher: 'Ubuntu', ecosystems: ['Ubuntu:22.04'] });
    expect(record).toMatchObject({ severity: 'medium', vendorSeverity: 'medium', cves: ['CVE-2025-38094'] });
    expect(record!.affected).toEqual([
      {
        ecosystem: 'Ubuntu:22.04',
        package: 'linux',
        nameKind: 'source',
        introduced: null,
        fixed: null,
        status: 'open',
        urgency: null,
      },
    ]);
  });
});

describe('Debian Security Tracker', () => {
  it('gives one record per (source, CVE) with each numbered release mapped as the contract says', async () => {
    const source = fileSource(TRACKER);
    expect(await detectFeed(source)).toBe('debian-tracker');
    const { items, facts } = await readAll(source, 'debian-tracker');
    expect(facts).toEqual({
      feed: 'debian-tracker',
      publisher: 'Debian',
      publishedAt: null,
      recordCount: 3,
      ecosystems: ['Debian:10', 'Debian:11', 'Debian:12', 'Debian:13'],
      details: {},
    });
    const records = advisories(items);
    expect(records.map((r) => r.advisoryId)).toEqual([
      'DEBIAN:CVE-2014-1424:apparmor',
      'DEBIAN:CVE-2016-1585:apparmor',
      'DEBIAN:CVE-2017-6507:apparmor',
    ]);
    const rows = (r: AdvisoryRecord): string[] =>
      r.affected.map((a) => `${a.ecosystem} ${a.status} ${a.fixed} ${a.urgency}`);
    expect(rows(records[0]!)).toEqual([
      'Debian:12 not-affected null unimportant',
      'Debian:11 not-affected null unimportant',
      'Debian:10 not-affected null unimportant',
      'Debian:13 not-affected null unimportant',
    ]);
    expect(rows(records[1]!)).toEqual([
      'Debian:12 open null unimportant',
      'Debian:11 open null unimportant',
      'Debian:10 open null unimportant',
      'Debian:13 fixed 3.0.12-1 unimportant',
    ]);
    expect(rows(records[2]!)).toEqual([
      'Debian:12 fixed 2.11.0-3 not yet assigned',
      'Debian:11 fixed 2.11.0-3 not yet assigned',
      'Debian:10 fixed 2.11.0-3 not yet assigned',
      'Debian:13 fixed 2.11.0-3 not yet assigned',
    ]);
    expect(records[0]).toMatchObject({
      feed: 'debian-tracker',
      cves: ['CVE-2014-1424'],
      severity: 'low',
      vendorSeverity: 'unimportant',
      url: 'https://security-tracker.debian.org/tracker/CVE-2014-1424',
    });
    expect(records[2]!.severity).toBeNull();
    expect(
      records.every((r) => r.affected.every((a) => a.nameKind === 'source' && a.package === 'apparmor')),
    ).toBe(true);
  });
});

describe('Red Hat CSAF', () => {
  it('reads RHSA-2023:5835: its fixed source and binary rpms per RHEL release, CVEs, rating and CVSS', async () => {
    const source = fileSource(CSAF);
    expect(await detectFeed(source)).toBe('csaf');
    const { items, facts } = await readAll(source, 'csaf');
    expect(facts).toEqual({
      feed: 'csaf',
      publisher: 'Red Hat',
      publishedAt: '2024-04-28T02:55:15+00:00',
      recordCount: 1,
      ecosystems: ['Red Hat:7'],
      details: {},
    });
    expect(advisories(items)).toEqual([
      {
        feed: 'csaf',
        advisoryId: 'RHSA-2023:5835',
        summary: 'Red Hat Security Advisory: rhc-worker-script enhancement and security update',
        severity: 'high',
        vendorSeverity: 'Important',
        cvssVector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H',
        cvssScore: 7.5,
        publishedAt: '2023-10-18T07:59:41+00:00',
        modifiedAt: '2024-04-28T02:55:15+00:00',
        cves: ['CVE-2023-39325', 'CVE-2023-44487'],
        url: 'https://access.redhat.com/errata/RHSA-2023:5835',
        withdrawn: false,
        affected: [
          {
            ecosystem: 'Red Hat:7',
            package: 'rhc-worker-script',
            nameKind: 'source',
            introduced: null,
            fixed: '0.5-1.el7_9',
            status: 'fixed',
            urgency: null,
          },
          {
            ecosystem: 'Red Hat:7',
            package: 'rhc-worker-script',
            nameKind: 'binary',
            introduced: null,
            fixed: '0.5-1.el7_9',
            status: 'fixed',
            urgency: null,
          },
        ],
      },
    ]);
  });

  it('skips products Patchdeck does not audit, and keeps a purl epoch in the fixed EVR', async () => {
    const text = readFileSync(CSAF, 'utf8');
    const openshift = text.replaceAll(
      'cpe:/o:redhat:enterprise_linux:7::',
      'cpe:/a:redhat:openshift:4.13::el',
    );
    const skipped = await readAll(bufferSource('rhsa.json', Buffer.from(openshift)), 'csaf');
    expect(skipped.items).toEqual([]);
    expect(skipped.facts).toMatchObject({
      recordCount: 0,
      details: { skippedProducts: '12', skippedRecords: '1' },
    });
    const epoch = text.replaceAll('?arch=x86_64"', '?arch=x86_64&epoch=2"');
    const [record] = advisories((await readAll(bufferSource('rhsa.json', Buffer.from(epoch)), 'csaf')).items);
    expect(record!.affected.map((a) => `${a.nameKind} ${a.fixed}`)).toEqual([
      'source 0.5-1.el7_9',
      'binary 2:0.5-1.el7_9',
    ]);
  });
});

describe('detectFeed', () => {
  it('tells each real file apart, and says null for what is no feed', async () => {
    expect(await detectFeed(fileSource(KEV))).toBe('kev');
    expect(await detectFeed(fileSource(EPSS))).toBe('epss');
    expect(await detectFeed(bufferSource('e.csv', gunzipSync(readFileSync(EPSS))))).toBe('epss');
    expect(await detectFeed(fileSource(join(SAMPLES, 'DSA-3029-1.json')))).toBe('osv');
    expect(await detectFeed(fileSource(join(FIXTURES, 'kev/README.md')))).toBeNull();
    expect(await detectFeed(bufferSource('x.json', Buffer.from('{"a": 1}')))).toBeNull();
    expect(await detectFeed(bufferSource('empty', Buffer.alloc(0)))).toBeNull();
  });

  it('tells a Patchdeck bundle from an OSV export by its manifest, and counts what is not a record', async () => {
    const zipOf = async (entries: [string, string][]): Promise<Buffer> => {
      const zip = new yazl.ZipFile();
      for (const [name, text] of entries)
        if (name.endsWith('/')) zip.addEmptyDirectory(name);
        else zip.addBuffer(Buffer.from(text), name);
      zip.end();
      const parts: Buffer[] = [];
      for await (const chunk of zip.outputStream) parts.push(chunk as Buffer);
      return Buffer.concat(parts);
    };
    const alsa = readFileSync(join(ALMA, 'ALSA-2023:6077.json'), 'utf8');
    const bundle = await zipOf([
      ['kev/x.json', '{}'],
      ['manifest.json', JSON.stringify({ format: 'patchdeck-advisories', version: 1 })],
    ]);
    expect(await detectFeed(bufferSource('b.zip', bundle))).toBe('bundle');
    const other = await zipOf([['manifest.json', '{"format": "something-else"}']]);
    expect(await detectFeed(bufferSource('all.zip', other))).toBe('osv-zip');
    // Every .json entry of an OSV export is a record: one that is not refuses the export whole.
    await expect(readAll(bufferSource('all.zip', other), 'osv-zip')).rejects.toThrow(
      'all.zip → manifest.json: is not an OSV record (no valid "id").',
    );
    const source = bufferSource(
      'all.zip',
      await zipOf([
        ['advisories/', ''],
        ['advisories/ALSA-2023:6077.json', alsa],
        ['README.txt', 'notes'],
      ]),
    );
    expect(await detectFeed(source)).toBe('osv-zip');
    const { items, facts } = await readAll(source, 'osv-zip');
    expect(advisories(items).map((r) => r.advisoryId)).toEqual(['ALSA-2023:6077']);
    expect(facts.details).toEqual({ otherEntries: '1' });
  });

  it('leaves notes and hidden files out of folders', async () => {
    const names = (await listFeedSources([join(FIXTURES, 'kev'), join(FIXTURES, 'osv-samples')])).map(
      (s) => s.name,
    );
    expect(names.map((n) => n.slice(FIXTURES.length + 1))).toEqual([
      'kev/known_exploited_vulnerabilities.json',
      'osv-samples/DLA-3623-1.json',
      'osv-samples/DSA-3029-1.json',
      'osv-samples/UBUNTU-CVE-2025-38094.json',
      'osv-samples/USN-6332-1.json',
    ]);
  });
});
