import { describe, expect, it } from 'vitest';
import { createMemoryWorkspace, schemaVersion } from '../workspace';

describe('migration 001 (initial schema)', () => {
  it('creates every domain table with foreign keys enforced', () => {
    const db = createMemoryWorkspace(1);
    expect(schemaVersion(db)).toBe(1);
    const tables = (
      db.prepare(`SELECT name FROM sqlite_master WHERE type='table' ORDER BY name`).all() as {
        name: string;
      }[]
    ).map((r) => r.name);
    for (const table of [
      'advisories',
      'audit_log',
      'audits',
      'credentials',
      'findings',
      'host_addresses',
      'host_keys',
      'hosts',
      'job_events',
      'job_steps',
      'networks',
      'patch_jobs',
      'scans',
      'settings',
      'tasks',
    ]) {
      expect(tables).toContain(table);
    }
    expect(() =>
      db
        .prepare(
          `INSERT INTO host_addresses (host_id, address, first_seen, last_seen) VALUES (999, 'x', 'a', 'a')`,
        )
        .run(),
    ).toThrow(/FOREIGN KEY/);
  });

  it('keeps the audit log append-only', () => {
    const db = createMemoryWorkspace(1);
    db.prepare(`INSERT INTO audit_log (at, actor, action) VALUES ('t', 'admin', 'host.trust')`).run();
    expect(() => db.prepare(`UPDATE audit_log SET actor = 'mallory'`).run()).toThrow(/append-only/);
    expect(() => db.prepare(`DELETE FROM audit_log`).run()).toThrow(/append-only/);
  });

  it('cascades host deletion to addresses, audits and findings', () => {
    const db = createMemoryWorkspace(1);
    db.prepare(`INSERT INTO hosts (id, name, created_at, updated_at) VALUES (1, 'h', 't', 't')`).run();
    db.prepare(
      `INSERT INTO host_addresses (host_id, address, first_seen, last_seen) VALUES (1, '198.18.0.11', 't', 't')`,
    ).run();
    db.prepare(`INSERT INTO audits (id, host_id, status, started_at) VALUES (1, 1, 'succeeded', 't')`).run();
    db.prepare(
      `INSERT INTO findings (audit_id, host_id, package, available_version) VALUES (1, 1, 'p', '2')`,
    ).run();
    db.prepare('DELETE FROM hosts WHERE id = 1').run();
    for (const table of ['host_addresses', 'audits', 'findings']) {
      expect((db.prepare(`SELECT count(*) n FROM ${table}`).get() as { n: number }).n).toBe(0);
    }
  });
});
