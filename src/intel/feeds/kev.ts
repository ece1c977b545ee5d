import type { FeedItem, FeedReader, KevRecord } from '../types';
import {
  checkAborted,
  cleanText,
  feedError,
  isCveId,
  isObject,
  isoDate,
  JsonWalker,
  LIMITS,
  sourceText,
  type FeedSource,
  type JsonKind,
  type JsonPath,
} from './common';

/**
 * CISA's Known Exploited Vulnerabilities catalog (`known_exploited_vulnerabilities.json`):
 * `{title, catalogVersion, dateReleased, count, vulnerabilities: [{cveID, vendorProject, product,
 * vulnerabilityName, dateAdded, dueDate, knownRansomwareCampaignUse, …}]}`, streamed entry by entry.
 */

const TOP_FIELDS = new Set(['title', 'catalogVersion', 'dateReleased', 'count']);

export async function* readKev(source: FeedSource, signal?: AbortSignal): FeedReader {
  const file = source.name;
  const top: Record<string, unknown> = {};
  const queue: KevRecord[] = [];
  const seen = new Set<string>();
  let entries = 0;
  let duplicates = 0;
  let sawList = false;

  const entry = (value: unknown, index: number): void => {
    if (!isObject(value)) throw feedError(file, `has vulnerabilities[${index}] that is not an object.`);
    const cve = value.cveID;
    if (typeof cve !== 'string' || !isCveId(cve))
      throw feedError(file, `has vulnerabilities[${index}] whose cveID is not a CVE id.`);
    entries++;
    if (entries > LIMITS.records) throw feedError(file, `has more than ${LIMITS.records} entries.`);
    if (seen.has(cve)) {
      duplicates++;
      return;
    }
    seen.add(cve);
    const ransomware = value.knownRansomwareCampaignUse;
    if (ransomware !== undefined && typeof ransomware !== 'string')
      throw feedError(file, `has ${cve} whose knownRansomwareCampaignUse is not text.`);
    queue.push({
      cve,
      vendor: cleanText(value.vendorProject, 200),
      product: cleanText(value.product, 200),
      name: cleanText(value.vulnerabilityName, 500),
      dateAdded: isoDate(value.dateAdded),
      dueDate: isoDate(value.dueDate),
      ransomware: typeof ransomware === 'string' && ransomware.toLowerCase() === 'known',
    });
  };

  const walker = new JsonWalker(file, {
    enter(path: JsonPath, kind: JsonKind) {
      if (path.length === 0) {
        if (kind !== 'object') throw feedError(file, 'is not a KEV catalog (not a JSON object).');
        return 'skip';
      }
      if (path.length === 1) {
        if (path[0] === 'vulnerabilities') {
          if (kind !== 'array') throw feedError(file, 'has a "vulnerabilities" that is not a list.');
          sawList = true;
          return 'skip';
        }
        return TOP_FIELDS.has(path[0] as string) ? 'capture' : 'skip';
      }
      return path.length === 2 && path[0] === 'vulnerabilities' ? 'capture' : 'skip';
    },
    value(path: JsonPath, value: unknown) {
      if (path.length === 1) top[path[0] as string] = value;
      else entry(value, path[1] as number);
    },
  });

  for await (const text of sourceText(source, signal)) {
    walker.write(text);
    for (const record of queue.splice(0)) yield { kind: 'kev', record } satisfies FeedItem;
    checkAborted(signal);
  }
  walker.end();
  for (const record of queue.splice(0)) yield { kind: 'kev', record } satisfies FeedItem;

  const catalogVersion = top.catalogVersion;
  if (typeof catalogVersion !== 'string' || !/^[\w.-]{1,40}$/.test(catalogVersion))
    throw feedError(file, 'is not a KEV catalog (no catalogVersion).');
  if (!sawList) throw feedError(file, 'is not a KEV catalog (no "vulnerabilities" list).');
  if (top.count !== undefined && typeof top.count !== 'number')
    throw feedError(file, 'has a "count" that is not a number.');
  if (typeof top.count === 'number' && top.count !== entries)
    throw feedError(file, `says it has ${top.count} entries but has ${entries} (truncated or edited).`);
  const details: Record<string, string> = { catalogVersion };
  if (duplicates > 0) details.duplicates = String(duplicates);
  return {
    feed: 'kev',
    publisher: 'CISA',
    publishedAt: isoDate(top.dateReleased),
    recordCount: seen.size,
    ecosystems: [],
    details,
  };
}
