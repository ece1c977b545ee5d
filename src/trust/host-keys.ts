/**
 * Host-key trust: read the key a host presents (no login), pin it once the admin has compared
 * its fingerprint, list the keys scans, probes and refused audits saw for review, and pin a
 * reviewed set in one step. A changed key is never pinned without an explicit `replace`.
 */
import type { Database } from 'better-sqlite3';
import type { CallResult, ParsedArgs } from '../api';
import type { EventBus } from '../api';
import { offlineOnlyError } from '../audit';
import {
  getHost,
  keyFamilyOf,
  listHostKeySightings,
  listTrustedKeys,
  readSettings,
  recordHostKeySighting,
  trustReviewedKey,
} from '../db';
import { probeHostKey, RemoteError } from '../remote';
import { winrmEndpointOf } from '../hosts';
import { describeCertificate, probeWinrmIdentity } from './winrm-probe';
import { PatchdeckError } from '../util';

/** What trust needs of the workspace: its database, and the bus that says hosts changed. */
export interface TrustDeps {
  db: Database;
  events: EventBus;
}

/**
 * Reads the host's key and, with `pin`, trusts it if it is still exactly the `fingerprint` the
 * admin reviewed; a key unlike the pinned one needs `replace`. Any unknown key is recorded.
 */
export async function trustHostKey(
  deps: TrustDeps,
  { id, pin, replace, fingerprint, channel }: ParsedArgs<'hosts.trust'>,
): Promise<CallResult<'hosts.trust'>> {
  const { db, events } = deps;
  const host = getHost(db, id);
  if (!host) throw new PatchdeckError('not-found', `Host ${id} does not exist.`);
  if (host.offlineOnly) throw new PatchdeckError('conflict', offlineOnlyError(host).message);
  if (pin && fingerprint === undefined)
    throw new PatchdeckError(
      'bad-request',
      'Trusting a key needs the fingerprint you checked: read the key first (pin: false), compare it with the machine, then trust that fingerprint.',
    );
  const family = channel === 'winrm' ? 'winrm' : 'ssh';
  const pinned = listTrustedKeys(db, id, family);
  const address = host.address ?? host.addresses[0] ?? host.name;
  const key = await (
    family === 'winrm'
      ? probeWinrmIdentity(address, winrmEndpointOf(host), { label: host.name })
      : probeHostKey(address, host.sshPort, {
          label: host.name,
          preferredType: pinned[0]?.type,
        })
  ).catch((error: unknown) => {
    throw probeFailure(error);
  });
  const knownKey = pinned.find((k) => k.fingerprint === key.fingerprint);
  const known = knownKey?.reviewed === true;
  const changed = pinned.length > 0 && !knownKey;
  if (!knownKey)
    recordHostKeySighting(db, {
      hostId: id,
      type: key.type,
      fingerprint: key.fingerprint,
      publicKey: key.publicKey,
      source: 'probe',
      address,
    });
  if (pin && fingerprint !== key.fingerprint) {
    throw new PatchdeckError(
      'conflict',
      `${host.name} now presents ${key.type} ${key.fingerprint}, not the key ${fingerprint} you reviewed. Nothing was trusted; review the new key first.`,
    );
  }
  if (changed && pin && !replace) {
    throw new PatchdeckError(
      'conflict',
      `${host.name} now presents ${key.type} ${key.fingerprint}, not the key trusted before. Re-trust it explicitly (replace) only after checking with the machine’s owner.`,
    );
  }
  if (pin && !known) {
    trustReviewedKey(db, {
      hostId: id,
      fingerprint: key.fingerprint,
      actor: readSettings(db).operatorName,
      replace,
      reason: 'reviewed fingerprint',
    });
  }
  events.emit('entity.changed', { entity: 'hosts', ids: [id] });
  const certificate = key.type === 'x509-certificate' ? describeCertificate(key.publicKey) : null;
  return {
    type: key.type,
    fingerprint: key.fingerprint,
    pinned: pin || known,
    changed,
    ...(certificate ? { certificate } : {}),
  };
}

/**
 * A probe that could not read the key says why in its own classified sentence (unreachable,
 * WinRM not enabled, timeout…), not as an unexpected failure: the host was simply not there.
 */
function probeFailure(error: unknown): unknown {
  if (!(error instanceof RemoteError)) return error;
  return new PatchdeckError(error.kind === 'cancelled' ? 'cancelled' : 'unavailable', error.message, {
    kind: error.kind,
  });
}

