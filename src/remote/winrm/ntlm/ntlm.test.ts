import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NtlmContext, NtlmError } from './index';
import { AvId, Flags, encodeAvPairs, encodeChallenge, parseAuthenticate } from './messages';
import { SealingDirection, ntlmv2Response, ntlmv2Temp, ntowfv2, sessionKeys } from './ntlmv2';
import { testAcceptor } from './testing';

const FIXTURES = new URL('../../../../test/fixtures/winrm/ntlm/', import.meta.url);
const V = JSON.parse(readFileSync(new URL('ms-nlmp-4.2.4-ntlmv2.json', FIXTURES), 'utf8')) as Record<
  string,
  string
>;
const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const utf16 = (s: string): Buffer => Buffer.from(s, 'utf16le');

/** Randomness of the MS-NLMP example: 0xaa… for the client challenge, 0x55… for the session key. */
function nlmpRandom(n: number): Buffer {
  if (n === 8) return hex(V.client_challenge!);
  if (n === 16) return hex(V.random_session_key!);
  throw new Error(`unexpected random(${n})`);
}

const nlmpPairs = [
  { id: AvId.NbDomainName, value: utf16('Domain') },
  { id: AvId.NbComputerName, value: utf16('Server') },
];

describe('MS-NLMP 4.2.4 NTLMv2 vectors', () => {
  const flags = Number.parseInt(V.negotiate_flags_hex!, 16);
  const key = ntowfv2(V.password!, V.user!, V.domain!);
  const temp = ntlmv2Temp(hex(V.time!), hex(V.client_challenge!), encodeAvPairs(nlmpPairs));
  const response = ntlmv2Response(key, hex(V.server_challenge!), hex(V.client_challenge!), temp, true);
  const keys = sessionKeys(hex(V.random_session_key!), flags);

  it('NTOWFv2', () => expect(key.toString('hex')).toBe(V.ntowfv2));
  it('temp', () => expect(temp.toString('hex')).toBe(V.temp));
  it('NTProofStr', () => expect(response.ntProofStr.toString('hex')).toBe(V.nt_proof_str));
  it('session base key', () => expect(response.sessionBaseKey.toString('hex')).toBe(V.session_base_key));
  it('client sealing and signing keys', () => {
    expect(keys.clientSeal.toString('hex')).toBe(V.client_seal_key);
    expect(keys.clientSign.toString('hex')).toBe(V.client_sign_key);
  });
  it('sealed "Plaintext" and its signature with sequence number 0', () => {
    const plain = hex(V.plaintext_utf16le_hex!);
    expect(plain.toString('utf16le')).toBe(V.plaintext);
    const { signature, sealed } = new SealingDirection(keys.clientSign, keys.clientSeal, true).seal(plain);
    expect(sealed.toString('hex')).toBe(V.sealed_by_client);
    expect(signature.toString('hex')).toBe(V.signature_by_client_seq0);
  });
});

function nlmpContext(options: { certificate?: Buffer } = {}): NtlmContext {
  return new NtlmContext(
    { domain: V.domain!, username: V.user!, password: V.password!, workstation: V.workstation! },
    { random: nlmpRandom, now: () => new Date(0), serverCertificate: options.certificate },
  );
}

