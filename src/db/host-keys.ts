import type { Database } from 'better-sqlite3';
import { appendAuditLog } from './audit-log';
import { now } from './time';

export interface PinnedHostKey {
  id: number;
  hostId: number;
  type: string;
  fingerprint: string;
  publicKey: string | null;
  trustedAt: string;
  trustedBy: string;
}

type Row = Record<string, unknown>;
const toKey = (row: Row): PinnedHostKey => ({
  id: row.id as number,
  hostId: row.host_id as number,
  type: row.key_type as string,
  fingerprint: row.fingerprint as string,
  publicKey: (row.public_key as string | null) ?? null,
  trustedAt: row.trusted_at as string,
  trustedBy: row.trusted_by as string,
});

export function listTrustedKeys(db: Database, hostId: number): PinnedHostKey[] {
  return (
    db
      .prepare(`SELECT * FROM host_keys WHERE host_id = ? AND status = 'trusted' ORDER BY id`)
      .all(hostId) as Row[]
  ).map(toKey);
}

/**
 * Pins a host key. `replace` revokes every key trusted before (an explicit re-trust after a
 * change); both the trust and the revocation are recorded in the append-only audit log.
 */
export function trustHostKey(
  db: Database,
  input: {
    hostId: number;
    type: string;
    fingerprint: string;
    publicKey?: string | null;
    actor: string;
    replace?: boolean;
    reason?: string;
  },
): PinnedHostKey {
  return db.transaction(() => {
    const previous = listTrustedKeys(db, input.hostId);
    const same = previous.find((k) => k.fingerprint === input.fingerprint);
    if (same && !input.replace) return same;
    if (input.replace && previous.length) {
      db.prepare(`UPDATE host_keys SET status = 'revoked' WHERE host_id = ? AND status = 'trusted'`).run(
        input.hostId,
      );
    }
    const id = Number(
      db
        .prepare(
          `INSERT INTO host_keys (host_id, key_type, fingerprint, public_key, status, trusted_at, trusted_by) VALUES (?, ?, ?, ?, 'trusted', ?, ?)`,
        )
        .run(input.hostId, input.type, input.fingerprint, input.publicKey ?? null, now(), input.actor)
        .lastInsertRowid,
    );
    appendAuditLog(db, {
      actor: input.actor,
      action: previous.length && input.replace ? 'host-key.retrust' : 'host-key.trust',
      entityType: 'host',
      entityId: input.hostId,
      details: {
        type: input.type,
        fingerprint: input.fingerprint,
        replaced: input.replace ? previous.map((k) => k.fingerprint) : [],
        reason: input.reason ?? null,
      },
    });
    return toKey(db.prepare('SELECT * FROM host_keys WHERE id = ?').get(id) as Row);
  })();
}