/** The keys awaiting review (of the given hosts, or all), each marked changed or in conflict. */
export function listPendingKeys(
  db: Database,
  { hostIds }: ParsedArgs<'hosts.pendingKeys'>,
): CallResult<'hosts.pendingKeys'> {
  const wanted = hostIds ? new Set(hostIds) : null;
  const pending = listHostKeySightings(db).filter((s) => !wanted || wanted.has(s.hostId));
  // Per host and identity (ssh, winrm), once: its name, how many keys await review, whether a
  // key of that identity is already pinned. An SSH key and a WinRM certificate are not a conflict.
  const hosts = new Map<string, { name: string; pending: number; pinned: boolean }>();
  const keyOf = (s: { hostId: number; type: string }): string => `${s.hostId}/${keyFamilyOf(s.type)}`;
  for (const s of pending) {
    const entry = hosts.get(keyOf(s)) ?? {
      name: getHost(db, s.hostId)?.name ?? `host ${s.hostId}`,
      pending: 0,
      pinned: listTrustedKeys(db, s.hostId, keyFamilyOf(s.type)).length > 0,
    };
    entry.pending++;
    hosts.set(keyOf(s), entry);
  }
  return pending.map((s) => {
    const host = hosts.get(keyOf(s))!;
    return {
      hostId: s.hostId,
      hostName: host.name,
      type: s.type,
      fingerprint: s.fingerprint,
      source: s.source,
      address: s.address,
      seenAt: s.seenAt,
      // A sighting is never a pinned key, so any pinned key of its host is a different one.
      changed: s.source !== 'first-use' && host.pinned,
      conflict: host.pending > 1,
      ...certificateOf(s),
    };
  });
}

/** A host's pinned keys, each certificate pin described from its stored PEM (for the host page). */
export function listHostPins(db: Database, hostId: number): CallResult<'hosts.keys'> {
  return listTrustedKeys(db, hostId).map((k) => ({
    id: k.id,
    type: k.type,
    fingerprint: k.fingerprint,
    trustedAt: k.trustedAt,
    trustedBy: k.trustedBy,
    reviewed: k.reviewed,
    ...certificateOf(k),
  }));
}

/** A certificate's description (null when its PEM does not parse); nothing for other key types. */
function certificateOf(key: { type: string; publicKey: string | null }): {
  certificate?: ReturnType<typeof describeCertificate>;
} {
  return key.type === 'x509-certificate' ? { certificate: describeCertificate(key.publicKey) } : {};
}

/** Pins a reviewed set of keys, one per host, in one transaction: all of them or none. */
export function trustReviewedKeys(
  deps: TrustDeps,
  { keys, replace }: ParsedArgs<'hosts.trustKeys'>,
): CallResult<'hosts.trustKeys'> {
  const { db, events } = deps;
  const actor = readSettings(db).operatorName;
  const hostIds = [...new Set(keys.map((k) => k.hostId))];
  const pending = listHostKeySightings(db);
  const familyOf = (k: { hostId: number; fingerprint: string }): string => {
    const seen = pending.find((s) => s.hostId === k.hostId && s.fingerprint === k.fingerprint);
    return `${k.hostId}/${seen ? keyFamilyOf(seen.type) : k.fingerprint}`;
  };
  if (new Set(keys.map(familyOf)).size !== keys.length)
    throw new PatchdeckError(
      'bad-request',
      'Each host may have only one key trusted per review (one SSH key, one WinRM identity).',
    );
  // One transaction: a stale entry (the key was trusted or replaced since it was shown, or
  // the host is gone) refuses the whole review, and nothing is pinned.
  db.transaction(() => {
    for (const k of keys) {
      const seen = pending.find((s) => s.hostId === k.hostId && s.fingerprint === k.fingerprint);
      const host = getHost(db, k.hostId);
      if (!seen || !host)
        throw new PatchdeckError(
          'conflict',
          `${host?.name ?? `Host ${k.hostId}`}: the key ${k.fingerprint.slice(0, 60)} is not awaiting review any more. Nothing was trusted; reload the list and review again.`,
        );
      const family = keyFamilyOf(seen.type);
      if (
        keys.length > 1 &&
        pending.filter((s) => s.hostId === k.hostId && keyFamilyOf(s.type) === family).length > 1
      )
        throw new PatchdeckError(
          'conflict',
          `${host.name} showed more than one key; check which one is genuine and trust it on its own. Nothing was trusted.`,
        );
      if (seen.source !== 'first-use' && listTrustedKeys(db, k.hostId, family).length > 0 && !replace)
        throw new PatchdeckError(
          'conflict',
          `${host.name} already has a different trusted key; replacing it needs an explicit re-trust (replace). Nothing was trusted.`,
        );
      trustReviewedKey(db, {
        hostId: k.hostId,
        fingerprint: k.fingerprint,
        actor,
        replace,
        reason: `reviewed with ${keys.length} key(s)`,
      });
    }
  })();
  events.emit('entity.changed', { entity: 'hosts', ids: hostIds });
  return { pinned: keys.length, hostIds };
}
