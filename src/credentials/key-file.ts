import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Platform } from '../platform';
import { PatchdeckError } from '../util';

/** A private key file is a few KiB; anything past this is not one (and is never read whole). */
export const KEY_FILE_MAX_BYTES = 64 * 1024;
/** How long a chosen key file waits for its credentials.add, and how many may wait at once. */
const KEY_FILE_TTL_MS = 10 * 60_000;
const KEY_FILES_HELD = 8;

/**
 * Reads a chosen private key file, bounded: at most KEY_FILE_MAX_BYTES, and it must hold a
 * -----BEGIN … PRIVATE KEY----- block. Errors name the file, never its content.
 *
 * Only a regular file is opened: a FIFO would block a plain open (and the core with it) until a
 * writer comes, a device such as /dev/zero never ends. So it is stat'ed first, opened
 * non-blocking, and fstat'ed again: the open file must be the same regular file that was stat'ed.
 * A symlink to a key file is followed (keys managed elsewhere are often linked into ~/.ssh).
 */
export function readKeyFile(file: string): string {
  const name = path.basename(file);
  const failure = (error: unknown, verb: string) =>
    new PatchdeckError(
      'bad-request',
      `Could not ${verb} ${name}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}.`,
    );
  let before: fs.Stats;
  try {
    before = fs.statSync(file);
  } catch (error) {
    throw failure(error, 'open');
  }
  if (!before.isFile()) throw new PatchdeckError('bad-request', `${name} is not a file.`);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | (fs.constants.O_NOCTTY ?? 0));
  } catch (error) {
    throw failure(error, 'open');
  }
  const buffer = Buffer.alloc(KEY_FILE_MAX_BYTES + 1);
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new PatchdeckError('bad-request', `${name} is not a file.`);
    if (stat.dev !== before.dev || stat.ino !== before.ino)
      throw new PatchdeckError(
        'bad-request',
        `${name} was replaced while it was being opened; choose it again.`,
      );
    if (stat.size > KEY_FILE_MAX_BYTES)
      throw new PatchdeckError(
        'bad-request',
        `${name} is ${stat.size.toLocaleString('en')} bytes: a private key file is at most ${KEY_FILE_MAX_BYTES.toLocaleString('en')}.`,
      );
    let read = 0;
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(fd, buffer, read, buffer.length - read, read);
      } catch (error) {
        throw failure(error, 'read');
      }
      if (n === 0) break;
      read += n;
      if (read > KEY_FILE_MAX_BYTES)
        throw new PatchdeckError(
          'bad-request',
          `${name} grew past ${KEY_FILE_MAX_BYTES.toLocaleString('en')} bytes.`,
        );
    }
    const text = buffer.subarray(0, read).toString('utf8');
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text))
      throw new PatchdeckError(
        'bad-request',
        `${name} is not a private key file (expected a -----BEGIN … PRIVATE KEY----- block; a .pub file is the public half).`,
      );
    return text;
  } finally {
    buffer.fill(0);
    fs.closeSync(fd);
  }
}

/**
 * Key files chosen in the desktop dialog, held by a one-use id until credentials.add takes
 * them: at most KEY_FILES_HELD at once (the oldest goes first), each for KEY_FILE_TTL_MS.
 */
export class ChosenKeyFiles {
  private readonly held = new Map<string, { text: string; expires: number }>();

  /** Opens the platform's file dialog and holds the chosen, checked key file. */
  async choose(
    platform: Platform,
  ): Promise<{ cancelled: boolean; fileId: string | null; fileName: string | null }> {
    if (platform.kind !== 'electron')
      throw new PatchdeckError(
        'unavailable',
        'A file dialog exists only in the desktop app; in a browser, choose the key file with the file field.',
      );
    const file = await platform.chooseFileToOpen({ title: 'Choose a private key file' });
    if (!file) return { cancelled: true, fileId: null, fileName: null };
    const text = readKeyFile(file);
    this.dropExpired();
    while (this.held.size >= KEY_FILES_HELD) this.held.delete(this.held.keys().next().value!);
    const fileId = randomUUID();
    this.held.set(fileId, { text, expires: Date.now() + KEY_FILE_TTL_MS });
    return { cancelled: false, fileId, fileName: path.basename(file) };
  }

  /** The key text held under this id, once; a used or expired id is refused. */
  take(fileId: string): string {
    this.dropExpired();
    const held = this.held.get(fileId);
    if (!held)
      throw new PatchdeckError(
        'bad-request',
        'That key file choice has expired or was used; choose the file again.',
      );
    this.held.delete(fileId);
    return held.text;
  }

  private dropExpired(): void {
    const now = Date.now();
    for (const [id, held] of this.held) if (held.expires <= now) this.held.delete(id);
  }
}
