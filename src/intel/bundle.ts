/**
 * Advisory bundles: the snapshot carried to an air-gapped site as one dated zip. The files inside
 * are in the publishers' own formats, REGENERATED from the snapshot (the original files are not
 * kept in the workspace): the KEV catalogue as CISA's JSON, EPSS as FIRST's csv.gz, each OSV
 * publisher's advisories as an OSV all.zip, the Debian tracker's entries as the tracker's JSON.
 * `manifest.json` names every file with its sha256 and size; an import checks all of them before
 * it writes anything, and refuses the whole bundle when any differs, a file is missing or extra,
 * or the bundle was made by a newer format version.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { Database } from 'better-sqlite3';
import yauzl from 'yauzl';
import yazl from 'yazl';
import {
  advisoryGroups,
  currentCatalogSource,
  iterateAdvisories,
  iterateEpssScores,
  iterateKevEntries,
} from '../db';
import type { Clock } from '../util';
import { debianCodenameEcosystem } from './ecosystem';
import { detectFeed, fileSource, type FeedSource } from './feeds';
import type { ImportedFile, ImportOptions } from './snapshot';
import type { AdvisoryRecord, FeedKind } from './types';

export const BUNDLE_FORMAT = 'patchdeck-advisories';
export const BUNDLE_VERSION = 1;
const MAX_BUNDLE_BYTES = 8 * 1024 ** 3;
const MAX_FILES = 1000;
const MAX_MANIFEST_BYTES = 4 * 1024 ** 2;
const MAX_FILE_BYTES = 4 * 1024 ** 3;
/** All files of a bundle together, inflated: a bundle that says more is refused before any is extracted. */
const MAX_TOTAL_BYTES = 16 * 1024 ** 3;

export interface BundleFile {
  path: string;
  feed: FeedKind;
  publisher: string;
  sha256: string;
  bytes: number;
  publishedAt: string | null;
  records: number;
  /** The sha256 of the imported file the records came from, when they came from one file (KEV, EPSS). */
  sourceSha256: string | null;
}

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  version: number;
  createdAt: string;
  files: BundleFile[];
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const slug = (text: string): string => text.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '') || 'x';

const CODENAMES = ['jessie', 'stretch', 'buster', 'bullseye', 'bookworm', 'trixie', 'forky'];
const codenameOf = (ecosystem: string): string | null =>
  CODENAMES.find((c) => debianCodenameEcosystem(c) === ecosystem) ?? null;

function zipBuffers(entries: { name: string; bytes: Buffer }[], mtime: Date): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const e of entries) zip.addBuffer(e.bytes, e.name, { mtime });
  zip.end();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    zip.outputStream.on('data', (c: Buffer) => chunks.push(c));
    zip.outputStream.on('error', reject);
    zip.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

function cvssType(vector: string): string {
  if (vector.startsWith('CVSS:4.')) return 'CVSS_V4';
  if (vector.startsWith('CVSS:3.')) return 'CVSS_V3';
  return 'CVSS_V2';
}

/** One advisory as an OSV record (the fields the OSV reader takes back in). */
function toOsv(a: AdvisoryRecord, publisher: string): object {
  const severity: { type: string; score: string }[] = [];
  if (a.cvssVector) severity.push({ type: cvssType(a.cvssVector), score: a.cvssVector });
  if (publisher === 'Ubuntu' && a.vendorSeverity) severity.push({ type: 'Ubuntu', score: a.vendorSeverity });
  return {
    schema_version: '1.6.0',
    id: a.advisoryId,
    ...(a.publishedAt ? { published: a.publishedAt } : {}),
    modified: a.modifiedAt ?? a.publishedAt ?? '1970-01-01T00:00:00Z',
    ...(a.withdrawn ? { withdrawn: a.modifiedAt ?? a.publishedAt ?? '1970-01-01T00:00:00Z' } : {}),
    ...(a.summary ? { summary: a.summary } : {}),
    aliases: [],
    related: a.cves,
    ...(severity.length ? { severity } : {}),
    affected: a.affected.map((p) => ({
      package: { ecosystem: p.ecosystem, name: p.package },
      ranges: [
        {
          type: 'ECOSYSTEM',
          events: [{ introduced: p.introduced ?? '0' }, ...(p.fixed ? [{ fixed: p.fixed }] : [])],
        },
      ],
    })),
    ...(a.url ? { references: [{ type: 'ADVISORY', url: a.url }] } : {}),
  };
}

