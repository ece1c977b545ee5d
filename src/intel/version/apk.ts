import { asBytes, compareDigitRuns, compareRaw, isDigit, isLower, type Cmp } from './bytes';

/**
 * Alpine versions, by apk-tools' rules (apk-package(5): `number{.number}…{letter}{_suffix{number}}…
 * {~hash}{-r#}`). The string is read as tokens, each kind allowed only after the kinds before it;
 * two versions compare token by token while the kinds agree. When one ends or changes kind first,
 * a pre-release suffix (`_alpha`, `_beta`, `_pre`, `_rc`) makes it older, otherwise the one whose
 * next token comes earlier in the order (more numbers, a letter, a suffix, a hash, a revision,
 * then the end) is newer. A number after a '.' that starts with '0' compares as text (Gentoo's
 * rule, so 1.02 < 1.1); other numbers compare as numbers, however long. No `-rN` counts as `-r0`.
 *
 * Malformed versions never throw: the well-formed start compares as above; then a version with
 * trailing garbage is older than one without, and two garbage tails compare as bytes, unless the
 * garbage sits at or after the revision (`1-r0-1`, `1-ruff`), where it is ignored. apk-tools'
 * own releases disagree on such strings; this follows the fixture pairs osv-scalibr keeps.
 */
export function compareApk(a: string, b: string): Cmp {
  const x = new ApkTokens(asBytes(a));
  const y = new ApkTokens(asBytes(b));
  x.first();
  y.first();
  for (;;) {
    const xk = x.kind === Kind.Invalid ? Kind.End : x.kind;
    const yk = y.kind === Kind.Invalid ? Kind.End : y.kind;
    if (xk === Kind.End && yk === Kind.End) break;
    if (xk === yk) {
      const r = compareTokens(x, y);
      if (r !== 0) return r;
      x.next();
      y.next();
      continue;
    }
    // No `-rN` is `-r0`.
    if (xk === Kind.Revision && yk === Kind.End) {
      const r = compareDigitRuns(x.s, x.start, x.end, '', 0, 0);
      if (r !== 0) return r;
      x.next();
      continue;
    }
    if (yk === Kind.Revision && xk === Kind.End) {
      const r = compareDigitRuns('', 0, 0, y.s, y.start, y.end);
      if (r !== 0) return r;
      y.next();
      continue;
    }
    if (xk === Kind.Suffix && x.suffixRank() < 0) return -1;
    if (yk === Kind.Suffix && y.suffixRank() < 0) return 1;
    return xk > yk ? -1 : 1;
  }
  // Equal as far as both are well formed: trailing garbage makes a version older; two garbage
  // tails compare as bytes, except after (or in place of) the revision, where it is ignored.
  const xg = x.kind === Kind.Invalid;
  const yg = y.kind === Kind.Invalid;
  if (!xg || !yg) return xg === yg ? 0 : xg ? -1 : 1;
  const xs = x.garbageKeyStart();
  const ys = y.garbageKeyStart();
  return compareRaw(x.s, xs, x.s.length, y.s, ys, y.s.length);
}

const enum Kind {
  InitialDigit,
  Digit,
  Letter,
  Suffix,
  SuffixNumber,
  CommitHash,
  Revision,
  End,
  Invalid,
}

/** Pre-release suffixes rank below "no suffix" (0), post-release ones above. */
const SUFFIX_RANK: ReadonlyMap<string, number> = new Map([
  ['alpha', -4],
  ['beta', -3],
  ['pre', -2],
  ['rc', -1],
  ['cvs', 1],
  ['svn', 2],
  ['git', 3],
  ['hg', 4],
  ['p', 5],
]);

class ApkTokens {
  kind: Kind = Kind.InitialDigit;
  /** The token's text is s[start..end). */
  start = 0;
  end = 0;
  private pos = 0;
  /** Where the string stopped being a version (kind Invalid), and whether a revision came before. */
  garbageAt = 0;
  garbageAfterRevision = false;

