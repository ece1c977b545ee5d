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
  /** False for a key pinned automatically on first use: good for key-only logins, never for a password. */
  reviewed: boolean;
}

/**
 * The pin types of a WinRM endpoint: its TLS certificate (HTTPS; fingerprint `SHA256:…` of the
 * DER, public_key its PEM) and the names its NTLM challenge announced (HTTP; fingerprint
 * `ntlm:WIN1.PATCHDECK.TEST/PATCHDECK`, no public key). Every other type is an SSH host key.
 */
export const WINRM_KEY_TYPES = ['x509-certificate', 'ntlm-identity'] as const;
export type WinrmKeyType = (typeof WINRM_KEY_TYPES)[number];

/**
 * Which identity a key belongs to: a host has one SSH identity and one WinRM identity, pinned,
 * reviewed and replaced separately: a WinRM pin never replaces an SSH key, nor the reverse.
 */
export type KeyFamily = 'ssh' | 'winrm';
export function keyFamilyOf(type: string): KeyFamily {
  return (WINRM_KEY_TYPES as readonly string[]).includes(type) ? 'winrm' : 'ssh';
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
  reviewed: row.reviewed !== 0,
});

/** The host's pinned keys, of one family (ssh or winrm) or of both. */
export function listTrustedKeys(db: Database, hostId: number, family?: KeyFamily): PinnedHostKey[] {
  return (
    db
      .prepare(`SELECT * FROM host_keys WHERE host_id = ? AND status = 'trusted' ORDER BY id`)
      .all(hostId) as Row[]
  )
    .map(toKey)
    .filter((k) => family === undefined || keyFamilyOf(k.type) === family);
}

/**
 * The fingerprints of a host's WinRM pins of one type that an admin reviewed: the only ones a
 * connection that sends a password may accept (a WinRM pin is never made on first use).
 */
export function reviewedPinsOf(
  db: Database,
  hostId: number,
  type: 'x509-certificate' | 'ntlm-identity',
): string[] {
  return listTrustedKeys(db, hostId, 'winrm')
    .filter((k) => k.type === type && k.reviewed)
    .map((k) => k.fingerprint);
}

/**
 * Pins a host key. `replace` revokes every key of its family trusted before (an explicit re-trust
 * after a change; an SSH key and a WinRM certificate or NTLM identity never replace each other);
 * both the trust and the revocation are recorded in the append-only audit log.
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
    /** False: pinned automatically on first use, not by an admin who checked the fingerprint. */
    reviewed?: boolean;
  },
): PinnedHostKey {
  const reviewed = input.reviewed !== false;
  const family = keyFamilyOf(input.type);
  return db.transaction(() => {
    const previous = listTrustedKeys(db, input.hostId, family);
    const same = previous.find((k) => k.fingerprint === input.fingerprint);
    if (same && reviewed && !same.reviewed) {
      // An admin vouches for a key that was pinned on first use.
      db.prepare('UPDATE host_keys SET reviewed = 1 WHERE id = ?').run(same.id);
      db.prepare('DELETE FROM host_key_sightings WHERE host_id = ? AND fingerprint = ?').run(
        input.hostId,
        input.fingerprint,
      );
      appendAuditLog(db, {
        actor: input.actor,
        action: 'host-key.review',
        entityType: 'host',
        entityId: input.hostId,
        details: { type: same.type, fingerprint: same.fingerprint, reason: input.reason ?? null },
      });
      return { ...same, reviewed: true };
    }
    if (same && !input.replace) return same;
    if (input.replace && previous.length) {
      const revoke = db.prepare(`UPDATE host_keys SET status = 'revoked' WHERE id = ?`);
      for (const k of previous) revoke.run(k.id);
    }
    const id = Number(
      db
        .prepare(
          `INSERT INTO host_keys (host_id, key_type, fingerprint, public_key, status, trusted_at, trusted_by, reviewed) VALUES (?, ?, ?, ?, 'trusted', ?, ?, ?)`,
        )
        .run(
          input.hostId,
          input.type,
          input.fingerprint,
          input.publicKey ?? null,
          now(),
          input.actor,
          reviewed ? 1 : 0,
        ).lastInsertRowid,
    );
    // A re-trust settles the family's identity: its other sightings go (the other family's stay).
    const dropSightings = db.prepare(
      `DELETE FROM host_key_sightings WHERE host_id = ? AND key_type = ? AND (fingerprint = ? OR ? = 1)`,
    );
    for (const type of typesOfFamily(db, input.hostId, family))
      dropSightings.run(input.hostId, type, input.fingerprint, input.replace ? 1 : 0);
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
        reviewed,
      },
    });
    return toKey(db.prepare('SELECT * FROM host_keys WHERE id = ?').get(id) as Row);
  })();
}

