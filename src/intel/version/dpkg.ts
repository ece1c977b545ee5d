import { asBytes, compareDigitRuns, isAlpha, isDigit, type Cmp } from './bytes';

/**
 * Debian versions, by deb-version(7) and dpkg's own verrevcmp: `[epoch:]upstream[-revision]`,
 * the epoch compared as a number, then upstream and revision each by alternating non-digit and
 * digit runs. In a non-digit run, `~` sorts before everything (even the end), then the end and
 * digits, then letters, then every other character. Digit runs compare as numbers.
 *
 * dpkg refuses some strings (a non-numeric epoch, an empty revision); this never throws: a
 * prefix before ':' that is not all digits is not an epoch (the ':' is then an ordinary
 * character), and an empty revision is the same as none.
 */
export function compareDpkg(a: string, b: string): Cmp {
  const x = splitDpkg(asBytes(a));
  const y = splitDpkg(asBytes(b));
  const e = compareDigitRuns(x.s, 0, x.epochEnd, y.s, 0, y.epochEnd);
  if (e !== 0) return e;
  const u = verrevcmp(x.s, x.upStart, x.upEnd, y.s, y.upStart, y.upEnd);
  if (u !== 0) return u;
  return verrevcmp(x.s, x.revStart, x.s.length, y.s, y.revStart, y.s.length);
}

interface DpkgParts {
  s: string;
  /** Epoch digits are s[0..epochEnd) (empty: epoch 0). */
  epochEnd: number;
  upStart: number;
  upEnd: number;
  revStart: number;
}

function splitDpkg(raw: string): DpkgParts {
  const s = raw.trim();
  let epochEnd = 0;
  let upStart = 0;
  const colon = s.indexOf(':');
  if (colon > 0) {
    let digits = true;
    for (let i = 0; i < colon; i++) {
      if (!isDigit(s.charCodeAt(i))) {
        digits = false;
        break;
      }
    }
    if (digits) {
      epochEnd = colon;
      upStart = colon + 1;
    }
  }
  const hyphen = s.lastIndexOf('-');
  if (hyphen >= upStart) return { s, epochEnd, upStart, upEnd: hyphen, revStart: hyphen + 1 };
  return { s, epochEnd, upStart, upEnd: s.length, revStart: s.length };
}

/** dpkg's order() of one character in a non-digit run; `end` is the position past the string. */
function order(s: string, i: number, end: number): number {
  if (i >= end) return 0;
  const c = s.charCodeAt(i);
  if (isDigit(c)) return 0;
  if (isAlpha(c)) return c;
  if (c === 0x7e) return -1;
  return c + 256;
}

function verrevcmp(a: string, ai: number, ae: number, b: string, bi: number, be: number): Cmp {
  while (ai < ae || bi < be) {
    while ((ai < ae && !isDigit(a.charCodeAt(ai))) || (bi < be && !isDigit(b.charCodeAt(bi)))) {
      const ac = order(a, ai, ae);
      const bc = order(b, bi, be);
      if (ac !== bc) return ac < bc ? -1 : 1;
      ai++;
      bi++;
    }
    let ad = ai;
    while (ad < ae && isDigit(a.charCodeAt(ad))) ad++;
    let bd = bi;
    while (bd < be && isDigit(b.charCodeAt(bd))) bd++;
    const d = compareDigitRuns(a, ai, ad, b, bi, bd);
    if (d !== 0) return d;
    ai = ad;
    bi = bd;
  }
  return 0;
}
