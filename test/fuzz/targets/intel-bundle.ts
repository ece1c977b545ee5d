/**
 * Fuzz targets for the advisory bundle import (src/intel/bundle.ts through importFeedSources): a
 * real bundle exported from a small snapshot of the real KEV, EPSS and OSV files, mutated as
 * bytes (cut, flipped, spliced), or with its manifest mutated as text and zipped again. An import
 * never throws for a bad file: it answers 'refused' with a sentence. Any throw, or a bundle that
 * was changed and still wrote something it should not, is a bug.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yauzl from 'yauzl';
import yazl from 'yazl';
import fc from 'fast-check';
import { createMemoryWorkspace } from '../../../src/db';
import { exportAdvisoryBundle } from '../../../src/intel/bundle';
import { bufferSource } from '../../../src/intel/feeds/index';
import { importFeedSources } from '../../../src/intel/snapshot';
import { ManualClock } from '../../../src/util';
import { FIXTURES } from '../../../src/collectors/testing/fixtures';
import type { FuzzTarget } from '../target';
import { fixtureText, hostBytes, hostText } from '../mutate';

const ADVISORIES = join(FIXTURES, 'advisories');
const clock = new ManualClock('2026-08-22T10:00:00Z');

// A small snapshot, so that one input costs milliseconds: 12 KEV entries, 100 EPSS rows, 3 OSV records.
const kev = JSON.parse(fixtureText('advisories/kev/known_exploited_vulnerabilities.json')) as {
  vulnerabilities: unknown[];
};
const kevSmall = JSON.stringify({ ...kev, count: 12, vulnerabilities: kev.vulnerabilities.slice(0, 12) });
const epssSmall = gzipSync(
  gunzipSync(readFileSync(join(ADVISORIES, 'epss/epss_scores-2026-08-16.csv.gz')))
    .toString('utf8')
    .split('\n')
    .slice(0, 102)
    .join('\n'),
);
const office = createMemoryWorkspace();
await importFeedSources(
  office,
  [
    bufferSource('kev.json', Buffer.from(kevSmall)),
    bufferSource('epss.csv.gz', epssSmall),
    ...[
      'osv-almalinux/almalinux9/ALSA-2023:6077.json',
      'osv-samples/DSA-3029-1.json',
      'osv-samples/USN-6332-1.json',
    ].map((f) => bufferSource(f, readFileSync(join(ADVISORIES, f)))),
  ],
  { clock },
);
const bundle = (await exportAdvisoryBundle(office, clock)).bytes;

async function entriesOf(bytes: Buffer): Promise<[string, Buffer][]> {
  const zip = await yauzl.fromBufferPromise(bytes, { lazyEntries: true });
  const out: [string, Buffer][] = [];
  for await (const entry of zip.eachEntry()) {
    const parts: Buffer[] = [];
    for await (const c of (await zip.openReadStreamPromise(entry)) as AsyncIterable<Buffer>) parts.push(c);
    out.push([entry.fileName, Buffer.concat(parts)]);
  }
  return out;
}
const entries = await entriesOf(bundle);
const manifestText = entries.find(([n]) => n === 'manifest.json')![1].toString('utf8');

async function zipOf(files: [string, Buffer][]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, bytes] of files) zip.addBuffer(bytes, name);
  zip.end();
  const parts: Buffer[] = [];
  for await (const chunk of zip.outputStream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

const COUNTED = ['advisory_sources', 'advisories', 'advisory_packages', 'kev_entries', 'epss_scores'];

/** Imports `bytes` as a bundle into an empty workspace; a refused bundle must have written nothing. */
async function importInto(bytes: Buffer): Promise<void> {
  const site = createMemoryWorkspace();
  try {
    const summary = await importFeedSources(site, [bufferSource('carried.zip', bytes)], { clock });
    const refusedWhole = summary.files.length === 1 && summary.files[0]!.status === 'refused';
    if (refusedWhole) {
      if (!summary.files[0]!.message) throw new Error('a refused bundle without a reason');
      for (const table of COUNTED)
        if ((site.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number) !== 0)
          throw new Error(`a refused bundle wrote rows into ${table}`);
    }
  } finally {
    site.close();
  }
}

const define = <T>(target: FuzzTarget<T>): FuzzTarget<T> => target;

export const intelBundleTargets: FuzzTarget[] = [
  define({
    name: 'intel:bundle',
    arbitrary: hostBytes([bundle]),
    run: (bytes) => importInto(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
    classified: () => false,
    timeoutMs: 5000,
  }),
  define({
    name: 'intel:bundle-manifest',
    arbitrary: fc.tuple(hostText([manifestText]), fc.boolean()).map(([manifest, dropLast]) => {
      const rest = entries.filter(([n]) => n !== 'manifest.json');
      return [
        ['manifest.json', Buffer.from(manifest)] as [string, Buffer],
        ...(dropLast ? rest.slice(0, -1) : rest),
      ];
    }),
    run: async (files) => importInto(await zipOf(files)),
    classified: () => false,
    timeoutMs: 5000,
  }),
];