/** The key types of a family among a host's sightings (SSH has many types, WinRM two). */
function typesOfFamily(db: Database, hostId: number, family: KeyFamily): string[] {
  const types = (
    db.prepare('SELECT DISTINCT key_type FROM host_key_sightings WHERE host_id = ?').all(hostId) as {
      key_type: string;
    }[]
  ).map((r) => r.key_type);
  return types.filter((t) => keyFamilyOf(t) === family);
}

/** A key Patchdeck saw on a host (scan, probe, refused connection) that nobody has pinned. */
export interface HostKeySighting {
  hostId: number;
  type: string;
  fingerprint: string;
  publicKey: string | null;
  /** first-use: not a sighting but a key pinned automatically, awaiting the admin's review. */
  source: 'scan' | 'probe' | 'connect' | 'first-use';
  address: string | null;
  seenAt: string;
}

/** At most this many unpinned keys are kept per host (a host can present a new key every time). */
const MAX_SIGHTINGS_PER_HOST = 10;

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
  input: Omit<HostKeySighting, 'seenAt' | 'source'> & {
    seenAt?: string;
    source: Exclude<HostKeySighting['source'], 'first-use'>;
  },
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
  db.prepare(
    `DELETE FROM host_key_sightings WHERE host_id = @hostId AND fingerprint NOT IN (
       SELECT fingerprint FROM host_key_sightings WHERE host_id = @hostId ORDER BY seen_at DESC, fingerprint LIMIT @max)`,
  ).run({ hostId: input.hostId, max: MAX_SIGHTINGS_PER_HOST });
}

/**
 * Keys awaiting the admin's review, newest first: keys seen but not pinned, and keys pinned
 * automatically on first use that nobody has reviewed. A host can have several (a changed key,
 * or two machines answering for one host — the signature of an attack): all are listed.
 */
export function listHostKeySightings(db: Database, hostId?: number): HostKeySighting[] {
  return (
    db
      .prepare(
        `SELECT host_id, key_type, fingerprint, public_key, source, address, seen_at FROM host_key_sightings s
         WHERE (@hostId IS NULL OR s.host_id = @hostId)
           AND NOT EXISTS (SELECT 1 FROM host_keys k WHERE k.host_id = s.host_id AND k.fingerprint = s.fingerprint AND k.status = 'trusted')
         UNION ALL
         SELECT host_id, key_type, fingerprint, public_key, 'first-use' AS source, NULL AS address, trusted_at AS seen_at
         FROM host_keys WHERE status = 'trusted' AND reviewed = 0 AND (@hostId IS NULL OR host_id = @hostId)
         ORDER BY seen_at DESC, host_id, fingerprint`,
      )
      .all({ hostId: hostId ?? null }) as Row[]
  ).map(toSighting);
}

export type KeyTrust = 'trusted' | 'first-use' | 'pending' | 'changed' | 'none';

/**
 * Whether one identity (ssh or winrm) of a host is settled: a reviewed key pinned, a key pinned
 * on first use awaiting review, a seen key awaiting review, a key that differs from the pinned
 * one, or none.
 */
export function hostKeyTrustOf(db: Database, hostId: number, family: KeyFamily): KeyTrust {
  const pinned = listTrustedKeys(db, hostId, family);
  const seen = listHostKeySightings(db, hostId).some(
    (k) => k.source !== 'first-use' && keyFamilyOf(k.type) === family,
  );
  if (pinned.length === 0) return seen ? 'pending' : 'none';
  if (seen) return 'changed';
  return pinned.some((k) => k.reviewed) ? 'trusted' : 'first-use';
}

/** Worst first: what the admin must look at before anything else. */
const TRUST_ORDER: readonly KeyTrust[] = ['changed', 'pending', 'first-use', 'trusted', 'none'];

