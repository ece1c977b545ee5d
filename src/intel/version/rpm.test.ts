import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareRpm } from './rpm';
import { missingRpm, rpmCompareAll } from './real-tools';

/**
 * compareRpm against rpm's own comparison (python3-rpm: rpm.ver splits the EVR, rpm.labelCompare
 * compares) on 12 000 generated pairs, seeded. Pairs share a start and differ in what rpmvercmp
 * turns on: `~`, `^`, separators, letters against digits, leading zeros, epochs, releases or
 * none, module-stream releases, `.alma` suffixes, non-ASCII.
 */
const missing = missingRpm();
if (missing && process.env.CI === 'true') throw new Error(`cannot check against rpm: ${missing}`);
const withRpm = missing ? describe.skip : describe;

const TOKENS = (
  '0 1 2 9 10 00 01 010 123 a b z A Z el9 el9_4 alma rc module_el9.4.0+1+ab12 module+el9.5.0+2 ' +
  '~ ~~ ^ ^^ . _ + - : % α'
).split(' ');
const tokens = (max: number) => fc.array(fc.constantFrom(...TOKENS), { maxLength: max });
const epoch = fc.constantFrom('', '', '', '0:', '1:', '2:', '10:', '01:', ':');

const pair = fc
  .record({
    common: tokens(5),
    ea: epoch,
    eb: epoch,
    sameEpoch: fc.boolean(),
    ta: tokens(3),
    tb: tokens(3),
    sameTail: fc.nat(3),
    ra: fc.option(tokens(3), { freq: 3 }),
    rb: fc.option(tokens(3), { freq: 3 }),
    sameRelease: fc.boolean(),
  })
  .map((r): [string, string] => {
    const rb = r.sameRelease ? r.ra : r.rb;
    const tb = r.sameTail === 0 ? r.ta : r.tb;
    const eb = r.sameEpoch ? r.ea : r.eb;
    const build = (e: string, tail: string[], rel: string[] | null) =>
      e + r.common.join('') + tail.join('') + (rel ? `-${rel.join('')}` : '') || '0';
    return [build(r.ea, r.ta, r.ra), build(eb, tb, rb)];
  });

withRpm('compareRpm agrees with rpm.labelCompare', () => {
  it('on 12 000 generated pairs', () => {
    const pairs = fc.sample(pair, { numRuns: 12_000, seed: 0x13_0a_9e });
    const real = rpmCompareAll(pairs);
    // labelCompare refuses an empty version ("1:", "-1"); those few pairs say nothing.
    const compared = pairs.flatMap(([a, b], i) => {
      const rpm = real[i];
      return rpm === null || rpm === undefined ? [] : [{ a, b, rpm, ours: compareRpm(a, b) }];
    });
    expect(compared.length).toBeGreaterThanOrEqual(10_000);
    expect(compared.filter((d) => d.rpm !== d.ours).slice(0, 20)).toEqual([]);
    for (const want of [-1, 0, 1]) {
      expect(compared.filter((d) => d.rpm === want).length).toBeGreaterThan(500);
    }
  }, 120_000);

  it('on real AlmaLinux 9 EVRs', () => {
    const pairs: [string, string][] = [
      ['0:5.14.0-427.13.1.el9_4', '0:5.14.0-427.13.1.el9_4.alma'],
      ['115.6.0-1.el8_9', '115.6.0-1.el8_9.alma'],
      ['1:1.20.1-1.module_el9.4.0+70+b9a1c2d3', '1:1.22.1-1.module_el9.5.0+8+0ff0aa11'],
      ['3.0.7-27.el9', '1:3.0.7-27.el9'],
      ['2.34-100.el9_4.2', '2.34-100.el9_4.12'],
      ['9.0.2081-1.el9^20240101', '9.0.2081-1.el9'],
    ];
    const real = rpmCompareAll(pairs);
    expect(pairs.map(([a, b]) => compareRpm(a, b))).toEqual(real);
  });
});

describe('compareRpm on odd input', () => {
  it('never throws, and is antisymmetric, on any string', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.string({ unit: 'binary', maxLength: 40 }),
        (a, b) => {
          expect(compareRpm(a, b)).toBe(-compareRpm(b, a) || 0);
          expect(compareRpm(a, a)).toBe(0);
        },
      ),
      { seed: 13, numRuns: 2000 },
    );
  });

  it('compares long versions by the same rules', () => {
    const long = '1.' + '0.'.repeat(5000) + '1';
    expect(compareRpm(long, `${long}~`)).toBe(1);
    expect(compareRpm(long, `${long}^`)).toBe(-1);
    expect(compareRpm('9'.repeat(400), '1' + '0'.repeat(400))).toBe(-1);
  });
});
