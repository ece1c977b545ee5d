/**
 * Fuzz targets for the advisory feed readers (src/intel/feeds): real KEV, EPSS, OSV, all.zip,
 * Debian tracker and Red Hat CSAF files from test/fixtures/advisories/, mutated as text or as bytes (gzipped or
 * not, cut anywhere), fed to detectFeed and to each reader through to its facts. The only error a
 * reader may throw is a FeedError; anything else, or a hang, is a bug in the reader.
 */
import { gzipSync, gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import yazl from 'yazl';
import { bufferSource, detectFeed, readFeed } from '../../../src/intel/feeds/index';
import { FeedError } from '../../../src/intel/types';
import type { FuzzTarget } from '../target';
import { fixtureText, hostBytes, hostText } from '../mutate';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from '../../../src/collectors/testing/fixtures';

const ADVISORIES = join(FIXTURES, 'advisories');
const isFeedError = (error: unknown): boolean => error instanceof FeedError;
type Kind = Parameters<typeof readFeed>[1];

/** Reads a buffer through as `kind`, after asking detectFeed what it is. */
async function readThrough(bytes: Uint8Array, kind: Kind, name = 'fuzz'): Promise<void> {
  const source = bufferSource(name, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  await detectFeed(source);
  const reader = readFeed(source, kind);
  for (;;) if ((await reader.next()).done) return;
}

/** Text fixtures as bytes: mutated text, sometimes gzipped, sometimes with the gzip cut short. */
function feedBytes(texts: readonly string[], gzip: boolean): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(hostText(texts), fc.constantFrom('plain', 'gzip', 'gzip-cut'), fc.nat())
    .map(([text, form, cut]) => {
      const bytes = Buffer.from(text);
      if (!gzip || form === 'plain') return bytes;
      const zipped = gzipSync(bytes);
      return form === 'gzip' ? zipped : zipped.subarray(0, cut % (zipped.length + 1));
    });
}

// Small excerpts of the real files: the readers' work per input stays in milliseconds.
const kev = JSON.parse(fixtureText('advisories/kev/known_exploited_vulnerabilities.json')) as {
  vulnerabilities: unknown[];
  count: number;
};
const kevExcerpt = JSON.stringify(
  { ...kev, count: 12, vulnerabilities: kev.vulnerabilities.slice(0, 12) },
  null,
  4,
);
const epssExcerpt = gunzipSync(readFileSync(join(ADVISORIES, 'epss/epss_scores-2026-08-16.csv.gz')))
  .toString('utf8')
  .split('\n')
  .slice(0, 120)
  .join('\n');
const OSV_FILES = [
  'osv-almalinux/almalinux9/ALSA-2023:6077.json',
  'osv-almalinux/almalinux9/ALBA-2022:8256.json',
  'osv-samples/DSA-3029-1.json',
  'osv-samples/DLA-3623-1.json',
  'osv-samples/USN-6332-1.json',
  'osv-samples/UBUNTU-CVE-2025-38094.json',
];
const osvTexts = OSV_FILES.map((f) => fixtureText(join('advisories', f)));
const trackerText = fixtureText('advisories/debian-tracker/debian_security_tracker_mock.json');
const csafText = fixtureText('advisories/csaf/rhsa-2023_5835.json');

async function zipOf(entries: [string, string][]): Promise<Uint8Array> {
  const zip = new yazl.ZipFile();
  for (const [name, text] of entries) zip.addBuffer(Buffer.from(text), name);
  zip.end();
  const parts: Buffer[] = [];
  for await (const chunk of zip.outputStream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}
const osvZip = await zipOf(OSV_FILES.slice(0, 4).map((f, i) => [`${i}.json`, osvTexts[i]!]));
const storedZip = await zipOf([['a.json', osvTexts[0]!]]);

const define = <T>(target: FuzzTarget<T>): FuzzTarget<T> => target;

export const intelTargets: FuzzTarget[] = [
  define({
    name: 'intel:kev',
    arbitrary: feedBytes([kevExcerpt], true),
    run: (bytes) => readThrough(bytes, 'kev'),
    classified: isFeedError,
  }),
  define({
    name: 'intel:epss',
    arbitrary: feedBytes([epssExcerpt], true),
    run: (bytes) => readThrough(bytes, 'epss'),
    classified: isFeedError,
  }),
  define({
    name: 'intel:osv',
    arbitrary: feedBytes(osvTexts, false),
    run: (bytes) => readThrough(bytes, 'osv'),
    classified: isFeedError,
  }),
  define({
    name: 'intel:osv-zip',
    arbitrary: hostBytes([osvZip, storedZip]),
    run: (bytes) => readThrough(bytes, 'osv-zip', 'all.zip'),
    classified: isFeedError,
  }),
  define({
    name: 'intel:debian-tracker',
    arbitrary: feedBytes([trackerText], true),
    run: (bytes) => readThrough(bytes, 'debian-tracker'),
    classified: isFeedError,
  }),
  define({
    name: 'intel:csaf',
    arbitrary: feedBytes([csafText], true),
    run: (bytes) => readThrough(bytes, 'csaf'),
    classified: isFeedError,
  }),
  define({
    name: 'intel:detect',
    arbitrary: fc.oneof(
      feedBytes([kevExcerpt, epssExcerpt, trackerText, csafText, ...osvTexts], true),
      hostBytes([osvZip]),
    ),
    async run(bytes) {
      // detectFeed never throws: it says null for what it cannot tell.
      await detectFeed(bufferSource('fuzz', Buffer.from(bytes)));
    },
    classified: () => false,
  }),
];
