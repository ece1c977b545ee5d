import type { Migration } from './types';

/**
 * The trust rule (issue 9): no secret goes to a host whose SSH key the admin has not pinned.
 * - `host_key_sightings`: keys Patchdeck has seen (a scan, a probe, a refused connection) but
 *   nobody has trusted yet, so the admin can review their fingerprints and pin them.
 * - `hosts.offline_only`: a host created from an imported collection file has no connection
 *   target until an admin confirms an address; audits skip it.
 * - `credentials.trust_on_first_use`: an explicit, per-credential opt-in (key-only credentials,
 *   off by default) to pin a new host's key on first contact.
 * - `host_keys.reviewed`: 0 for a key pinned automatically on first use (by a key-only
 *   credential, or by an earlier version's audits, which did it for every credential). Such a
 *   pin keeps key-only logins going, but no password is sent until an admin reviews it.
 */
export const migration004: Migration = {
  version: 4,
  name: 'host key trust',
  up(db) {
    db.exec(`
      CREATE TABLE host_key_sightings (
        host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE,
        key_type TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        public_key TEXT,
        source TEXT NOT NULL CHECK (source IN ('scan','probe','connect')),
        address TEXT,
        seen_at TEXT NOT NULL,
        PRIMARY KEY (host_id, fingerprint)
      ) STRICT;
      ALTER TABLE hosts ADD COLUMN offline_only INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE host_keys ADD COLUMN reviewed INTEGER NOT NULL DEFAULT 1;
      ALTER TABLE credentials ADD COLUMN trust_on_first_use INTEGER NOT NULL DEFAULT 0;
    `);
    db.exec(`
      UPDATE host_keys SET reviewed = 0
      WHERE EXISTS (
        SELECT 1 FROM audit_log l
        WHERE l.action = 'host-key.trust' AND l.entity_type = 'host' AND l.entity_id = CAST(host_keys.host_id AS TEXT)
          AND json_extract(l.details, '$.fingerprint') = host_keys.fingerprint
          AND json_extract(l.details, '$.reason') = 'trust on first use'
      )
    `);
    // Hosts an earlier version created from an imported file: no address, never seen on the
    // network, and every audit of theirs is an import. They lose their DNS-name fallback.
    db.exec(`
      UPDATE hosts SET offline_only = 1
      WHERE address IS NULL AND first_seen IS NULL
        AND NOT EXISTS (SELECT 1 FROM host_addresses a WHERE a.host_id = hosts.id)
        AND EXISTS (SELECT 1 FROM audits WHERE audits.host_id = hosts.id)
        AND NOT EXISTS (SELECT 1 FROM audits WHERE audits.host_id = hosts.id AND audits.source <> 'import')
    `);
  },
};
