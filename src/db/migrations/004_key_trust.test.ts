import { describe, expect, it } from 'vitest';
import { createMemoryWorkspace, migrate, schemaVersion } from '../workspace';

describe('migration 004 (host key trust)', () => {
  it('marks hosts an earlier version created from an imported file offline only, and nothing else', () => {
    const db = createMemoryWorkspace(3);
    const host = db.prepare(
      `INSERT INTO hosts (id, name, address, first_seen, created_at, updated_at) VALUES (?, ?, ?, ?, 't', 't')`,
    );
    host.run(1, 'imported', null, null);
    host.run(2, 'typed-by-name', null, null);
    host.run(3, 'scanned', '198.18.0.3', 't');
    host.run(4, 'imported-then-audited', null, null);
    const audit = db.prepare(
      `INSERT INTO audits (host_id, status, source, started_at) VALUES (?, 'succeeded', ?, 't')`,
    );
    audit.run(1, 'import');
    audit.run(3, 'import');
    audit.run(4, 'import');
    audit.run(4, 'ssh');
    db.prepare(
      `INSERT INTO credentials (name, username, kind, created_at, updated_at) VALUES ('c', 'u', 'agent', 't', 't')`,
    ).run();
    migrate(db, 4);
    expect(schemaVersion(db)).toBe(4);
    expect(db.prepare('SELECT id, offline_only FROM hosts ORDER BY id').all()).toEqual([
      { id: 1, offline_only: 1 },
      { id: 2, offline_only: 0 },
      { id: 3, offline_only: 0 },
      { id: 4, offline_only: 0 },
    ]);
    expect(db.prepare('SELECT trust_on_first_use FROM credentials').get()).toEqual({ trust_on_first_use: 0 });
    db.prepare(
      `INSERT INTO host_key_sightings (host_id, key_type, fingerprint, source, seen_at) VALUES (1, 'ssh-ed25519', 'SHA256:x', 'scan', 't')`,
    ).run();
    expect(() =>
      db
        .prepare(
          `INSERT INTO host_key_sightings (host_id, key_type, fingerprint, source, seen_at) VALUES (1, 'ssh-ed25519', 'SHA256:y', 'dns', 't')`,
        )
        .run(),
    ).toThrow(/CHECK/);
    db.prepare('DELETE FROM hosts WHERE id = 1').run();
    expect((db.prepare('SELECT count(*) n FROM host_key_sightings').get() as { n: number }).n).toBe(0);
  });
});
