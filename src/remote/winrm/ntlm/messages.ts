// NTLMSSP messages (MS-NLMP 2.2.1): Negotiate (type 1), Challenge (type 2), Authenticate
// (type 3), and the AV pairs of a challenge's TargetInfo. Every field that points into the
// payload is checked against the buffer before it is read: a challenge is untrusted input.
import { NtlmError } from './errors';

export const SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');

export const Flags = {
  UNICODE: 0x00000001,
  OEM: 0x00000002,
  REQUEST_TARGET: 0x00000004,
  SIGN: 0x00000010,
  SEAL: 0x00000020,
  DATAGRAM: 0x00000040,
  LM_KEY: 0x00000080,
  NTLM: 0x00000200,
  ANONYMOUS: 0x00000800,
  DOMAIN_SUPPLIED: 0x00001000,
  WORKSTATION_SUPPLIED: 0x00002000,
  ALWAYS_SIGN: 0x00008000,
  TARGET_TYPE_DOMAIN: 0x00010000,
  TARGET_TYPE_SERVER: 0x00020000,
  EXTENDED_SESSIONSECURITY: 0x00080000,
  IDENTIFY: 0x00100000,
  REQUEST_NON_NT_SESSION_KEY: 0x00400000,
  TARGET_INFO: 0x00800000,
  VERSION: 0x02000000,
  N128: 0x20000000,
  KEY_EXCH: 0x40000000,
  N56: 0x80000000,
} as const;

/** What this client asks for in its Negotiate message. */
export const CLIENT_FLAGS =
  (Flags.UNICODE |
    Flags.REQUEST_TARGET |
    Flags.SIGN |
    Flags.SEAL |
    Flags.NTLM |
    Flags.ALWAYS_SIGN |
    Flags.EXTENDED_SESSIONSECURITY |
    Flags.TARGET_INFO |
    Flags.VERSION |
    Flags.N128 |
    Flags.KEY_EXCH |
    Flags.N56) >>>
  0;

export const AvId = {
  EOL: 0,
  NbComputerName: 1,
  NbDomainName: 2,
  DnsComputerName: 3,
  DnsDomainName: 4,
  DnsTreeName: 5,
  Flags: 6,
  Timestamp: 7,
  SingleHost: 8,
  TargetName: 9,
  ChannelBindings: 10,
} as const;

export interface AvPair {
  id: number;
  value: Buffer;
}

/** Largest message we read: real ones are a few hundred bytes. */
export const MAX_MESSAGE_BYTES = 16 * 1024;
/** Windows 10 1809's version triple; a server only logs it. */
const CLIENT_VERSION = Buffer.from([10, 0, 0x63, 0x45, 0, 0, 0, 0x0f]);

export interface NegotiateMessage {
  flags: number;
  domain: string | null;
  workstation: string | null;
  version: Buffer | null;
}

export interface ChallengeMessage {
  flags: number;
  serverChallenge: Buffer;
  targetName: string | null;
  /** The raw TargetInfo bytes (AV pairs), empty when absent. */
  targetInfo: Buffer;
  avPairs: AvPair[];
  version: Buffer | null;
}

export interface AuthenticateMessage {
  flags: number;
  lmChallengeResponse: Buffer;
  ntChallengeResponse: Buffer;
  domain: string;
  user: string;
  workstation: string;
  encryptedRandomSessionKey: Buffer;
  version: Buffer | null;
  /** The MIC when the message carries one (MsvAvFlags bit 0x2 in the NTLMv2 response). */
  mic: Buffer | null;
  /** Offset of the MIC field, for recomputing it over the message with it zeroed. */
  micOffset: number | null;
}

function malformed(what: string): NtlmError {
  return new NtlmError('malformed', `The NTLM ${what}`);
}

function checkHeader(data: Buffer, type: number, name: string, minLength: number): void {
  if (data.length > MAX_MESSAGE_BYTES)
    throw malformed(`${name} message is too large (${data.length} bytes).`);
  if (data.length < minLength) throw malformed(`${name} message is truncated (${data.length} bytes).`);
  if (!data.subarray(0, 8).equals(SIGNATURE)) throw malformed(`${name} message does not start with NTLMSSP.`);
  const found = data.readUInt32LE(8);
  if (found !== type) throw malformed(`${name} message has type ${found}, not ${type}.`);
}

