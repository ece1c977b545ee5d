import { open } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { jsonParser, type Token } from 'stream-json/core/parser.js';
import { getManyValues, isMany, none } from 'stream-chain/defs.js';
import { sanitizeText } from '../../util';
import { FeedError } from '../types';

/**
 * What every feed reader shares: the limits, reading a source's bytes (gunzipped when they are
 * gzip), checks on ids and versions, and a streaming JSON walker over stream-json's tokens that
 * assembles only the parts a reader asks for, each within a size budget. Nothing here holds a
 * whole file.
 */

/** A file, a zip entry or an upload: how a reader gets at the bytes. */
export interface FeedSource {
  name: string;
  size: number | null;
  open(): NodeJS.ReadableStream;
  /** Set for files on disk and buffers, so a zip can be read by its central directory. */
  readonly path?: string;
  readonly bytes?: Buffer;
}

export const LIMITS = {
  /** A feed file, after gunzip. */
  fileBytes: 4 * 1024 ** 3,
  /** One JSON record (an OSV file, a KEV entry, a tracker source × CVE entry). */
  recordChars: 8 * 1024 * 1024,
  zipEntries: 500_000,
  zipEntryBytes: 16 * 1024 * 1024,
  /** Inflated / compressed above this, for an entry over 64 KiB, is a zip bomb, not JSON. */
  zipRatio: 500,
  jsonDepth: 64,
  /** Object keys: package names, CVE ids, field names. */
  keyChars: 4096,
  numberChars: 64,
  /** Longer strings are cut (they are summaries and descriptions, never ids). */
  stringChars: 64 * 1024,
  csvLineChars: 4096,
  epssRows: 5_000_000,
  /** One file's records (KEV entries, tracker source × CVE entries, OSV records in a zip). */
  records: 5_000_000,
  /** listFeedSources: files found in the folders given. */
  sources: 500_000,
  folderDepth: 32,
} as const;

const CVE_ID = /^CVE-\d{4}-\d{4,7}$/;

export function isCveId(value: string): boolean {
  return CVE_ID.test(value);
}

/** How a file is named in a FeedError sentence: its name, printable and short. */
export function shownName(name: string): string {
  return sanitizeText(name, { maxLength: 200 });
}

export function feedError(file: string, problem: string): FeedError {
  return new FeedError(`${shownName(file)}: ${problem}`, file);
}

/** Text to store: control characters out, capped. */
export function cleanText(value: unknown, maxLength: number): string | null {
  if (typeof value !== 'string') return null;
  const text = sanitizeText(value, { maxLength }).trim();
  return text.length > 0 ? text : null;
}

// Package names and versions as the package managers write them; never whitespace or controls.
const NAME = /^[A-Za-z0-9][A-Za-z0-9._+~:@-]{0,255}$/;
const VERSION = /^[A-Za-z0-9._+~:^-]{1,256}$/;

export function isPackageName(value: string): boolean {
  return NAME.test(value);
}

export function isVersion(value: string): boolean {
  return VERSION.test(value);
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** An ISO date or date-time as the feed wrote it, or null when it is not one. */
export function isoDate(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 40 || !ISO_DATE.test(value)) return null;
  return Number.isNaN(Date.parse(value.replace(' ', 'T'))) ? null : value;
}

/** Later of two ISO dates (by their instant), either may be null. */
export function laterDate(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return Date.parse(b) > Date.parse(a) ? b : a;
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The import was cancelled.', 'AbortError');
}

