import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NtlmError, decryptBody, encryptBody } from './index';
import { SealingDirection } from './ntlmv2';

/** One direction of sealing on both ends, from fixed keys. */
function pair() {
  const sign = Buffer.alloc(16, 1);
  const seal = Buffer.alloc(16, 2);
  const sender = new SealingDirection(sign, seal, true);
  const receiver = new SealingDirection(sign, seal, true);
  return {
    wrap: (plain: Buffer) => sender.seal(plain),
    unwrap: (signature: Buffer, sealed: Buffer) => {
      const { plain, expected } = receiver.unseal(sealed);
      if (!expected.equals(signature)) throw new NtlmError('bad-signature', 'bad signature');
      return plain;
    },
  };
}

const soap = Buffer.from(
  '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>ünï</s:Body></s:Envelope>',
);

describe('MS-WSMV encrypted body', () => {
  it('has the layout of MS-WSMV 2.2.9.1.1', () => {
    const body = encryptBody(pair(), soap);
    const text = body.toString('latin1');
    expect(
      text.startsWith(
        '--Encrypted Boundary\r\n\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n' +
          `\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=${soap.length}\r\n` +
          '--Encrypted Boundary\r\n\tContent-Type: application/octet-stream\r\n',
      ),
    ).toBe(true);
    expect(text.endsWith('--Encrypted Boundary--\r\n')).toBe(true);
    expect(body.includes(soap)).toBe(false);
    const at = body.indexOf('octet-stream\r\n') + 'octet-stream\r\n'.length;
    expect(body.readUInt32LE(at)).toBe(16);
  });

  it('round-trips several messages in order', () => {
    const p = pair();
    for (let i = 0; i < 4; i++) {
      const message = Buffer.from(`${soap.toString()}#${i}`);
      expect(decryptBody(p, encryptBody(p, message)).equals(message)).toBe(true);
    }
  });

  it('reads bodies without tabs, with LF line ends, other header case and a blank line before the end', () => {
    const p = pair();
    const variants: Array<(s: string) => string> = [
      (s) => s.replace(/\t/g, ''),
      (s) => s.replace(/\r\n/g, '\n'),
      (s) =>
        s
          .replace(/Content-Type/g, 'content-type')
          .replace('OriginalContent', 'originalcontent')
          .replace('Length=', 'length = '),
      (s) => s.replace(/\t/g, '  '),
    ];
    for (const change of variants) {
      const body = encryptBody(p, soap);
      const at = body.indexOf('octet-stream\r\n') + 'octet-stream\r\n'.length;
      const head = change(body.subarray(0, at).toString('latin1'));
      const tail = body.subarray(at + 4 + 16 + soap.length);
      const variant = Buffer.concat([
        Buffer.from(head, 'latin1'),
        body.subarray(at, at + 4 + 16 + soap.length),
        Buffer.from(change(tail.toString('latin1')), 'latin1'),
      ]);
      expect(decryptBody(p, variant).equals(soap)).toBe(true);
    }
    // A CRLF between the sealed bytes and the end boundary.
    const body = encryptBody(p, soap);
    const withBreak = Buffer.concat([
      body.subarray(0, body.length - 24),
      Buffer.from('\r\n'),
      body.subarray(body.length - 24),
    ]);
    expect(decryptBody(p, withBreak).equals(soap)).toBe(true);
  });

  function refuse(body: Buffer): NtlmError {
    try {
      decryptBody(pair(), body);
    } catch (error) {
      expect(error).toBeInstanceOf(NtlmError);
      return error as NtlmError;
    }
    throw new Error('accepted a malformed body');
  }

  it('refuses a length mismatch either way', () => {
    const body = encryptBody(pair(), soap).toString('latin1');
    const shorter = Buffer.from(body.replace(`Length=${soap.length}`, `Length=${soap.length - 1}`), 'latin1');
    expect(refuse(shorter).message).toMatch(/not \d+ bytes long as OriginalContent says/);
    const longer = Buffer.from(
      body.replace(`Length=${soap.length}`, `Length=${soap.length + 100}`),
      'latin1',
    );
    expect(refuse(longer).message).toMatch(/only \d+ follow/);
  });

  it('refuses bodies that are not the encrypted format', () => {
    expect(refuse(soap).message).toMatch(/does not start with the Encrypted Boundary/);
    expect(refuse(Buffer.alloc(0)).kind).toBe('malformed');
    const body = encryptBody(pair(), soap).toString('latin1');
    expect(refuse(Buffer.from(body.replace('OriginalContent', 'X-Other'), 'latin1')).message).toMatch(
      /no OriginalContent/,
    );
    expect(refuse(Buffer.from(body.replace(/Length=\d+/, 'Length=abc'), 'latin1')).message).toMatch(
      /no Length/,
    );
    expect(refuse(Buffer.from(body.replace('octet-stream', 'text/plain'), 'latin1')).kind).toBe('malformed');
    expect(
      refuse(Buffer.from(body.replace('--Encrypted Boundary--', '--Encrypted Boundery--'), 'latin1')).kind,
    ).toBe('malformed');
    const huge = Buffer.from(body, 'latin1');
    huge.writeUInt32LE(0xffffffff, huge.indexOf('octet-stream\r\n') + 14);
    expect(refuse(huge).message).toMatch(/signature length/);
    expect(refuse(Buffer.from('--Encrypted Boundary' + 'x'.repeat(5000), 'latin1')).message).toMatch(
      /header line has no end/,
    );
  });

  it('refuses a tampered sealed byte as a bad signature', () => {
    const body = encryptBody(pair(), soap);
    body[body.length - 30]! ^= 0x01;
    expect(refuse(body).kind).toBe('bad-signature');
  });

  it('never throws anything but NtlmError on mutated or random bodies', () => {
    const good = encryptBody(pair(), soap);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.nat(good.length),
        fc.uint8Array({ maxLength: 300 }),
        (edits, cut, random) => {
          const mutated = Buffer.from(good);
          for (const [at, byte] of edits) mutated[at] = byte;
          for (const body of [
            mutated,
            good.subarray(0, cut),
            Buffer.concat([good.subarray(0, 30), Buffer.from(random)]),
          ]) {
            try {
              decryptBody(pair(), body);
            } catch (error) {
              if (!(error instanceof NtlmError)) throw error;
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('seals and unseals 1 MiB in one pass (the whole body is one RC4 run)', () => {
    const p = pair();
    const big = Buffer.alloc(1024 * 1024, 0x41);
    expect(decryptBody(p, encryptBody(p, big)).equals(big)).toBe(true);
  });
});
