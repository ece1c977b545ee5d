import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PatchdeckError } from '../util';

/**
 * Files the browser uploaded (browser mode), waiting for the call that uses them. The browser
 * carrier streams each upload into a private folder (mode 0700, created on first use under the
 * system's temp folder) as a file with a random name; the name the browser gave is kept only as
 * a display name, cleaned of paths and control characters. The core claims uploads by id (the
 * server and the core share one process in browser mode) and deletes them when done with them.
 */
export interface Upload {
  id: string;
  /** The browser's file name, cleaned: for messages and the import record, never a path. */
  name: string;
  /** Where the bytes are, inside the registry's private folder. */
  path: string;
  bytes: number;
}

export interface UploadRegistryOptions {
  /** Folder to make the private folder in; default os.tmpdir(). */
  baseDir?: string;
  /** Largest upload taken; default 4 GiB (the feed readers' own cap). */
  maxBytes?: number;
  /** Space that must stay free on the folder's disk after an upload; default 256 MiB. */
  reserveBytes?: number;
  /** Uploads held at once, finished or not; default 100. */
  maxPending?: number;
  /** An upload nobody claimed is deleted after this long; default one hour. */
  ttlMs?: number;
  now?: () => number;
}

export const DEFAULT_MAX_UPLOAD_BYTES = 4 * 1024 ** 3;
const DEFAULT_RESERVE_BYTES = 256 * 1024 ** 2;
const DEFAULT_MAX_PENDING = 100;
const DEFAULT_TTL_MS = 60 * 60 * 1000;
const ID = /^[A-Za-z0-9_-]{22,64}$/;

/** A browser's file name as a display name: its last path part, printable, at most 200 characters. */
export function uploadDisplayName(raw: string | null | undefined): string {
  const last = String(raw ?? '')
    .slice(0, 1024)
    .split(/[/\\]/)
    .pop()!;
  // eslint-disable-next-line no-control-regex
  const clean = [...last.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, '')]
    .slice(0, 200)
    .join('')
    .trim();
  return clean === '' || clean === '.' || clean === '..' ? 'upload' : clean;
}

interface Entry extends Upload {
  state: 'receiving' | 'ready';
  createdAt: number;
}

export class UploadRegistry {
  readonly maxBytes: number;
  readonly reserveBytes: number;
  private readonly entries = new Map<string, Entry>();
  /** Claimed uploads not yet released: their files still live in the folder. */
  private claimed = 0;
  private dir: string | null = null;
  private readonly now: () => number;

  constructor(private readonly options: UploadRegistryOptions = {}) {
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
    this.reserveBytes = options.reserveBytes ?? DEFAULT_RESERVE_BYTES;
    this.now = options.now ?? Date.now;
  }

  /** The private folder, made on first use (mkdtemp makes it 0700; chmod in case of an odd umask). */
  private folder(): string {
    if (this.dir && fs.existsSync(this.dir)) return this.dir;
    this.dir = fs.mkdtempSync(path.join(this.options.baseDir ?? os.tmpdir(), 'patchdeck-uploads-'));
    fs.chmodSync(this.dir, 0o700);
    return this.dir;
  }

  /** Bytes free for an unprivileged writer on the folder's disk. */
  freeBytes(): number {
    const stats = fs.statfsSync(this.folder());
    return stats.bavail * stats.bsize;
  }

  /** Uploads held now (receiving or waiting to be claimed). */
  get pending(): number {
    return this.entries.size;
  }

  /**
   * A new upload: a fresh file (0600, created exclusively) to stream into. Refused when too many
   * are held; unclaimed uploads past their time are deleted first.
   */
  begin(rawName: string | null | undefined): { id: string; name: string; path: string; fd: number } {
    this.expire();
    if (this.entries.size >= (this.options.maxPending ?? DEFAULT_MAX_PENDING))
      throw new PatchdeckError(
        'conflict',
        'Too many uploads are waiting to be imported; import or wait for them, then upload again.',
      );
    const id = crypto.randomBytes(24).toString('base64url');
    const file = path.join(this.folder(), `${crypto.randomBytes(16).toString('hex')}.upload`);
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
    const name = uploadDisplayName(rawName);
    this.entries.set(id, {
      id,
      name,
      path: file,
      bytes: 0,
      state: 'receiving',
      createdAt: this.now(),
    });
    return { id, name, path: file, fd };
  }

  /** The upload arrived whole: it may now be claimed. */
  finish(id: string, bytes: number): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    entry.state = 'ready';
    entry.bytes = bytes;
    entry.createdAt = this.now();
  }

  /** The upload failed or was refused: its partial file goes. */
  abort(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    this.entries.delete(id);
    fs.rmSync(entry.path, { force: true });
    this.tidy();
  }

  /**
   * Takes these uploads for one call: each is handed out once, and the caller must `release`
   * them. An id that is unknown, spent, expired or still receiving fails the whole claim, and
   * nothing is taken.
   */
  claim(ids: readonly string[]): Upload[] {
    this.expire();
    const found: Entry[] = [];
    for (const id of ids) {
      const entry = ID.test(id) ? this.entries.get(id) : undefined;
      if (!entry || entry.state !== 'ready' || found.includes(entry))
        throw new PatchdeckError(
          'not-found',
          `No finished upload has the id ${id.slice(0, 64)} (uploads are used once, and deleted after an hour or when Patchdeck stops); upload the file again. Nothing imported.`,
        );
      found.push(entry);
    }
    for (const entry of found) this.entries.delete(entry.id);
    this.claimed += found.length;
    return found.map(({ id, name, path: file, bytes }) => ({ id, name, path: file, bytes }));
  }

  /** Deletes claimed uploads' files (after their import ended, however it ended). */
  release(uploads: readonly Upload[]): void {
    for (const upload of uploads) fs.rmSync(upload.path, { force: true });
    this.claimed = Math.max(0, this.claimed - uploads.length);
    this.tidy();
  }

  /** Deletes every upload nobody claimed (the carrier stops); claimed ones go when released. */
  discardUnclaimed(): void {
    for (const entry of this.entries.values()) fs.rmSync(entry.path, { force: true });
    this.entries.clear();
    this.tidy();
  }

  private expire(): void {
    const ttl = this.options.ttlMs ?? DEFAULT_TTL_MS;
    for (const entry of [...this.entries.values()])
      if (entry.state === 'ready' && this.now() - entry.createdAt > ttl) this.abort(entry.id);
  }

  /** The folder goes when it holds nothing. */
  private tidy(): void {
    if (!this.dir || this.entries.size > 0 || this.claimed > 0) return;
    try {
      fs.rmdirSync(this.dir);
      this.dir = null;
    } catch {
      // Not empty (a file something else put there): keep using it.
    }
  }
}
