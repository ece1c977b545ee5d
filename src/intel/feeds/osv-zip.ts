import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { sanitizeText } from '../../util';
import { FeedError, type FeedReader } from '../types';
import { checkAborted, feedError, LIMITS, parseBoundedJson, shownName, type FeedSource } from './common';
import { osvToAdvisory, OsvTally } from './osv';

/**
 * Zip files: OSV's `all.zip` exports (one record per `.json` entry) read entry by entry through
 * yauzl's central directory, each entry bounded in size and compression ratio, and a look at a
 * zip's manifest to tell a Patchdeck advisory bundle from an OSV export.
 */

export interface ZipEntryInfo {
  name: string;
  size: number;
  compressedSize: number;
  /** The entry's inflated bytes; yauzl checks they match the sizes the zip claims. */
  open(): Promise<Readable>;
}

function zipProblem(source: FeedSource, error: unknown): FeedError {
  if (error instanceof FeedError) return error;
  const message = sanitizeText(error instanceof Error ? error.message : String(error), { maxLength: 160 });
  return feedError(source.name, `is not a readable zip file (${message}).`);
}

async function openZip(source: FeedSource): Promise<yauzl.ZipFile> {
  const options: yauzl.Options = {
    lazyEntries: true,
    autoClose: true,
    decodeStrings: true,
    validateEntrySizes: true,
  };
  try {
    if (source.bytes) return await yauzl.fromBufferPromise(source.bytes, options);
    if (source.path) return await yauzl.openPromise(source.path, options);
  } catch (error) {
    throw zipProblem(source, error);
  }
  throw feedError(source.name, 'is a zip file, which can only be read from a file or a buffer.');
}

/**
 * The entries of a zip, in their order, at most LIMITS.zipEntries, each at most `maxEntryBytes`
 * inflated and with a compression ratio a real file has. Directories are left out.
 */
export async function* zipEntries(
  source: FeedSource,
  options: { maxEntryBytes?: number; signal?: AbortSignal } = {},
): AsyncGenerator<ZipEntryInfo, void, void> {
  const maxEntryBytes = options.maxEntryBytes ?? LIMITS.zipEntryBytes;
  const zip = await openZip(source);
  try {
    if (zip.entryCount > LIMITS.zipEntries)
      throw feedError(
        source.name,
        `has ${zip.entryCount} entries, more than the ${LIMITS.zipEntries} allowed.`,
      );
    let total = 0;
    for await (const entry of zip.eachEntry()) {
      checkAborted(options.signal);
      if (entry.fileName.endsWith('/')) continue;
      const name = entry.fileName;
      const size = entry.uncompressedSize;
      if (size > maxEntryBytes)
        throw feedError(
          source.name,
          `has the entry ${shownName(name)} of ${Math.ceil(size / 1024 / 1024)} MiB, more than the ${Math.round(maxEntryBytes / 1024 / 1024)} MiB allowed.`,
        );
      if (size > 64 * 1024 && entry.compressedSize * LIMITS.zipRatio < size)
        throw feedError(
          source.name,
          `has the entry ${shownName(name)} compressed more than ${LIMITS.zipRatio}:1, which no real feed file is (a zip bomb?).`,
        );
      total += size;
      if (total > LIMITS.fileBytes) throw feedError(source.name, 'inflates to more than 4 GiB.');
      yield {
        name,
        size,
        compressedSize: entry.compressedSize,
        open: () => zip.openReadStreamPromise(entry),
      };
    }
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw zipProblem(source, error);
  } finally {
    zip.close();
  }
}

/** A zip entry's bytes, at most `max`. */
export async function readEntryBytes(source: FeedSource, entry: ZipEntryInfo, max: number): Promise<Buffer> {
  if (entry.size > max)
    throw feedError(
      source.name,
      `has the entry ${shownName(entry.name)} larger than ${Math.round(max / 1024 / 1024)} MiB.`,
    );
  let stream: Readable | null = null;
  const parts: Buffer[] = [];
  let have = 0;
  try {
    stream = await entry.open();
    for await (const chunk of stream) {
      const buffer = chunk as Buffer;
      have += buffer.length;
      if (have > max)
        throw feedError(source.name, `has the entry ${shownName(entry.name)} larger than it says.`);
      parts.push(buffer);
    }
  } catch (error) {
    if (error instanceof FeedError) throw error;
    const message = sanitizeText(error instanceof Error ? error.message : String(error), { maxLength: 160 });
    throw feedError(source.name, `has the entry ${shownName(entry.name)} that cannot be read (${message}).`);
  } finally {
    stream?.destroy();
  }
  return Buffer.concat(parts);
}

/** 'bundle' when the zip has a manifest.json saying `format: 'patchdeck-advisories'`, else 'osv-zip'. */
export async function inspectZip(source: FeedSource): Promise<'bundle' | 'osv-zip'> {
  for await (const entry of zipEntries(source)) {
    if (entry.name !== 'manifest.json') continue;
    const bytes = await readEntryBytes(source, entry, 1024 * 1024);
    try {
      const manifest = JSON.parse(bytes.toString('utf8')) as unknown;
      if (
        typeof manifest === 'object' &&
        manifest !== null &&
        (manifest as { format?: unknown }).format === 'patchdeck-advisories'
      )
        return 'bundle';
    } catch {
      // Not JSON: not our manifest.
    }
    return 'osv-zip';
  }
  return 'osv-zip';
}

/** An OSV `all.zip`: every `.json` entry one record (others skipped and counted). */
export async function* readOsvZip(source: FeedSource, signal?: AbortSignal): FeedReader {
  const tally = new OsvTally();
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let otherEntries = 0;
  for await (const entry of zipEntries(source, { signal })) {
    if (!entry.name.toLowerCase().endsWith('.json')) {
      otherEntries++;
      continue;
    }
    const where = `${source.name} → ${entry.name}`;
    try {
      const bytes = await readEntryBytes(source, entry, LIMITS.recordChars);
      let text: string;
      try {
        text = decoder.decode(bytes);
      } catch {
        throw feedError(where, 'is not UTF-8 text.');
      }
      const record = osvToAdvisory(parseBoundedJson(text, where), where, tally);
      if (record) yield { kind: 'advisory', record };
    } catch (error) {
      if (error instanceof FeedError && error.file !== source.name)
        throw new FeedError(error.message, source.name);
      throw error;
    }
  }
  const facts = tally.facts();
  if (otherEntries > 0) facts.details.otherEntries = String(otherEntries);
  return facts;
}