/** The Debian tracker's entries back in the tracker's own JSON layout. */
function toTracker(records: Iterable<AdvisoryRecord>): { json: Buffer; records: number } {
  const out: Record<
    string,
    Record<string, { description?: string; scope: string; releases: Record<string, object> }>
  > = {};
  let count = 0;
  for (const a of records) {
    const cve = a.cves[0];
    const source = a.affected[0]?.package;
    if (!cve || !source) continue;
    const releases: Record<string, object> = {};
    for (const p of a.affected) {
      const codename = codenameOf(p.ecosystem);
      if (!codename) continue;
      const status =
        p.status === 'fixed' || p.status === 'not-affected'
          ? 'resolved'
          : p.status === 'open'
            ? 'open'
            : 'undetermined';
      const fixed = p.status === 'not-affected' ? '0' : p.fixed;
      releases[codename] = {
        status,
        repositories: {},
        ...(fixed ? { fixed_version: fixed } : {}),
        urgency: p.urgency ?? 'not yet assigned',
      };
    }
    (out[source] ??= {})[cve] = {
      ...(a.summary ? { description: a.summary } : {}),
      scope: 'local',
      releases,
    };
    count++;
  }
  return { json: Buffer.from(JSON.stringify(out)), records: count };
}

/**
 * The current snapshot as one dated bundle: `patchdeck-advisories-YYYY-MM-DD.zip`. CSAF
 * documents are not carried (no CSAF writer; import them again from Red Hat's files on site).
 */
export async function exportAdvisoryBundle(
  db: Database,
  clock: Clock,
): Promise<{ fileName: string; bytes: Buffer; sha256: string; files: BundleFile[] }> {
  const createdAt = new Date(clock.now()).toISOString();
  const mtime = new Date(clock.now());
  const entries: { name: string; bytes: Buffer }[] = [];
  const files: BundleFile[] = [];
  const add = (file: Omit<BundleFile, 'sha256' | 'bytes'>, bytes: Buffer): void => {
    entries.push({ name: file.path, bytes });
    files.push({ ...file, sha256: sha256(bytes), bytes: bytes.length });
  };

  const kev = currentCatalogSource(db, 'kev');
  if (kev) {
    const vulnerabilities = [...iterateKevEntries(db)].map((k) => ({
      cveID: k.cve,
      vendorProject: k.vendor ?? '',
      product: k.product ?? '',
      vulnerabilityName: k.name ?? '',
      dateAdded: k.dateAdded ?? '',
      shortDescription: '',
      requiredAction: '',
      dueDate: k.dueDate ?? '',
      knownRansomwareCampaignUse: k.ransomware ? 'Known' : 'Unknown',
      notes: '',
      cwes: [],
    }));
    const json = {
      title: 'CISA Catalog of Known Exploited Vulnerabilities',
      catalogVersion: kev.details.catalogVersion ?? kev.publishedAt?.slice(0, 10).replace(/-/g, '.') ?? '',
      dateReleased: kev.publishedAt ?? kev.importedAt,
      count: vulnerabilities.length,
      vulnerabilities,
    };
    add(
      {
        path: 'kev/known_exploited_vulnerabilities.json',
        feed: 'kev',
        publisher: kev.publisher,
        publishedAt: kev.publishedAt,
        records: vulnerabilities.length,
        sourceSha256: kev.sha256,
      },
      Buffer.from(JSON.stringify(json, null, 1)),
    );
  }

  const epss = currentCatalogSource(db, 'epss');
  if (epss) {
    const lines = [
      `#model_version:${epss.details.modelVersion ?? epss.details.model_version ?? 'unknown'},score_date:${epss.publishedAt ?? epss.importedAt}`,
      'cve,epss,percentile',
    ];
    let records = 0;
    for (const r of iterateEpssScores(db)) {
      lines.push(`${r.cve},${r.epss},${r.percentile}`);
      records++;
    }
    add(
      {
        path: `epss/epss_scores-${(epss.publishedAt ?? epss.importedAt).slice(0, 10)}.csv.gz`,
        feed: 'epss',
        publisher: epss.publisher,
        publishedAt: epss.publishedAt,
        records,
        sourceSha256: epss.sha256,
      },
      gzipSync(Buffer.from(`${lines.join('\n')}\n`)),
    );
  }

  for (const group of advisoryGroups(db)) {
    if (group.feed === 'osv') {
      const records: { name: string; bytes: Buffer }[] = [];
      for (const a of iterateAdvisories(db, 'osv', group.publisher))
        records.push({
          name: `${slug(a.advisoryId)}.json`,
          bytes: Buffer.from(JSON.stringify(toOsv(a, group.publisher))),
        });
      add(
        {
          path: `osv/${slug(group.publisher)}/all.zip`,
          feed: 'osv',
          publisher: group.publisher,
          publishedAt: group.newestModifiedAt,
          records: records.length,
          sourceSha256: null,
        },
        await zipBuffers(records, mtime),
      );
    } else if (group.feed === 'debian-tracker') {
      const { json, records } = toTracker(iterateAdvisories(db, 'debian-tracker', group.publisher));
      add(
        {
          path: `debian-tracker/${slug(group.publisher)}.json`,
          feed: 'debian-tracker',
          publisher: group.publisher,
          publishedAt: group.newestModifiedAt,
          records,
          sourceSha256: null,
        },
        json,
      );
    }
  }

  const manifest: BundleManifest = { format: BUNDLE_FORMAT, version: BUNDLE_VERSION, createdAt, files };
  const bytes = await zipBuffers(
    [{ name: 'manifest.json', bytes: Buffer.from(JSON.stringify(manifest, null, 2)) }, ...entries],
    mtime,
  );
  return {
    fileName: `patchdeck-advisories-${createdAt.slice(0, 10)}.zip`,
    bytes,
    sha256: sha256(bytes),
    files,
  };
}

