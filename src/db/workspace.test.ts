import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LATEST_SCHEMA_VERSION } from './migrations';
import { defaultWorkspacePath } from '../util/paths';
import { APPLICATION_ID, createWorkspace, openWorkspace } from './workspace';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-ws-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function digest(file: string): string {
  return fs.readFileSync(file).toString('base64');
}

describe('workspace files', () => {
  it('creates a WAL-mode workspace with foreign keys and the latest schema', () => {
    const file = path.join(dir, 'ws.sqlite');
    const db = createWorkspace(file);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(db.pragma('user_version', { simple: true })).toBe(LATEST_SCHEMA_VERSION);
    db.close();
    openWorkspace(file).close();
  });

  it('refuses to create over an existing file', () => {
    const file = path.join(dir, 'ws.sqlite');
    fs.writeFileSync(file, 'keep me');
    expect(() => createWorkspace(file)).toThrow(/already exists/);
    expect(fs.readFileSync(file, 'utf8')).toBe('keep me');
  });

  it('refuses a file that is not SQLite, without touching it', () => {
    const file = path.join(dir, 'notes.sqlite');
    fs.writeFileSync(file, 'just some text, definitely not a database');
    const before = digest(file);
    expect(() => openWorkspace(file)).toThrow(/not a Patchdeck workspace \(not a SQLite database\)/);
    expect(digest(file)).toBe(before);
  });

  it('refuses another program’s SQLite database, without touching it', () => {
    const file = path.join(dir, 'other.sqlite');
    const other = new BetterSqlite3(file);
    other.exec('CREATE TABLE t (x)');
    other.close();
    const before = digest(file);
    expect(() => openWorkspace(file)).toThrow(/SQLite database but not a Patchdeck workspace/);
    expect(digest(file)).toBe(before);
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
  });

  it('refuses a workspace from a newer Patchdeck, without touching it', () => {
    const file = path.join(dir, 'future.sqlite');
    const future = new BetterSqlite3(file);
    future.pragma(`application_id = ${APPLICATION_ID}`);
    future.pragma(`user_version = ${LATEST_SCHEMA_VERSION + 1}`);
    future.close();
    const before = digest(file);
    expect(() => openWorkspace(file)).toThrow(/newer Patchdeck/);
    expect(digest(file)).toBe(before);
  });

  it('says clearly when the file does not exist', () => {
    expect(() => openWorkspace(path.join(dir, 'missing.sqlite'))).toThrow(/No workspace at/);
  });

  describe('permissions (owner only, whatever the umask)', () => {
    const mode = (file: string): number => fs.statSync(file).mode & 0o777;
    let previousUmask: number;
    beforeEach(() => {
      previousUmask = process.umask(0o022); // the usual permissive umask: 0755 folders, 0644 files
    });
    afterEach(() => process.umask(previousUmask));

    it('creates the default workspace folder 0700 and the database, -wal and -shm 0600', () => {
      const file = defaultWorkspacePath({ PATCHDECK_DATA_DIR: path.join(dir, 'home', 'data') });
      const db = createWorkspace(file);
      db.prepare(`INSERT INTO settings (key, value) VALUES ('k', '"v"')`).run();
      expect(fs.existsSync(`${file}-wal`)).toBe(true);
      expect(fs.existsSync(`${file}-shm`)).toBe(true);
      for (const f of [file, `${file}-wal`, `${file}-shm`]) expect(mode(f)).toBe(0o600);
      expect(mode(path.join(dir, 'home', 'data'))).toBe(0o700);
      expect(mode(path.join(dir, 'home'))).toBe(0o700);
      expect(mode(dir)).toBe(0o700); // mkdtemp's own mode: a folder that existed is left alone
      db.close();
    });

    it('leaves an existing folder as it is', () => {
      fs.chmodSync(dir, 0o755);
      createWorkspace(path.join(dir, 'ws.sqlite')).close();
      expect(mode(dir)).toBe(0o755);
      expect(mode(path.join(dir, 'ws.sqlite'))).toBe(0o600);
    });

    it('tightens a workspace an older version left 0644 when it opens it', () => {
      const file = path.join(dir, 'old.sqlite');
      createWorkspace(file).close();
      fs.chmodSync(file, 0o644);
      const db = openWorkspace(file);
      db.prepare(`INSERT INTO settings (key, value) VALUES ('k', '"v"')`).run();
      for (const f of [file, `${file}-wal`, `${file}-shm`]) expect(mode(f)).toBe(0o600);
      db.close();
    });
  });
});
