/**
 * `advisories update`: the same files an admin would download by hand, fetched from their
 * publishers (or a mirror with the same paths), then imported like any other files.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Database } from 'better-sqlite3';
import { hostOsVersions } from '../db';
import { PatchdeckError, sanitizeText, type Clock } from '../util';
import { ecosystemOfHost } from './ecosystem';
import { fileSource, type FeedSource } from './feeds';
import { importFeedSources, type ImportSummary } from './snapshot';
import type { FeedKind } from './types';

const MiB = 1024 ** 2;

/** Where each publisher serves its current file, and the most Patchdeck will download of it. */
export const PUBLISHER_FEEDS = {
  kev: {
    url: 'https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json',
    maxBytes: 64 * MiB,
  },
  epss: { url: 'https://epss.empiricalsecurity.com/epss_scores-current.csv.gz', maxBytes: 256 * MiB },
  /** One all.zip per ecosystem family (`{ecosystem}` is "Debian", "AlmaLinux", "Rocky Linux"…). */
  osv: {
    url: 'https://osv-vulnerabilities.storage.googleapis.com/{ecosystem}/all.zip',
    maxBytes: 4096 * MiB,
  },
  'debian-tracker': { url: 'https://security-tracker.debian.org/tracker/data/json', maxBytes: 2048 * MiB },
} as const;

/** A download may take this long in all, and may stall this long between chunks. */
const TOTAL_TIMEOUT_MS = 30 * 60_000;
const IDLE_TIMEOUT_MS = 60_000;

export type UpdatableFeed = keyof typeof PUBLISHER_FEEDS;

export interface FeedDownload {
  feed: UpdatableFeed;
  url: string;
  status: 'downloaded' | 'failed';
  bytes: number;
  message: string | null;
}

export interface UpdateResult {
  downloads: FeedDownload[];
  /** Feeds asked for that have nothing to fetch (OSV with no audited host, CSAF), in words. */
  notes: string[];
  import: ImportSummary;
}

export interface UpdateOptions {
  /** The feeds to fetch; default KEV, EPSS, OSV for the hosts' ecosystems, and the tracker when a Debian host exists. */
  feeds?: FeedKind[];
  /** A mirror: replaces the publishers' scheme and host (and prefixes its own path); '' = the publishers. */
  mirror?: string;
  clock: Clock;
  signal?: AbortSignal;
  fetch?: typeof fetch;
  onProgress?: (done: number, total: number, message: string) => void;
}