export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/** The first `count` bytes of a source (fewer when it is shorter). */
export async function peekBytes(source: FeedSource, count: number): Promise<Buffer> {
  if (source.bytes) return source.bytes.subarray(0, count);
  if (source.path) {
    // A file: one read, not a stream (a folder of OSV records is thousands of small files).
    const handle = await open(source.path, 'r');
    try {
      const buffer = Buffer.alloc(count);
      const { bytesRead } = await handle.read(buffer, 0, count, 0);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }
  const stream = source.open() as Readable;
  const parts: Buffer[] = [];
  let have = 0;
  try {
    for await (const chunk of stream) {
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      parts.push(buffer);
      have += buffer.length;
      if (have >= count) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(parts).subarray(0, count);
}

export function isGzip(head: Buffer): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

export function isZip(head: Buffer): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
}

/**
 * A source's bytes, gunzipped when they start with gzip's magic, at most LIMITS.fileBytes, as
 * chunks. A truncated or corrupt gzip stream is a FeedError.
 */
export async function* sourceBytes(
  source: FeedSource,
  signal: AbortSignal | undefined,
  maxBytes: number = LIMITS.fileBytes,
): AsyncGenerator<Buffer, void, void> {
  const head = await peekBytes(source, 2);
  const raw = source.open() as Readable;
  let input: Readable = raw;
  if (isGzip(head)) {
    const gunzip = createGunzip();
    // Errors of the raw stream reach the gunzip stream, and so the loop below.
    pipeline(raw, gunzip, () => undefined);
    input = gunzip;
  }
  let total = 0;
  try {
    for await (const chunk of input) {
      checkAborted(signal);
      const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      total += buffer.length;
      if (total > maxBytes)
        throw feedError(source.name, `is larger than ${Math.round(maxBytes / 1024 / 1024)} MiB.`);
      yield buffer;
    }
  } catch (error) {
    if (error instanceof FeedError || signal?.aborted) throw error;
    const code = (error as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('Z_'))
      throw feedError(source.name, 'is not a complete gzip file (truncated or corrupt).');
    throw feedError(source.name, `could not be read (${sanitizeText(String(error), { maxLength: 160 })}).`);
  } finally {
    input.destroy();
    raw.destroy();
  }
}

/** The bytes as UTF-8 text chunks; invalid UTF-8 is a FeedError. */
export async function* sourceText(
  source: FeedSource,
  signal: AbortSignal | undefined,
  maxBytes?: number,
): AsyncGenerator<string, void, void> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  try {
    for await (const chunk of sourceBytes(source, signal, maxBytes)) {
      const text = decoder.decode(chunk, { stream: true });
      if (text.length > 0) yield text;
    }
    const rest = decoder.decode();
    if (rest.length > 0) yield rest;
  } catch (error) {
    if (error instanceof TypeError && /encoded|decode/i.test(error.message))
      throw feedError(source.name, 'is not UTF-8 text.');
    throw error;
  }
}

/** A whole small source as text (one OSV record): at most `maxBytes`. */
export async function readSmallText(
  source: FeedSource,
  maxBytes: number,
  signal: AbortSignal | undefined,
): Promise<string> {
  const tooLarge = (): FeedError =>
    feedError(source.name, `is larger than ${Math.round(maxBytes / 1024 / 1024)} MiB.`);
  let bytes: Buffer | null = source.bytes ?? null;
  if (!bytes && source.path) {
    checkAborted(signal);
    try {
      const handle = await open(source.path, 'r');
      try {
        const { size } = await handle.stat();
        if (size > maxBytes) throw tooLarge();
        bytes = await handle.readFile();
      } finally {
        await handle.close();
      }
    } catch (error) {
      if (error instanceof FeedError) throw error;
      throw feedError(source.name, `could not be read (${sanitizeText(String(error), { maxLength: 160 })}).`);
    }
  }
  if (bytes && !isGzip(bytes)) {
    if (bytes.length > maxBytes) throw tooLarge();
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw feedError(source.name, 'is not UTF-8 text.');
    }
  }
  const parts: string[] = [];
  for await (const text of sourceText(source, signal, maxBytes)) parts.push(text);
  return parts.join('');
}

/**
 * JSON.parse after a linear scan that refuses nesting deeper than LIMITS.jsonDepth (JSON.parse
 * itself would accept any depth). Syntax errors are FeedErrors.
 */
export function parseBoundedJson(text: string, file: string): unknown {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > LIMITS.jsonDepth)
        throw feedError(file, `nests JSON deeper than ${LIMITS.jsonDepth} levels.`);
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw feedError(
      file,
      `is not valid JSON (${sanitizeText((error as Error).message, { maxLength: 120 })}).`,
    );
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// The streaming JSON walker

