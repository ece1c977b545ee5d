import { describe, expect, it } from 'vitest';
import { createMemoryWorkspace, migrate } from '../workspace';
import Database from 'better-sqlite3';

describe('migration 013 (advisories)', () => {
  it('replaces the unused advisories placeholder and keeps findings written before it', () => {
    const db = new Database(':memory:');
    migrate(db, 12);
    db.exec(
      `INSERT INTO hosts (name, address, created_at, updated_at) VALUES ('lab01', '198.18.0.11', '2026-11-01', '2026-11-01')`,
    );
    db.exec(
      `INSERT INTO audits (host_id, status, started_at) VALUES (1, 'succeeded', '2026-11-01T00:00:00.000Z')`,
    );
    db.exec(
      `INSERT INTO findings (audit_id, host_id, package, available_version) VALUES (1, 1, 'acme-tool', '1.1')`,
    );
    migrate(db, 13);
    const row = db.prepare('SELECT package, cves, kev, tier, source_package FROM findings').get();
    expect(row).toEqual({ package: 'acme-tool', cves: '[]', kev: 0, tier: null, source_package: null });
    expect(() => db.prepare('SELECT advisory_id FROM advisories').all()).not.toThrow();
  });

  it('refuses an exception without what its scope names, and a tier that is not one', () => {
    const db = createMemoryWorkspace();
    const insert = (scope: string, cve: string | null, pkg: string | null) =>
      db
        .prepare(
          `INSERT INTO finding_exceptions (scope, decision, package, cve, reason, owner, expires_at, created_at, created_by)
           VALUES (?, 'accept', ?, ?, 'no fix for our use', 'owner', '2027-01-01', '2026-12-01', 'admin')`,
        )
        .run(scope, pkg, cve);
    expect(() => insert('cve', null, null)).toThrow(/CHECK/);
    expect(() => insert('package', null, null)).toThrow(/CHECK/);
    expect(() => insert('cve', 'CVE-2024-1234', null)).not.toThrow();
    expect(() => db.exec(`UPDATE findings SET tier = 'urgent'`)).not.toThrow(); // no rows
    db.exec(
      `INSERT INTO hosts (name, address, created_at, updated_at) VALUES ('lab01', '198.18.0.11', '2026-11-01', '2026-11-01')`,
    );
    db.exec(`INSERT INTO audits (host_id, status, started_at) VALUES (1, 'succeeded', '2026-11-01')`);
    db.exec(
      `INSERT INTO findings (audit_id, host_id, package, available_version) VALUES (1, 1, 'acme-tool', '1.1')`,
    );
    expect(() => db.exec(`UPDATE findings SET tier = 'urgent'`)).toThrow(/CHECK/);
  });
});
