import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import { PatchdeckError } from '../util';
import { createPrivateFile, ensurePrivateDir, tightenFileMode } from '../util';
import { sanitizeText } from '../util';
import { APPLICATION_ID, inspectWorkspaceFile } from './workspace-file';

/**
 * Workspace backups. Every copy goes through SQLite (the online backup API, or VACUUM INTO for
 * the synchronous copy taken before a migration), never a byte copy of a file that another
 * process may be writing, so a backup is a consistent workspace even while the app runs.
 *
 * Automatic copies live in a `backups/` folder next to the workspace (0700), named
 * `<workspace>-v<schema>-<UTC date>[-before-migration].sqlite`, each file 0600.
 */

/** How many automatic (before-migration) backups of one workspace are kept. */
export const KEPT_MIGRATION_BACKUPS = 5;
/** Pages copied per backup step; after a restart (another process wrote) the rest goes in one step. */
const PAGES_PER_STEP = 1024;
const ALL_PAGES = 0x7fffffff;

export interface BackupInfo {
  path: string;
  schemaVersion: number;
  bytes: number;
}

export function backupsDir(workspaceFile: string): string {
  return path.join(path.dirname(path.resolve(workspaceFile)), 'backups');
}

function baseName(workspaceFile: string): string {
  return path.basename(workspaceFile).replace(/\.(sqlite3?|db)$/i, '');
}

function stamp(date: Date): string {
  // 2026-01-07T10:15:00.123Z → 20260107-101500Z
  return `${date.toISOString().slice(0, 19).replace(/-/g, '').replace(/:/g, '').replace('T', '-')}Z`;
}

/** A fresh path in `dir` for a backup of `workspaceFile` (never an existing file). */
function newBackupPath(
  workspaceFile: string,
  version: number,
  kind: 'manual' | 'before-migration',
  date = new Date(),
): string {
  const dir = backupsDir(workspaceFile);
  const suffix = kind === 'before-migration' ? '-before-migration' : '';
  const stem = `${baseName(workspaceFile)}-v${version}-${stamp(date)}`;
  for (let n = 1; ; n++) {
    const candidate = path.join(dir, `${stem}${n === 1 ? '' : `-${n}`}${suffix}.sqlite`);
    if (!fs.existsSync(candidate)) return candidate;
  }
}

/** The backups of `workspaceFile` in its backups folder, newest first (by the date in the name). */
export function listBackups(workspaceFile: string): { path: string; kind: 'manual' | 'before-migration' }[] {
  const dir = backupsDir(workspaceFile);
  const base = baseName(workspaceFile);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const found: { path: string; key: string; kind: 'manual' | 'before-migration' }[] = [];
  for (const name of names) {
    if (!name.startsWith(`${base}-v`) || !name.endsWith('.sqlite')) continue;
    // Fixed-shape tail, parsed without a backtracking pattern: v<n>-<8 digits>-<6 digits>Z[-<n>][-before-migration]
    const tail = name.slice(base.length + 2, -'.sqlite'.length);
    const m = /^(\d{1,6})-(\d{8}-\d{6})Z(?:-(\d{1,6}))?(-before-migration)?$/.exec(tail);
    if (!m) continue;
    found.push({
      path: path.join(dir, name),
      key: `${m[2]}-${(m[3] ?? '1').padStart(6, '0')}`,
      kind: m[4] ? 'before-migration' : 'manual',
    });
  }
  // By the date in the name (a copy of the folder keeps it), then, within one second, by mtime.
  const mtime = (p: string): number => {
    try {
      return fs.statSync(p).mtimeMs;
    } catch {
      return 0;
    }
  };
  const keyed = found.map((f) => ({ ...f, mtime: mtime(f.path) }));
  keyed.sort((a, b) => (a.key < b.key ? 1 : a.key > b.key ? -1 : b.mtime - a.mtime));
  return keyed.map(({ path: p, kind }) => ({ path: p, kind }));
}

function firstCheckLine(db: Database, pragma: 'quick_check' | 'integrity_check'): string {
  const rows = db.pragma(`${pragma}(1)`) as Record<string, unknown>[];
  return String(Object.values(rows[0] ?? {})[0] ?? 'no result');
}

/**
 * Runs SQLite's quick_check or integrity_check on an open database; returns null when the file is
 * sound, else the first problem SQLite reports (bounded, printable). A database so damaged that the
 * check itself fails (SQLITE_CORRUPT, SQLITE_NOTADB) is reported the same way.
 */
export function checkDatabase(db: Database, pragma: 'quick_check' | 'integrity_check'): string | null {
  try {
    const line = firstCheckLine(db, pragma);
    return line === 'ok' ? null : sanitizeText(line, { maxLength: 200 });
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (/^SQLITE_(CORRUPT|NOTADB|IOERR)/.test(code))
      return sanitizeText(`${code}: ${(error as Error).message}`, { maxLength: 200 });
    throw error;
  }
}

