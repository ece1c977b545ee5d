import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KEPT_MIGRATION_BACKUPS, backupWorkspaceFile, listBackups, restoreWorkspace } from './backup';
import { LATEST_SCHEMA_VERSION } from './migrations';
import { APPLICATION_ID, createWorkspace, migrate, openWorkspace } from './workspace';

const workspaceModule = path.resolve(import.meta.dirname, 'workspace.ts');

let dir: string;
let children: ChildProcess[] = [];
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-backup-'));
});
afterEach(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  children = [];
  fs.rmSync(dir, { recursive: true, force: true });
});

const mode = (file: string): number => fs.statSync(file).mode & 0o777;

function addHosts(db: BetterSqlite3.Database, n: number, prefix: string): void {
  const insert = db.prepare(
    `INSERT INTO hosts (name, notes, created_at, updated_at) VALUES (?, ?, 't', 't')`,
  );
  db.transaction(() => {
    for (let i = 0; i < n; i++) insert.run(`${prefix}-${i}`, 'x'.repeat(400));
  })();
}

function hostCount(file: string, like = '%'): number {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) n FROM hosts WHERE name LIKE ?').get(like) as { n: number }).n;
  } finally {
    db.close();
  }
}

/**
 * Starts a second process that opens the workspace the way Patchdeck does and keeps writing
 * batches of 50 hosts, one transaction each, until killed. Resolves once it has written a batch.
 */
async function startWriter(file: string): Promise<ChildProcess> {
  const script = path.join(dir, 'writer.ts');
  fs.writeFileSync(
    script,
    `import { openWorkspace } from ${JSON.stringify(workspaceModule)};
const db = openWorkspace(${JSON.stringify(file)});
const insert = db.prepare("INSERT INTO hosts (name, notes, created_at, updated_at) VALUES (?, ?, 't', 't')");
let batch = 0;
const write = db.transaction(() => { for (let i = 0; i < 50; i++) insert.run('w' + batch + '-' + i, 'y'.repeat(300)); });
setInterval(() => { write(); batch++; if (batch === 1) process.stdout.write('writing\\n'); }, 2);
`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`writer exited ${code}: ${stderr}`)));
  });
  return child;
}

/** Overwrites the page header of the root page of `table` (a b-tree page) with garbage. */
function corruptTablePage(file: string, table: string): void {
  const db = new BetterSqlite3(file);
  const { rootpage } = db.prepare('SELECT rootpage FROM sqlite_schema WHERE name = ?').get(table) as {
    rootpage: number;
  };
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  db.close(); // the last connection checkpoints the WAL into the file
  expect(fs.existsSync(`${file}-wal`)).toBe(false);
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, Buffer.alloc(24, 0xa5), 0, 24, (rootpage - 1) * pageSize);
  fs.closeSync(fd);
}

function oldWorkspace(file: string, version: number): void {
  const db = new BetterSqlite3(file);
  db.pragma('journal_mode = WAL');
  db.pragma(`application_id = ${APPLICATION_ID}`);
  migrate(db, version);
  addHosts(db, 3, 'old');
  db.close();
}