export type JsonPath = readonly (string | number)[];
export type JsonKind = 'object' | 'array' | 'string' | 'number' | 'literal';

export interface JsonWalkHandlers {
  /**
   * A value starts at `path` (keys and indices from the root). 'capture' assembles it whole
   * (within LIMITS.recordChars) and hands it to `value`; 'skip' walks through it holding nothing.
   * May throw a FeedError for a value of the wrong kind.
   */
  enter(path: JsonPath, kind: JsonKind): 'capture' | 'skip';
  value(path: JsonPath, value: unknown): void;
}

interface Frame {
  kind: 'object' | 'array';
  /** The current key (object) or index (array). */
  at: string | number;
}

interface Building {
  container: Record<string, unknown> | unknown[];
  key: string | null;
}

/**
 * Walks stream-json's token stream with a depth limit, keys and numbers capped, and assembles
 * only what `enter` asks for. Objects it builds have no prototype, so `__proto__` is a key like
 * any other.
 */
export class JsonWalker {
  private readonly tokenize = jsonParser({ packValues: false, streamValues: true });
  private readonly frames: Frame[] = [];
  private readonly path: (string | number)[] = [];
  private key: string[] | null = null;
  private keyLength = 0;
  private scalar: { kind: 'string' | 'number'; parts: string[]; length: number } | null = null;
  /** The value being assembled: its containers, the depth it started at, its size so far. */
  private building: Building[] | null = null;
  private buildPath: JsonPath = [];
  private buildSize = 0;
  private done = false;

  constructor(
    private readonly file: string,
    private readonly handlers: JsonWalkHandlers,
  ) {}

  write(text: string): void {
    this.feed(this.run(text));
  }

  end(): void {
    this.feed(this.run(none));
    if (!this.done) throw feedError(this.file, 'ends before its JSON document does (truncated).');
  }

  private run(input: string | typeof none): unknown {
    try {
      return this.tokenize(input as string);
    } catch (error) {
      const message = (error as Error).message ?? '';
      if (input === none) throw feedError(this.file, 'ends before its JSON document does (truncated).');
      throw feedError(this.file, `is not valid JSON (${sanitizeText(message, { maxLength: 120 })}).`);
    }
  }

  private feed(output: unknown): void {
    if (output === none || output === undefined) return;
    const tokens = isMany(output) ? (getManyValues(output) as Token[]) : [output as Token];
    for (const token of tokens) this.token(token);
  }

  private grow(n: number): void {
    if (this.building === null) return;
    this.buildSize += n;
    if (this.buildSize > LIMITS.recordChars)
      throw feedError(
        this.file,
        `has a record larger than ${LIMITS.recordChars / 1024 / 1024} MiB at ${this.describe(this.buildPath)}.`,
      );
  }

  private describe(path: JsonPath): string {
    if (path.length === 0) return 'the top level';
    return path
      .slice(0, 4)
      .map((p) => (typeof p === 'number' ? `[${p}]` : sanitizeText(p, { maxLength: 60 })))
      .join(' → ');
  }

