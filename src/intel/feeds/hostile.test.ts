/**
 * Truncated and hostile feed files: each is refused whole with a FeedError whose sentence names
 * the file and what is wrong, and nothing about it is guessed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import yazl from 'yazl';
import { FeedError, type FeedItem } from '../types';
import { FEED_LIMITS, bufferSource, detectFeed, readFeed, type FeedSource } from './index';

const FIXTURES = join(import.meta.dirname, '../../../test/fixtures/advisories');
const KEV = readFileSync(join(FIXTURES, 'kev/known_exploited_vulnerabilities.json'));
const EPSS_GZ = readFileSync(join(FIXTURES, 'epss/epss_scores-2026-08-16.csv.gz'));
const TRACKER = readFileSync(join(FIXTURES, 'debian-tracker/debian_security_tracker_mock.json'), 'utf8');
const CSAF = readFileSync(join(FIXTURES, 'csaf/rhsa-2023_5835.json'), 'utf8');
const ALSA = readFileSync(join(FIXTURES, 'osv-almalinux/almalinux9/ALSA-2023:6077.json'), 'utf8');

type Kind = Parameters<typeof readFeed>[1];

async function drain(source: FeedSource, kind: Kind, signal?: AbortSignal): Promise<FeedItem[]> {
  const items: FeedItem[] = [];
  const reader = readFeed(source, kind, { signal });
  for (;;) {
    const next = await reader.next();
    if (next.done) return items;
    items.push(next.value);
  }
}

async function refusal(name: string, bytes: Buffer | string, kind: Kind): Promise<FeedError> {
  const source = bufferSource(name, Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
  const error = await drain(source, kind).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, `${name} was read without complaint`).toBeInstanceOf(FeedError);
  const feedError = error as FeedError;
  expect(feedError.file).toBe(name);
  expect(feedError.message.startsWith(`${name}: `), feedError.message).toBe(true);
  expect(feedError.message).toMatch(/\.$/);
  return feedError;
}

async function zipOf(entries: [string, Buffer][], compress = true): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, bytes] of entries) zip.addBuffer(bytes, name, { compress });
  zip.end();
  const parts: Buffer[] = [];
  for await (const chunk of zip.outputStream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** The zip with its end records rewritten as ZIP64 ones claiming `count` entries. */
