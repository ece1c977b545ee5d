import crypto from 'node:crypto';

/** OpenSSH-style fingerprint of a raw public key blob: `SHA256:` + unpadded base64. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${crypto.createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The algorithm name stored at the start of an SSH public key blob (e.g. `ssh-ed25519`). */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const length = keyBlob.readUInt32BE(0);
  if (length <= 0 || length > 64 || keyBlob.length < 4 + length) return 'unknown';
  const type = keyBlob.subarray(4, 4 + length).toString('latin1');
  return /^[a-z0-9@.-]+$/.test(type) ? type : 'unknown';
}

export interface PresentedHostKey {
  type: string;
  fingerprint: string;
  /** base64 of the key blob, as in a known_hosts line. */
  publicKey: string;
}

export function describeHostKey(keyBlob: Buffer): PresentedHostKey {
  return {
    type: keyTypeOf(keyBlob),
    fingerprint: fingerprintOf(keyBlob),
    publicKey: keyBlob.toString('base64'),
  };
}
