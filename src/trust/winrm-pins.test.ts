/**
 * WinRM endpoint pins live beside SSH host keys in host_keys (real SQLite): a certificate or an
 * NTLM identity is seen, reviewed and pinned like an SSH key, but the two families never replace
 * or settle each other, and the host's keyTrust sums both up (the worse one wins).
 */
import { describe, expect, it } from 'vitest';
import { reviewedPinsOf, listPendingKeys, trustReviewedKeys } from '.';
import { EventBus } from '../api';
import {
  getHost,
  hostKeyTrust,
  hostKeyTrustOf,
  insertHost,
  keyFamilyOf,
  listHostKeySightings,
  listTrustedKeys,
  recordHostKeySighting,
  trustHostKey,
  trustReviewedKey,
} from '../db';
import { createMemoryWorkspace } from '../db/workspace';

const SSH = { type: 'ssh-ed25519', fingerprint: 'SHA256:sshAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' };
const SSH2 = { type: 'ssh-ed25519', fingerprint: 'SHA256:sshBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' };
const CERT = { type: 'x509-certificate', fingerprint: 'SHA256:certAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' };
const CERT2 = {
  type: 'x509-certificate',
  fingerprint: 'SHA256:certBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB',
};
const NTLM = { type: 'ntlm-identity', fingerprint: 'ntlm:WIN1.PATCHDECK.TEST/PATCHDECK' };

function setup() {
  const db = createMemoryWorkspace();
  const host = insertHost(db, { name: 'WIN1', address: '198.18.0.9' });
  const seen = (k: { type: string; fingerprint: string }) =>
    recordHostKeySighting(db, {
      hostId: host.id,
      ...k,
      publicKey: null,
      source: 'connect',
      address: '198.18.0.9',
    });
  const pin = (k: { type: string; fingerprint: string }, replace = false) =>
    trustReviewedKey(db, {
      hostId: host.id,
      fingerprint: k.fingerprint,
      actor: 'admin',
      replace,
      reason: 'test',
    });
  return { db, id: host.id, seen, pin };
}

describe('WinRM pins beside SSH keys', () => {
  it('knows the family of each key type', () => {
    expect(keyFamilyOf('x509-certificate')).toBe('winrm');
    expect(keyFamilyOf('ntlm-identity')).toBe('winrm');
    expect(keyFamilyOf('ssh-ed25519')).toBe('ssh');
    expect(keyFamilyOf('ecdsa-sha2-nistp256')).toBe('ssh');
  });

  it('pinning a certificate neither replaces the SSH key nor drops its sightings, nor the reverse', () => {
    const { db, id, seen, pin } = setup();
    seen(SSH);
    seen(CERT);
    pin(SSH);
    // The certificate still awaits review: the SSH pin settled only the SSH identity.
    expect(listHostKeySightings(db, id).map((k) => k.fingerprint)).toEqual([CERT.fingerprint]);
    expect(hostKeyTrustOf(db, id, 'ssh')).toBe('trusted');
    expect(hostKeyTrustOf(db, id, 'winrm')).toBe('pending');
    expect(hostKeyTrust(db, id)).toBe('pending');
    expect(getHost(db, id)!.keyTrust).toBe('pending');

    pin(CERT);
    expect(listTrustedKeys(db, id).map((k) => k.type)).toEqual(['ssh-ed25519', 'x509-certificate']);
    expect(listTrustedKeys(db, id, 'ssh').map((k) => k.fingerprint)).toEqual([SSH.fingerprint]);
    expect(hostKeyTrust(db, id)).toBe('trusted');
    expect(reviewedPinsOf(db, id, 'x509-certificate')).toEqual([CERT.fingerprint]);
    expect(reviewedPinsOf(db, id, 'ntlm-identity')).toEqual([]);

    // A changed certificate: the host is 'changed'; replacing it revokes the old certificate only.
    seen(CERT2);
    expect(hostKeyTrustOf(db, id, 'ssh')).toBe('trusted');
    expect(hostKeyTrust(db, id)).toBe('changed');
    expect(listPendingKeys(db, {})).toMatchObject([
      { fingerprint: CERT2.fingerprint, changed: true, conflict: false },
    ]);
    pin(CERT2, true);
    expect(listTrustedKeys(db, id).map((k) => k.fingerprint)).toEqual([SSH.fingerprint, CERT2.fingerprint]);
    expect(reviewedPinsOf(db, id, 'x509-certificate')).toEqual([CERT2.fingerprint]);

    // And an SSH re-trust revokes the SSH key only.
    seen(SSH2);
    seen(NTLM);
    pin(SSH2, true);
    expect(listTrustedKeys(db, id).map((k) => k.fingerprint)).toEqual([CERT2.fingerprint, SSH2.fingerprint]);
    expect(listHostKeySightings(db, id).map((k) => k.fingerprint)).toEqual([NTLM.fingerprint]);
  });

  it('trustHostKey with replace revokes only its own family', () => {
    const { db, id } = setup();
    trustHostKey(db, { hostId: id, ...SSH, actor: 'a' });
    trustHostKey(db, { hostId: id, ...NTLM, actor: 'a' });
    trustHostKey(db, { hostId: id, ...CERT, actor: 'a', replace: true });
    expect(listTrustedKeys(db, id).map((k) => k.fingerprint)).toEqual([SSH.fingerprint, CERT.fingerprint]);
    const log = db.prepare(`SELECT action FROM audit_log WHERE entity_type = 'host' ORDER BY id`).all();
    expect(log).toEqual([
      { action: 'host-key.trust' },
      { action: 'host-key.trust' },
      { action: 'host-key.retrust' },
    ]);
  });

  it('only reviewed pins count for reviewedPinsOf', () => {
    const { db, id } = setup();
    trustHostKey(db, { hostId: id, ...NTLM, actor: 'a', reviewed: false });
    expect(reviewedPinsOf(db, id, 'ntlm-identity')).toEqual([]);
    trustHostKey(db, { hostId: id, ...NTLM, actor: 'a' });
    expect(reviewedPinsOf(db, id, 'ntlm-identity')).toEqual([NTLM.fingerprint]);
  });

  it('a review of a host showing one SSH key and one WinRM certificate trusts both, in one step', () => {
    const { db, id, seen } = setup();
    seen(SSH);
    seen(CERT);
    expect(listPendingKeys(db, {}).map((k) => k.conflict)).toEqual([false, false]);
    const events = new EventBus();
    expect(
      trustReviewedKeys(
        { db, events },
        {
          keys: [
            { hostId: id, fingerprint: SSH.fingerprint },
            { hostId: id, fingerprint: CERT.fingerprint },
          ],
          replace: false,
        },
      ),
    ).toEqual({ pinned: 2, hostIds: [id] });
    expect(hostKeyTrust(db, id)).toBe('trusted');
    // Two certificates at once are a conflict, and cannot go in one review.
    seen(CERT2);
    seen({ type: 'x509-certificate', fingerprint: 'SHA256:certCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC' });
    expect(listPendingKeys(db, {}).every((k) => k.conflict && k.changed)).toBe(true);
  });
});