function claimEntries(zip: Buffer, count: number): Buffer {
  const eocd = zip.subarray(zip.length - 22);
  expect(eocd.readUInt32LE(0)).toBe(0x06054b50);
  const cdSize = eocd.readUInt32LE(12);
  const cdOffset = eocd.readUInt32LE(16);
  const at = zip.length - 22;
  const record = Buffer.alloc(56);
  record.writeUInt32LE(0x06064b50, 0);
  record.writeBigUInt64LE(44n, 4);
  record.writeUInt16LE(45, 12);
  record.writeUInt16LE(45, 14);
  record.writeBigUInt64LE(BigInt(count), 24);
  record.writeBigUInt64LE(BigInt(count), 32);
  record.writeBigUInt64LE(BigInt(cdSize), 40);
  record.writeBigUInt64LE(BigInt(cdOffset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(at), 8);
  locator.writeUInt32LE(1, 16);
  const end = Buffer.from(eocd);
  end.writeUInt16LE(0xffff, 8);
  end.writeUInt16LE(0xffff, 10);
  return Buffer.concat([zip.subarray(0, at), record, locator, end]);
}

const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

describe('truncated files', () => {
  it('refuses a KEV catalog cut short', async () => {
    const e = await refusal('kev.json', KEV.subarray(0, KEV.length >> 1), 'kev');
    expect(e.message).toMatch(/truncated/);
  });

  it('refuses a KEV catalog whose count does not match its entries', async () => {
    const text = KEV.toString('utf8').replace('"count": 1404', '"count": 1405');
    expect((await refusal('kev.json', text, 'kev')).message).toMatch(/says it has 1405 entries but has 1404/);
  });

  it('refuses an EPSS csv.gz cut short, and a plain csv cut mid-row', async () => {
    const e = await refusal('epss.csv.gz', EPSS_GZ.subarray(0, EPSS_GZ.length - 1000), 'epss');
    expect(e.message).toMatch(/not a complete gzip file/);
    const csv =
      '#model_version:v1,score_date:2026-08-16T00:00:00+0000\ncve,epss,percentile\nCVE-2024-0001,0.5';
    expect((await refusal('epss.csv', csv, 'epss')).message).toMatch(/has 2 columns on line 3/);
  });

  it('refuses an OSV record cut short, and an all.zip cut short', async () => {
    expect((await refusal('ALSA.json', ALSA.slice(0, 300), 'osv')).message).toMatch(/not valid JSON/);
    const zip = await zipOf([['ALSA-2023:6077.json', Buffer.from(ALSA)]]);
    expect((await refusal('all.zip', zip.subarray(0, zip.length - 30), 'osv-zip')).message).toMatch(
      /not a readable zip file/,
    );
  });

  it('refuses a CSAF document cut short, and one whose vulnerability is not an object', async () => {
    expect((await refusal('rhsa.json', CSAF.slice(0, CSAF.length - 40), 'csaf')).message).toMatch(
      /truncated/,
    );
    const bad = CSAF.replace('"vulnerabilities": [', '"vulnerabilities": [7, ');
    expect((await refusal('rhsa.json', bad, 'csaf')).message).toMatch(
      /has a vulnerability that is not an object/,
    );
  });

  it('refuses a tracker file cut short', async () => {
    expect((await refusal('tracker.json', TRACKER.slice(0, 2000), 'debian-tracker')).message).toMatch(
      /truncated/,
    );
  });

  it('refuses a zip whose entry does not inflate to what it says', async () => {
    const zip = await zipOf([['a.json', Buffer.from(ALSA)]]);
    // Corrupt the deflated bytes of the only entry (local header is 30 bytes + the name).
    const bad = Buffer.from(zip);
    for (let i = 30 + 6 + 10; i < 30 + 6 + 60; i++) bad[i] = 0xff;
    expect((await refusal('all.zip', bad, 'osv-zip')).message).toMatch(
      /all\.zip: has the entry a\.json that cannot be read/,
    );
  });
});

describe('hostile files', () => {
  it('refuses a zip bomb: an entry compressed far beyond any real file, and one too large', async () => {
    const bomb = await zipOf([['bomb.json', Buffer.alloc(4 * 1024 * 1024, 0x20)]]);
    expect(bomb.length).toBeLessThan(64 * 1024);
    expect((await refusal('all.zip', bomb, 'osv-zip')).message).toMatch(/compressed more than 500:1/);
    const big = await zipOf([['big.json', Buffer.alloc(FEED_LIMITS.zipEntryBytes + 1, 0x20)]], false);
    expect((await refusal('all.zip', big, 'osv-zip')).message).toMatch(
      /big\.json of 17 MiB, more than the 16 MiB allowed/,
    );
  });

  it('refuses a zip that claims more entries than allowed, before reading any', async () => {
    const zip = claimEntries(await zipOf([['a.json', Buffer.from(ALSA)]]), FEED_LIMITS.zipEntries + 1);
    expect((await refusal('all.zip', zip, 'osv-zip')).message).toMatch(
      /has 500001 entries, more than the 500000 allowed/,
    );
  });

  it('refuses JSON nested deeper than 64 levels in every JSON reader', async () => {
    const deepOsv = ALSA.replace('"related": []', `"related": ${nested(65)}`);
    expect((await refusal('deep.json', deepOsv, 'osv')).message).toMatch(/nests JSON deeper than 64 levels/);
    const deepKev = `{"catalogVersion":"1","vulnerabilities":[{"cveID":"CVE-2024-0001","notes":${nested(70)}}]}`;
    expect((await refusal('kev.json', deepKev, 'kev')).message).toMatch(/nests JSON deeper than 64 levels/);
    const deepTracker = `{"x":{"CVE-2024-0001":{"releases":{}, "d": ${nested(100_000)}}}}`;
    expect((await refusal('t.json', deepTracker, 'debian-tracker')).message).toMatch(/deeper than 64/);
    // Depth 64 itself is fine.
    const ok = `{"catalogVersion":"1","vulnerabilities":[{"cveID":"CVE-2024-0001","notes":${nested(61)}}]}`;
    expect(await drain(bufferSource('kev.json', Buffer.from(ok)), 'kev')).toHaveLength(1);
  });

  it('refuses records larger than 8 MiB and keys longer than 4 KiB, and caps long text', async () => {
    const huge = 'x'.repeat(9 * 1024 * 1024);
    const kev = `{"catalogVersion":"1","vulnerabilities":[{"cveID":"CVE-2024-0001","notes":"${huge}"}]}`;
    expect((await refusal('kev.json', kev, 'kev')).message).toMatch(
      /record larger than 8 MiB at vulnerabilities → \[0\]/,
    );
    expect(
      (await refusal('big.json', ALSA.replace('"details": "', `"details": "${huge}`), 'osv')).message,
    ).toMatch(/is larger than 8 MiB/);
    const longKey = `{"${'p'.repeat(5000)}":{}}`;
    expect((await refusal('t.json', longKey, 'debian-tracker')).message).toMatch(/key longer than 4096/);
    const longSummary = ALSA.replace(
      '"Moderate: toolbox security update"',
      `"Moderate: ${'y'.repeat(200_000)}"`,
    );
    const [item] = await drain(bufferSource('long.json', Buffer.from(longSummary)), 'osv');
    const summary = (item!.record as { summary: string }).summary;
    expect(summary.length).toBe(1024);
    expect(summary.endsWith('…')).toBe(true);
  });

  it('refuses wrong types', async () => {
    await refusal('kev.json', '{"catalogVersion":"1","vulnerabilities":{"a":1}}', 'kev');
    await refusal('kev.json', '[1,2]', 'kev');
    await refusal('kev.json', '{"catalogVersion":"1","vulnerabilities":["CVE-2024-0001"]}', 'kev');
    await refusal('kev.json', '{"catalogVersion":{"x":1},"vulnerabilities":[]}', 'kev');
    expect(
      (
        await refusal(
          'a.json',
          ALSA.replace('"affected": [', '"affected": {"x": [').replace(/\]\s*,\s*"related"/, ']}, "related"'),
          'osv',
        )
      ).message,
    ).toMatch(/"affected" that is not a list|not valid JSON/);
    await refusal('a.json', ALSA.replace('"name": "toolbox"', '"name": 7'), 'osv');
    await refusal('a.json', ALSA.replace('"fixed": "0.0.99.3-10.el9_2"', '"fixed": "1.0 ; rm -rf /"'), 'osv');
    await refusal('a.json', '"just a string"', 'osv');
    await refusal('t.json', '{"apparmor":{"CVE-2024-0001":{"releases":"bookworm"}}}', 'debian-tracker');
    await refusal(
      't.json',
      '{"apparmor":{"CVE-2024-0001":{"releases":{"bookworm":{"status":3}}}}}',
      'debian-tracker',
    );
    await refusal('t.json', '{"apparmor":["CVE-2024-0001"]}', 'debian-tracker');
    await refusal('t.json', '{"bad name!":{}}', 'debian-tracker');
  });

  it("refuses bad CVE ids where a CVE id is the key, and skips the tracker's own TEMP ids", async () => {
    const kev = '{"catalogVersion":"1","vulnerabilities":[{"cveID":"CVE-24-1"}]}';
    expect((await refusal('kev.json', kev, 'kev')).message).toMatch(/cveID is not a CVE id/);
    const epss =
      '#model_version:v1,score_date:2026-08-16T00:00:00+0000\ncve,epss,percentile\nCVE-2024-1,0.5,0.5\n';
    expect((await refusal('epss.csv', epss, 'epss')).message).toMatch(/CVE id that is not one on line 3/);
    const score =
      '#model_version:v1,score_date:2026-08-16T00:00:00+0000\ncve,epss,percentile\nCVE-2024-0001,1.5,0.5\n';
    expect((await refusal('epss.csv', score, 'epss')).message).toMatch(/not a number from 0 to 1 on line 3/);
    const tracker = '{"apparmor":{"TEMP-0000000-ABCDEF":{"releases":{"bookworm":{"status":"open"}}}}}';
    const source = bufferSource('t.json', Buffer.from(tracker));
    const reader = readFeed(source, 'debian-tracker');
    const first = await reader.next();
    expect(first.done).toBe(true);
    expect(first.value).toMatchObject({ recordCount: 0, details: { skippedIds: '1' } });
  });

  it('refuses a CSV with a wrong header or no #model_version line', async () => {
    const header =
      '#model_version:v1,score_date:2026-08-16T00:00:00+0000\ncve;epss;percentile\nCVE-2024-0001;0.5;0.5\n';
    expect((await refusal('epss.csv', header, 'epss')).message).toBe(
      'epss.csv: has the header "cve;epss;percentile" on line 2, not "cve,epss,percentile".',
    );
    expect((await refusal('epss.csv.gz', gzipSync('cve,epss,percentile\n'), 'epss')).message).toMatch(
      /first line is not "#model_version/,
    );
    expect(
      (await refusal('epss.csv', `#model_version:v1\ncve,epss,percentile\n${'9'.repeat(5000)}\n`, 'epss'))
        .message,
    ).toMatch(/line longer than 4096/);
  });

  it('refuses text that is not UTF-8, and a CSAF document with no tracking id', async () => {
    const bytes = Buffer.concat([
      Buffer.from('{"catalogVersion":"'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}'),
    ]);
    expect((await refusal('kev.json', bytes, 'kev')).message).toMatch(/not UTF-8/);
    const csaf = '{"document":{"csaf_version":"2.0"},"product_tree":{},"vulnerabilities":[]}';
    expect(await detectFeed(bufferSource('rhsa.json', Buffer.from(csaf)))).toBe('csaf');
    expect((await refusal('rhsa.json', csaf, 'csaf')).message).toMatch(
      /is not a CSAF document \(no valid tracking id\)/,
    );
  });

  it('keeps __proto__ keys as plain data', async () => {
    const tracker =
      '{"apparmor":{"CVE-2024-0001":{"__proto__":{"polluted":1},"releases":{"__proto__":{"status":"open"},"constructor":{"status":"open"},"bookworm":{"status":"open","urgency":"low**"}}}}}';
    const items = await drain(bufferSource('t.json', Buffer.from(tracker)), 'debian-tracker');
    expect(items).toHaveLength(1);
    const record = items[0]!.record as {
      affected: { ecosystem: string; urgency: string }[];
      severity: string;
    };
    expect(record.affected).toEqual([
      expect.objectContaining({ ecosystem: 'Debian:12', status: 'open', urgency: 'low**' }),
    ]);
    expect(record.severity).toBe('low');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('stops when the import is cancelled, with the abort, not a feed error', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await drain(bufferSource('epss.csv.gz', EPSS_GZ), 'epss', controller.signal).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).not.toBeNull();
    expect(error).not.toBeInstanceOf(FeedError);
    expect((error as Error).name).toBe('AbortError');
  });
});
