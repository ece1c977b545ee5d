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
    const pin = db.prepare(
      `INSERT INTO host_keys (host_id, key_type, fingerprint, status, trusted_at, trusted_by) VALUES (?, 'ssh-ed25519', ?, 'trusted', 't', 'admin')`,
    );
    const log = db.prepare(
      `INSERT INTO audit_log (at, actor, action, entity_type, entity_id, details) VALUES ('t', 'admin', 'host-key.trust', 'host', ?, ?)`,
    );
    pin.run(3, 'SHA256:auto');
    log.run('3', JSON.stringify({ fingerprint: 'SHA256:auto', reason: 'trust on first use' }));
    pin.run(4, 'SHA256:explicit');
    log.run('4', JSON.stringify({ fingerprint: 'SHA256:explicit', reason: null }));
    migrate(db, 4);
    // Earlier versions pinned every new host's key on first use, whatever the credential: those
    // pins lose their power to carry a password until an admin reviews them.
    expect(db.prepare('SELECT fingerprint, reviewed FROM host_keys ORDER BY id').all()).toEqual([
      { fingerprint: 'SHA256:auto', reviewed: 0 },
      { fingerprint: 'SHA256:explicit', reviewed: 1 },
    ]);
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
