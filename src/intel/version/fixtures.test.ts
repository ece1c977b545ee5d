import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compareApk, compareDpkg, compareRpm, compareVersions, type Cmp } from './index';

/**
 * Every ordered pair osv-scalibr keeps for Debian, Red Hat and Alpine versions
 * (test/fixtures/advisories/versions/README.md), each both ways: `a < b` also means `b > a`.
 */
const DIR = path.resolve(__dirname, '../../../test/fixtures/advisories/versions');

interface Pair {
  line: number;
  a: string;
  b: string;
  want: Cmp;
}

function readPairs(file: string): Pair[] {
  const pairs: Pair[] = [];
  readFileSync(path.join(DIR, file), 'utf8')
    .split('\n')
    .forEach((raw, i) => {
      const text = raw.trim();
      if (text === '' || text.startsWith('#')) return;
      const parts = text.split(' ');
      if (parts.length !== 3) throw new Error(`${file}:${i + 1}: not "a op b": ${text}`);
      const [a, op, b] = parts as [string, string, string];
      const want = op === '<' ? -1 : op === '=' ? 0 : op === '>' ? 1 : null;
      if (want === null) throw new Error(`${file}:${i + 1}: unknown operator ${op}`);
      pairs.push({ line: i + 1, a, b, want });
    });
  return pairs;
}

/** The pairs the comparison gets wrong, as "file:line a op b → got x / y" lines (empty when none). */
function wrong(file: string, cmp: (a: string, b: string) => Cmp): string[] {
  const out: string[] = [];
  for (const p of readPairs(file)) {
    const got = cmp(p.a, p.b);
    const back = cmp(p.b, p.a);
    if (got !== p.want || back !== -p.want) {
      out.push(`${file}:${p.line} ${p.a} vs ${p.b}: want ${p.want}, got ${got} and back ${back}`);
    }
  }
  return out;
}

describe('version comparison agrees with every fixture pair', () => {
  it.each([
    ['debian-versions.txt', 30],
    ['debian-versions-generated.txt', 14_442],
  ])('dpkg: %s (%i pairs)', (file, count) => {
    expect(readPairs(file)).toHaveLength(count);
    expect(wrong(file, compareDpkg)).toEqual([]);
    expect(wrong(file, (a, b) => compareVersions('dpkg', a, b))).toEqual([]);
  });

  it('rpm: redhat-versions.txt (165 pairs)', () => {
    expect(readPairs('redhat-versions.txt')).toHaveLength(165);
    expect(wrong('redhat-versions.txt', compareRpm)).toEqual([]);
    expect(wrong('redhat-versions.txt', (a, b) => compareVersions('rpm', a, b))).toEqual([]);
  });

  it.each([
    ['alpine-versions.txt', 778],
    ['alpine-versions-generated.txt', 13_979],
  ])('apk: %s (%i pairs)', (file, count) => {
    expect(readPairs(file)).toHaveLength(count);
    expect(wrong(file, compareApk)).toEqual([]);
    expect(wrong(file, (a, b) => compareVersions('apk', a, b))).toEqual([]);
  });
});
