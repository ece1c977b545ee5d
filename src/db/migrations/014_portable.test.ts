import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate } from '../workspace';

describe('migration 014 (portable)', () => {
  it('gives each workspace its own uuid and keeps jobs written before it', () => {
    const make = () => {
      const db = new Database(':memory:');
      migrate(db, 13);
      db.exec(
        `INSERT INTO patch_jobs (name, status, selection, reboot_policy, created_at) VALUES ('j', 'approved', '{}', 'never', '2026-11-01')`,
      );
      migrate(db, 14);
      return db;
    };
    const a = make();
    const b = make();
    const uuidOf = (db: Database.Database) =>
      (db.prepare('SELECT uuid FROM workspace_meta').get() as { uuid: string }).uuid;
    expect(uuidOf(a)).toMatch(/^[0-9a-f-]{36}$/);
    expect(uuidOf(a)).not.toBe(uuidOf(b));
    expect(a.prepare('SELECT status, handed_off_to FROM patch_jobs').get()).toEqual({
      status: 'approved',
      handed_off_to: null,
    });
    expect(() =>
      a.exec(`INSERT INTO workspace_meta (singleton, uuid, created_at) VALUES (2, 'x', 'y')`),
    ).toThrow();
  });
});