/** A (length, maxLength, offset) field; the bytes it names, checked against the message. */
function field(data: Buffer, at: number, name: string): Buffer {
  const length = data.readUInt16LE(at);
  const offset = data.readUInt32LE(at + 4);
  if (length === 0) return Buffer.alloc(0);
  if (offset > data.length || length > data.length - offset) {
    throw malformed(`message's ${name} field points past its end.`);
  }
  return data.subarray(offset, offset + length);
}

function text(bytes: Buffer, unicode: boolean): string {
  return unicode ? bytes.toString('utf16le') : bytes.toString('latin1');
}

export function parseAvPairs(targetInfo: Buffer): AvPair[] {
  const pairs: AvPair[] = [];
  let at = 0;
  for (;;) {
    if (targetInfo.length - at < 4) throw malformed('challenge has a TargetInfo without its end marker.');
    const id = targetInfo.readUInt16LE(at);
    const length = targetInfo.readUInt16LE(at + 2);
    at += 4;
    if (length > targetInfo.length - at)
      throw malformed('challenge has an AV pair longer than its TargetInfo.');
    if (id === AvId.EOL) return pairs;
    pairs.push({ id, value: targetInfo.subarray(at, at + length) });
    at += length;
  }
}

export function encodeAvPairs(pairs: readonly AvPair[]): Buffer {
  const parts: Buffer[] = [];
  for (const pair of pairs) {
    if (pair.id === AvId.EOL) continue;
    const head = Buffer.alloc(4);
    head.writeUInt16LE(pair.id, 0);
    head.writeUInt16LE(pair.value.length, 2);
    parts.push(head, pair.value);
  }
  parts.push(Buffer.alloc(4));
  return Buffer.concat(parts);
}

export function encodeNegotiate(flags: number = CLIENT_FLAGS): Buffer {
  // No domain or workstation in the Negotiate: the Authenticate message names them.
  const out = Buffer.alloc(40);
  SIGNATURE.copy(out, 0);
  out.writeUInt32LE(1, 8);
  out.writeUInt32LE(flags >>> 0, 12);
  out.writeUInt32LE(40, 20);
  out.writeUInt32LE(40, 28);
  CLIENT_VERSION.copy(out, 32);
  return out;
}

export function parseNegotiate(data: Buffer): NegotiateMessage {
  checkHeader(data, 1, 'negotiate', 32);
  const flags = data.readUInt32LE(12);
  const domain = field(data, 16, 'domain');
  const workstation = field(data, 24, 'workstation');
  const version = flags & Flags.VERSION && data.length >= 40 ? Buffer.from(data.subarray(32, 40)) : null;
  return {
    flags,
    domain: domain.length ? domain.toString('latin1') : null,
    workstation: workstation.length ? workstation.toString('latin1') : null,
    version,
  };
}

export function parseChallenge(data: Buffer): ChallengeMessage {
  checkHeader(data, 2, 'challenge', 32);
  const flags = data.readUInt32LE(20);
  const unicode = (flags & Flags.UNICODE) !== 0;
  const targetName = field(data, 12, 'target name');
  const serverChallenge = Buffer.from(data.subarray(24, 32));
  let targetInfo = Buffer.alloc(0);
  let version: Buffer | null = null;
  if (data.length >= 48) {
    targetInfo = Buffer.from(field(data, 40, 'target info'));
    if (flags & Flags.VERSION && data.length >= 56) version = Buffer.from(data.subarray(48, 56));
  }
  const avPairs = targetInfo.length ? parseAvPairs(targetInfo) : [];
  return {
    flags,
    serverChallenge,
    targetName: targetName.length ? text(targetName, unicode) : null,
    targetInfo,
    avPairs,
    version,
  };
}

/** Only for tests and the testbed: a server's challenge. */
export function encodeChallenge(options: {
  flags: number;
  serverChallenge: Buffer;
  targetName: string;
  avPairs: readonly AvPair[];
}): Buffer {
  const name = Buffer.from(options.targetName, 'utf16le');
  const info = encodeAvPairs(options.avPairs);
  const out = Buffer.alloc(56 + name.length + info.length);
  SIGNATURE.copy(out, 0);
  out.writeUInt32LE(2, 8);
  out.writeUInt16LE(name.length, 12);
  out.writeUInt16LE(name.length, 14);
  out.writeUInt32LE(56, 16);
  out.writeUInt32LE(options.flags >>> 0, 20);
  options.serverChallenge.copy(out, 24);
  out.writeUInt16LE(info.length, 40);
  out.writeUInt16LE(info.length, 42);
  out.writeUInt32LE(56 + name.length, 44);
  CLIENT_VERSION.copy(out, 48);
  name.copy(out, 56);
  info.copy(out, 56 + name.length);
  return out;
}

