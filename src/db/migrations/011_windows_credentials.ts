import type { Migration } from './types';

/**
 * Issue 12: a Windows credential kind (`DOMAIN\user`, `.\user` or `user@realm` with a password)
 * for WinRM. `credentials.kind` had a CHECK of the three SSH kinds, and SQLite cannot change a
 * CHECK in place, so the table is rebuilt with `'windows'` allowed; every row, id and column is
 * kept. Dropping the old table runs its `ON DELETE SET NULL` on `hosts.credential_id` (foreign
 * keys cannot be switched off inside the migration's transaction), so each host's chosen
 * credential is kept aside first and put back after the rename.
 */
export const migration011: Migration = {
  version: 11,
  name: 'windows credentials',
  up(db) {
    db.exec(`
      CREATE TEMP TABLE migration011_host_credentials AS
        SELECT id, credential_id FROM hosts WHERE credential_id IS NOT NULL;
      CREATE TABLE credentials_011 (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        username TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('password','key','agent','windows')),
        -- Ciphertext only: secrets are sealed through Platform before they reach this table.
        secret_ciphertext BLOB,
        passphrase_ciphertext BLOB,
        sudo_password_ciphertext BLOB,
        scope TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        trust_on_first_use INTEGER NOT NULL DEFAULT 0
      ) STRICT;
      INSERT INTO credentials_011 (id, name, username, kind, secret_ciphertext, passphrase_ciphertext,
          sudo_password_ciphertext, scope, created_at, updated_at, trust_on_first_use)
        SELECT id, name, username, kind, secret_ciphertext, passphrase_ciphertext,
          sudo_password_ciphertext, scope, created_at, updated_at, trust_on_first_use FROM credentials;
      DROP TABLE credentials;
      ALTER TABLE credentials_011 RENAME TO credentials;
      UPDATE hosts SET credential_id = (
          SELECT k.credential_id FROM migration011_host_credentials k WHERE k.id = hosts.id)
        WHERE id IN (SELECT id FROM migration011_host_credentials);
      DROP TABLE migration011_host_credentials;
    `);
  },
};
