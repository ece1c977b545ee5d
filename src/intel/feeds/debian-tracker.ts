import { debianCodenameEcosystem } from '../ecosystem';
import type { AdvisoryRecord, AdvisorySeverity, AffectedPackage, FeedReader } from '../types';
import {
  checkAborted,
  cleanText,
  feedError,
  isCveId,
  isObject,
  isPackageName,
  isVersion,
  JsonWalker,
  LIMITS,
  sourceText,
  type FeedSource,
  type JsonKind,
  type JsonPath,
} from './common';

/**
 * The Debian Security Tracker's JSON (https://security-tracker.debian.org/tracker/data/json):
 * one object `{source: {CVE: {description, scope, releases: {codename: {status, repositories,
 * fixed_version, urgency}}}}}`, hundreds of MB, streamed: only one (source, CVE) entry is held
 * at a time. Each entry is one AdvisoryRecord `DEBIAN:<CVE>:<source>`; ids that are not CVEs
 * (the tracker's TEMP-… entries) and releases that are not a numbered Debian (sid) are skipped.
 */

const URGENCY_RANK: Readonly<Record<string, number>> = { unimportant: 1, low: 2, medium: 3, high: 4 };
const URGENCY_SEVERITY: Readonly<Record<string, AdvisorySeverity>> = {
  unimportant: 'low',
  low: 'low',
  medium: 'medium',
  high: 'high',
};

interface TrackerCounts {
  skippedIds: number;
  skippedRecords: number;
  unknownStatuses: number;
}

function trackerRecord(
  sourceName: string,
  cve: string,
  value: unknown,
  file: string,
  counts: TrackerCounts,
  ecosystems: Set<string>,
): AdvisoryRecord | null {
  const where = `${cve} of ${sourceName}`;
  if (!isObject(value)) throw feedError(file, `has ${where} that is not an object.`);
  const releases = value.releases ?? {};
  if (!isObject(releases)) throw feedError(file, `has ${where} whose "releases" is not an object.`);
  const affected: AffectedPackage[] = [];
  let top: { rank: number; word: string } | null = null;
  for (const [codename, release] of Object.entries(releases)) {
    // Only real codenames: 'constructor' or '__proto__' must not reach the codename table's prototype.
    const mapped = /^[a-z]{2,20}$/.test(codename) ? debianCodenameEcosystem(codename) : null;
    const ecosystem = mapped !== null && /^Debian:\d+$/.test(mapped) ? mapped : null;
    if (!isObject(release)) throw feedError(file, `has ${where} with a release that is not an object.`);
    const { status, fixed_version: fixedVersion, urgency: rawUrgency } = release;
    if (typeof status !== 'string')
      throw feedError(file, `has ${where} with a release status that is not text.`);
    if (fixedVersion !== undefined && (typeof fixedVersion !== 'string' || !isVersion(fixedVersion)))
      throw feedError(file, `has ${where} with a fixed_version that is not a version.`);
    if (rawUrgency !== undefined && typeof rawUrgency !== 'string')
      throw feedError(file, `has ${where} with an urgency that is not text.`);
    if (ecosystem === null) continue;
    const urgency = cleanText(rawUrgency, 40);
    let row: Pick<AffectedPackage, 'status' | 'fixed'>;
    if (status === 'resolved')
      row =
        fixedVersion === '0'
          ? { status: 'not-affected', fixed: null }
          : fixedVersion === undefined
            ? { status: 'undetermined', fixed: null }
            : { status: 'fixed', fixed: fixedVersion };
    else if (status === 'open') row = { status: 'open', fixed: null };
    else if (status === 'undetermined') row = { status: 'undetermined', fixed: null };
    else {
      counts.unknownStatuses++;
      continue;
    }
    affected.push({ ecosystem, package: sourceName, nameKind: 'source', introduced: null, ...row, urgency });
    ecosystems.add(ecosystem);
    const word = urgency?.replace(/\*+$/, '').trim().toLowerCase() ?? '';
    const rank = URGENCY_RANK[word];
    if (rank !== undefined && (!top || rank > top.rank)) top = { rank, word };
  }
  if (affected.length === 0) {
    counts.skippedRecords++;
    return null;
  }
  return {
    feed: 'debian-tracker',
    advisoryId: `DEBIAN:${cve}:${sourceName}`,
    summary: cleanText(value.description, 1024),
    severity: top ? URGENCY_SEVERITY[top.word]! : null,
    vendorSeverity: top?.word ?? null,
    cvssVector: null,
    cvssScore: null,
    publishedAt: null,
    modifiedAt: null,
    cves: [cve],
    url: `https://security-tracker.debian.org/tracker/${cve}`,
    withdrawn: false,
    affected,
  };
}

export async function* readDebianTracker(source: FeedSource, signal?: AbortSignal): FeedReader {
  const file = source.name;
  const counts: TrackerCounts = { skippedIds: 0, skippedRecords: 0, unknownStatuses: 0 };
  const ecosystems = new Set<string>();
  const queue: AdvisoryRecord[] = [];
  let entries = 0;
  let records = 0;
  const walker = new JsonWalker(file, {
    enter(path: JsonPath, kind: JsonKind) {
      if (path.length === 0) {
        if (kind !== 'object') throw feedError(file, 'is not Debian tracker JSON (not a JSON object).');
        return 'skip';
      }
      if (path.length === 1) {
        if (kind !== 'object')
          throw feedError(file, 'is not Debian tracker JSON (a source package is not an object).');
        if (!isPackageName(path[0] as string))
          throw feedError(file, 'has a source package name that is not one.');
        return 'skip';
      }
      if (path.length === 2) {
        if (++entries > LIMITS.records) throw feedError(file, `has more than ${LIMITS.records} entries.`);
        if (!isCveId(path[1] as string)) {
          counts.skippedIds++;
          return 'skip';
        }
        if (kind !== 'object') throw feedError(file, `has ${path[1] as string} that is not an object.`);
        return 'capture';
      }
      return 'skip';
    },
    value(path: JsonPath, value: unknown) {
      const record = trackerRecord(path[0] as string, path[1] as string, value, file, counts, ecosystems);
      if (record) queue.push(record);
    },
  });
  for await (const text of sourceText(source, signal)) {
    walker.write(text);
    for (const record of queue.splice(0)) {
      records++;
      yield { kind: 'advisory', record };
    }
    checkAborted(signal);
  }
  walker.end();
  for (const record of queue.splice(0)) {
    records++;
    yield { kind: 'advisory', record };
  }
  const details: Record<string, string> = {};
  for (const [key, count] of Object.entries(counts)) if (count > 0) details[key] = String(count);
  return {
    feed: 'debian-tracker',
    publisher: 'Debian',
    publishedAt: null,
    recordCount: records,
    ecosystems: [...ecosystems].sort(),
    details,
  };
}