  constructor(readonly s: string) {}

  first(): void {
    if (this.s.length === 0) {
      this.kind = Kind.End;
      return;
    }
    if (!isDigit(this.s.charCodeAt(0))) {
      this.invalid(0, false);
      return;
    }
    this.kind = Kind.InitialDigit;
    this.digits(0);
  }

  next(): void {
    const s = this.s;
    const p = this.pos;
    if (p >= s.length) {
      this.kind = Kind.End;
      return;
    }
    const c = s.charCodeAt(p);
    const prev = this.kind;
    if (isLower(c) && prev <= Kind.Digit) {
      this.kind = Kind.Letter;
      this.start = p;
      this.end = this.pos = p + 1;
    } else if (isDigit(c) && prev === Kind.Letter) {
      this.kind = Kind.Digit;
      this.digits(p);
    } else if (isDigit(c) && prev === Kind.Suffix) {
      this.kind = Kind.SuffixNumber;
      this.digits(p);
    } else if (c === 0x2e && prev <= Kind.Digit && isDigit(s.charCodeAt(p + 1))) {
      this.kind = Kind.Digit;
      this.digits(p + 1);
    } else if (c === 0x5f && prev <= Kind.SuffixNumber) {
      let e = p + 1;
      while (e < s.length && isLower(s.charCodeAt(e))) e++;
      this.start = p + 1;
      this.end = this.pos = e;
      if (SUFFIX_RANK.has(s.slice(p + 1, e))) this.kind = Kind.Suffix;
      else this.invalid(p, false);
    } else if (c === 0x7e && prev < Kind.CommitHash) {
      let e = p + 1;
      while (e < s.length && isHex(s.charCodeAt(e))) e++;
      this.start = p + 1;
      this.end = this.pos = e;
      if (e > p + 1) this.kind = Kind.CommitHash;
      else this.invalid(p, false);
    } else if (c === 0x2d && prev < Kind.Revision && s.charCodeAt(p + 1) === 0x72) {
      this.kind = Kind.Revision;
      this.digits(p + 2);
    } else {
      this.invalid(p, prev === Kind.Revision);
    }
  }

  private invalid(at: number, afterRevision: boolean): void {
    this.kind = Kind.Invalid;
    this.garbageAt = at;
    this.garbageAfterRevision = afterRevision;
  }

  /** Where the part of the garbage that counts starts (the end: none of it counts). */
  garbageKeyStart(): number {
    if (this.garbageAfterRevision || this.s.charCodeAt(this.garbageAt) === 0x2d) return this.s.length;
    return this.garbageAt;
  }

  suffixRank(): number {
    return SUFFIX_RANK.get(this.s.slice(this.start, this.end)) ?? 0;
  }

  private digits(from: number): void {
    let e = from;
    while (e < this.s.length && isDigit(this.s.charCodeAt(e))) e++;
    this.start = from;
    this.end = this.pos = e;
  }
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x61 && c <= 0x66);
}

function compareTokens(x: ApkTokens, y: ApkTokens): Cmp {
  switch (x.kind) {
    case Kind.Digit:
      if (x.s.charCodeAt(x.start) === 0x30 || y.s.charCodeAt(y.start) === 0x30) {
        return compareRaw(x.s, x.start, x.end, y.s, y.start, y.end);
      }
      return compareDigitRuns(x.s, x.start, x.end, y.s, y.start, y.end);
    case Kind.InitialDigit:
    case Kind.SuffixNumber:
    case Kind.Revision:
      return compareDigitRuns(x.s, x.start, x.end, y.s, y.start, y.end);
    case Kind.Suffix: {
      const d = x.suffixRank() - y.suffixRank();
      return d < 0 ? -1 : d > 0 ? 1 : 0;
    }
    default:
      return compareRaw(x.s, x.start, x.end, y.s, y.start, y.end);
  }
}
