// The client side of one NTLM security context: Negotiate → Challenge → Authenticate, then
// GSS wrap/unwrap for WinRM's message encryption. One context per TCP connection.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { channelBindingsHash } from './channel-bindings';
import { NtlmError } from './errors';
import {
  AvId,
  CLIENT_FLAGS,
  Flags,
  MIC_OFFSET,
  encodeAuthenticate,
  encodeAvPairs,
  encodeNegotiate,
  parseChallenge,
  type AvPair,
  type ChallengeMessage,
} from './messages';
import {
  SealingDirection,
  computeMic,
  encryptSessionKey,
  fileTime,
  ntlmv2Response,
  ntlmv2Temp,
  ntowfv2,
  sessionKeys,
} from './ntlmv2';
import { ntlmTokenOf } from './spnego';

export interface NtlmIdentity {
  /** NetBIOS domain ('PATCHDECK'), '' or '.' for a local account; for user@realm the caller passes domain '' and username 'user@realm'. */
  domain: string;
  username: string;
  password: string;
  /** Default 'PATCHDECK'. */
  workstation?: string;
}

export interface NtlmOptions {
  /** HTTPS channel binding: the server certificate's DER. */
  serverCertificate?: Buffer;
  /** The service principal the client means to reach ('HTTP/win1.example'), sent as MsvAvTargetName. */
  targetName?: string;
  /**
   * The messages will be sealed (WinRM over HTTP): a challenge that does not agree to sealing,
   * signing and extended session security is refused before the authenticate message (which is
   * derived from the password) is built. Default true; HTTPS, where TLS encrypts, passes false.
   */
  requireSealing?: boolean;
  /** Tests only: fixed randomness and time. */
  random?: (n: number) => Buffer;
  now?: () => Date;
}

export interface NtlmServerIdentity {
  netbiosDomain: string | null;
  netbiosComputer: string | null;
  dnsComputer: string | null;
  dnsDomain: string | null;
}

/** Longest name kept from a challenge; real NetBIOS names have 15 characters, DNS names 253. */
const MAX_NAME_CHARS = 255;

/** A name the server announced, made safe to show and to compare: printable, bounded, or null. */
function sanitisedName(value: Buffer | undefined): string | null {
  if (!value || value.length === 0) return null;
  const decoded = value.subarray(0, MAX_NAME_CHARS * 2).toString('utf16le');
  // eslint-disable-next-line no-control-regex
  const clean = decoded.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\ufffd]/g, '').trim();
  return clean.length ? clean : null;
}

type State = 'initial' | 'negotiated' | 'established' | 'failed';

export class NtlmContext {
  private state: State = 'initial';
  private negotiate: Buffer | null = null;
  private flags = 0;
  private sessionKey: Buffer | null = null;
  private sender: SealingDirection | null = null;
  private receiver: SealingDirection | null = null;
  private receiveBroken = false;
  private server: NtlmServerIdentity | null = null;
  private readonly random: (n: number) => Buffer;
  private readonly now: () => Date;

  constructor(
    private readonly identity: NtlmIdentity,
    private readonly options: NtlmOptions = {},
  ) {
    this.random = options.random ?? randomBytes;
    this.now = options.now ?? (() => new Date());
  }

  get established(): boolean {
    return this.state === 'established';
  }

  /** Names the server announced in its challenge (untrusted, sanitised), for the NTLM identity pin. */
  get serverIdentity(): NtlmServerIdentity | null {
    return this.server;
  }

  /** The flags both sides agreed on (after the challenge). */
  get negotiatedFlags(): number {
    return this.flags;
  }

  get exportedSessionKey(): Buffer {
    if (!this.sessionKey)
      throw new NtlmError('state', 'The NTLM context has no session key before it is established.');
    return Buffer.from(this.sessionKey);
  }

  negotiateMessage(): Buffer {
    if (this.state !== 'initial')
      throw new NtlmError('state', 'The NTLM negotiate message was already sent.');
    this.negotiate = encodeNegotiate(CLIENT_FLAGS);
    this.state = 'negotiated';
    return Buffer.from(this.negotiate);
  }

