import crypto from 'node:crypto';

/**
 * Sealed secret layout: version (1 byte = 1) | IV (12) | GCM tag (16) | ciphertext.
 * AES-256-GCM authenticates: a tampered or foreign ciphertext fails to open instead of
 * decrypting to garbage.
 */
const VERSION = 1;

export function sealWithKey(key: Buffer, plaintext: string): Buffer {
  if (key.length !== 32) throw new Error('secret key must be 32 bytes');
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
}

export function openWithKey(key: Buffer, sealed: Buffer): string {
  if (sealed.length < 29 || sealed[0] !== VERSION)
    throw new Error('This secret is not in a format Patchdeck can open.');
  const decipher = crypto.createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 13));
  decipher.setAuthTag(sealed.subarray(13, 29));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(29)), decipher.final()]).toString('utf8');
  } catch {
    throw new Error(
      'This secret cannot be opened with this machine’s key (it was sealed elsewhere or is damaged).',
    );
  }
}
