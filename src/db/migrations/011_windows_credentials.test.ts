import { describe, expect, it } from 'vitest';
import { createMemoryWorkspace, migrate, schemaVersion } from '../workspace';

describe('migration 011 (windows credentials)', () => {
  it('allows the windows kind and keeps every credential, its id and the hosts that chose it', () => {
    const db = createMemoryWorkspace(10);
    const secret = Buffer.from([1, 2, 3, 4]);
    db.prepare(
      `INSERT INTO credentials (id, name, username, kind, secret_ciphertext, sudo_password_ciphertext, scope, trust_on_first_use, created_at, updated_at)
       VALUES (5, 'ops', 'root', 'password', ?, ?, '["*"]', 0, 't1', 't2'), (8, 'deploy', 'deploy', 'agent', NULL, NULL, '["tag:web"]', 1, 't3', 't4')`,
    ).run(secret, secret);
    expect(() =>
      db
        .prepare(
          `INSERT INTO credentials (name, username, kind, created_at, updated_at) VALUES ('w', 'PATCHDECK\\alice', 'windows', 't', 't')`,
        )
        .run(),
    ).toThrow(/CHECK/);
    db.prepare(
      `INSERT INTO hosts (id, name, address, names, credential_id, created_at, updated_at) VALUES (1, 'web01', '198.18.0.2', '[]', 8, 't', 't'), (2, 'web02', '198.18.0.3', '[]', NULL, 't', 't')`,
    ).run();

    migrate(db, 11);
    expect(schemaVersion(db)).toBeGreaterThanOrEqual(11);
    expect(db.prepare('SELECT * FROM credentials ORDER BY id').all()).toEqual([
      {
        id: 5,
        name: 'ops',
        username: 'root',
        kind: 'password',
        secret_ciphertext: secret,
        passphrase_ciphertext: null,
        sudo_password_ciphertext: secret,
        scope: '["*"]',
        created_at: 't1',
        updated_at: 't2',
        trust_on_first_use: 0,
      },
      {
        id: 8,
        name: 'deploy',
        username: 'deploy',
        kind: 'agent',
        secret_ciphertext: null,
        passphrase_ciphertext: null,
        sudo_password_ciphertext: null,
        scope: '["tag:web"]',
        created_at: 't3',
        updated_at: 't4',
        trust_on_first_use: 1,
      },
    ]);
    // The host keeps the credential it chose (the drop of the old table set it to NULL).
    expect(db.prepare('SELECT id, credential_id FROM hosts ORDER BY id').all()).toEqual([
      { id: 1, credential_id: 8 },
      { id: 2, credential_id: null },
    ]);
    db.prepare(
      `INSERT INTO credentials (name, username, kind, created_at, updated_at) VALUES ('w', 'PATCHDECK\\alice', 'windows', 't', 't')`,
    ).run();
    expect(() =>
      db
        .prepare(
          `INSERT INTO credentials (name, username, kind, created_at, updated_at) VALUES ('x', 'a', 'other', 't', 't')`,
        )
        .run(),
    ).toThrow(/CHECK/);
    // The foreign key still works: removing a credential clears it from its hosts, and a host
    // cannot name a credential that does not exist.
    db.prepare('DELETE FROM credentials WHERE id = 8').run();
    expect(db.prepare('SELECT credential_id FROM hosts WHERE id = 1').get()).toEqual({ credential_id: null });
    expect(() => db.prepare('UPDATE hosts SET credential_id = 99 WHERE id = 2').run()).toThrow(/FOREIGN KEY/);
    expect(db.pragma('foreign_key_check')).toEqual([]);
    expect(db.prepare(`SELECT name FROM sqlite_master WHERE name LIKE '%011%'`).all()).toEqual([]);
  });
});