/** The publisher URL with the mirror's scheme, host and path prefix in front of the publisher's path. */
export function mirroredUrl(publisherUrl: string, mirror: string | undefined): string {
  if (!mirror) return publisherUrl;
  let base: URL;
  try {
    base = new URL(mirror);
  } catch {
    throw new PatchdeckError(
      'bad-request',
      `The advisory mirror ${sanitizeText(mirror, { maxLength: 100 })} is not a URL.`,
    );
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    throw new PatchdeckError('bad-request', 'The advisory mirror must be an http:// or https:// URL.');
  if (base.username || base.password)
    throw new PatchdeckError('bad-request', 'The advisory mirror URL must not hold a user name or password.');
  const target = new URL(publisherUrl);
  const prefix = base.pathname.replace(/\/+$/, '');
  return `${base.origin}${prefix}${target.pathname}${target.search}`;
}

/** The OSV ecosystem families of the workspace's audited hosts ("Debian", "Rocky Linux"). */
export function hostEcosystemFamilies(db: Database): string[] {
  const families = new Set<string>();
  for (const h of hostOsVersions(db)) {
    const eco = ecosystemOfHost(h.osId, h.osVersion);
    if (eco) families.add(eco.split(':')[0]!);
  }
  return [...families].sort();
}

/** Which files an update fetches. */
export function plannedDownloads(
  db: Database,
  feeds: FeedKind[] | undefined,
  mirror: string | undefined,
): { downloads: { feed: UpdatableFeed; url: string; file: string }[]; notes: string[] } {
  const families = hostEcosystemFamilies(db);
  const wanted: FeedKind[] = feeds?.length
    ? [...new Set(feeds)]
    : ['kev', 'epss', 'osv', ...(families.includes('Debian') ? (['debian-tracker'] as const) : [])];
  const downloads: { feed: UpdatableFeed; url: string; file: string }[] = [];
  const notes: string[] = [];
  for (const feed of wanted) {
    if (feed === 'csaf') {
      notes.push('CSAF documents are not fetched: import Red Hat’s CSAF files by hand.');
      continue;
    }
    if (feed === 'osv') {
      if (!families.length) notes.push('No audited host: no OSV export to fetch (audit hosts first).');
      for (const family of families)
        downloads.push({
          feed,
          url: mirroredUrl(
            PUBLISHER_FEEDS.osv.url.replace('{ecosystem}', encodeURIComponent(family)),
            mirror,
          ),
          file: `osv-${family.replace(/[^A-Za-z0-9]+/g, '-')}-all.zip`,
        });
      continue;
    }
    const url = mirroredUrl(PUBLISHER_FEEDS[feed].url, mirror);
    const file =
      feed === 'debian-tracker' ? 'debian-security-tracker.json' : path.posix.basename(new URL(url).pathname);
    downloads.push({ feed, url, file });
  }
  return { downloads, notes };
}

async function download(
  url: string,
  file: string,
  maxBytes: number,
  fetcher: typeof fetch,
  signal: AbortSignal | undefined,
): Promise<number> {
  const idle = new AbortController();
  let idleTimer = setTimeout(() => idle.abort(new Error('no data for 60 s')), IDLE_TIMEOUT_MS);
  const signals = [AbortSignal.timeout(TOTAL_TIMEOUT_MS), idle.signal, ...(signal ? [signal] : [])];
  const combined = AbortSignal.any(signals);
  try {
    const response = await fetcher(url, { signal: combined, redirect: 'follow' });
    if (!response.ok) throw new Error(`the server answered ${response.status} ${response.statusText}`.trim());
    const finalUrl = new URL(response.url || url);
    if (finalUrl.protocol !== 'http:' && finalUrl.protocol !== 'https:')
      throw new Error('the server redirected to something that is not http(s)');
    const declared = Number(response.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > maxBytes)
      throw new Error(`the file is ${declared} bytes, more than the ${maxBytes} allowed`);
    if (!response.body) throw new Error('the server sent no file');
    let bytes = 0;
    const cap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        clearTimeout(idleTimer);
        idleTimer = setTimeout(() => idle.abort(new Error('no data for 60 s')), IDLE_TIMEOUT_MS);
        bytes += chunk.length;
        if (bytes > maxBytes) done(new Error(`the file is larger than the ${maxBytes} bytes allowed`));
        else done(null, chunk);
      },
    });
    await pipeline(
      Readable.fromWeb(response.body as import('node:stream/web').ReadableStream),
      cap,
      fs.createWriteStream(file),
      {
        signal: combined,
      },
    );
    return bytes;
  } finally {
    clearTimeout(idleTimer);
  }
}

/**
 * Fetches the feeds (each to a temporary file, size-capped and timed out), then imports every file
 * that arrived in one `importFeedSources`. A failed download is reported and the rest go on.
 */
export async function updateFeeds(db: Database, options: UpdateOptions): Promise<UpdateResult> {
  const { downloads: planned, notes } = plannedDownloads(db, options.feeds, options.mirror);
  const fetcher = options.fetch ?? fetch;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'patchdeck-update-'));
  try {
    const downloads: FeedDownload[] = [];
    const sources: FeedSource[] = [];
    for (const [i, d] of planned.entries()) {
      if (options.signal?.aborted) throw options.signal.reason ?? new Error('Cancelled.');
      options.onProgress?.(i, planned.length + 1, `Downloading ${d.url}`);
      const local = path.join(dir, d.file);
      try {
        const bytes = await download(d.url, local, PUBLISHER_FEEDS[d.feed].maxBytes, fetcher, options.signal);
        downloads.push({ feed: d.feed, url: d.url, status: 'downloaded', bytes, message: null });
        // Named by its URL, so that what the import says about it names where it came from.
        sources.push({ ...fileSource(local), name: d.url });
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason ?? error;
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        const why = cause?.code ?? cause?.message ?? (error as Error).message;
        downloads.push({
          feed: d.feed,
          url: d.url,
          status: 'failed',
          bytes: 0,
          message: sanitizeText(`${d.url} could not be downloaded: ${why}`, { maxLength: 400 }),
        });
        fs.rmSync(local, { force: true });
      }
    }
    const summary = await importFeedSources(db, sources, {
      clock: options.clock,
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (done, total, message) =>
        options.onProgress?.(planned.length, planned.length + 1, `${message} (${done}/${total})`),
    });
    return { downloads, notes, import: summary };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
