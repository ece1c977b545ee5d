import { cvssScore } from '../cvss';
import { canonicalEcosystem, osvNameKind } from '../ecosystem';
import type { AdvisoryRecord, AdvisorySeverity, AffectedPackage, FeedFileFacts, FeedReader } from '../types';
import {
  cleanText,
  feedError,
  isCveId,
  isObject,
  isoDate,
  isPackageName,
  isVersion,
  laterDate,
  LIMITS,
  parseBoundedJson,
  readSmallText,
  type FeedSource,
} from './common';

/**
 * OSV records (https://ossf.github.io/osv-schema/) as the distros publish them: one record per
 * file, a folder of them, or an `all.zip` export (osv-zip.ts). Only ECOSYSTEM ranges of
 * ecosystems Patchdeck audits are kept; the others are skipped and counted.
 */

const OSV_ID = /^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$/;
const CVE_IN_TEXT = /CVE-(\d{4})-(\d{4,7})(?!\d)/gi;

const RPM_WORDS: Readonly<Record<string, AdvisorySeverity>> = {
  critical: 'critical',
  important: 'high',
  moderate: 'medium',
  low: 'low',
  none: 'none',
};

// Ubuntu's priorities: https://ubuntu.com/security/cves/about#priority
const UBUNTU_PRIORITIES: Readonly<Record<string, AdvisorySeverity>> = {
  critical: 'critical',
  high: 'high',
  medium: 'medium',
  low: 'low',
  negligible: 'low',
};

/** Who publishes a canonical ecosystem's advisories. */
export function publisherOfEcosystem(ecosystem: string): string {
  const family = ecosystem.slice(0, ecosystem.indexOf(':'));
  switch (family) {
    case 'openSUSE':
      return 'SUSE';
    case 'Debian':
    case 'Ubuntu':
    case 'AlmaLinux':
    case 'Rocky Linux':
    case 'Red Hat':
    case 'SUSE':
    case 'Alpine':
      return family;
    default:
      return 'OSV';
  }
}

/** The publisher an advisory id names, for records that list no packages (DLA-…, USN-…). */
function publisherOfId(id: string): string | null {
  if (/^(?:DSA|DLA|DTSA|DEBIAN)-/.test(id)) return 'Debian';
  if (/^(?:USN|UBUNTU|LSN)-/.test(id)) return 'Ubuntu';
  if (/^AL[BES]A-/.test(id)) return 'AlmaLinux';
  if (/^R[LX][BES]A-/.test(id)) return 'Rocky Linux';
  if (/^(?:RHSA|RHBA|RHEA)-/.test(id)) return 'Red Hat';
  if (/^(?:SUSE|openSUSE)-/.test(id)) return 'SUSE';
  if (/^ALPINE-/.test(id)) return 'Alpine';
  return null;
}

/** What a file of OSV records said overall, gathered record by record. */
export class OsvTally {
  records = 0;
  skippedRecords = 0;
  skippedAffected = 0;
  newest: string | null = null;
  readonly ecosystems = new Set<string>();
  readonly publishers = new Set<string>();

  facts(): FeedFileFacts {
    const details: Record<string, string> = {};
    if (this.skippedRecords > 0) details.skippedRecords = String(this.skippedRecords);
    if (this.skippedAffected > 0) details.skippedAffected = String(this.skippedAffected);
    return {
      feed: 'osv',
      publisher: this.publishers.size === 1 ? [...this.publishers][0]! : 'OSV',
      publishedAt: this.newest,
      recordCount: this.records,
      ecosystems: [...this.ecosystems].sort(),
      details,
    };
  }
}

function stringList(value: unknown, what: string, file: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw feedError(file, `has ${what} that is not a list.`);
  return value.filter((v): v is string => typeof v === 'string');
}

function cvssOf(
  record: Record<string, unknown>,
  file: string,
): { vector: string; score: number; severity: AdvisorySeverity } | null {
  const list = record.severity;
  if (list === undefined || list === null) return null;
  if (!Array.isArray(list)) throw feedError(file, 'has a "severity" that is not a list.');
  let best: { rank: number; vector: string; score: number; severity: AdvisorySeverity } | null = null;
  for (const item of list) {
    if (!isObject(item) || typeof item.type !== 'string' || typeof item.score !== 'string') continue;
    if (!/^CVSS_V[234]$/.test(item.type) || item.score.length > 512) continue;
    const parsed = cvssScore(item.score);
    if (!parsed) continue;
    const rank = { '4.0': 4, '3.1': 3, '3.0': 2, '2.0': 1 }[parsed.version];
    if (!best || rank > best.rank)
      best = { rank, vector: item.score, score: parsed.score, severity: parsed.severity };
  }
  return best && { vector: best.vector, score: best.score, severity: best.severity };
}