/** The newest backup in the workspace's backups folder that is a Patchdeck workspace and passes quick_check. */
export function newestGoodBackup(workspaceFile: string, maxChecked = 3): string | null {
  for (const b of listBackups(workspaceFile).slice(0, maxChecked)) {
    try {
      inspectWorkspaceFile(b.path);
      const db = new BetterSqlite3(b.path, { readonly: true, fileMustExist: true });
      try {
        if (checkDatabase(db, 'quick_check') === null) return b.path;
      } finally {
        db.close();
      }
    } catch {
      // Not usable; try the next older one.
    }
  }
  return null;
}

/** The sentence that tells the user what to do with a damaged workspace. */
export function damagedWorkspaceMessage(workspaceFile: string, problem: string): string {
  const good = newestGoodBackup(workspaceFile);
  const restore = good
    ? `The last good backup is ${good}: restore it with \`patchdeck -w ${workspaceFile} workspace restore ${good}\` (the damaged file is kept beside it as a .before-restore copy).`
    : `No good backup was found in ${backupsDir(workspaceFile)}; restore one you made with \`patchdeck workspace backup\`, or move the file aside to start a new workspace.`;
  return `${workspaceFile} is damaged and was not opened (SQLite quick_check: ${problem}). ${restore}`;
}

/** Checks a finished copy and returns what it is; throws (and removes the copy) when it is not sound. */
function verifyCopy(file: string): BackupInfo {
  const db = new BetterSqlite3(file, { fileMustExist: true });
  try {
    const problem = checkDatabase(db, 'integrity_check');
    if (problem)
      throw new PatchdeckError('workspace-invalid', `The copy fails SQLite's integrity check: ${problem}`);
    if ((db.pragma('application_id', { simple: true }) as number) !== APPLICATION_ID)
      throw new PatchdeckError('workspace-invalid', 'The copy is not a Patchdeck workspace.');
    const schemaVersion = db.pragma('user_version', { simple: true }) as number;
    db.close();
    tightenFileMode(file);
    return { path: file, schemaVersion, bytes: fs.statSync(file).size };
  } finally {
    if (db.open) db.close();
  }
}

/**
 * Copies the database of `source` into `dest` (an existing file, usually empty) with the online
 * backup API. A write by another process restarts a backup; after a restart the rest is copied in
 * one step (one read transaction), so a busy workspace cannot keep a backup from finishing.
 */
async function copyWithBackupApi(source: Database, dest: string): Promise<void> {
  let restarted = false;
  let lastRemaining = Number.POSITIVE_INFINITY;
  await source.backup(dest, {
    progress: ({ remainingPages }) => {
      // Without a restart each step lowers the count; no progress means another process wrote.
      if (remainingPages >= lastRemaining) restarted = true;
      lastRemaining = remainingPages;
      return restarted ? ALL_PAGES : PAGES_PER_STEP;
    },
  });
}

function removeQuietly(file: string): void {
  for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) fs.rmSync(f, { force: true });
}

/**
 * Writes a backup of `db` (an open workspace) to `dest`, or to a new file in the backups folder when
 * `dest` is omitted. Refuses to overwrite an existing file. The copy is checked with
 * integrity_check before it takes its name, and is 0600.
 */
export async function backupDatabase(
  db: Database,
  workspaceFile: string,
  dest?: string,
): Promise<BackupInfo> {
  const target = path.resolve(
    dest ?? newBackupPath(workspaceFile, db.pragma('user_version', { simple: true }) as number, 'manual'),
  );
  if (target === path.resolve(workspaceFile))
    throw new PatchdeckError('bad-request', 'A backup cannot be written over the workspace itself.');
  if (fs.existsSync(target))
    throw new PatchdeckError('conflict', `${target} already exists; choose a new file for the backup.`);
  if (dest === undefined) ensurePrivateDir(path.dirname(target));
  else if (!fs.existsSync(path.dirname(target)))
    throw new PatchdeckError('bad-request', `The folder ${path.dirname(target)} does not exist.`);
  const partial = `${target}.partial-${process.pid}`;
  createPrivateFile(partial);
  try {
    await copyWithBackupApi(db, partial);
    const info = verifyCopy(partial);
    // link() refuses an existing name, so a file that appeared meanwhile is never overwritten.
    fs.linkSync(partial, target);
    return { ...info, path: target };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      throw new PatchdeckError('conflict', `${target} already exists; choose a new file for the backup.`);
    throw error;
  } finally {
    removeQuietly(partial);
  }
}

/**
 * Backs up the workspace file `workspaceFile` without opening it as Patchdeck does (no migration,
 * no marking of running jobs as interrupted): safe while the app or a CLI command has it open and
 * writes to it.
 */
export async function backupWorkspaceFile(workspaceFile: string, dest?: string): Promise<BackupInfo> {
  inspectWorkspaceFile(workspaceFile);
  const db = new BetterSqlite3(workspaceFile, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    return await backupDatabase(db, workspaceFile, dest);
  } finally {
    db.close();
  }
}

