/**
 * The package tools compare bytes (C strings), so a version with non-ASCII characters is turned
 * into one JS character per UTF-8 byte first; then `charCodeAt` gives what the C code sees.
 */
export function asBytes(s: string): string {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) return Buffer.from(s, 'utf8').toString('latin1');
  }
  return s;
}

export const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
export const isAlpha = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
export const isLower = (c: number): boolean => c >= 0x61 && c <= 0x7a;

export type Cmp = -1 | 0 | 1;
export const sign = (n: number): Cmp => (n < 0 ? -1 : n > 0 ? 1 : 0);

/**
 * Compares two runs of digits `a[as..ae)` and `b[bs..be)` as unbounded numbers (leading zeros
 * ignored), without converting them, so a 300-digit run compares right.
 */
export function compareDigitRuns(a: string, as: number, ae: number, b: string, bs: number, be: number): Cmp {
  while (as < ae && a.charCodeAt(as) === 0x30) as++;
  while (bs < be && b.charCodeAt(bs) === 0x30) bs++;
  if (ae - as !== be - bs) return ae - as < be - bs ? -1 : 1;
  for (; as < ae; as++, bs++) {
    const d = a.charCodeAt(as) - b.charCodeAt(bs);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** Plain byte order of `a[as..ae)` and `b[bs..be)` (C's strcmp/memcmp on the segments). */
export function compareRaw(a: string, as: number, ae: number, b: string, bs: number, be: number): Cmp {
  for (; as < ae && bs < be; as++, bs++) {
    const d = a.charCodeAt(as) - b.charCodeAt(bs);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  if (as < ae) return 1;
  if (bs < be) return -1;
  return 0;
}