describe('workspace backup', () => {
  it('makes a consistent 0600 copy while another process keeps writing to the workspace', async () => {
    const ws = path.join(dir, 'ws.sqlite');
    const db = createWorkspace(ws);
    addHosts(db, 24_000, 'seed'); // ≈ 3000 pages: several backup steps, so the writer forces restarts
    db.close();
    const writer = await startWriter(ws);
    const copies: string[] = [];
    for (let i = 0; i < 3; i++) {
      const info = await backupWorkspaceFile(ws, path.join(dir, `copy-${i}.sqlite`));
      copies.push(info.path);
      expect(info.schemaVersion).toBe(LATEST_SCHEMA_VERSION);
    }
    const writtenMeanwhile = hostCount(ws, 'w%');
    writer.kill('SIGKILL');
    let previous = 0;
    for (const copy of copies) {
      expect(mode(copy)).toBe(0o600);
      openWorkspace(copy).close(); // a backup is itself a workspace Patchdeck opens
      const check = new BetterSqlite3(copy, { readonly: true });
      expect(check.pragma('integrity_check', { simple: true })).toBe('ok');
      check.close();
      expect(hostCount(copy, 'seed%')).toBe(24_000);
      const written = hostCount(copy, 'w%');
      expect(written % 50).toBe(0); // whole transactions only: a snapshot, not a torn copy
      expect(written).toBeGreaterThanOrEqual(previous);
      previous = written;
    }
    expect(writtenMeanwhile).toBeGreaterThan(0);
    expect(fs.readdirSync(dir).filter((f) => f.includes('.partial-'))).toEqual([]);
  });

  it('writes into a 0700 backups folder when no file is named, and never overwrites a file', async () => {
    const prev = process.umask(0o022);
    try {
      const ws = path.join(dir, 'office.sqlite');
      createWorkspace(ws).close();
      const info = await backupWorkspaceFile(ws);
      expect(path.dirname(info.path)).toBe(path.join(dir, 'backups'));
      expect(path.basename(info.path)).toMatch(/^office-v\d+-\d{8}-\d{6}Z\.sqlite$/);
      expect(mode(path.join(dir, 'backups'))).toBe(0o700);
      expect(mode(info.path)).toBe(0o600);
      expect(listBackups(ws).map((b) => b.path)).toEqual([info.path]);
      const taken = path.join(dir, 'taken.sqlite');
      fs.writeFileSync(taken, 'mine');
      await expect(backupWorkspaceFile(ws, taken)).rejects.toThrow(/already exists/);
      expect(fs.readFileSync(taken, 'utf8')).toBe('mine');
    } finally {
      process.umask(prev);
    }
  });
});

