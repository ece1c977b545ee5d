import { asBytes, compareDigitRuns, compareRaw, isAlpha, isDigit, type Cmp } from './bytes';

/**
 * RPM versions: `[epoch:]version[-release]` as rpm splits an EVR (the epoch is the leading digits
 * before a ':'; the release follows the last '-'), then epoch, version and release each by
 * rpmvercmp, as `rpm.labelCompare` does: a missing epoch is 0, a missing release sorts before any
 * release (even an empty one).
 */
export function compareRpm(a: string, b: string): Cmp {
  const x = splitEvr(asBytes(a));
  const y = splitEvr(asBytes(b));
  const e = rpmvercmp(x.epoch, y.epoch);
  if (e !== 0) return e;
  const v = rpmvercmp(x.version, y.version);
  if (v !== 0) return v;
  if (x.release === null || y.release === null) {
    return x.release === y.release ? 0 : x.release === null ? -1 : 1;
  }
  return rpmvercmp(x.release, y.release);
}

interface Evr {
  epoch: string;
  version: string;
  release: string | null;
}

function splitEvr(s: string): Evr {
  let i = 0;
  while (i < s.length && isDigit(s.charCodeAt(i))) i++;
  let epoch = '0';
  let rest = s;
  if (i < s.length && s.charCodeAt(i) === 0x3a) {
    epoch = i === 0 ? '0' : s.slice(0, i);
    rest = s.slice(i + 1);
  }
  const hyphen = rest.lastIndexOf('-');
  if (hyphen < 0) return { epoch, version: rest, release: null };
  return { epoch, version: rest.slice(0, hyphen), release: rest.slice(hyphen + 1) };
}

const TILDE = 0x7e;
const CARET = 0x5e;

/**
 * rpm's rpmvercmp: segments of digits or of letters, everything else a separator; `~` sorts
 * before anything (even the end), `^` after the end but before any further segment. A digit
 * segment is newer than a letter segment; digit segments compare as numbers, letters by bytes.
 */
export function rpmvercmp(a: string, b: string): Cmp {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  const n = a.length;
  const m = b.length;
  while (i < n || j < m) {
    while (i < n && isSeparator(a.charCodeAt(i))) i++;
    while (j < m && isSeparator(b.charCodeAt(j))) j++;
    const ca = i < n ? a.charCodeAt(i) : -1;
    const cb = j < m ? b.charCodeAt(j) : -1;
    if (ca === TILDE || cb === TILDE) {
      if (ca !== TILDE) return 1;
      if (cb !== TILDE) return -1;
      i++;
      j++;
      continue;
    }
    if (ca === CARET || cb === CARET) {
      if (ca === -1) return -1;
      if (cb === -1) return 1;
      if (ca !== CARET) return 1;
      if (cb !== CARET) return -1;
      i++;
      j++;
      continue;
    }
    if (ca === -1 || cb === -1) break;
    let ie = i;
    let je = j;
    const numeric = isDigit(ca);
    if (numeric) {
      while (ie < n && isDigit(a.charCodeAt(ie))) ie++;
      while (je < m && isDigit(b.charCodeAt(je))) je++;
    } else {
      while (ie < n && isAlpha(a.charCodeAt(ie))) ie++;
      while (je < m && isAlpha(b.charCodeAt(je))) je++;
    }
    // The other string's segment is of the other kind: a number is newer than letters.
    if (je === j) return numeric ? 1 : -1;
    const r = numeric ? compareDigitRuns(a, i, ie, b, j, je) : compareRaw(a, i, ie, b, j, je);
    if (r !== 0) return r;
    i = ie;
    j = je;
  }
  if (i >= n && j >= m) return 0;
  return i >= n ? -1 : 1;
}

function isSeparator(c: number): boolean {
  return !isDigit(c) && !isAlpha(c) && c !== TILDE && c !== CARET;
}