  private token(token: Token): void {
    switch (token.name) {
      case 'startKey':
        this.key = [];
        this.keyLength = 0;
        return;
      case 'endKey': {
        const key = this.key!.join('');
        this.key = null;
        this.path[this.frames.length - 1] = key;
        this.frames[this.frames.length - 1]!.at = key;
        this.grow(key.length + 1);
        const holder = this.building?.[this.building.length - 1];
        if (holder) holder.key = key;
        return;
      }
      case 'stringChunk':
        if (this.key) {
          this.keyLength += token.value.length;
          if (this.keyLength > LIMITS.keyChars)
            throw feedError(this.file, `has an object key longer than ${LIMITS.keyChars} characters.`);
          this.key.push(token.value);
        } else if (this.scalar) {
          this.grow(token.value.length);
          if (this.building && this.scalar.length < LIMITS.stringChars) this.scalar.parts.push(token.value);
          this.scalar.length += token.value.length;
        }
        return;
      case 'numberChunk':
        if (this.scalar) {
          this.scalar.length += token.value.length;
          if (this.scalar.length > LIMITS.numberChars)
            throw feedError(this.file, `has a number longer than ${LIMITS.numberChars} digits.`);
          this.scalar.parts.push(token.value);
        }
        return;
      case 'startString':
        this.startValue('string');
        this.scalar = { kind: 'string', parts: [], length: 0 };
        return;
      case 'startNumber':
        this.startValue('number');
        this.scalar = { kind: 'number', parts: [], length: 0 };
        return;
      case 'endString':
      case 'endNumber': {
        const scalar = this.scalar!;
        this.scalar = null;
        const text = scalar.parts.join('');
        const value = scalar.kind === 'string' ? text.slice(0, LIMITS.stringChars) : Number(text);
        this.endValue(value);
        return;
      }
      case 'nullValue':
      case 'trueValue':
      case 'falseValue':
        this.startValue('literal');
        this.endValue(token.value);
        return;
      case 'startObject':
      case 'startArray': {
        const kind = token.name === 'startObject' ? 'object' : 'array';
        this.startValue(kind);
        if (this.frames.length >= LIMITS.jsonDepth)
          throw feedError(this.file, `nests JSON deeper than ${LIMITS.jsonDepth} levels.`);
        this.frames.push({ kind, at: kind === 'array' ? 0 : '' });
        this.path.push(kind === 'array' ? 0 : '');
        if (this.building) {
          const container: Record<string, unknown> | unknown[] =
            kind === 'array' ? [] : (Object.create(null) as Record<string, unknown>);
          this.building.push({ container, key: null });
        }
        return;
      }
      case 'endObject':
      case 'endArray': {
        this.frames.pop();
        this.path.pop();
        if (this.building) {
          const done = this.building.pop()!;
          this.endValue(done.container);
        } else this.afterValue();
        return;
      }
      default:
        return;
    }
  }

  /** A value starts at the current path: capture it, add to what is being built, or skip it. */
  private startValue(kind: JsonKind): void {
    this.grow(1);
    if (this.building) return;
    const path = this.path.slice();
    if (this.handlers.enter(path, kind) === 'capture') {
      this.building = [];
      this.buildPath = path;
      this.buildSize = 0;
      // A container is pushed onto `building` by the caller (startObject/startArray).
    }
  }

  private endValue(value: unknown): void {
    if (this.building) {
      const parent = this.building[this.building.length - 1];
      if (parent) {
        if (Array.isArray(parent.container)) parent.container.push(value);
        else parent.container[parent.key!] = value;
      } else {
        // The captured value itself is complete.
        const path = this.buildPath;
        this.building = null;
        this.handlers.value(path, value);
      }
    }
    this.afterValue();
  }

  private afterValue(): void {
    const top = this.frames[this.frames.length - 1];
    if (!top) {
      this.done = true;
      return;
    }
    if (top.kind === 'array') {
      top.at = (top.at as number) + 1;
      this.path[this.frames.length - 1] = top.at;
    }
  }
}

/** Lines of text, each at most `maxChars` (a longer one is a FeedError), without their '\n'. */
export async function* textLines(
  chunks: AsyncIterable<string>,
  file: string,
  maxChars: number,
): AsyncGenerator<string, void, void> {
  const tooLong = (): FeedError => feedError(file, `has a line longer than ${maxChars} characters.`);
  let carry = '';
  for await (const chunk of chunks) {
    let start = 0;
    let nl = chunk.indexOf('\n');
    while (nl >= 0) {
      const piece = chunk.slice(start, nl);
      const line = carry.length > 0 ? carry + piece : piece;
      carry = '';
      if (line.length > maxChars) throw tooLong();
      yield line;
      start = nl + 1;
      nl = chunk.indexOf('\n', start);
    }
    carry += chunk.slice(start);
    if (carry.length > maxChars) throw tooLong();
  }
  if (carry.length > 0) yield carry;
}