describe('workspace restore', () => {
  it('replaces the workspace with the backup and keeps the replaced one as a .before-restore copy', async () => {
    const ws = path.join(dir, 'ws.sqlite');
    const db = createWorkspace(ws);
    addHosts(db, 2, 'backed-up');
    db.close();
    const backup = (await backupWorkspaceFile(ws, path.join(dir, 'b.sqlite'))).path;
    const again = openWorkspace(ws);
    addHosts(again, 5, 'later');
    again.close();

    const result = await restoreWorkspace(ws, backup);
    expect(hostCount(ws)).toBe(2);
    expect(result.previousCopy).toMatch(/ws\.sqlite\.before-restore-\d{8}-\d{6}Z$/);
    expect(hostCount(result.previousCopy!, 'later%')).toBe(5);
    expect(mode(result.previousCopy!)).toBe(0o600);
    expect(mode(ws)).toBe(0o600);
    openWorkspace(ws).close();
  });

  it('refuses a file that is not a Patchdeck workspace, or fails integrity_check, and leaves the workspace alone', async () => {
    const ws = path.join(dir, 'ws.sqlite');
    const db = createWorkspace(ws);
    addHosts(db, 300, 'keep');
    db.close();
    const text = path.join(dir, 'notes.txt');
    fs.writeFileSync(text, 'not a database at all, just some text');
    await expect(restoreWorkspace(ws, text)).rejects.toThrow(/not a Patchdeck workspace/);
    const other = path.join(dir, 'other.sqlite');
    new BetterSqlite3(other).exec('CREATE TABLE t (x)');
    await expect(restoreWorkspace(ws, other)).rejects.toThrow(/not a Patchdeck workspace/);
    const damaged = (await backupWorkspaceFile(ws, path.join(dir, 'damaged.sqlite'))).path;
    corruptTablePage(damaged, 'hosts');
    await expect(restoreWorkspace(ws, damaged)).rejects.toThrow(/fails SQLite's integrity check/);
    expect(hostCount(ws)).toBe(300);
    expect(fs.readdirSync(dir).filter((f) => f.includes('before-restore'))).toEqual([]);
  });

  it('refuses while another process has the workspace open', async () => {
    const ws = path.join(dir, 'ws.sqlite');
    createWorkspace(ws).close();
    const backup = (await backupWorkspaceFile(ws, path.join(dir, 'b.sqlite'))).path;
    const writer = await startWriter(ws);
    await expect(restoreWorkspace(ws, backup)).rejects.toThrow(/open in another Patchdeck process/);
    const before = hostCount(ws, 'w%');
    expect(before).toBeGreaterThan(0);
    writer.kill('SIGKILL');
    await new Promise((r) => writer.once('exit', r));
    expect(hostCount(ws, 'w%')).toBeGreaterThanOrEqual(before); // nothing was replaced
    await restoreWorkspace(ws, backup); // once it is closed (here: killed), restore goes ahead
    expect(hostCount(ws)).toBe(0);
  });
});

describe('damaged workspaces', () => {
  it('refuses to open a workspace with a corrupt b-tree page and names the last good backup', async () => {
    const ws = path.join(dir, 'ws.sqlite');
    const db = createWorkspace(ws);
    addHosts(db, 300, 'h');
    db.close();
    const good = (await backupWorkspaceFile(ws)).path;
    corruptTablePage(ws, 'hosts');
    let message = '';
    try {
      openWorkspace(ws).close();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain(`${ws} is damaged and was not opened`);
    expect(message).toContain(`The last good backup is ${good}`);
    expect(message).toContain(`workspace restore ${good}`);

    const { previousCopy } = await restoreWorkspace(ws, good);
    expect(fs.existsSync(previousCopy!)).toBe(true);
    expect(hostCount(ws)).toBe(300);
    openWorkspace(ws).close();
  });

  it('says when there is no backup to restore', () => {
    const ws = path.join(dir, 'ws.sqlite');
    const db = createWorkspace(ws);
    addHosts(db, 300, 'h');
    db.close();
    corruptTablePage(ws, 'hosts');
    expect(() => openWorkspace(ws)).toThrow(/is damaged and was not opened .*No good backup was found in/);
  });
});

describe('backup before a migration', () => {
  it('copies an older workspace into backups/ before migrating it, and keeps the last few', () => {
    const prev = process.umask(0o022);
    try {
      const ws = path.join(dir, 'ws.sqlite');
      oldWorkspace(ws, 1);
      openWorkspace(ws).close();
      const [first, ...rest] = listBackups(ws);
      expect(rest).toEqual([]);
      expect(first!.kind).toBe('before-migration');
      expect(path.basename(first!.path)).toMatch(/^ws-v1-\d{8}-\d{6}Z-before-migration\.sqlite$/);
      expect(mode(path.join(dir, 'backups'))).toBe(0o700);
      expect(mode(first!.path)).toBe(0o600);
      const copy = new BetterSqlite3(first!.path, { readonly: true });
      expect(copy.pragma('user_version', { simple: true })).toBe(1);
      expect(copy.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
      expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
      copy.close();
      expect(hostCount(first!.path, 'old%')).toBe(3);

      openWorkspace(ws).close(); // already the latest schema: no new copy
      expect(listBackups(ws)).toHaveLength(1);

      // A fresh workspace (user_version 0 before its first migration) is not backed up.
      createWorkspace(path.join(dir, 'new.sqlite')).close();
      expect(listBackups(path.join(dir, 'new.sqlite'))).toEqual([]);

      for (let i = 0; i < KEPT_MIGRATION_BACKUPS + 2; i++) {
        for (const f of [ws, `${ws}-wal`, `${ws}-shm`]) fs.rmSync(f, { force: true });
        oldWorkspace(ws, 2);
        openWorkspace(ws).close();
      }
      const kept = listBackups(ws);
      expect(kept).toHaveLength(KEPT_MIGRATION_BACKUPS);
      expect(kept.every((b) => /-v2-/.test(b.path))).toBe(true); // the oldest (the v1 copy) went first
    } finally {
      process.umask(prev);
    }
  });
});
