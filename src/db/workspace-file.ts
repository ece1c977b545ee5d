import fs from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { PatchdeckError } from '../util';
import { LATEST_SCHEMA_VERSION } from './migrations';

// Apart from workspace.ts, which opens workspaces and backs them up before a migration, so that
// backup.ts can check its copies without importing workspace.ts back (an import circle).

/** 'PDK1' — marks a SQLite file as a Patchdeck workspace (PRAGMA application_id). */
export const APPLICATION_ID = 0x50444b31;
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * Checks, without writing a byte, that `file` is a Patchdeck workspace this version can open.
 * A file that is not SQLite, a SQLite file of another program, or a workspace written by a
 * newer Patchdeck is refused with a clear error.
 */
export function inspectWorkspaceFile(file: string): { schemaVersion: number } {
  let header: Buffer;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      header = Buffer.alloc(16);
      fs.readSync(fd, header, 0, 16, 0);
    } finally {
      fs.closeSync(fd);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new PatchdeckError('workspace-missing', `No workspace at ${file}.`);
    throw new PatchdeckError('workspace-invalid', `Cannot read ${file}: ${code ?? String(error)}.`);
  }
  if (!header.equals(SQLITE_HEADER)) {
    throw new PatchdeckError(
      'workspace-invalid',
      `${file} is not a Patchdeck workspace (not a SQLite database).`,
    );
  }
  const probe = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  try {
    const appId = probe.pragma('application_id', { simple: true }) as number;
    const version = probe.pragma('user_version', { simple: true }) as number;
    if (appId !== APPLICATION_ID) {
      throw new PatchdeckError(
        'workspace-invalid',
        `${file} is a SQLite database but not a Patchdeck workspace.`,
      );
    }
    if (version > LATEST_SCHEMA_VERSION) {
      throw new PatchdeckError(
        'workspace-too-new',
        `${file} was written by a newer Patchdeck (schema ${version}; this version knows up to ${LATEST_SCHEMA_VERSION}). Update Patchdeck to open it.`,
      );
    }
    return { schemaVersion: version };
  } finally {
    probe.close();
  }
}
