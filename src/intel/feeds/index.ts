import { createReadStream, statSync } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { FeedError, type FeedKind, type FeedReader } from '../types';
import {
  feedError,
  isGzip,
  isZip,
  JsonWalker,
  LIMITS,
  peekBytes,
  sourceText,
  type FeedSource,
  type JsonPath,
} from './common';
import { readCsaf } from './csaf';
import { readDebianTracker } from './debian-tracker';
import { readEpss } from './epss';
import { readKev } from './kev';
import { readOsv } from './osv';
import { inspectZip, readOsvZip } from './osv-zip';

/**
 * The feed readers' door: sources (files, folders, buffers), what a source is, and one reader
 * per kind. Every reader streams, bounds what it holds (common.ts LIMITS) and throws a FeedError
 * naming the file for anything truncated, oversized or malformed.
 */

export type { FeedSource } from './common';
export { LIMITS as FEED_LIMITS, isCveId } from './common';
export { zipEntries, readEntryBytes, type ZipEntryInfo } from './osv-zip';
export { osvToAdvisory, OsvTally, publisherOfEcosystem } from './osv';
export { parseEpssHeader } from './epss';
export { parseRpmPurl } from './csaf';

export function fileSource(path: string): FeedSource {
  let size: number | null = null;
  try {
    size = statSync(path).size;
  } catch {
    // Missing or unreadable: open() fails and the reader says so.
  }
  return { name: path, size, path, open: () => createReadStream(path, { highWaterMark: 256 * 1024 }) };
}

export function bufferSource(name: string, bytes: Buffer): FeedSource {
  return {
    name,
    size: bytes.length,
    bytes,
    open: () => Readable.from([bytes], { objectMode: false }),
  };
}

/**
 * Expands files and folders (recursively, bounded count) into sources; zip files stay one source.
 * Inside folders, hidden files, `*.md` and `*.txt` are left out and links are not followed.
 */
export async function listFeedSources(paths: string[]): Promise<FeedSource[]> {
  const out: FeedSource[] = [];
  const add = (path: string): void => {
    if (out.length >= LIMITS.sources)
      throw new FeedError(
        `The files given hold more than ${LIMITS.sources} files; import fewer at a time.`,
        path,
      );
    out.push(fileSource(path));
  };
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > LIMITS.folderDepth)
      throw feedError(dir, `has folders nested deeper than ${LIMITS.folderDepth} levels.`);
    // Hidden files and the notes beside feed files (README.md, *.txt) are not feeds.
    const names = (await readdir(dir)).filter((n) => !n.startsWith('.') && !/\.(?:md|txt)$/i.test(n)).sort();
    for (const name of names) {
      const path = join(dir, name);
      // Links inside a folder are not followed: no loops, nothing outside what was given.
      const info = await lstat(path);
      if (info.isDirectory()) await walk(path, depth + 1);
      else if (info.isFile()) add(path);
    }
  };
  for (const path of paths) {
    let info;
    try {
      info = await stat(path);
    } catch {
      throw feedError(path, 'does not exist or cannot be read.');
    }
    if (info.isDirectory()) await walk(path, 0);
    else add(path);
  }
  return out;
}

const HEAD_CHARS = 64 * 1024;

/** The kind of a JSON document from its first keys. */
function detectJson(head: string): FeedKind | null {
  const top = new Set<string>();
  let tracker = false;
  const decide = (): FeedKind | null => {
    if (top.has('catalogVersion') || (top.has('vulnerabilities') && top.has('dateReleased'))) return 'kev';
    if (top.has('document') && (top.has('vulnerabilities') || top.has('product_tree'))) return 'csaf';
    if (top.has('id') && OSV_KEYS.some((k) => top.has(k))) return 'osv';
    return tracker ? 'debian-tracker' : null;
  };
  const walker = new JsonWalker('head', {
    enter(path: JsonPath) {
      if (path.length === 1) top.add(path[0] as string);
      if (path.length === 3 && path[2] === 'releases' && /^(?:CVE|TEMP)-/.test(path[1] as string))
        tracker = true;
      return 'skip';
    },
    value() {},
  });
  try {
    // In slices, to stop as soon as the first keys tell.
    for (let at = 0; at < head.length; at += 4096) {
      walker.write(head.slice(at, at + 4096));
      if (decide() !== null) break;
    }
  } catch {
    // The head ends mid-document or the JSON is broken; decide on what was seen.
  }
  return decide();
}

const OSV_KEYS = ['modified', 'published', 'affected', 'schema_version', 'aliases'];

/**
 * What a source is, from its first bytes (gzip magic, PK zip, '#model_version', KEV's
 * catalogVersion, OSV's schema/id, tracker shape, CSAF document). 'bundle' = a Patchdeck advisory
 * bundle (zip with manifest.json named patchdeck-advisories). Null: not a feed file.
 */
export async function detectFeed(source: FeedSource): Promise<FeedKind | 'osv-zip' | 'bundle' | null> {
  let head: Buffer;
  try {
    head = await peekBytes(source, 4);
  } catch {
    return null;
  }
  if (isZip(head)) {
    try {
      return await inspectZip(source);
    } catch {
      // A broken zip: reading it says what is wrong.
      return 'osv-zip';
    }
  }
  let headText: string;
  const bytes = await peekBytes(source, HEAD_CHARS).catch(() => null);
  if (bytes === null) return null;
  if (!isGzip(bytes)) headText = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  else {
    const parts: string[] = [];
    let have = 0;
    try {
      for await (const text of sourceText(source, undefined)) {
        parts.push(text);
        have += text.length;
        if (have >= HEAD_CHARS) break;
      }
    } catch {
      // Undecodable or a gzip cut short: what arrived is still worth a look.
    }
    headText = parts.join('');
  }
  const text = headText
    .slice(0, HEAD_CHARS)
    .replace(/^\uFEFF/, '')
    .trimStart();
  if (text.startsWith('#model_version') || text.startsWith('cve,epss,percentile')) return 'epss';
  if (text.startsWith('{')) return detectJson(text);
  return null;
}

/** Reads one source of a known kind: yields records, returns the file's facts. Throws FeedError (whole file refused). */
export function readFeed(
  source: FeedSource,
  kind: FeedKind | 'osv-zip',
  options: { signal?: AbortSignal } = {},
): FeedReader {
  switch (kind) {
    case 'kev':
      return readKev(source, options.signal);
    case 'epss':
      return readEpss(source, options.signal);
    case 'osv':
      return readOsv(source, options.signal);
    case 'osv-zip':
      return readOsvZip(source, options.signal);
    case 'debian-tracker':
      return readDebianTracker(source, options.signal);
    case 'csaf':
      return readCsaf(source, options.signal);
  }
}