class BundleRefused extends Error {}

const SAFE_PATH = /^[A-Za-z0-9][A-Za-z0-9._-]{0,120}(\/[A-Za-z0-9][A-Za-z0-9._-]{0,120}){0,3}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const FEEDS: readonly string[] = ['kev', 'epss', 'osv', 'debian-tracker', 'csaf'];

/** The manifest, checked field by field: anything odd refuses the bundle. */
function parseManifest(bytes: Buffer, name: string): BundleManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new BundleRefused(`${name}: its manifest.json is not JSON`);
  }
  const m = raw as Partial<BundleManifest>;
  if (!m || typeof m !== 'object' || m.format !== BUNDLE_FORMAT)
    throw new BundleRefused(`${name}: its manifest.json is not a Patchdeck advisory bundle's`);
  if (typeof m.version !== 'number' || !Number.isInteger(m.version) || m.version < 1)
    throw new BundleRefused(`${name}: its manifest has no valid format version`);
  if (m.version > BUNDLE_VERSION)
    throw new BundleRefused(
      `${name} was made by a newer Patchdeck (bundle format ${m.version}; this one reads up to ${BUNDLE_VERSION}); update Patchdeck, or export the bundle again from the same version`,
    );
  if (!Array.isArray(m.files) || m.files.length > MAX_FILES)
    throw new BundleRefused(`${name}: its manifest's file list is missing or too long`);
  const seen = new Set<string>();
  let total = 0;
  for (const f of m.files as unknown[]) {
    const file = f as Partial<BundleFile>;
    if (
      !file ||
      typeof file.path !== 'string' ||
      !SAFE_PATH.test(file.path) ||
      file.path === 'manifest.json' ||
      typeof file.feed !== 'string' ||
      !FEEDS.includes(file.feed) ||
      typeof file.sha256 !== 'string' ||
      !HEX64.test(file.sha256) ||
      typeof file.bytes !== 'number' ||
      !Number.isSafeInteger(file.bytes) ||
      file.bytes < 0 ||
      file.bytes > MAX_FILE_BYTES
    )
      throw new BundleRefused(
        `${name}: its manifest names a file it cannot describe (path, feed, sha256 or size)`,
      );
    if (seen.has(file.path)) throw new BundleRefused(`${name}: its manifest names ${file.path} twice`);
    seen.add(file.path);
    total += file.bytes;
  }
  if (total > MAX_TOTAL_BYTES)
    throw new BundleRefused(`${name}: its files would take ${total} bytes, more than a bundle may hold`);
  return m as BundleManifest;
}

async function copyToFile(source: FeedSource, file: string, limit: number): Promise<void> {
  let total = 0;
  const cap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      total += chunk.length;
      if (total > limit) done(new BundleRefused(`${source.name} is larger than ${limit} bytes`));
      else done(null, chunk);
    },
  });
  await pipeline(source.open(), cap, fs.createWriteStream(file));
}

/**
 * Opens a bundle, checks every file against its manifest (name, size, sha256, feed), then imports
 * them through `importFile` in the manifest's order. Nothing is written unless every check passed.
 */
