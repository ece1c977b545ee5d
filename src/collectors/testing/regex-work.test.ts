import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { execCounting, measureRegexWork, RegexWorkBudgetExceeded } from './regex-work';

// The work counter is only worth something if it matches what V8 matches: these patterns are
// the shapes src/ uses (anchors, lazy and greedy quantifiers, classes, lookaround, backrefs).
const PATTERNS: RegExp[] = [
  /^\s*\*\s+Label:\s*(\S.*?)\s*$/,
  /^\s*([A-Za-z]+):\s*(.*?)\s*$/,
  /^([A-Z][A-Za-z ]*?)\s*: ?(.*)$/,
  /^\s*(\d{1,9})(?:[ \t]+(.*))?$/,
  /^(?:srcpackage:)?([^\s<>=]+?)(?:\.[A-Za-z0-9_]+)?\s*</,
  /^-+(\+-+)+\s*$/,
  /\[([^[\]]*)\]$/,
  /^(\S+):$/,
  /^ (\*\*\*| {3}) (\S+) (-?\d+)(?: \(phased (\d{1,3})%\))?\s*$/,
  /^[0-9a-f]{1,2}([:-])[0-9a-f]{1,2}(\1[0-9a-f]{1,2}){4}$/u,
  /(?:(a)|b)+/,
  /^pm=([a-z-]{1,20})$/m,
  /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/,
  /\r?\n/g,
  /\s+/y,
  /timed? ?out/i,
  /\bfoo\b|(?<n>x+)\k<n>/,
  /^(a|ab)*?c{2,3}$/,
  /[^-a\]]+|[\w.-]{0,3}x/,
];

const ALPHABET = [...'ab *:-+<>.\t\r\n0123456789[]()xLabel: ABsrcpackage\u00e9\uD83D\uDE00'];

function comparable(m: RegExpExecArray | null): unknown {
  return m === null ? null : { all: [...m], index: m.index, groups: m.groups ? { ...m.groups } : undefined };
}

describe('regex work counter', () => {
  it('matches exactly what V8 matches, for the pattern shapes src/ uses', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...PATTERNS),
        fc.array(fc.constantFrom(...ALPHABET), { maxLength: 40 }).map((a) => a.join('')),
        fc.nat(5),
        (pattern, input, lastIndex) => {
          const native = new RegExp(pattern.source, pattern.flags);
          const counted = new RegExp(pattern.source, pattern.flags);
          native.lastIndex = lastIndex;
          counted.lastIndex = lastIndex;
          const expected = native.exec(input);
          const { match } = execCounting(counted, input);
          expect(comparable(match)).toEqual(comparable(expected));
          expect(counted.lastIndex).toBe(native.lastIndex);
        },
      ),
      { numRuns: 3000, seed: 20240509 },
    );
  });

  it('counts quadratic backtracking as quadratic and a linear scan as linear', () => {
    const steps = (re: RegExp, n: number): number => execCounting(re, `* Label: a${' '.repeat(n)}b\r`).steps;
    // The old macOS label pattern: a lazy .*? racing \s*$ over a run of spaces.
    const quadratic = /^\s*\*\s+Label:\s*(\S.*?)\s*$/;
    expect(steps(quadratic, 4000) / steps(quadratic, 1000)).toBeGreaterThan(12);
    const linear = /^\s*\*\s+Label:(.*)$/;
    expect(steps(linear, 4000) / steps(linear, 1000)).toBeLessThan(4.5);
  });

  it('counts every regex operation while measuring, and stops at the budget', async () => {
    const work = await measureRegexWork(() => 'a\nb\nc'.split(/\n/).map((l) => /b/.test(l)));
    expect(work.result).toEqual([false, true, false]);
    expect(work.calls).toBeGreaterThan(3);
    expect(RegExp.prototype.exec.name).toBe('exec');
    await expect(measureRegexWork(() => /^(\s*)*x$/.test(' '.repeat(40)), 100_000)).rejects.toBeInstanceOf(
      RegexWorkBudgetExceeded,
    );
    // The native exec is back.
    expect(/^(\s*)*x$/.test('x')).toBe(true);
  });
});
