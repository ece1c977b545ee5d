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
    db.prepare(`DELETE FROM host_key_sightings WHERE host_id = ? AND (fingerprint = ? OR ? = 1)`).run(
      input.hostId,
      input.fingerprint,
      input.replace ? 1 : 0,
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

/** A key Patchdeck saw on a host (scan, probe, refused connection) that nobody has pinned. */
export interface HostKeySighting {
  hostId: number;
  type: string;
  fingerprint: string;
  publicKey: string | null;
  source: 'scan' | 'probe' | 'connect';
  address: string | null;
  seenAt: string;
}

const toSighting = (row: Row): HostKeySighting => ({
  hostId: row.host_id as number,
  type: row.key_type as string,
  fingerprint: row.fingerprint as string,
  publicKey: (row.public_key as string | null) ?? null,
  source: row.source as HostKeySighting['source'],
  address: (row.address as string | null) ?? null,
  seenAt: row.seen_at as string,
});

/**
 * Records a key a host presented. A key that is already pinned for the host is not a sighting;
 * the same key seen again only refreshes when and where.
 */
export function recordHostKeySighting(
  db: Database,
  input: Omit<HostKeySighting, 'seenAt'> & { seenAt?: string },
): void {
  const pinned = db
    .prepare(`SELECT 1 FROM host_keys WHERE host_id = ? AND fingerprint = ? AND status = 'trusted'`)
    .get(input.hostId, input.fingerprint);
  if (pinned) return;
  db.prepare(
    `INSERT INTO host_key_sightings (host_id, key_type, fingerprint, public_key, source, address, seen_at)
     VALUES (@hostId, @type, @fingerprint, @publicKey, @source, @address, @seenAt)
     ON CONFLICT (host_id, fingerprint) DO UPDATE SET
       source = excluded.source, address = excluded.address, seen_at = excluded.seen_at,
       public_key = coalesce(excluded.public_key, host_key_sightings.public_key)`,
  ).run({ ...input, publicKey: input.publicKey ?? null, seenAt: input.seenAt ?? now() });
}

/** Unpinned keys, newest first: every host's (or one host's) keys awaiting the admin's review. */
export function listHostKeySightings(db: Database, hostId?: number): HostKeySighting[] {
  return (
    db
      .prepare(
        `SELECT s.* FROM host_key_sightings s
         WHERE (@hostId IS NULL OR s.host_id = @hostId)
           AND NOT EXISTS (SELECT 1 FROM host_keys k WHERE k.host_id = s.host_id AND k.fingerprint = s.fingerprint AND k.status = 'trusted')
         ORDER BY s.seen_at DESC, s.host_id`,
      )
      .all({ hostId: hostId ?? null }) as Row[]
  ).map(toSighting);
}

/** Whether a host's SSH identity is settled: pinned, awaiting review, changed since pinned, or unknown. */
export function hostKeyTrust(db: Database, hostId: number): 'trusted' | 'pending' | 'changed' | 'none' {
  const pinned = listTrustedKeys(db, hostId).length > 0;
  const seen = listHostKeySightings(db, hostId).length > 0;
  return pinned ? (seen ? 'changed' : 'trusted') : seen ? 'pending' : 'none';
}

/**
 * Pins a key the admin reviewed. Any pin settles the host's identity, so its other sightings
 * are dropped (a changed key re-trusted, or the one key of several the admin chose).
 */
export function trustReviewedKey(
  db: Database,
  input: { hostId: number; fingerprint: string; actor: string; replace: boolean; reason: string },
): PinnedHostKey {
  return db.transaction(() => {
    const sighting = db
      .prepare('SELECT * FROM host_key_sightings WHERE host_id = ? AND fingerprint = ?')
      .get(input.hostId, input.fingerprint) as Row | undefined;
    const known = listTrustedKeys(db, input.hostId).find((k) => k.fingerprint === input.fingerprint);
    if (!sighting && known) return known;
    if (!sighting) throw new Error(`no sighting of ${input.fingerprint} for host ${input.hostId}`);
    const s = toSighting(sighting);
    const pinned = trustHostKey(db, {
      hostId: input.hostId,
      type: s.type,
      fingerprint: s.fingerprint,
      publicKey: s.publicKey,
      actor: input.actor,
      replace: input.replace,
      reason: `${input.reason} (seen by ${s.source} at ${s.address ?? 'unknown address'}, ${s.seenAt})`,
    });
    db.prepare('DELETE FROM host_key_sightings WHERE host_id = ?').run(input.hostId);
    return pinned;
  })();
}
