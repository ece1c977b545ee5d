import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareDpkg } from './dpkg';
import { dpkgCompareAll, missingDpkg } from './real-tools';

/**
 * compareDpkg against the real `dpkg --compare-versions` on 10 000 generated pairs (seeded, so a
 * failure names a reproducible pair). Pairs share a start and differ in the characters dpkg's
 * rules turn on: `~`, `+`, `.`, letters against digits, leading zeros, epochs, hyphens in the
 * upstream part, revisions or none.
 */
const missing = missingDpkg();
if (missing && process.env.CI === 'true') throw new Error(`cannot check against dpkg: ${missing}`);
const withDpkg = missing ? describe.skip : describe;

const UPSTREAM = ['0', '1', '2', '9', '10', '00', '01', '010', '123', 'a', 'b', 'z', 'A', 'Z'];
const UPSTREAM_SEP = ['.', '+', '~', '~~', '-', '.0', '~rc1', '+dfsg', '+really'];
const REVISION = '0 1 2 10 01 a b Z + . ~ ~bpo12 +b1 deb12u1 ubuntu0.1'.split(' ');

const upstreamTokens = fc.array(fc.constantFrom(...UPSTREAM, ...UPSTREAM_SEP), { maxLength: 5 });
const revisionTokens = fc.array(fc.constantFrom(...REVISION), { minLength: 1, maxLength: 3 });
const epoch = fc.constantFrom('', '', '', '0:', '1:', '2:', '10:', '01:');

interface Side {
  epoch: string;
  tail: string[];
  revision: string[] | null;
}

const side = fc.record({
  epoch,
  tail: fc.array(fc.constantFrom(...UPSTREAM, ...UPSTREAM_SEP), { maxLength: 3 }),
  revision: fc.option(revisionTokens, { freq: 3 }),
});

/** A pair of valid Debian versions with a common start (deb-version(7)). */
const pair = fc
  .record({
    head: fc.constantFrom('0', '1', '2', '10', '01', '9'),
    common: upstreamTokens,
    sameEpoch: fc.boolean(),
    sameTail: fc.nat(3),
    sameRevision: fc.boolean(),
    a: side,
    b: side,
  })
  .map(({ head, common, sameEpoch, sameTail, sameRevision, a, b }): [string, string] => {
    const bSide: Side = {
      tail: sameTail === 0 ? a.tail : b.tail,
      epoch: sameEpoch ? a.epoch : b.epoch,
      revision: sameRevision ? a.revision : b.revision,
    };
    return [build(head, common, a), build(head, common, bSide)];
  });

function build(head: string, common: string[], s: Side): string {
  let upstream = head + common.join('') + s.tail.join('');
  // A hyphen belongs to the upstream version only when a revision follows.
  if (!s.revision) upstream = upstream.replaceAll('-', '.');
  return s.epoch + upstream + (s.revision ? `-${s.revision.join('')}` : '');
}

withDpkg('compareDpkg agrees with dpkg --compare-versions', () => {
  it('on 10 000 generated pairs', () => {
    const pairs = fc.sample(pair, { numRuns: 10_000, seed: 0x13_0a_d9 });
    const real = dpkgCompareAll(pairs);
    expect(real.filter((r) => r === null)).toEqual([]);
    const disagreements = pairs
      .map(([a, b], i) => ({ a, b, dpkg: real[i], ours: compareDpkg(a, b) }))
      .filter((d) => d.dpkg !== d.ours);
    expect(disagreements.slice(0, 20)).toEqual([]);
    // The generator makes every kind of answer, not one kind many times.
    for (const want of [-1, 0, 1]) expect(real.filter((r) => r === want).length).toBeGreaterThan(500);
  }, 180_000);
});

describe('compareDpkg on odd input', () => {
  it('never throws, and is antisymmetric, on any string', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.string({ unit: 'binary', maxLength: 40 }),
        (a, b) => {
          expect(compareDpkg(a, b)).toBe(-compareDpkg(b, a) || 0);
          expect(compareDpkg(a, a)).toBe(0);
        },
      ),
      { seed: 13, numRuns: 2000 },
    );
  });

  it('compares long versions by the same rules', () => {
    const long = '1.' + '0.'.repeat(5000) + '1';
    expect(compareDpkg(long, long + '~')).toBe(1);
    expect(compareDpkg(long, long.replace(/1$/, '2'))).toBe(-1);
    expect(compareDpkg('9'.repeat(400), '1' + '0'.repeat(400))).toBe(-1);
    expect(compareDpkg('99999999999999999999999:1', '99999999999999999999998:2')).toBe(1);
  });

  it('orders the cases security updates turn on', () => {
    expect(compareDpkg('1.2.3-1~bpo12+1', '1.2.3-1')).toBe(-1);
    expect(compareDpkg('2.36.1-8+deb12u1', '2.36.1-8')).toBe(1);
    expect(compareDpkg('1:1.0-1', '2.0-1')).toBe(1);
    expect(compareDpkg('1.0-1', '1.0-1')).toBe(0);
    expect(compareDpkg('1.0~rc1', '1.0')).toBe(-1);
  });
});
