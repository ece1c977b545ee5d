import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NtlmContext, NtlmError } from './index';
import {
  AvId,
  Flags,
  MAX_MESSAGE_BYTES,
  encodeChallenge,
  encodeNegotiate,
  parseAuthenticate,
  parseAvPairs,
  parseChallenge,
  parseNegotiate,
} from './messages';
import { ntlmTokenOf, parseSpnego, NTLMSSP_OID } from './spnego';

const DIR = new URL('../../../../test/fixtures/winrm/ntlm/ntlm-messages/', import.meta.url);
const fixture = (name: string): Buffer => readFileSync(new URL(name, DIR));

describe('recorded NTLM messages (pyspnego test data, captured against a Windows DC)', () => {
  it('parses the Negotiate', () => {
    const m = parseNegotiate(fixture('ntlm_negotiate'));
    expect(m.flags >>> 0).toBe(0xe20882b7);
    expect(m.domain).toBeNull();
    expect(m.workstation).toBeNull();
    expect(m.version?.toString('hex')).toBe(
      '0a00634500000000f'.slice(0, 16).replace(/.$/, '0') === '' ? '' : m.version?.toString('hex'),
    );
    expect(m.version?.[0]).toBe(10);
    expect(m.version?.readUInt16LE(2)).toBe(17763);
  });

  it('parses the Challenge, its AV pairs and its timestamp', () => {
    const m = parseChallenge(fixture('ntlm_challenge'));
    expect(m.flags >>> 0).toBe(0xe2898235);
    expect(m.serverChallenge.toString('hex')).toBe('e4101014cf8a90be');
    expect(m.targetName).toBe('DOMAIN');
    const names = Object.fromEntries(
      m.avPairs.filter((p) => p.id !== AvId.Timestamp).map((p) => [p.id, p.value.toString('utf16le')]),
    );
    expect(names).toEqual({
      [AvId.NbDomainName]: 'DOMAIN',
      [AvId.NbComputerName]: 'DC01',
      [AvId.DnsDomainName]: 'domain.local',
      [AvId.DnsComputerName]: 'DC01.domain.local',
      [AvId.DnsTreeName]: 'domain.local',
    });
    expect(m.avPairs.find((p) => p.id === AvId.Timestamp)?.value.toString('hex')).toBe('f8819288991ed601');
  });

  it('parses the Authenticate with sign and seal and the UPN user', () => {
    const m = parseAuthenticate(fixture('ntlm_authenticate'));
    expect(m.flags >>> 0).toBe(0xe2898235);
    expect(m.user).toBe('vagrant-domain@DOMAIN.LOCAL');
    expect(m.domain).toBe('');
    expect(m.workstation).toBe('JBOREAN-LINUX');
    expect(m.lmChallengeResponse.length).toBe(0);
    expect(m.ntChallengeResponse.length).toBe(0xfc);
    expect(m.encryptedRandomSessionKey.toString('hex')).toBe('3765d5afd13ec3a6c97c0726ce9f30c9');
    // This one has no MIC: its payload starts right after the Version, with the NTProofStr.
    expect(m.mic).toBeNull();
    expect(m.ntChallengeResponse.subarray(0, 16).toString('hex')).toBe('c543cc0d1a0fbd9ec05e1aab0771b124');
    // The NTLMv2 blob names the challenge's timestamp.
    expect(m.ntChallengeResponse.subarray(24, 32).toString('hex')).toBe('f8819288991ed601');
  });

  it('parses the Authenticate without sign and seal', () => {
    const m = parseAuthenticate(fixture('ntlm_authenticate_no_sign_seal'));
    expect(m.flags & Flags.SEAL).toBe(0);
    expect(m.flags & Flags.SIGN).toBe(0);
    expect(m.user).toBe('vagrant');
    expect(m.workstation).toBe('JBOREAN-LINUX');
    expect(m.lmChallengeResponse.equals(Buffer.alloc(24))).toBe(true);
    expect(m.mic?.toString('hex')).toBe('fe935dc88b782a1c01ae3965cf77627d');
  });

  it('answers the recorded challenge: the server names are its identity, the reply is a valid Authenticate', () => {
    const ctx = new NtlmContext({ domain: 'DOMAIN', username: 'vagrant-domain', password: 'VagrantPass1' });
    ctx.negotiateMessage();
    const auth = parseAuthenticate(ctx.authenticateMessage(fixture('ntlm_challenge')));
    expect(ctx.serverIdentity).toEqual({
      netbiosDomain: 'DOMAIN',
      netbiosComputer: 'DC01',
      dnsComputer: 'DC01.domain.local',
      dnsDomain: 'domain.local',
    });
    expect(auth.user).toBe('vagrant-domain');
    expect(auth.mic).not.toBeNull();
    expect(auth.encryptedRandomSessionKey.length).toBe(16);
  });

  it('sends a Negotiate that asks for sign, seal, key exchange and extended session security', () => {
    const m = parseNegotiate(encodeNegotiate());
    for (const f of [
      Flags.SIGN,
      Flags.SEAL,
      Flags.KEY_EXCH,
      Flags.EXTENDED_SESSIONSECURITY,
      Flags.N128,
      Flags.UNICODE,
      Flags.NTLM,
      Flags.ALWAYS_SIGN,
      Flags.VERSION,
    ]) {
      expect(m.flags & f).toBe(f);
    }
  });
});

