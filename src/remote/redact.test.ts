import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MIN_REDACTED_LENGTH, Redactor, SECRET_MASK } from './redact';

/** Feeds `chunks` through a streaming redactor and returns every piece it emitted. */
function streamed(redactor: Redactor, chunks: string[]): string[] {
  const out: string[] = [];
  const stream = redactor.stream((text) => out.push(text));
  for (const c of chunks) stream.push(c);
  stream.end();
  return out;
}

describe('Redactor', () => {
  it('masks every occurrence of every secret, the longer of two overlapping ones whole', () => {
    const r = new Redactor(['hunter22', 'hunter22-and-more', null, undefined, '']);
    expect(r.redact('a hunter22 b hunter22-and-more c')).toBe(`a ${SECRET_MASK} b ${SECRET_MASK} c`);
    expect(r.redact('nothing here')).toBe('nothing here');
  });

  it('leaves secrets shorter than the minimum alone (they would match ordinary output)', () => {
    const short = 'x'.repeat(MIN_REDACTED_LENGTH - 1);
    const r = new Redactor([short]);
    expect(r.empty).toBe(true);
    expect(r.redact(`${short} and ${short}`)).toBe(`${short} and ${short}`);
  });

  it('takes secrets literally, regular-expression characters included', () => {
    const r = new Redactor(['a.b*c(d)[e]$^|\\']);
    expect(r.redact('xa.b*c(d)[e]$^|\\y aXbbbc(d)[e]$^|\\')).toBe(`x${r.mask}y aXbbbc(d)[e]$^|\\`);
  });

  it('uses a mask no secret can be spelt from', () => {
    const stars = new Redactor(['****', 'pa**word']);
    expect(stars.mask).not.toContain('*');
    expect(stars.redact('say ****!')).toBe(`say ${stars.mask}!`);
    // The mask next to the text around it does not spell a secret either.
    expect(stars.redact('pa**word**')).toBe(`${stars.mask}**`);
    expect(new Redactor(['*#~abc']).mask).toBe('\u2022'.repeat(SECRET_MASK.length));
  });

  it('masks a secret cut across chunks, and hands out what cannot be a secret at once', () => {
    const r = new Redactor(['s3cret-pass']);
    expect(streamed(r, ['before s3cr', 'et-pass after'])).toEqual(['before ', `${SECRET_MASK} after`]);
    // One character at a time.
    expect(streamed(r, [...'x s3cret-pass y']).join('')).toBe(`x ${SECRET_MASK} y`);
    // A beginning that turns out not to be the secret comes out unchanged.
    expect(streamed(r, ['is s3cr', 'ew loose']).join('')).toBe('is s3crew loose');
    // A held-back beginning at the very end is handed out by end().
    expect(streamed(r, ['tail s3c'])).toEqual(['tail ', 's3c']);
  });

  it('holds back only what could still become a secret (self-overlapping secrets)', () => {
    const r = new Redactor(['abab']);
    // "aba" may become "abab": held. "abaa" cannot; only its last "a" may begin one.
    expect(streamed(r, ['xaba'])).toEqual(['x', 'aba']);
    expect(streamed(r, ['xabaa', 'bab']).join('')).toBe(`xaba${SECRET_MASK}`);
    expect(streamed(r, ['xab', 'ab'])).toEqual(['x', SECRET_MASK]);
  });

  it('streamed in any chunks, says what redact() says of the whole and never shows a secret', () => {
    const secrets = ['pw-1234', 'abcabd', 'zz-secret-zz'];
    const r = new Redactor(secrets);
    const piece = fc.oneof(
      fc.constantFrom(...secrets),
      fc.constantFrom('pw-', '123', 'abc', 'ab', 'zz-', '-zz', ' '),
      fc.string({ maxLength: 6 }),
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (pieces, cuts) => {
          const text = pieces.join('');
          const at = [...new Set(cuts.map((c) => (text.length ? c % (text.length + 1) : 0)))].sort(
            (a, b) => a - b,
          );
          const chunks: string[] = [];
          let last = 0;
          for (const c of at) {
            chunks.push(text.slice(last, c));
            last = c;
          }
          chunks.push(text.slice(last));
          const out = streamed(r, chunks).join('');
          expect(out).toBe(r.redact(text));
          for (const s of secrets) expect(out).not.toContain(s);
        },
      ),
      { numRuns: 2000, seed: 9 },
    );
  });

  it('holds back at most one secret\u2019s length on a long line made of its beginnings', () => {
    // A secret whose beginnings overlap itself, against a line made of those beginnings.
    const secret = `${'a'.repeat(63)}b`;
    const r = new Redactor([secret]);
    const line = 'a'.repeat(1 << 20);
    const out: string[] = [];
    const stream = r.stream((t) => out.push(t));
    for (let i = 0; i < line.length; i += 4096) stream.push(line.slice(i, i + 4096));
    stream.end();
    expect(out.join('')).toBe(line);
    // Never more than one secret's length is held back between chunks.
    expect(Math.max(...out.map((t) => t.length))).toBeLessThanOrEqual(4096 + secret.length);
  });
});