export const AUTHENTICATE_HEADER_BYTES = 88;
export const MIC_OFFSET = 72;

export function encodeAuthenticate(options: {
  flags: number;
  lmChallengeResponse: Buffer;
  ntChallengeResponse: Buffer;
  domain: string;
  user: string;
  workstation: string;
  encryptedRandomSessionKey: Buffer;
}): Buffer {
  const unicode = (options.flags & Flags.UNICODE) !== 0;
  const encode = (s: string): Buffer => Buffer.from(s, unicode ? 'utf16le' : 'latin1');
  const payload = [
    options.lmChallengeResponse,
    options.ntChallengeResponse,
    encode(options.domain),
    encode(options.user),
    encode(options.workstation),
    options.encryptedRandomSessionKey,
  ];
  const total = payload.reduce((n, b) => n + b.length, AUTHENTICATE_HEADER_BYTES);
  if (total > MAX_MESSAGE_BYTES)
    throw new NtlmError('unsupported', 'The NTLM authenticate message would be too large.');
  const out = Buffer.alloc(total);
  SIGNATURE.copy(out, 0);
  out.writeUInt32LE(3, 8);
  let offset = AUTHENTICATE_HEADER_BYTES;
  payload.forEach((bytes, index) => {
    const at = 12 + index * 8;
    out.writeUInt16LE(bytes.length, at);
    out.writeUInt16LE(bytes.length, at + 2);
    out.writeUInt32LE(offset, at + 4);
    bytes.copy(out, offset);
    offset += bytes.length;
  });
  out.writeUInt32LE(options.flags >>> 0, 60);
  CLIENT_VERSION.copy(out, 64);
  // MIC (72..88) stays zero here; the context fills it in over the whole message.
  return out;
}

export function parseAuthenticate(data: Buffer): AuthenticateMessage {
  checkHeader(data, 3, 'authenticate', 64);
  const flags = data.readUInt32LE(60);
  const unicode = (flags & Flags.UNICODE) !== 0;
  const lm = field(data, 12, 'LM response');
  const nt = field(data, 20, 'NT response');
  const domain = field(data, 28, 'domain');
  const user = field(data, 36, 'user');
  const workstation = field(data, 44, 'workstation');
  const key = field(data, 52, 'session key');
  // The payload starts at the lowest offset: a header with room for Version and MIC has 88 bytes.
  const offsets = [12, 20, 28, 36, 44, 52]
    .filter((at) => data.readUInt16LE(at) > 0)
    .map((at) => data.readUInt32LE(at + 4));
  const payloadStart = offsets.length ? Math.min(...offsets) : data.length;
  const version = flags & Flags.VERSION && payloadStart >= 72 ? Buffer.from(data.subarray(64, 72)) : null;
  let mic: Buffer | null = null;
  let micOffset: number | null = null;
  if (payloadStart >= AUTHENTICATE_HEADER_BYTES && nt.length > 24 && ntResponseHasMic(nt)) {
    micOffset = MIC_OFFSET;
    mic = Buffer.from(data.subarray(MIC_OFFSET, MIC_OFFSET + 16));
  }
  return {
    flags,
    lmChallengeResponse: Buffer.from(lm),
    ntChallengeResponse: Buffer.from(nt),
    domain: text(domain, unicode),
    user: text(user, unicode),
    workstation: text(workstation, unicode),
    encryptedRandomSessionKey: Buffer.from(key),
    version,
    mic,
    micOffset,
  };
}

/** Whether an NTLMv2 response's AV pairs carry MsvAvFlags with the MIC bit. */
function ntResponseHasMic(nt: Buffer): boolean {
  // NTProofStr(16) + RespType, HiRespType, Z(6), Time(8), ClientChallenge(8), Z(4) = 44 bytes.
  if (nt.length < 48) return false;
  try {
    const flags = parseAvPairs(nt.subarray(44)).find((p) => p.id === AvId.Flags);
    return !!flags && flags.value.length >= 4 && (flags.value.readUInt32LE(0) & 0x2) !== 0;
  } catch {
    return false;
  }
}
