import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import { PatchdeckError } from '../util';
import { createPrivateFile, ensurePrivateDir, tightenFileMode } from '../util';
import { backupBeforeMigration, checkDatabase, damagedWorkspaceMessage } from './backup';
import { APPLICATION_ID, inspectWorkspaceFile } from './workspace-file';
import { LATEST_SCHEMA_VERSION, migrations } from './migrations';

export { APPLICATION_ID, inspectWorkspaceFile } from './workspace-file';
export type { Database } from 'better-sqlite3';

function applyConnectionSettings(db: Database): void {
  db.pragma('journal_mode = WAL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  db.pragma('synchronous = NORMAL');
  // A workspace of a million findings is ~150 MiB: 64 MiB of page cache keeps the current
  // picture's indexes in memory (SQLite's default is 2 MiB); sorts and temp tables stay in memory.
  db.pragma('cache_size = -65536');
  db.pragma('temp_store = MEMORY');
}

/** Runs every migration above the file's user_version, each in its own transaction. */
export function migrate(db: Database, targetVersion = LATEST_SCHEMA_VERSION): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (const migration of migrations) {
    if (migration.version <= current || migration.version > targetVersion) continue;
    db.transaction(() => {
      migration.up(db);
      db.pragma(`user_version = ${migration.version}`);
    })();
  }
}

/** The workspace file and the WAL files SQLite keeps beside it. */
function workspaceFiles(file: string): string[] {
  return [file, `${file}-wal`, `${file}-shm`];
}

/**
 * Creates a new, empty workspace file. Refuses to overwrite an existing file. The file is 0600 and
 * the folders made for it 0700, whatever the umask; SQLite gives `-wal` and `-shm` the mode of
 * the database file.
 */
export function createWorkspace(file: string): Database {
  ensurePrivateDir(path.dirname(path.resolve(file)));
  try {
    createPrivateFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      throw new PatchdeckError('conflict', `${file} already exists; open it instead of creating it.`);
    throw error;
  }
  let db: Database | null = null;
  try {
    db = new BetterSqlite3(file);
    applyConnectionSettings(db);
    db.pragma(`application_id = ${APPLICATION_ID}`);
    migrate(db);
    for (const f of workspaceFiles(file)) tightenFileMode(f);
    return db;
  } catch (error) {
    db?.close();
    for (const f of workspaceFiles(file)) fs.rmSync(f, { force: true });
    throw error;
  }
}

/**
 * Opens an existing workspace after checking it, and brings its schema up to date.
 *
 * A damaged file is refused, naming the last good backup. The check is `PRAGMA quick_check`, not
 * integrity_check: it reads every page and checks every b-tree and record, but skips comparing
 * each index with its table, which makes it several times faster (a 200 MB workspace: 0.23 s
 * against 1.05 s here) — affordable on every open, where the full check is kept for backups and
 * restores. Before a migration (an older schema above 0), a copy is kept in the backups folder.
 */
export function openWorkspace(file: string): Database {
  inspectWorkspaceFile(file);
  for (const f of workspaceFiles(file)) tightenFileMode(f);
  const db = new BetterSqlite3(file, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const problem = checkDatabase(db, 'quick_check');
    if (problem) throw new PatchdeckError('workspace-invalid', damagedWorkspaceMessage(file, problem));
    applyConnectionSettings(db);
    const version = schemaVersion(db);
    if (version > 0 && version < LATEST_SCHEMA_VERSION) backupBeforeMigration(db, file, version);
    migrate(db);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Opens the workspace, creating it first when the file does not exist yet. */
export function openOrCreateWorkspace(file: string): Database {
  return fs.existsSync(file) ? openWorkspace(file) : createWorkspace(file);
}

/** An in-memory workspace for tests of repositories. */
export function createMemoryWorkspace(targetVersion = LATEST_SCHEMA_VERSION): Database {
  const db = new BetterSqlite3(':memory:');
  db.pragma('foreign_keys = ON');
  db.pragma(`application_id = ${APPLICATION_ID}`);
  migrate(db, targetVersion);
  return db;
}

export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}
