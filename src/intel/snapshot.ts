/**
 * The advisory snapshot's store: feed files in their publishers' own formats (and Patchdeck
 * advisory bundles) go in here, one file at a time, each in its own transaction.
 */
import { createHash } from 'node:crypto';
import type { Database } from 'better-sqlite3';
import {
  AdvisoryStage,
  commitAdvisories,
  commitCatalog,
  currentCatalogSource,
  findAdvisorySource,
  readSettings,
} from '../db';
import { sanitizeText, type Clock } from '../util';
import { importBundle } from './bundle';
import { enrichCurrentFindings } from './enrich';
import { bufferSource, detectFeed, readFeed, type FeedSource } from './feeds';
import { FeedError, type FeedFileFacts, type FeedKind } from './types';

export interface ImportedFile {
  name: string;
  feed: FeedKind | 'bundle' | null;
  publisher: string | null;
  records: number;
  status: 'imported' | 'already-imported' | 'older-than-current' | 'refused';
  message: string | null;
}

export interface ImportSummary {
  files: ImportedFile[];
  /** Records written by this import, per kind. */
  advisories: number;
  kev: number;
  epss: number;
  durationMs: number;
  /** The process's peak resident memory so far (the import streams: this stays bounded). */
  peakRssBytes: number;
  /** The re-judging of current findings after the import wrote anything (null: nothing written). */
  enrichment: { findings: number; durationMs: number } | { error: string } | null;
}

export interface ImportOptions {
  clock: Clock;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, message: string) => void;
}

/** Files up to this size are read once into memory: detecting, hashing and parsing then open nothing more. */
const IN_MEMORY_BYTES = 8 * 1024 * 1024;

async function inMemoryWhenSmall(source: FeedSource): Promise<FeedSource> {
  if (source.bytes || source.size === null || source.size > IN_MEMORY_BYTES) return source;
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of source.open() as AsyncIterable<Buffer>) {
    total += chunk.length;
    // Grown since it was listed: stream it like a big file instead.
    if (total > IN_MEMORY_BYTES) return source;
    chunks.push(chunk);
  }
  return bufferSource(source.name, Buffer.concat(chunks));
}

/** One import per connection at a time: they share the connection's staging tables. */
const busy = new WeakMap<Database, Promise<unknown>>();

export function peakRssBytes(): number {
  return Math.max(process.resourceUsage().maxRSS * 1024, process.memoryUsage.rss());
}

export async function sha256OfSource(source: FeedSource, signal?: AbortSignal): Promise<string> {
  if (source.bytes) return createHash('sha256').update(source.bytes).digest('hex');
  const hash = createHash('sha256');
  for await (const chunk of source.open() as AsyncIterable<Buffer | string>) {
    if (signal?.aborted) throw signal.reason ?? new Error('Cancelled.');
    hash.update(chunk);
  }
  return hash.digest('hex');
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('Cancelled.', 'AbortError');
}

const refused = (name: string, message: string, feed: ImportedFile['feed'] = null): ImportedFile => ({
  name,
  feed,
  publisher: null,
  records: 0,
  status: 'refused',
  message,
});

interface Tally {
  advisories: number;
  kev: number;
  epss: number;
  wrote: boolean;
}

/**
 * Reads one feed file into the staging tables, then commits it in one transaction. A FeedError
 * (truncated, hostile, not what it claims) refuses the whole file; nothing of it is written.
 */
