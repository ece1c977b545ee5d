// TLS channel binding for NTLM over HTTPS (RFC 5929 tls-server-end-point, MS-NLMP
// MsvAvChannelBindings): MD5 of a gss_channel_bindings_struct whose application data is
// 'tls-server-end-point:' followed by the hash of the server's certificate.
import { createHash } from 'node:crypto';
import { oidToString, readChildren, readElement } from './der';

// Signature algorithms whose hash is stronger than SHA-256 keep their own hash (RFC 5929 4.1);
// MD5, SHA-1, SHA-256 and anything unknown use SHA-256.
const STRONGER_HASH: Record<string, 'sha384' | 'sha512'> = {
  '1.2.840.113549.1.1.12': 'sha384', // sha384WithRSAEncryption
  '1.2.840.113549.1.1.13': 'sha512', // sha512WithRSAEncryption
  '1.2.840.10045.4.3.3': 'sha384', // ecdsa-with-SHA384
  '1.2.840.10045.4.3.4': 'sha512', // ecdsa-with-SHA512
};

/** The hash RFC 5929 picks for a DER certificate. */
export function certificateHashAlgorithm(der: Buffer): 'sha256' | 'sha384' | 'sha512' {
  try {
    const certificate = readElement(der);
    const [, algorithm] = readChildren(certificate.content);
    if (!algorithm || algorithm.tag !== 0x30) return 'sha256';
    const oid = readChildren(algorithm.content)[0];
    if (!oid || oid.tag !== 0x06) return 'sha256';
    return STRONGER_HASH[oidToString(oid.content)] ?? 'sha256';
  } catch {
    return 'sha256';
  }
}

/** The gss_channel_bindings_struct bytes: zero addresses, application data as given. */
export function channelBindingsStruct(applicationData: Buffer): Buffer {
  const out = Buffer.alloc(20 + applicationData.length);
  // initiator addrtype, initiator address length, acceptor addrtype, acceptor address length: 0
  out.writeUInt32LE(applicationData.length, 16);
  applicationData.copy(out, 20);
  return out;
}

export function tlsServerEndPoint(certificateDer: Buffer): Buffer {
  const hash = createHash(certificateHashAlgorithm(certificateDer)).update(certificateDer).digest();
  return Buffer.concat([Buffer.from('tls-server-end-point:', 'latin1'), hash]);
}

/** The 16 bytes of MsvAvChannelBindings for a server certificate. */
export function channelBindingsHash(certificateDer: Buffer): Buffer {
  return createHash('md5')
    .update(channelBindingsStruct(tlsServerEndPoint(certificateDer)))
    .digest();
}
