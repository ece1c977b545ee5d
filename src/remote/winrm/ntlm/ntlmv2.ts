// NTLMv2 key and response computation (MS-NLMP 3.3.2, 3.4.4, 3.4.5). Pure functions over
// buffers, so the MS-NLMP 4.2.4 vectors and impacket can check each step on its own.
import { createHash, createHmac } from 'node:crypto';
import { md4 } from './md4';
import { Flags } from './messages';
import { Rc4 } from './rc4';

export function hmacMd5(key: Buffer, ...parts: Buffer[]): Buffer {
  const h = createHmac('md5', key);
  for (const part of parts) h.update(part);
  return h.digest();
}

function md5(...parts: Buffer[]): Buffer {
  const h = createHash('md5');
  for (const part of parts) h.update(part);
  return h.digest();
}

/** NTOWFv2: HMAC-MD5 keyed by the NT hash over UNICODE(Uppercase(user) + domain). */
export function ntowfv2(password: string, user: string, domain: string): Buffer {
  const ntHash = md4(Buffer.from(password, 'utf16le'));
  return hmacMd5(ntHash, Buffer.from(user.toUpperCase() + domain, 'utf16le'));
}

/** Windows FILETIME (100 ns since 1601-01-01) of a date, little-endian. */
export function fileTime(date: Date): Buffer {
  const ticks = (BigInt(date.getTime()) + 11_644_473_600_000n) * 10_000n;
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(ticks < 0n ? 0n : ticks);
  return out;
}

/** The NTLMv2 client "temp" blob: version, time, client challenge, the AV pairs. */
export function ntlmv2Temp(time: Buffer, clientChallenge: Buffer, avPairs: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from([1, 1, 0, 0, 0, 0, 0, 0]),
    time,
    clientChallenge,
    Buffer.alloc(4),
    avPairs,
    Buffer.alloc(4),
  ]);
}

export interface Ntlmv2Response {
  ntProofStr: Buffer;
  ntChallengeResponse: Buffer;
  lmChallengeResponse: Buffer;
  sessionBaseKey: Buffer;
}

export function ntlmv2Response(
  responseKey: Buffer,
  serverChallenge: Buffer,
  clientChallenge: Buffer,
  temp: Buffer,
  withLmResponse: boolean,
): Ntlmv2Response {
  const ntProofStr = hmacMd5(responseKey, serverChallenge, temp);
  // With MsvAvTimestamp in the challenge the client sends Z(24) instead of an LMv2 response.
  const lmChallengeResponse = withLmResponse
    ? Buffer.concat([hmacMd5(responseKey, serverChallenge, clientChallenge), clientChallenge])
    : Buffer.alloc(24);
  return {
    ntProofStr,
    ntChallengeResponse: Buffer.concat([ntProofStr, temp]),
    lmChallengeResponse,
    sessionBaseKey: hmacMd5(responseKey, ntProofStr),
  };
}

/** KEY_EXCH: the random session key, RC4-encrypted with the key-exchange key. */
export function encryptSessionKey(keyExchangeKey: Buffer, exportedSessionKey: Buffer): Buffer {
  return new Rc4(keyExchangeKey).update(exportedSessionKey);
}

const MAGIC = {
  clientSign: 'session key to client-to-server signing key magic constant\0',
  serverSign: 'session key to server-to-client signing key magic constant\0',
  clientSeal: 'session key to client-to-server sealing key magic constant\0',
  serverSeal: 'session key to server-to-client sealing key magic constant\0',
};

export interface SessionKeys {
  clientSign: Buffer;
  serverSign: Buffer;
  clientSeal: Buffer;
  serverSeal: Buffer;
}

/** SIGNKEY and SEALKEY (MS-NLMP 3.4.5.2, 3.4.5.3) with extended session security. */
export function sessionKeys(exportedSessionKey: Buffer, flags: number): SessionKeys {
  const sealBase =
    flags & Flags.N128
      ? exportedSessionKey
      : flags & Flags.N56
        ? exportedSessionKey.subarray(0, 7)
        : exportedSessionKey.subarray(0, 5);
  return {
    clientSign: md5(exportedSessionKey, Buffer.from(MAGIC.clientSign, 'latin1')),
    serverSign: md5(exportedSessionKey, Buffer.from(MAGIC.serverSign, 'latin1')),
    clientSeal: md5(sealBase, Buffer.from(MAGIC.clientSeal, 'latin1')),
    serverSeal: md5(sealBase, Buffer.from(MAGIC.serverSeal, 'latin1')),
  };
}

/** MIC = HMAC-MD5(ExportedSessionKey, Negotiate || Challenge || Authenticate with MIC zeroed). */
export function computeMic(
  exportedSessionKey: Buffer,
  negotiate: Buffer,
  challenge: Buffer,
  authenticate: Buffer,
): Buffer {
  return hmacMd5(exportedSessionKey, negotiate, challenge, authenticate);
}

/**
 * One direction of an established session: sealing RC4 state and sequence number.
 * MAC (MS-NLMP 3.4.4.2): Version 1 || RC4(HMAC-MD5(SignKey, SeqNum || Message)[0..8]) || SeqNum,
 * where the RC4 state is the same one that sealed the message just before.
 */
export class SealingDirection {
  private readonly rc4: Rc4;
  private seq = 0;

  constructor(
    private readonly signKey: Buffer,
    sealKey: Buffer,
    private readonly keyExchange: boolean,
  ) {
    this.rc4 = new Rc4(sealKey);
  }

  get sequenceNumber(): number {
    return this.seq;
  }

  /** Seal `plain` (into a new buffer) and sign it with the next sequence number. */
  seal(plain: Buffer): { signature: Buffer; sealed: Buffer } {
    const sealed = Buffer.allocUnsafe(plain.length);
    this.rc4.transform(plain, sealed);
    return { signature: this.sign(plain), sealed };
  }

  /** Unseal `sealed` and return it with the signature this side expects for it. */
  unseal(sealed: Buffer): { plain: Buffer; expected: Buffer } {
    const plain = Buffer.allocUnsafe(sealed.length);
    this.rc4.transform(sealed, plain);
    return { plain, expected: this.sign(plain) };
  }

  private sign(plain: Buffer): Buffer {
    const seqBytes = Buffer.alloc(4);
    seqBytes.writeUInt32LE(this.seq >>> 0);
    const checksum = hmacMd5(this.signKey, seqBytes, plain).subarray(0, 8);
    const out = Buffer.alloc(16);
    out.writeUInt32LE(1, 0);
    if (this.keyExchange) this.rc4.transform(checksum, out.subarray(4, 12));
    else checksum.copy(out, 4);
    seqBytes.copy(out, 12);
    this.seq = (this.seq + 1) >>> 0;
    return out;
  }
}