describe('NtlmContext', () => {
  it('derives the MS-NLMP keys and seals "Plaintext" exactly as the specification shows', () => {
    const ctx = nlmpContext();
    ctx.negotiateMessage();
    const challenge = encodeChallenge({
      flags: Number.parseInt(V.negotiate_flags_hex!, 16),
      serverChallenge: hex(V.server_challenge!),
      targetName: 'Server',
      avPairs: nlmpPairs,
    });
    const auth = parseAuthenticate(ctx.authenticateMessage(challenge));
    expect(ctx.established).toBe(true);
    expect(ctx.exportedSessionKey.toString('hex')).toBe(V.random_session_key);
    expect(auth.user).toBe('User');
    expect(auth.domain).toBe('Domain');
    expect(auth.workstation).toBe('COMPUTER');
    expect(auth.mic).not.toBeNull();
    const { signature, sealed } = ctx.wrap(hex(V.plaintext_utf16le_hex!));
    expect(sealed.toString('hex')).toBe(V.sealed_by_client);
    expect(signature.toString('hex')).toBe(V.signature_by_client_seq0);
    expect(ctx.serverIdentity).toEqual({
      netbiosDomain: 'Domain',
      netbiosComputer: 'Server',
      dnsComputer: null,
      dnsDomain: null,
    });
  });

  function handshake(password = 'Secret-123', avPairs = dcPairs()) {
    const acceptor = testAcceptor({ password: 'Secret-123', avPairs });
    const ctx = new NtlmContext({ domain: 'PATCHDECK', username: 'alice', password });
    const negotiate = ctx.negotiateMessage();
    const authenticate = ctx.authenticateMessage(acceptor.challenge);
    return { ctx, acceptor, negotiate, authenticate };
  }

  function dcPairs() {
    const stamp = Buffer.alloc(8);
    stamp.writeBigUInt64LE(133_000_000_000_000_000n);
    return [
      { id: AvId.NbDomainName, value: utf16('PATCHDECK') },
      { id: AvId.NbComputerName, value: utf16('WIN1') },
      { id: AvId.DnsDomainName, value: utf16('patchdeck.test') },
      { id: AvId.DnsComputerName, value: utf16('win1.patchdeck.test') },
      { id: AvId.Timestamp, value: stamp },
    ];
  }

  it('sends a MIC a DC-style acceptor verifies, with Z(24) as LM response when the challenge has a timestamp', () => {
    const { acceptor, negotiate, authenticate } = handshake();
    const result = acceptor.accept(negotiate, authenticate);
    expect(result.micChecked).toBe(true);
    const auth = parseAuthenticate(authenticate);
    expect(auth.lmChallengeResponse.equals(Buffer.alloc(24))).toBe(true);
    // The NTLMv2 blob carries the server's timestamp, not the client clock.
    expect(auth.ntChallengeResponse.subarray(24, 32).readBigUInt64LE()).toBe(133_000_000_000_000_000n);
  });

  it('is refused by the acceptor with a wrong password', () => {
    const { acceptor, negotiate, authenticate } = handshake('wrong');
    expect(() => acceptor.accept(negotiate, authenticate)).toThrow('wrong password');
  });

  it('wraps and unwraps many messages both ways with advancing sequence numbers', () => {
    const { ctx, acceptor, negotiate, authenticate } = handshake();
    acceptor.accept(negotiate, authenticate);
    for (let i = 0; i < 5; i++) {
      const out = Buffer.from(`request ${i} ${'x'.repeat(i * 100)}`);
      const w = ctx.wrap(out);
      expect(w.signature.readUInt32LE(12)).toBe(i);
      expect(w.sealed.equals(out)).toBe(false);
      expect(acceptor.unwrap(w.signature, w.sealed)?.equals(out)).toBe(true);
      const back = Buffer.from(`reply ${i} ünïcødé`);
      const r = acceptor.wrap(back);
      expect(ctx.unwrap(r.signature, r.sealed).equals(back)).toBe(true);
    }
  });

  it('refuses a tampered signature or sealed byte, then refuses to go on', () => {
    for (const tamper of ['signature', 'sealed', 'sequence'] as const) {
      const { ctx, acceptor, negotiate, authenticate } = handshake();
      acceptor.accept(negotiate, authenticate);
      const r = acceptor.wrap(Buffer.from('<s:Envelope/>'));
      const signature = Buffer.from(r.signature);
      const sealed = Buffer.from(r.sealed);
      if (tamper === 'signature') signature[5]! ^= 1;
      if (tamper === 'sealed') sealed[3]! ^= 1;
      if (tamper === 'sequence') signature.writeUInt32LE(7, 12);
      expect(() => ctx.unwrap(signature, sealed)).toThrow(expect.objectContaining({ kind: 'bad-signature' }));
      const next = acceptor.wrap(Buffer.from('next'));
      expect(() => ctx.unwrap(next.signature, next.sealed)).toThrow(
        expect.objectContaining({ kind: 'state' }),
      );
    }
  });

  it('refuses a replayed message (its sequence number is behind)', () => {
    const { ctx, acceptor, negotiate, authenticate } = handshake();
    acceptor.accept(negotiate, authenticate);
    const first = acceptor.wrap(Buffer.from('one'));
    ctx.unwrap(first.signature, first.sealed);
    expect(() => ctx.unwrap(first.signature, first.sealed)).toThrow(NtlmError);
  });

  it('keeps its steps in order', () => {
    const ctx = new NtlmContext({ domain: '', username: 'a', password: 'b' });
    expect(() => ctx.wrap(Buffer.from('x'))).toThrow(expect.objectContaining({ kind: 'state' }));
    expect(() => ctx.authenticateMessage(Buffer.alloc(0))).toThrow(
      expect.objectContaining({ kind: 'state' }),
    );
    ctx.negotiateMessage();
    expect(() => ctx.negotiateMessage()).toThrow(expect.objectContaining({ kind: 'state' }));
    expect(() => ctx.exportedSessionKey).toThrow(expect.objectContaining({ kind: 'state' }));
  });

  it('answers no challenge that refuses sealing when the messages are to be sealed, and cannot seal without it', () => {
    const acceptor = testAcceptor({ password: 'p', avPairs: dcPairs(), flags: 0xe28a8205 & ~Flags.SEAL });
    // WinRM over HTTP: the password-derived authenticate message is never built.
    const sealed = new NtlmContext({ domain: 'PATCHDECK', username: 'alice', password: 'p' });
    sealed.negotiateMessage();
    expect(() => sealed.authenticateMessage(acceptor.challenge)).toThrow(
      expect.objectContaining({ kind: 'unsupported', message: expect.stringMatching(/sealing/) }),
    );
    // Over HTTPS (TLS encrypts) it authenticates, and sealing is still refused.
    const ctx = new NtlmContext(
      { domain: 'PATCHDECK', username: 'alice', password: 'p' },
      { requireSealing: false },
    );
    ctx.negotiateMessage();
    ctx.authenticateMessage(acceptor.challenge);
    expect(() => ctx.wrap(Buffer.from('x'))).toThrow(expect.objectContaining({ kind: 'unsupported' }));
  });

  it('puts the MD5 of the TLS channel bindings in the response when given a certificate', () => {
    const certificate = Buffer.from('not really a certificate, hashed with SHA-256 like one');
    const ctx = nlmpContext({ certificate });
    ctx.negotiateMessage();
    const challenge = encodeChallenge({
      flags: 0xe28a8235,
      serverChallenge: hex(V.server_challenge!),
      targetName: 'Server',
      avPairs: nlmpPairs,
    });
    const nt = parseAuthenticate(ctx.authenticateMessage(challenge)).ntChallengeResponse;
    const appData = Buffer.concat([
      Buffer.from('tls-server-end-point:'),
      createHash('sha256').update(certificate).digest(),
    ]);
    const struct = Buffer.concat([Buffer.alloc(16), Buffer.alloc(4), appData]);
    struct.writeUInt32LE(appData.length, 16);
    const expected = createHash('md5').update(struct).digest();
    expect(nt.includes(Buffer.concat([Buffer.from([0x0a, 0, 0x10, 0]), expected]))).toBe(true);
  });
});