function ubuntuPriority(record: Record<string, unknown>, affected: unknown[]): string | null {
  const candidates: unknown[] = [];
  if (Array.isArray(record.severity))
    for (const item of record.severity)
      if (isObject(item) && item.type === 'Ubuntu') candidates.push(item.score);
  for (const holder of [record.database_specific, record.ecosystem_specific])
    if (isObject(holder)) candidates.push(holder.priority);
  for (const a of affected)
    if (isObject(a))
      for (const holder of [a.ecosystem_specific, a.database_specific])
        if (isObject(holder)) candidates.push(holder.priority);
  for (const c of candidates)
    if (typeof c === 'string' && c.toLowerCase() in UBUNTU_PRIORITIES) return c.toLowerCase();
  return null;
}

function rangePackages(
  affected: Record<string, unknown>,
  ecosystem: string,
  name: string,
  file: string,
  id: string,
): AffectedPackage[] {
  const out: AffectedPackage[] = [];
  const ranges = affected.ranges;
  if (ranges === undefined || ranges === null) return out;
  if (!Array.isArray(ranges)) throw feedError(file, `has ${id} with "ranges" that is not a list.`);
  const nameKind = osvNameKind(ecosystem);
  const row = (introduced: string | null, fixed: string | null): AffectedPackage => ({
    ecosystem,
    package: name,
    nameKind,
    introduced: introduced === '0' ? null : introduced,
    fixed,
    status: fixed === null ? 'open' : 'fixed',
    urgency: null,
  });
  for (const range of ranges) {
    if (!isObject(range)) throw feedError(file, `has ${id} with a range that is not an object.`);
    if (range.type !== 'ECOSYSTEM') continue;
    if (!Array.isArray(range.events))
      throw feedError(file, `has ${id} with a range whose "events" is not a list.`);
    let open: string | null | undefined = undefined;
    for (const event of range.events) {
      if (!isObject(event)) throw feedError(file, `has ${id} with an event that is not an object.`);
      for (const key of ['introduced', 'fixed', 'last_affected', 'limit'] as const) {
        const version = event[key];
        if (version === undefined) continue;
        if (typeof version !== 'string' || !isVersion(version))
          throw feedError(file, `has ${id} with a "${key}" version that is not a version.`);
        if (key === 'introduced') {
          if (open !== undefined) out.push(row(open, null));
          open = version;
        } else if (key === 'fixed') {
          out.push(row(open ?? null, version));
          open = undefined;
        } else if (key === 'last_affected') {
          // Affected up to this version, no fixed one named: no fix to offer.
          out.push(row(open ?? null, null));
          open = undefined;
        }
      }
    }
    if (open !== undefined) out.push(row(open, null));
  }
  return out;
}

/**
 * One OSV record as an AdvisoryRecord, or null when none of its packages is in an ecosystem
 * Patchdeck audits (counted in the tally). Wrong types are a FeedError.
 */
