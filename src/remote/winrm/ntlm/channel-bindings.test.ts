import { X509Certificate, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { certificateHashAlgorithm, channelBindingsHash } from './channel-bindings';

const CERTS = new URL('../../../../test/fixtures/winrm/ntlm/certs/', import.meta.url);
const der = (name: string): Buffer => new X509Certificate(readFileSync(new URL(name, CERTS))).raw;

describe('TLS channel bindings (RFC 5929 tls-server-end-point)', () => {
  it.each([
    ['rsa-sha1.pem', 'sha256'],
    ['rsa-sha256.pem', 'sha256'],
    ['ecdsa-sha384.pem', 'sha384'],
    ['rsa-sha512.pem', 'sha512'],
  ])('%s is hashed with %s', (file, algorithm) => {
    expect(certificateHashAlgorithm(der(file))).toBe(algorithm);
  });

  it('falls back to SHA-256 for bytes that are not a certificate', () => {
    expect(certificateHashAlgorithm(Buffer.from('junk'))).toBe('sha256');
    expect(certificateHashAlgorithm(Buffer.alloc(0))).toBe('sha256');
  });

  it('is the MD5 of the gss_channel_bindings_struct with zero addresses', () => {
    const cert = der('ecdsa-sha384.pem');
    const app = Buffer.concat([
      Buffer.from('tls-server-end-point:'),
      createHash('sha384').update(cert).digest(),
    ]);
    const struct = Buffer.alloc(20 + app.length);
    struct.writeUInt32LE(app.length, 16);
    app.copy(struct, 20);
    expect(channelBindingsHash(cert).equals(createHash('md5').update(struct).digest())).toBe(true);
  });
});
