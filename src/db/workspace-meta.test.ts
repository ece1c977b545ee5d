import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createWorkspace, openWorkspace } from './workspace';
import { cleanSiteName, readWorkspaceMeta, setSiteName } from './workspace-meta';

const dirs: string[] = [];
function tempFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-meta-'));
  dirs.push(dir);
  return path.join(dir, 'ws.patchdeck');
}
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('workspace meta', () => {
  it('gives each new workspace its own uuid, kept across reopening, and an empty site name', () => {
    const a = tempFile();
    const b = tempFile();
    const dbA = createWorkspace(a);
    const dbB = createWorkspace(b);
    const metaA = readWorkspaceMeta(dbA);
    expect(metaA.uuid).toMatch(/^[0-9a-f-]{36}$/u);
    expect(metaA.siteName).toBe('');
    expect(readWorkspaceMeta(dbB).uuid).not.toBe(metaA.uuid);
    dbA.close();
    dbB.close();
    const again = openWorkspace(a);
    expect(readWorkspaceMeta(again)).toEqual(metaA);
    again.close();
  });

  it('stores a cleaned site name and reads it back', () => {
    const db = createWorkspace(tempFile());
    expect(setSiteName(db, '  Dental\nPractice\u202e  Ltd\t')).toBe('Dental Practice Ltd');
    expect(readWorkspaceMeta(db).siteName).toBe('Dental Practice Ltd');
    expect(setSiteName(db, '')).toBe('');
    expect(readWorkspaceMeta(db).siteName).toBe('');
    db.close();
  });

  it('refuses a name longer than 200 characters after cleaning', () => {
    const db = createWorkspace(tempFile());
    expect(() => setSiteName(db, 'x'.repeat(201))).toThrow(/at most 200/u);
    db.close();
  });

  it('recreates a missing row on a writable file, and reads an empty one read-only', () => {
    const file = tempFile();
    const db = createWorkspace(file);
    db.prepare('DELETE FROM workspace_meta').run();
    db.close();
    const ro = new BetterSqlite3(file, { readonly: true });
    expect(readWorkspaceMeta(ro).uuid).toBe('');
    ro.close();
    const rw = openWorkspace(file);
    expect(readWorkspaceMeta(rw).uuid).toMatch(/^[0-9a-f-]{36}$/u);
    rw.close();
  });

  it('turns control and format characters into spaces', () => {
    expect(cleanSiteName('\u0000a\u0007b\u2028c')).toBe('a b c');
    expect(cleanSiteName(' \t'.repeat(100_000))).toBe('');
  });
});