async function importOneFeedFile(
  db: Database,
  stage: AdvisoryStage,
  source: FeedSource,
  kind: FeedKind | 'osv-zip',
  displayName: string,
  options: ImportOptions,
  tally: Tally,
): Promise<ImportedFile> {
  const feed: FeedKind = kind === 'osv-zip' ? 'osv' : kind;
  const { signal } = options;
  let sha256: string;
  try {
    sha256 = await sha256OfSource(source, signal);
  } catch (error) {
    if (signal?.aborted) throw abortError(signal);
    return refused(displayName, `${displayName} cannot be read: ${(error as Error).message}`, feed);
  }
  const before = findAdvisorySource(db, feed, sha256);
  if (before)
    return {
      name: displayName,
      feed,
      publisher: before.publisher,
      records: before.recordCount,
      status: 'already-imported',
      message: `already imported on ${before.importedAt.slice(0, 10)} (the same file: sha256 ${sha256.slice(0, 12)}…); nothing written`,
    };
  stage.clear();
  let facts: FeedFileFacts;
  try {
    const reader = readFeed(source, kind, signal ? { signal } : {});
    for (;;) {
      if (signal?.aborted) throw abortError(signal);
      const next = await reader.next();
      if (next.done) {
        facts = next.value;
        break;
      }
      const item = next.value;
      if (item.kind === 'kev') stage.addKev(item.record);
      else if (item.kind === 'epss') stage.addEpss(item.record);
      else stage.addAdvisory(item.record);
    }
  } catch (error) {
    stage.clear();
    if (signal?.aborted) throw abortError(signal);
    if (error instanceof FeedError)
      return refused(displayName, sanitizeText(error.message, { maxLength: 500 }), feed);
    throw error;
  }
  try {
    const at = new Date(options.clock.now()).toISOString();
    const record = {
      feed: facts.feed,
      publisher: facts.publisher,
      fileName: displayName.slice(0, 500),
      sha256,
      publishedAt: facts.publishedAt,
      recordCount: facts.recordCount,
      ecosystems: facts.ecosystems,
      details: facts.details,
    };
    if (facts.feed === 'kev' || facts.feed === 'epss') {
      const current = currentCatalogSource(db, facts.feed);
      if (current?.publishedAt && facts.publishedAt && facts.publishedAt < current.publishedAt)
        return {
          name: displayName,
          feed: facts.feed,
          publisher: facts.publisher,
          records: facts.recordCount,
          status: 'older-than-current',
          message: `dated ${facts.publishedAt.slice(0, 10)}, older than the current ${current.fileName} (${current.publishedAt.slice(0, 10)}); kept out`,
        };
      const { rows } = commitCatalog(db, stage, { ...record, feed: facts.feed }, at);
      tally[facts.feed] += rows;
    } else {
      const { rows } = commitAdvisories(db, stage, { ...record, feed: facts.feed }, at);
      tally.advisories += rows;
    }
    tally.wrote = true;
    return {
      name: displayName,
      feed: facts.feed,
      publisher: facts.publisher,
      records: facts.recordCount,
      status: 'imported',
      message: null,
    };
  } finally {
    stage.clear();
  }
}

/**
 * Imports feed files (KEV, EPSS, OSV records and all.zip exports, the Debian tracker, CSAF) and
 * advisory bundles, each file in its own transaction, then enriches current findings once.
 */
export async function importFeedSources(
  db: Database,
  sources: FeedSource[],
  options: ImportOptions,
): Promise<ImportSummary> {
  const previous = busy.get(db);
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  const chained = (previous ?? Promise.resolve()).then(() => mine);
  busy.set(db, chained);
  await previous?.catch(() => undefined);
  try {
    return await importUnlocked(db, sources, options);
  } finally {
    release();
    if (busy.get(db) === chained) busy.delete(db);
  }
}

async function importUnlocked(
  db: Database,
  sources: FeedSource[],
  options: ImportOptions,
): Promise<ImportSummary> {
  const startedHr = performance.now();
  const stage = new AdvisoryStage(db);
  const tally: Tally = { advisories: 0, kev: 0, epss: 0, wrote: false };
  const files: ImportedFile[] = [];
  const total = sources.length;
  const importFile = (source: FeedSource, kind: FeedKind | 'osv-zip', displayName: string) =>
    importOneFeedFile(db, stage, source, kind, displayName, options, tally);
  for (const [i, listed] of sources.entries()) {
    if (options.signal?.aborted) throw abortError(options.signal);
    options.onProgress?.(i, total, `Reading ${listed.name}`);
    let kind: Awaited<ReturnType<typeof detectFeed>>;
    let source = listed;
    try {
      source = await inMemoryWhenSmall(listed);
      kind = await detectFeed(source);
    } catch (error) {
      files.push(
        refused(
          source.name,
          error instanceof FeedError
            ? sanitizeText(error.message, { maxLength: 500 })
            : `${source.name} cannot be read: ${(error as Error).message}`,
        ),
      );
      continue;
    }
    if (kind === null) {
      files.push(
        refused(
          source.name,
          `${source.name} is not a feed Patchdeck reads (CISA KEV JSON, FIRST EPSS CSV, OSV JSON or all.zip, the Debian tracker JSON, a Patchdeck advisory bundle)`,
        ),
      );
      continue;
    }
    if (kind === 'bundle') {
      files.push(...(await importBundle(source, options, importFile)));
      continue;
    }
    files.push(await importFile(source, kind, source.name));
  }
  options.onProgress?.(total, total, 'Imported');
  let enrichment: ImportSummary['enrichment'] = null;
  if (tally.wrote) {
    options.onProgress?.(total, total, 'Judging current findings against the snapshot');
    try {
      enrichment = enrichCurrentFindings(db, { clock: options.clock, settings: readSettings(db) });
    } catch (error) {
      // The files are in; say plainly that the findings were not judged against them.
      enrichment = { error: sanitizeText((error as Error).message ?? String(error), { maxLength: 300 }) };
    }
  }
  return {
    files,
    advisories: tally.advisories,
    kev: tally.kev,
    epss: tally.epss,
    durationMs: Math.round(performance.now() - startedHr),
    peakRssBytes: peakRssBytes(),
    enrichment,
  };
}
