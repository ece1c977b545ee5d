import type { EpssRecord, FeedReader } from '../types';
import {
  checkAborted,
  feedError,
  isCveId,
  isoDate,
  LIMITS,
  sourceText,
  textLines,
  type FeedSource,
} from './common';

/**
 * FIRST's daily EPSS file, `.csv` or `.csv.gz` (gunzipped as it streams): a first line
 * `#model_version:v2025.03.14,score_date:2025-08-16T00:00:00+0000`, then the header
 * `cve,epss,percentile`, then one row per CVE.
 */

const SCORE = /^(?:0|1)(?:\.\d{1,12})?$|^\.\d{1,12}$|^\d(?:\.\d{1,12})?[eE]-\d{1,2}$/;

function parseScore(text: string): number | null {
  if (!SCORE.test(text)) return null;
  const value = Number(text);
  return value >= 0 && value <= 1 ? value : null;
}

/** `#model_version:…,score_date:…` → its fields; null when the line is not that. */
export function parseEpssHeader(line: string): { modelVersion: string; scoreDate: string | null } | null {
  if (!line.startsWith('#')) return null;
  const fields = new Map<string, string>();
  for (const part of line.slice(1).split(',')) {
    const colon = part.indexOf(':');
    if (colon > 0) fields.set(part.slice(0, colon).trim(), part.slice(colon + 1).trim());
  }
  const modelVersion = fields.get('model_version');
  if (modelVersion === undefined || !/^[\w.-]{1,60}$/.test(modelVersion)) return null;
  // FIRST writes "+0000"; ISO wants "+00:00".
  const raw = fields.get('score_date') ?? '';
  const scoreDate = isoDate(raw.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return { modelVersion, scoreDate };
}

export async function* readEpss(source: FeedSource, signal?: AbortSignal): FeedReader {
  const file = source.name;
  let lineNo = 0;
  let header: { modelVersion: string; scoreDate: string | null } | null = null;
  let columns = false;
  let rows = 0;
  for await (const raw of textLines(sourceText(source, signal), file, LIMITS.csvLineChars)) {
    lineNo++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (lineNo === 1) {
      header = parseEpssHeader(line.replace(/^\uFEFF/, ''));
      if (!header)
        throw feedError(file, 'is not an EPSS file: its first line is not "#model_version:…,score_date:…".');
      continue;
    }
    if (!columns) {
      if (line.trim() !== 'cve,epss,percentile')
        throw feedError(file, `has the header "${line.slice(0, 60)}" on line 2, not "cve,epss,percentile".`);
      columns = true;
      continue;
    }
    if (line.length === 0) continue;
    const parts = line.split(',');
    if (parts.length !== 3) throw feedError(file, `has ${parts.length} columns on line ${lineNo}, not 3.`);
    const [cve, epssText, percentileText] = parts as [string, string, string];
    if (!isCveId(cve)) throw feedError(file, `has a CVE id that is not one on line ${lineNo}.`);
    const epss = parseScore(epssText);
    const percentile = parseScore(percentileText);
    if (epss === null || percentile === null)
      throw feedError(file, `has a score that is not a number from 0 to 1 on line ${lineNo}.`);
    rows++;
    if (rows > LIMITS.epssRows) throw feedError(file, `has more than ${LIMITS.epssRows} rows.`);
    if ((rows & 0xfff) === 0) checkAborted(signal);
    const record: EpssRecord = { cve, epss, percentile };
    yield { kind: 'epss', record };
  }
  if (!header) throw feedError(file, 'is empty.');
  if (!columns) throw feedError(file, 'has no "cve,epss,percentile" header.');
  return {
    feed: 'epss',
    publisher: 'FIRST',
    publishedAt: header.scoreDate,
    recordCount: rows,
    ecosystems: [],
    details: { modelVersion: header.modelVersion },
  };
}