  authenticateMessage(challengeToken: Buffer): Buffer {
    if (this.state !== 'negotiated' || !this.negotiate) {
      throw new NtlmError(
        'state',
        'The NTLM challenge came before the negotiate message or after the authenticate message.',
      );
    }
    let raw: Buffer;
    let challenge: ChallengeMessage;
    try {
      raw = ntlmTokenOf(challengeToken);
      challenge = parseChallenge(raw);
    } catch (error) {
      this.state = 'failed';
      throw error;
    }
    this.server = {
      netbiosDomain: sanitisedName(challenge.avPairs.find((p) => p.id === AvId.NbDomainName)?.value),
      netbiosComputer: sanitisedName(challenge.avPairs.find((p) => p.id === AvId.NbComputerName)?.value),
      dnsComputer: sanitisedName(challenge.avPairs.find((p) => p.id === AvId.DnsComputerName)?.value),
      dnsDomain: sanitisedName(challenge.avPairs.find((p) => p.id === AvId.DnsDomainName)?.value),
    };

    const flags = (challenge.flags & CLIENT_FLAGS) >>> 0;
    if (!(flags & Flags.NTLM)) {
      this.state = 'failed';
      throw new NtlmError('unsupported', 'The server did not agree to NTLM authentication.');
    }
    if (
      this.options.requireSealing !== false &&
      (!(flags & Flags.SEAL) || !(flags & Flags.SIGN) || !(flags & Flags.EXTENDED_SESSIONSECURITY))
    ) {
      this.state = 'failed';
      throw new NtlmError(
        'unsupported',
        'The server did not agree to NTLM sealing with extended session security, so no answer to its challenge was sent.',
      );
    }
    this.flags = flags;

    const serverTimestamp = challenge.avPairs.find((p) => p.id === AvId.Timestamp && p.value.length === 8);
    const time = serverTimestamp ? Buffer.from(serverTimestamp.value) : fileTime(this.now());
    const clientChallenge = this.randomBytes(8);

    const responsePairs = this.responseAvPairs(challenge.avPairs);
    const temp = ntlmv2Temp(time, clientChallenge, encodeAvPairs(responsePairs));
    const responseKey = ntowfv2(this.identity.password, this.identity.username, this.identity.domain);
    const response = ntlmv2Response(
      responseKey,
      challenge.serverChallenge,
      clientChallenge,
      temp,
      !serverTimestamp,
    );

    // NTLMv2: the key-exchange key is the session base key.
    const keyExchangeKey = response.sessionBaseKey;
    let exported: Buffer = keyExchangeKey;
    let encryptedKey: Buffer = Buffer.alloc(0);
    if (flags & Flags.KEY_EXCH) {
      exported = this.randomBytes(16);
      encryptedKey = encryptSessionKey(keyExchangeKey, exported);
    }

    const message = encodeAuthenticate({
      flags,
      lmChallengeResponse: response.lmChallengeResponse,
      ntChallengeResponse: response.ntChallengeResponse,
      domain: this.identity.domain,
      user: this.identity.username,
      workstation: this.identity.workstation ?? 'PATCHDECK',
      encryptedRandomSessionKey: encryptedKey,
    });
    computeMic(exported, this.negotiate, raw, message).copy(message, MIC_OFFSET);

    this.sessionKey = exported;
    const keys = sessionKeys(exported, flags);
    const keyExchange = (flags & Flags.KEY_EXCH) !== 0;
    this.sender = new SealingDirection(keys.clientSign, keys.clientSeal, keyExchange);
    this.receiver = new SealingDirection(keys.serverSign, keys.serverSeal, keyExchange);
    this.state = 'established';
    return message;
  }

  /** GSS wrap, client → server: 16-byte signature (next send sequence number) and the sealed bytes. */
  wrap(plain: Buffer): { signature: Buffer; sealed: Buffer } {
    return this.sealing('send').seal(plain);
  }

  /** GSS unwrap, server → client: checks the signature against the next receive sequence number. */
  unwrap(signature: Buffer, sealed: Buffer): Buffer {
    const receiver = this.sealing('receive');
    if (this.receiveBroken) {
      throw new NtlmError(
        'state',
        'The NTLM context refused an earlier message; the connection must authenticate again.',
      );
    }
    if (signature.length !== 16 || signature.readUInt32LE(0) !== 1) {
      this.receiveBroken = true;
      throw new NtlmError('bad-signature', 'The message signature from the server is not an NTLM signature.');
    }
    const { plain, expected } = receiver.unseal(sealed);
    if (!timingSafeEqual(expected, signature)) {
      // The RC4 stream has moved on: later messages cannot be read on this context.
      this.receiveBroken = true;
      throw new NtlmError('bad-signature', 'The message from the server failed its NTLM signature check.');
    }
    return plain;
  }

  private sealing(direction: 'send' | 'receive'): SealingDirection {
    if (this.state !== 'established' || !this.sender || !this.receiver) {
      throw new NtlmError('state', 'The NTLM context is not established.');
    }
    if (
      !(this.flags & Flags.SEAL) ||
      !(this.flags & Flags.SIGN) ||
      !(this.flags & Flags.EXTENDED_SESSIONSECURITY)
    ) {
      throw new NtlmError(
        'unsupported',
        'The server did not agree to NTLM sealing with extended session security.',
      );
    }
    return direction === 'send' ? this.sender : this.receiver;
  }

  private randomBytes(n: number): Buffer {
    const bytes = this.random(n);
    if (bytes.length !== n)
      throw new NtlmError('state', 'The random source returned the wrong number of bytes.');
    return Buffer.from(bytes);
  }

  /** The server's AV pairs plus ours: MsvAvFlags with the MIC bit, channel bindings, target name. */
  private responseAvPairs(serverPairs: readonly AvPair[]): AvPair[] {
    const ours = new Set<number>([AvId.Flags, AvId.ChannelBindings, AvId.TargetName]);
    const pairs = serverPairs.filter((p) => !ours.has(p.id)).map((p) => ({ id: p.id, value: p.value }));
    const serverFlags = serverPairs.find((p) => p.id === AvId.Flags && p.value.length === 4);
    const avFlags = Buffer.alloc(4);
    avFlags.writeUInt32LE(((serverFlags ? serverFlags.value.readUInt32LE(0) : 0) | 0x2) >>> 0);
    pairs.push({ id: AvId.Flags, value: avFlags });
    pairs.push({
      id: AvId.ChannelBindings,
      value: this.options.serverCertificate
        ? channelBindingsHash(this.options.serverCertificate)
        : Buffer.alloc(16),
    });
    if (this.options.targetName) {
      pairs.push({ id: AvId.TargetName, value: Buffer.from(this.options.targetName, 'utf16le') });
    }
    return pairs;
  }
}
