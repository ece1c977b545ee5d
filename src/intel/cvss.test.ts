import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cvssScore, severityOfScore } from './cvss';

/**
 * Scores of real vectors, as FIRST publishes them in its worked examples
 * (https://www.first.org/cvss/v2/guide §3.3, https://www.first.org/cvss/v3.0/examples,
 * https://www.first.org/cvss/v3.1/examples, https://www.first.org/cvss/v4.0/examples) and NVD
 * scores them (https://nvd.nist.gov/vuln/detail/<CVE>).
 */
const REAL: [string, string, number, string][] = [
  // FIRST CVSS v2 guide, §3.3.1–3.3.3
  ['CVE-2002-0392 (v2 guide)', 'AV:N/AC:L/Au:N/C:N/I:N/A:C', 7.8, 'high'],
  ['CVE-2003-0818 (v2 guide)', 'AV:N/AC:L/Au:N/C:C/I:C/A:C', 10.0, 'high'],
  ['CVE-2003-0062 (v2 guide)', 'AV:L/AC:H/Au:N/C:C/I:C/A:C', 6.2, 'medium'],
  // NVD's v2 score for Heartbleed, the NVD-style parenthesised form
  ['CVE-2014-0160 (NVD v2)', '(AV:N/AC:L/Au:N/C:P/I:N/A:N)', 5.0, 'medium'],
  // FIRST CVSS v3.0 examples
  ['CVE-2013-0375 (v3.0 examples)', 'CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N', 6.4, 'medium'],
  ['CVE-2014-6271 (v3.0 examples)', 'CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 9.8, 'critical'],
  // FIRST CVSS v3.1 examples
  ['CVE-2014-0160 (v3.1 examples)', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N', 7.5, 'high'],
  ['CVE-2013-1937 (v3.1 examples)', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N', 6.1, 'medium'],
  ['CVE-2014-2005 (v3.1 examples)', 'CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 6.8, 'medium'],
  ['CVE-2009-0658 (v3.1 examples)', 'CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H', 7.8, 'high'],
  // NVD v3.1: HTTP/2 Rapid Reset (in the KEV fixture) and Log4Shell
  ['CVE-2023-44487 (NVD)', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H', 7.5, 'high'],
  ['CVE-2021-44228 (NVD)', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H', 10.0, 'critical'],
  // CVSS v4.0: the all-high network vector FIRST's calculator scores 9.3, and no impact at all
  [
    'v4.0 network, high impact',
    'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N',
    9.3,
    'critical',
  ],
  ['v4.0 no impact', 'CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N', 0, 'none'],
];

describe('cvssScore', () => {
  it.each(REAL)('%s: %s → %d', (_name, vector, score, severity) => {
    const got = cvssScore(vector);
    expect(got).not.toBeNull();
    expect(got?.score).toBe(score);
    expect(got?.severity).toBe(severity);
    const version = vector.replace(/^\(/, '').startsWith('CVSS:') ? vector.slice(5, 8) : '2.0';
    expect(got?.version).toBe(version);
  });

  it('scores the base metrics when temporal and environmental ones follow', () => {
    const base = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';
    expect(cvssScore(`${base}/E:U/RL:O/RC:C/CR:H`)?.score).toBe(9.8);
  });

  it.each([
    ['junk', 'junk'],
    ['empty', ''],
    ['only a prefix', 'CVSS:3.1/'],
    ['a base metric missing', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H'],
    ['a base metric not defined', 'CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'],
    ['a v2 base metric not defined', 'AV:N/AC:ND/Au:N/C:P/I:P/A:P'],
    ['an unknown value', 'CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'],
    ['an unknown metric', 'CVSS:3.1/ZZ:Q/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'],
    ['a metric twice', 'CVSS:3.1/AV:N/AV:L/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'],
    ['an unknown version', 'CVSS:3.2/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'],
    ['v3 metrics under a v2 head', 'AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'],
    ['spaces', 'CVSS:3.1/AV:N /AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'],
    ['a control character', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\u0000'],
    ['a double colon', 'CVSS:3.1/AV::N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'],
    ['an object key', 'CVSS:3.1/constructor:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'],
    ['huge', `CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H${'/E:U'.repeat(1_000_000)}`],
  ])('refuses %s (null, no throw)', (_name, vector) => {
    expect(cvssScore(vector)).toBeNull();
  });

  it('never throws on any string, and every answer is a score in range', () => {
    const piece = fc.constantFrom(
      ...'CVSS:3.1 CVSS:4.0 CVSS:3.0 AV:N AC:L AT:N PR:N UI:N UI:P S:U S:C C:H I:H A:H VC:H VI:L VA:N SC:N SI:N SA:N Au:N C:P E:U X:X / :'.split(
        ' ',
      ),
    );
    const vector = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.array(piece, { maxLength: 14 }).map((p) => p.join('/')),
    );
    fc.assert(
      fc.property(vector, (v) => {
        const got = cvssScore(v);
        if (got !== null) {
          expect(got.score).toBeGreaterThanOrEqual(0);
          expect(got.score).toBeLessThanOrEqual(10);
        }
      }),
      { seed: 0x13c5, numRuns: 3000 },
    );
  });
});

describe('severityOfScore', () => {
  it.each([
    [0, 'none'],
    [0.1, 'low'],
    [3.9, 'low'],
    [4, 'medium'],
    [6.9, 'medium'],
    [7, 'high'],
    [8.9, 'high'],
    [9, 'critical'],
    [10, 'critical'],
    [Number.NaN, 'none'],
  ])('%d → %s', (score, severity) => {
    expect(severityOfScore(score)).toBe(severity);
  });
});