/**
 * The copy taken before a migration (synchronous: opening a workspace is). VACUUM INTO reads in
 * one transaction, so the copy is consistent even if another process writes. Keeps the newest
 * KEPT_MIGRATION_BACKUPS such copies of this workspace and removes older ones.
 */
export function backupBeforeMigration(db: Database, workspaceFile: string, fromVersion: number): string {
  const target = newBackupPath(workspaceFile, fromVersion, 'before-migration');
  ensurePrivateDir(path.dirname(target));
  createPrivateFile(target);
  try {
    db.prepare('VACUUM INTO ?').run(target);
    verifyCopy(target);
  } catch (error) {
    removeQuietly(target);
    throw new PatchdeckError(
      'workspace-invalid',
      `Could not back up ${workspaceFile} before upgrading its schema (nothing was changed): ${(error as Error).message}`,
    );
  }
  const automatic = listBackups(workspaceFile).filter((b) => b.kind === 'before-migration');
  for (const old of automatic.slice(KEPT_MIGRATION_BACKUPS)) removeQuietly(old.path);
  return target;
}

export interface RestoreResult {
  /** The workspace that was replaced, kept as a consistent copy (null when there was none). */
  previousCopy: string | null;
  schemaVersion: number;
}

function isBusy(error: unknown): boolean {
  return /^SQLITE_(BUSY|LOCKED)/.test((error as { code?: string }).code ?? '');
}

/**
 * Replaces the workspace `workspaceFile` with the backup `backupFile`.
 *
 * - The backup must be a Patchdeck workspace this version can open and pass integrity_check.
 * - Refused while another process has the workspace open: switching it out of WAL mode needs every
 *   other connection gone, so that switch is the test (it also folds the WAL into the file).
 * - The current workspace is first copied to `<workspace>.before-restore-<date>` (0600).
 * - The backup is written into the workspace with the online backup API, as one SQLite write
 *   transaction: a process that opens the workspace meanwhile sees the old or the restored one,
 *   never a mix.
 */
export async function restoreWorkspace(workspaceFile: string, backupFile: string): Promise<RestoreResult> {
  const target = path.resolve(workspaceFile);
  const source = path.resolve(backupFile);
  if (source === target)
    throw new PatchdeckError('bad-request', 'A workspace cannot be restored from itself.');
  const { schemaVersion } = inspectWorkspaceFile(source);
  const src = new BetterSqlite3(source, { readonly: true, fileMustExist: true });
  try {
    const problem = checkDatabase(src, 'integrity_check');
    if (problem)
      throw new PatchdeckError(
        'workspace-invalid',
        `${source} fails SQLite's integrity check (${problem}); not restoring it.`,
      );

    let previousCopy: string | null = null;
    if (fs.existsSync(target)) {
      inspectTargetForRestore(target);
      const cur = new BetterSqlite3(target, { fileMustExist: true, timeout: 0 });
      try {
        let mode: unknown;
        try {
          mode = cur.pragma('journal_mode = DELETE', { simple: true });
        } catch (error) {
          if (!isBusy(error)) throw error;
        }
        if (mode !== 'delete')
          throw new PatchdeckError(
            'conflict',
            `${target} is open in another Patchdeck process (the app, \`patchdeck serve\` or a running command); close it, then restore.`,
          );
        previousCopy = `${target}.before-restore-${stamp(new Date())}`;
        for (let n = 2; fs.existsSync(previousCopy); n++)
          previousCopy = `${target}.before-restore-${stamp(new Date())}-${n}`;
        createPrivateFile(previousCopy);
        try {
          await copyWithBackupApi(cur, previousCopy);
        } catch (error) {
          removeQuietly(previousCopy);
          throw error;
        }
      } finally {
        cur.close();
      }
    } else {
      ensurePrivateDir(path.dirname(target));
      createPrivateFile(target);
    }

    // One step: the destination stays locked from the first page to the last.
    await src.backup(target, { progress: () => ALL_PAGES });
    tightenFileMode(target);
    const check = new BetterSqlite3(target, { fileMustExist: true });
    try {
      const problem = checkDatabase(check, 'quick_check');
      if (problem)
        throw new PatchdeckError(
          'internal',
          `The restored workspace fails quick_check (${problem}); the previous one is kept at ${previousCopy ?? '(none)'}.`,
        );
    } finally {
      check.close();
    }
    for (const f of [`${target}-wal`, `${target}-shm`]) tightenFileMode(f);
    return { previousCopy, schemaVersion };
  } finally {
    src.close();
  }
}

/** A file about to be replaced must be a Patchdeck workspace (damaged is fine: that is why one restores). */
function inspectTargetForRestore(target: string): void {
  try {
    inspectWorkspaceFile(target);
  } catch (error) {
    // A workspace from a newer Patchdeck is still ours to replace; anything else is not.
    if ((error as PatchdeckError).code === 'workspace-too-new') return;
    throw new PatchdeckError(
      'workspace-invalid',
      `Not replacing ${target}: ${(error as Error).message} Move it aside first if you mean to.`,
    );
  }
}
