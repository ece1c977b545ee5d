import type { Database } from 'better-sqlite3';
import {
  iterateFindings,
  queryFindings,
  type ExportedFinding,
  type FindingFilter,
  type FindingSortKey,
} from '../db';
import { csvLine } from '../util';

/** An export stops here: about 30 MB of text, which a browser download and a spreadsheet still take. */
export const FINDINGS_CSV_LIMIT = 200_000;

export const FINDINGS_CSV_COLUMNS = [
  'Host',
  'Address',
  'OS',
  'Package',
  'Arch',
  'Kind',
  'Installed',
  'Available',
  'Repository',
  'Security',
  'Severity',
  'Vendor severity',
  'Advisories',
  'Held',
  'Reboot required',
  'Tier',
  'Due',
  'CVEs',
  'Known exploited',
  'EPSS',
] as const;

/** One finding as a CSV line in FINDINGS_CSV_COLUMNS order, for the window's export and the CLI's. */
export type CsvFinding = Pick<
  ExportedFinding,
  | 'hostName'
  | 'hostAddress'
  | 'os'
  | 'package'
  | 'arch'
  | 'kind'
  | 'installedVersion'
  | 'availableVersion'
  | 'repository'
  | 'security'
  | 'severity'
  | 'vendorSeverity'
  | 'advisories'
  | 'held'
  | 'rebootRequired'
  | 'tier'
  | 'dueAt'
  | 'cves'
  | 'kev'
  | 'epss'
>;

export function findingCsvRow(f: CsvFinding): string {
  return csvLine([
    f.hostName,
    f.hostAddress,
    f.os,
    f.package,
    f.arch,
    f.kind,
    f.installedVersion,
    f.availableVersion,
    f.repository,
    f.security ? 'yes' : 'no',
    f.severity,
    f.vendorSeverity,
    f.advisories.join(' '),
    f.held ? 'yes' : 'no',
    f.rebootRequired === null ? '' : f.rebootRequired ? 'yes' : 'no',
    f.tier,
    f.dueAt,
    f.cves.join(' '),
    f.kev ? 'yes' : 'no',
    f.epss === null ? '' : String(f.epss),
  ]);
}

/**
 * The current findings a filter keeps, as CSV (header first), in the given order. Every cell is
 * quoted and made formula-safe: package names and repositories come from the hosts.
 */
export function findingsCsv(
  db: Database,
  query: FindingFilter & { sort: FindingSortKey; direction?: 'asc' | 'desc' },
  limit = FINDINGS_CSV_LIMIT,
): { text: string; rows: number; matched: number } {
  const matched = queryFindings(db, { ...query, offset: 0, limit: 1 }).total;
  const parts = [csvLine(FINDINGS_CSV_COLUMNS)];
  let rows = 0;
  for (const f of iterateFindings(db, query)) {
    if (rows >= limit) break;
    parts.push(findingCsvRow(f));
    rows++;
  }
  return { text: parts.join(''), rows, matched };
}