export async function importBundle(
  source: FeedSource,
  options: ImportOptions,
  importFile: (source: FeedSource, kind: FeedKind | 'osv-zip', displayName: string) => Promise<ImportedFile>,
): Promise<ImportedFile[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'patchdeck-bundle-'));
  try {
    let verified: { file: BundleFile; local: string; kind: FeedKind | 'osv-zip' }[];
    try {
      verified = await verifyBundle(source, dir, options.signal);
    } catch (error) {
      if (!(error instanceof BundleRefused)) {
        if (options.signal?.aborted) throw error;
        return [
          refusedBundle(source.name, `${source.name} is not a readable bundle: ${(error as Error).message}`),
        ];
      }
      return [refusedBundle(source.name, `${error.message}; nothing imported from it`)];
    }
    const out: ImportedFile[] = [];
    for (const v of verified) {
      const name = `${source.name}: ${v.file.path}`;
      out.push(await importFile({ ...fileSource(v.local), name }, v.kind, name));
    }
    return out;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const refusedBundle = (name: string, message: string): ImportedFile => ({
  name,
  feed: 'bundle',
  publisher: null,
  records: 0,
  status: 'refused',
  message,
});

async function verifyBundle(
  source: FeedSource,
  dir: string,
  signal?: AbortSignal,
): Promise<{ file: BundleFile; local: string; kind: FeedKind | 'osv-zip' }[]> {
  const zipPath = path.join(dir, 'bundle.zip');
  await copyToFile(source, zipPath, MAX_BUNDLE_BYTES);
  const zip = await yauzl.openPromise(zipPath, {
    lazyEntries: true,
    validateEntrySizes: true,
    autoClose: false,
  });
  try {
    if (zip.entryCount > MAX_FILES + 1)
      throw new BundleRefused(`${source.name} holds ${zip.entryCount} files, more than a bundle has`);
    const entries = new Map<string, yauzl.Entry>();
    for await (const entry of zip.eachEntry()) {
      if (entries.has(entry.fileName))
        throw new BundleRefused(`${source.name} holds ${entry.fileName} twice`);
      entries.set(entry.fileName, entry);
    }
    const manifestEntry = entries.get('manifest.json');
    if (!manifestEntry) throw new BundleRefused(`${source.name} has no manifest.json`);
    if (manifestEntry.uncompressedSize > MAX_MANIFEST_BYTES)
      throw new BundleRefused(`${source.name}: its manifest.json is too large`);
    const manifestBytes = await readEntry(zip, manifestEntry, MAX_MANIFEST_BYTES);
    const manifest = parseManifest(manifestBytes, source.name);
    const named = new Set(manifest.files.map((f) => f.path));
    for (const name of entries.keys())
      if (name !== 'manifest.json' && !named.has(name))
        throw new BundleRefused(
          `${source.name} holds ${name.slice(0, 200)}, which its manifest does not name`,
        );
    const out: { file: BundleFile; local: string; kind: FeedKind | 'osv-zip' }[] = [];
    for (const [i, file] of manifest.files.entries()) {
      if (signal?.aborted) throw signal.reason ?? new Error('Cancelled.');
      const entry = entries.get(file.path);
      if (!entry) throw new BundleRefused(`${source.name} lacks ${file.path}, which its manifest names`);
      if (entry.uncompressedSize !== file.bytes)
        throw new BundleRefused(
          `${source.name}: ${file.path} has ${entry.uncompressedSize} bytes, its manifest says ${file.bytes}`,
        );
      const local = path.join(dir, String(i), path.basename(file.path));
      fs.mkdirSync(path.dirname(local));
      const got = await extractEntry(zip, entry, local, file.bytes);
      if (got.bytes !== file.bytes)
        throw new BundleRefused(
          `${source.name}: ${file.path} has ${got.bytes} bytes, its manifest says ${file.bytes}`,
        );
      if (got.sha256 !== file.sha256)
        throw new BundleRefused(
          `${source.name}: ${file.path} does not match its manifest's sha256 (changed or damaged)`,
        );
      const detected = await detectFeed(fileSource(local));
      const feedOf = detected === 'osv-zip' ? 'osv' : detected;
      if (feedOf !== file.feed || detected === 'bundle' || detected === null)
        throw new BundleRefused(
          `${source.name}: ${file.path} is not the ${file.feed} file its manifest says`,
        );
      out.push({ file, local, kind: detected });
    }
    return out;
  } finally {
    zip.close();
  }
}

async function readEntry(zip: yauzl.ZipFile, entry: yauzl.Entry, limit: number): Promise<Buffer> {
  const stream = await zip.openReadStreamPromise(entry);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) {
      stream.destroy();
      throw new BundleRefused(`${entry.fileName} is larger than it says`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

async function extractEntry(
  zip: yauzl.ZipFile,
  entry: yauzl.Entry,
  file: string,
  limit: number,
): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > limit) return done(new BundleRefused(`${entry.fileName} is larger than its manifest says`));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(await zip.openReadStreamPromise(entry), tap, fs.createWriteStream(file));
  } catch (error) {
    if (error instanceof BundleRefused) throw error;
    // yauzl's own size and CRC checks: a damaged or truncated entry.
    throw new BundleRefused(`${entry.fileName} is damaged or truncated (${(error as Error).message})`);
  }
  return { bytes, sha256: hash.digest('hex') };
}
