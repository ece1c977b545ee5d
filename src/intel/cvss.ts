import * as cvssModule from 'ae-cvss-calculator';
import type { AdvisorySeverity } from './types';

/**
 * CVSS base scores from vector strings (2.0, 3.0, 3.1, 4.0), computed by ae-cvss-calculator after
 * a strict check of our own: the calculator is lenient (a missing metric scores 0, a repeated
 * one silently wins), and a feed's vector is untrusted text.
 */

type CvssLib = typeof cvssModule;
// The package is a CommonJS bundle: Node's ESM loader puts its exports on `default`, bundlers
// on the namespace itself.
const lib: CvssLib = (cvssModule as unknown as { default?: CvssLib }).default ?? cvssModule;

export type CvssVersion = '2.0' | '3.0' | '3.1' | '4.0';

export interface CvssScore {
  version: CvssVersion;
  /** The base score, 0.0–10.0. */
  score: number;
  severity: AdvisorySeverity;
}

/** Longer than any real vector with every optional metric written out. */
const MAX_VECTOR = 1024;

const BASE_METRICS: Readonly<Record<CvssVersion, readonly string[]>> = {
  '2.0': ['AV', 'AC', 'Au', 'C', 'I', 'A'],
  '3.0': ['AV', 'AC', 'PR', 'UI', 'S', 'C', 'I', 'A'],
  '3.1': ['AV', 'AC', 'PR', 'UI', 'S', 'C', 'I', 'A'],
  '4.0': ['AV', 'AC', 'AT', 'PR', 'UI', 'VC', 'VI', 'VA', 'SC', 'SI', 'SA'],
};

/** The qualitative rating of a score (CVSS v3.x/v4.0 table): 0 none, <4 low, <7 medium, <9 high, else critical. */
export function severityOfScore(score: number): AdvisorySeverity {
  if (!(score > 0)) return 'none';
  if (score < 4) return 'low';
  if (score < 7) return 'medium';
  if (score < 9) return 'high';
  return 'critical';
}

/**
 * The base score and rating of a CVSS vector, or null when it is not a complete, well-formed
 * vector (unknown version, metric or value, a base metric missing or "not defined", a metric
 * twice, odd characters, longer than 1 KiB). Never throws. CVSS 2.0 has no "critical": like
 * NVD, 9.0 and above rate high there.
 */
export function cvssScore(vector: string): CvssScore | null {
  if (typeof vector !== 'string' || vector.length > MAX_VECTOR) return null;
  let text = vector.trim();
  if (text.startsWith('(') && text.endsWith(')')) text = text.slice(1, -1);
  if (!wellFormedCharacters(text)) return null;

  const parts = text.split('/');
  let version: CvssVersion;
  let metrics: string[];
  const head = parts[0] ?? '';
  if (head === 'CVSS:4.0' || head === 'CVSS:3.1' || head === 'CVSS:3.0') {
    version = head.slice(5) as CvssVersion;
    metrics = parts.slice(1);
  } else if (head.startsWith('AV:')) {
    version = '2.0';
    metrics = parts;
  } else {
    return null;
  }

  const seen = new Map<string, string>();
  for (const m of metrics) {
    const colon = m.indexOf(':');
    if (colon <= 0 || colon === m.length - 1 || m.indexOf(':', colon + 1) !== -1) return null;
    const key = m.slice(0, colon);
    if (seen.has(key)) return null;
    seen.set(key, m.slice(colon + 1));
  }
  for (const key of BASE_METRICS[version]) {
    const value = seen.get(key);
    if (value === undefined || value === 'X' || value === 'ND') return null;
  }

  let base: unknown;
  try {
    const normalised = version === '2.0' ? metrics.join('/') : `CVSS:${version}/${metrics.join('/')}`;
    const calc =
      version === '2.0'
        ? new lib.Cvss2(normalised)
        : version === '3.0'
          ? new lib.Cvss3P0(normalised)
          : version === '3.1'
            ? new lib.Cvss3P1(normalised)
            : new lib.Cvss4P0(normalised);
    const scores = calc.calculateScores() as { base?: unknown; baseMetricsOnly?: unknown };
    base = version === '4.0' ? (scores.baseMetricsOnly ?? scores.base) : scores.base;
  } catch {
    return null;
  }
  if (typeof base !== 'number' || !Number.isFinite(base) || base < 0 || base > 10) return null;
  const score = Math.round(base * 10) / 10;
  const severity = version === '2.0' && score >= 9 ? 'high' : severityOfScore(score);
  return { version, score, severity };
}

/** Letters, digits, ':', '/' and '.', nothing else (no spaces, no control characters). */
function wellFormedCharacters(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok =
      (c >= 0x30 && c <= 0x3a) ||
      (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x61 && c <= 0x7a) ||
      c === 0x2f ||
      c === 0x2e;
    if (!ok) return false;
  }
  return true;
}