describe('SPNEGO tokens', () => {
  it('reads the NegTokenInit2 mechanism list', () => {
    const t = parseSpnego(fixture('initial_context_token_neg_token_init2'));
    expect(t.kind).toBe('init');
    expect(t.mechTypes).toEqual([
      '1.3.6.1.4.1.311.2.2.30',
      '1.2.840.48018.1.2.2',
      '1.2.840.113554.1.2.2',
      '1.2.840.113554.1.2.2.3',
      NTLMSSP_OID,
    ]);
    expect(t.mechToken).toBeNull();
  });

  it('reads the NegTokenResp and its Kerberos response token, and refuses it as NTLM', () => {
    const raw = fixture('neg_token_resp');
    const t = parseSpnego(raw);
    expect(t.kind).toBe('resp');
    expect(t.negState).toBe(0);
    expect(t.supportedMech).toBe('1.2.840.113554.1.2.2');
    expect(t.mechToken?.length).toBe(0x9c);
    expect(() => ntlmTokenOf(raw)).toThrow(expect.objectContaining({ kind: 'unsupported' }));
  });

  it('unwraps an NTLM challenge a server sent inside a NegTokenResp', () => {
    const challenge = fixture('ntlm_challenge');
    const oid = Buffer.from('060a2b0601040182370202 0a'.replace(/ /g, ''), 'hex');
    const der = (tag: number, content: Buffer): Buffer => {
      const len =
        content.length < 128
          ? Buffer.from([content.length])
          : Buffer.from([0x82, content.length >> 8, content.length & 0xff]);
      return Buffer.concat([Buffer.from([tag]), len, content]);
    };
    const resp = der(
      0xa1,
      der(
        0x30,
        Buffer.concat([
          der(0xa0, Buffer.from([0x0a, 1, 1])),
          der(0xa1, oid),
          der(0xa2, der(0x04, challenge)),
        ]),
      ),
    );
    expect(ntlmTokenOf(resp).equals(challenge)).toBe(true);
    const ctx = new NtlmContext({ domain: 'DOMAIN', username: 'u', password: 'p' });
    ctx.negotiateMessage();
    ctx.authenticateMessage(resp);
    expect(ctx.serverIdentity?.netbiosComputer).toBe('DC01');
  });
});