export function osvToAdvisory(value: unknown, file: string, tally: OsvTally): AdvisoryRecord | null {
  if (!isObject(value)) throw feedError(file, 'is not an OSV record (not a JSON object).');
  const id = value.id;
  if (typeof id !== 'string' || !OSV_ID.test(id))
    throw feedError(file, 'is not an OSV record (no valid "id").');
  const affectedList = value.affected ?? [];
  if (!Array.isArray(affectedList)) throw feedError(file, `has ${id} with "affected" that is not a list.`);

  const affected: AffectedPackage[] = [];
  const keys = new Set<string>();
  const ecosystems = new Set<string>();
  for (const a of affectedList) {
    if (!isObject(a) || !isObject(a.package))
      throw feedError(file, `has ${id} with an affected entry that is not an object.`);
    const rawEcosystem = a.package.ecosystem;
    const name = a.package.name;
    if (typeof rawEcosystem !== 'string' || typeof name !== 'string')
      throw feedError(file, `has ${id} with a package whose ecosystem or name is not text.`);
    const ecosystem = rawEcosystem.length <= 200 ? canonicalEcosystem(rawEcosystem) : null;
    if (ecosystem === null) {
      tally.skippedAffected++;
      continue;
    }
    if (!isPackageName(name)) throw feedError(file, `has ${id} with a package name that is not one.`);
    ecosystems.add(ecosystem);
    for (const row of rangePackages(a, ecosystem, name, file, id)) {
      const key = `${row.ecosystem}\u0000${row.package}\u0000${row.introduced}\u0000${row.fixed}`;
      if (keys.has(key)) continue;
      keys.add(key);
      affected.push(row);
    }
  }
  if (affectedList.length > 0 && ecosystems.size === 0) {
    tally.skippedRecords++;
    return null;
  }

  const cves = new Set<string>();
  if (isCveId(id)) cves.add(id);
  for (const field of ['aliases', 'related', 'upstream'] as const)
    for (const alias of stringList(value[field], `"${field}"`, file)) if (isCveId(alias)) cves.add(alias);
  // The publisher's own page for the record (errata.almalinux.org/…/ALSA-2023-6077.html) over
  // the first advisory link (which may be Red Hat's RHSA it rebuilds).
  let url: string | null = null;
  let ownUrl: string | null = null;
  const ownNames = [id.toLowerCase(), id.replace(/:/g, '-').toLowerCase()];
  const references = value.references ?? [];
  if (!Array.isArray(references)) throw feedError(file, `has ${id} with "references" that is not a list.`);
  for (const ref of references) {
    if (!isObject(ref) || typeof ref.url !== 'string' || ref.url.length > 2048) continue;
    for (const m of ref.url.matchAll(CVE_IN_TEXT)) cves.add(`CVE-${m[1]}-${m[2]}`);
    if (ref.type !== 'ADVISORY' || !/^https?:\/\/[^\s]+$/.test(ref.url)) continue;
    url ??= cleanText(ref.url, 2048);
    const lower = ref.url.toLowerCase();
    if (ownUrl === null && ownNames.some((n) => lower.includes(n))) ownUrl = cleanText(ref.url, 2048);
  }
  url = ownUrl ?? url;

  const summary = cleanText(value.summary, 1024);
  const cvss = cvssOf(value, file);
  let severity: AdvisorySeverity | null = null;
  let vendorSeverity: string | null = null;
  const rpmFamily =
    [...ecosystems].some((e) => /^(?:AlmaLinux|Rocky Linux):/.test(e)) || /^(?:AL|R[LX])[BES]A-/.test(id);
  const ubuntu = [...ecosystems].some((e) => e.startsWith('Ubuntu:')) || /^(?:USN|UBUNTU)-/.test(id);
  if (rpmFamily && summary) {
    const word = /^([A-Za-z]+):/.exec(summary)?.[1];
    if (word && word.toLowerCase() in RPM_WORDS) {
      severity = RPM_WORDS[word.toLowerCase()]!;
      vendorSeverity = word;
    }
  } else if (ubuntu) {
    const priority = ubuntuPriority(value, affectedList);
    if (priority) {
      severity = UBUNTU_PRIORITIES[priority]!;
      vendorSeverity = priority;
    }
  }
  if (severity === null && cvss) severity = cvss.severity;

  const publishedAt = isoDate(value.published);
  const modifiedAt = isoDate(value.modified);
  tally.records++;
  tally.newest = laterDate(tally.newest, modifiedAt ?? publishedAt);
  for (const e of ecosystems) {
    tally.ecosystems.add(e);
    tally.publishers.add(publisherOfEcosystem(e));
  }
  if (ecosystems.size === 0) tally.publishers.add(publisherOfId(id) ?? 'OSV');

  return {
    feed: 'osv',
    advisoryId: id,
    summary,
    severity,
    vendorSeverity,
    cvssVector: cvss?.vector ?? null,
    cvssScore: cvss?.score ?? null,
    publishedAt,
    modifiedAt,
    cves: [...cves].sort(),
    url,
    withdrawn: typeof value.withdrawn === 'string' && value.withdrawn.length > 0,
    affected,
  };
}

/** One OSV record in one file (≤ 8 MiB). */
export async function* readOsv(source: FeedSource, signal?: AbortSignal): FeedReader {
  const text = await readSmallText(source, LIMITS.recordChars, signal);
  const tally = new OsvTally();
  const record = osvToAdvisory(parseBoundedJson(text, source.name), source.name, tally);
  if (record) yield { kind: 'advisory', record };
  return tally.facts();
}
