import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareApk } from './apk';

/**
 * Debian has no apk binary, so compareApk is checked on the fixture pairs (fixtures.test.ts, 14 757
 * of them, most ordered by a real apk) and here by the properties any version order must have, on
 * generated versions made of what apk's rules turn on: numbers (leading zeros), letters, the
 * suffixes, commit hashes, revisions and garbage.
 */
const PIECES = (
  '0 1 2 9 10 01 001 123 .0 .1 .2 .10 .01 a b z _alpha _beta _pre _rc _cvs _svn _git _hg _p ' +
  '_p1 _rc2 _blah ~ab12 ~0f -r0 -r1 -r10 -r01 -r - -x . _ A'
).split(' ');
const version = fc.array(fc.constantFrom(...PIECES), { maxLength: 6 }).map((p) => p.join(''));
/** Versions that mostly share a start, so that ties and near-ties are common. */
const close = fc
  .tuple(version, version, version, version)
  .map(([common, a, b, c]) => [common + a, common + b, common + c] as const);

describe('compareApk is a total order', () => {
  it('is reflexive and antisymmetric', () => {
    fc.assert(
      fc.property(close, ([a, b]) => {
        expect(compareApk(a, a)).toBe(0);
        expect(compareApk(a, b)).toBe(-compareApk(b, a) || 0);
      }),
      { seed: 0x13a, numRuns: 20_000 },
    );
  });

  it('is transitive over generated triples', () => {
    fc.assert(
      fc.property(close, ([a, b, c]) => {
        const ab = compareApk(a, b);
        const bc = compareApk(b, c);
        if (ab <= 0 && bc <= 0) expect(compareApk(a, c)).toBeLessThanOrEqual(0);
        if (ab >= 0 && bc >= 0) expect(compareApk(a, c)).toBeGreaterThanOrEqual(0);
        if (ab === 0 && bc === 0) expect(compareApk(a, c)).toBe(0);
      }),
      { seed: 0x13b, numRuns: 20_000 },
    );
  });

  it('sorts any list the same way whatever order it starts in', () => {
    fc.assert(
      fc.property(fc.array(version, { minLength: 2, maxLength: 12 }), (list) => {
        const sorted = [...list].sort(compareApk);
        const again = [...list].reverse().sort(compareApk);
        expect(sorted.map((v, i) => compareApk(v, again[i]!))).toEqual(sorted.map(() => 0));
      }),
      { seed: 0x13c, numRuns: 3000 },
    );
  });
});

describe('compareApk on real and odd versions', () => {
  it('orders the cases Alpine security updates turn on', () => {
    expect(compareApk('3.1.4-r5', '3.1.4-r6')).toBe(-1);
    expect(compareApk('1.36.1-r28', '1.36.1-r29')).toBe(-1);
    expect(compareApk('2.4.57-r0', '2.4.58-r0')).toBe(-1);
    expect(compareApk('1.2.3_rc1-r0', '1.2.3-r0')).toBe(-1);
    expect(compareApk('1.2.3_p1-r0', '1.2.3-r0')).toBe(1);
    expect(compareApk('1.2.3-r0', '1.2.3-r0')).toBe(0);
    expect(compareApk('1.02', '1.1')).toBe(-1);
    expect(compareApk('9.9-r0', '10.0-r0')).toBe(-1);
  });

  it('never throws on any string, and compares long ones by the same rules', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.string({ unit: 'binary', maxLength: 40 }),
        (a, b) => {
          expect(compareApk(a, b)).toBe(-compareApk(b, a) || 0);
        },
      ),
      { seed: 13, numRuns: 2000 },
    );
    const long = '1.' + '1.'.repeat(5000) + '1';
    expect(compareApk(long, `${long}_rc1`)).toBe(1);
    expect(compareApk(long, `${long}-r1`)).toBe(-1);
    expect(compareApk('9'.repeat(400), '1' + '0'.repeat(400))).toBe(-1);
    // Names an object would inherit are no suffixes either.
    expect(compareApk('1_constructor', '1')).toBe(-1);
    expect(compareApk('1_toString', '1_p')).toBe(-1);
  });
});