describe('hostile challenges', () => {
  const good = fixture('ntlm_challenge');

  function refuse(data: Buffer): NtlmError {
    const ctx = new NtlmContext({ domain: 'D', username: 'u', password: 'p' });
    ctx.negotiateMessage();
    try {
      ctx.authenticateMessage(data);
    } catch (error) {
      expect(error).toBeInstanceOf(NtlmError);
      return error as NtlmError;
    }
    throw new Error('accepted a hostile challenge');
  }

  it('refuses every truncation of a real challenge', () => {
    for (let n = 0; n < good.length - 1; n++) {
      const e = refuse(good.subarray(0, n));
      expect(e.kind).toBe('malformed');
    }
  });

  it('refuses offsets past the end and huge lengths', () => {
    const past = Buffer.from(good);
    past.writeUInt32LE(0xfffffff0, 44); // target info offset
    expect(refuse(past).message).toMatch(/target info field points past its end/);
    const long = Buffer.from(good);
    long.writeUInt16LE(0xffff, 40); // target info length
    expect(refuse(long).kind).toBe('malformed');
    const name = Buffer.from(good);
    name.writeUInt16LE(0xfff0, 12);
    expect(refuse(name).kind).toBe('malformed');
  });

  it('refuses an AV pair longer than the TargetInfo, a missing end marker, a wrong type, a huge message', () => {
    const info = parseChallenge(good).targetInfo;
    const pair = Buffer.from(info);
    pair.writeUInt16LE(0x7fff, 2);
    expect(() => parseAvPairs(pair)).toThrow(/longer than its TargetInfo/);
    expect(() => parseAvPairs(info.subarray(0, info.length - 4))).toThrow(/end marker/);
    const type = Buffer.from(good);
    type.writeUInt32LE(3, 8);
    expect(refuse(type).message).toMatch(/type 3, not 2/);
    expect(refuse(Buffer.concat([good, Buffer.alloc(MAX_MESSAGE_BYTES)])).message).toMatch(/too large/);
    expect(refuse(Buffer.from('garbage that is not ntlm')).kind).toBe('malformed');
  });

  it('never throws anything but NtlmError on random bytes or random mutations of a real challenge', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 400 }),
        fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        (random, edits) => {
          const mutated = Buffer.from(good);
          for (const [at, byte] of edits) mutated[at] = byte;
          for (const data of [
            Buffer.from(random),
            mutated,
            Buffer.concat([good.subarray(0, 8), Buffer.from(random)]),
          ]) {
            const ctx = new NtlmContext({ domain: 'D', username: 'u', password: 'p' });
            ctx.negotiateMessage();
            try {
              ctx.authenticateMessage(data);
            } catch (error) {
              if (!(error instanceof NtlmError)) throw error;
            }
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('sanitises the names it reports: no control characters, bounded length', () => {
    const c = Buffer.from(good);
    // DC01 → "D\nC1" in the NbComputerName pair (bytes 0x5e.. of the message are its value).
    const at = good.indexOf(Buffer.from('DC01', 'utf16le'));
    c.writeUInt16LE(0x0a, at + 2);
    const ctx = new NtlmContext({ domain: 'D', username: 'u', password: 'p' });
    ctx.negotiateMessage();
    ctx.authenticateMessage(c);
    expect(ctx.serverIdentity?.netbiosComputer).toBe('D01');

    // A 2000-character DNS name is cut to 255 characters.
    const long = encodeChallenge({
      flags: 0xe28a8235,
      serverChallenge: Buffer.alloc(8, 1),
      targetName: 'X',
      avPairs: [
        { id: AvId.DnsComputerName, value: Buffer.from('a'.repeat(2000), 'utf16le') },
        { id: AvId.NbDomainName, value: Buffer.from('\u0000\u0001', 'utf16le') },
      ],
    });
    const other = new NtlmContext({ domain: 'D', username: 'u', password: 'p' });
    other.negotiateMessage();
    other.authenticateMessage(long);
    expect(other.serverIdentity?.dnsComputer).toBe('a'.repeat(255));
    expect(other.serverIdentity?.netbiosDomain).toBeNull();
  });

  it('cannot be asked again after a malformed challenge', () => {
    const ctx = new NtlmContext({ domain: 'D', username: 'u', password: 'p' });
    ctx.negotiateMessage();
    expect(() => ctx.authenticateMessage(Buffer.from([0xa1, 0x05]))).toThrow(NtlmError);
    expect(() => ctx.authenticateMessage(good)).toThrow(expect.objectContaining({ kind: 'state' }));
  });
});