/**
 * hostKeyTrust for every host at once (the hosts list): the same rules, from two queries over all
 * pinned keys and all sightings instead of four per host.
 */
export function hostKeyTrustAll(db: Database): Map<number, KeyTrust> {
  const pinned = new Map<string, PinnedHostKey[]>();
  for (const k of (
    db.prepare(`SELECT * FROM host_keys WHERE status = 'trusted' ORDER BY id`).all() as Row[]
  ).map(toKey)) {
    const key = `${k.hostId}:${keyFamilyOf(k.type)}`;
    (pinned.get(key) ?? pinned.set(key, []).get(key)!).push(k);
  }
  const seen = new Set<string>();
  for (const k of listHostKeySightings(db))
    if (k.source !== 'first-use') seen.add(`${k.hostId}:${keyFamilyOf(k.type)}`);
  const hosts = new Set<number>();
  for (const key of [...pinned.keys(), ...seen]) hosts.add(Number(key.split(':')[0]));
  const out = new Map<number, KeyTrust>();
  for (const hostId of hosts) {
    const states = (['ssh', 'winrm'] as const).map((family): KeyTrust => {
      const keys = pinned.get(`${hostId}:${family}`) ?? [];
      const sighted = seen.has(`${hostId}:${family}`);
      if (keys.length === 0) return sighted ? 'pending' : 'none';
      if (sighted) return 'changed';
      return keys.some((k) => k.reviewed) ? 'trusted' : 'first-use';
    });
    out.set(hostId, TRUST_ORDER.find((t) => states.includes(t)) ?? 'none');
  }
  return out;
}

/**
 * A host's identity in one word, over its SSH key and its WinRM endpoint: the worse of the two
 * that exist (changed, then awaiting review, then pinned on first use, then trusted); `none` only
 * when neither was ever seen. So a Windows PC with a pinned SSH key whose WinRM certificate
 * changed says `changed`, and one trusted over either channel with nothing else seen, `trusted`.
 */
export function hostKeyTrust(db: Database, hostId: number): KeyTrust {
  const states = [hostKeyTrustOf(db, hostId, 'ssh'), hostKeyTrustOf(db, hostId, 'winrm')];
  return TRUST_ORDER.find((t) => states.includes(t)) ?? 'none';
}

/**
 * Pins a key the admin reviewed (a sighting, or a key pinned on first use). Any pin settles that
 * identity of the host (ssh or winrm), so its other sightings of the same family are dropped —
 * and named in the audit log; the other family's sightings stay for their own review.
 */
export function trustReviewedKey(
  db: Database,
  input: { hostId: number; fingerprint: string; actor: string; replace: boolean; reason: string },
): PinnedHostKey {
  return db.transaction(() => {
    const pending = listHostKeySightings(db, input.hostId);
    const s = pending.find((k) => k.fingerprint === input.fingerprint);
    const known = listTrustedKeys(db, input.hostId).find((k) => k.fingerprint === input.fingerprint);
    if (!s && known) return known;
    if (!s) throw new Error(`no sighting of ${input.fingerprint} for host ${input.hostId}`);
    const family = keyFamilyOf(s.type);
    const dropped = pending.filter(
      (k) =>
        k.fingerprint !== input.fingerprint && k.source !== 'first-use' && keyFamilyOf(k.type) === family,
    );
    const pinned = trustHostKey(db, {
      hostId: input.hostId,
      type: s.type,
      fingerprint: s.fingerprint,
      publicKey: s.publicKey,
      actor: input.actor,
      replace: input.replace,
      reviewed: true,
      reason: `${input.reason} (${s.source === 'first-use' ? 'pinned on first use' : `seen by ${s.source} at ${s.address ?? 'unknown address'}`}, ${s.seenAt})${
        dropped.length
          ? `; other keys seen for this host, not trusted: ${dropped.map((k) => k.fingerprint).join(', ')}`
          : ''
      }`,
    });
    const drop = db.prepare('DELETE FROM host_key_sightings WHERE host_id = ? AND key_type = ?');
    for (const type of typesOfFamily(db, input.hostId, family)) drop.run(input.hostId, type);
    return pinned;
  })();
}
