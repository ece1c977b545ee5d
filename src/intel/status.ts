import type { Database } from 'better-sqlite3';
import type { AdvisoryFeed, AdvisoryStatus, Settings } from '../api';
import {
  advisoryCounts,
  advisoryGroups,
  ecosystemCovered,
  hostOsVersions,
  listCurrentAdvisorySources,
  type AdvisorySourceRow,
} from '../db';
import type { Clock } from '../util';
import { ecosystemOfHost } from './ecosystem';

const DAY_MS = 86_400_000;

function feedLabel(feed: AdvisorySourceRow['feed'], publisher: string): string {
  switch (feed) {
    case 'kev':
      return 'The KEV catalogue';
    case 'epss':
      return 'The EPSS scores';
    case 'osv':
      return `${publisher}'s OSV advisories`;
    case 'debian-tracker':
      return 'The Debian Security Tracker data';
    case 'csaf':
      return `${publisher}'s CSAF advisories`;
  }
}

/** Whether the feed's label is plural ("… OSV advisories are", "The EPSS scores are"). */
function pluralLabel(feed: AdvisorySourceRow['feed']): boolean {
  return feed === 'epss' || feed === 'osv' || feed === 'csaf';
}

/**
 * What the snapshot holds and how old each part is. KEV and EPSS are one current file each; the
 * advisory feeds (OSV, tracker, CSAF) are many files per publisher, shown as one line per
 * (feed, publisher) dated by its newest record. A feed older than `advisoryMaxAgeDays` is stale.
 * A feed with no date of its own (the Debian tracker JSON) is aged from its import, and its
 * warning says so (publishedAt stays null: nothing pretends the feed is dated that day).
 */
export function advisoryStatus(db: Database, settings: Settings, clock: Clock): AdvisoryStatus {
  const now = clock.now();
  const maxAge = settings.advisoryMaxAgeDays;
  const ageOf = (publishedAt: string | null, importedAt: string): number => {
    const at = Date.parse(publishedAt ?? '');
    const base = Number.isFinite(at) ? at : Date.parse(importedAt);
    return Math.max(0, Math.floor((now - base) / DAY_MS));
  };
  const feeds: AdvisoryFeed[] = [];
  const sources = listCurrentAdvisorySources(db);
  const counted = new Map(advisoryGroups(db).map((g) => [`${g.feed}\u0000${g.publisher}`, g.advisories]));
  const groups = new Map<string, AdvisorySourceRow[]>();
  for (const s of sources) {
    const key = s.feed === 'kev' || s.feed === 'epss' ? s.feed : `${s.feed}\u0000${s.publisher}`;
    const list = groups.get(key) ?? [];
    list.push(s);
    groups.set(key, list);
  }
  for (const [key, list] of groups) {
    const newest = list[list.length - 1]!;
    const publishedAt = list.reduce<string | null>(
      (max, s) => (s.publishedAt && (!max || s.publishedAt > max) ? s.publishedAt : max),
      null,
    );
    const ageDays = ageOf(publishedAt, newest.importedAt);
    const whole = newest.feed === 'kev' || newest.feed === 'epss';
    feeds.push({
      id: newest.id,
      feed: newest.feed,
      publisher: newest.publisher,
      fileName: list.length === 1 ? newest.fileName : `${list.length} files, newest ${newest.fileName}`,
      sha256: newest.sha256,
      publishedAt,
      importedAt: newest.importedAt,
      recordCount: whole ? newest.recordCount : (counted.get(key) ?? 0),
      ecosystems: [...new Set(list.flatMap((s) => s.ecosystems))].sort(),
      ageDays,
      stale: ageDays > maxAge,
    });
  }
  const order = ['kev', 'epss', 'osv', 'debian-tracker', 'csaf'];
  feeds.sort(
    (a, b) => order.indexOf(a.feed) - order.indexOf(b.feed) || a.publisher.localeCompare(b.publisher),
  );

  const warnings: string[] = [];
  for (const f of feeds) {
    if (!f.stale) continue;
    const label = feedLabel(f.feed, f.publisher);
    warnings.push(
      f.publishedAt === null
        ? `${label} ${pluralLabel(f.feed) ? 'have' : 'has'} no date of ${pluralLabel(f.feed) ? 'their' : 'its'} own and ${pluralLabel(f.feed) ? 'were' : 'was'} imported ${f.ageDays} days ago (longer than ${maxAge} days): import a newer file.`
        : `${label} ${pluralLabel(f.feed) ? 'are' : 'is'} ${f.ageDays} days old (older than ${maxAge} days): import a newer file.`,
    );
  }
  if (!feeds.some((f) => f.feed === 'kev'))
    warnings.push('No KEV catalogue imported: known-exploited CVEs cannot be flagged.');
  if (!feeds.some((f) => f.feed === 'epss'))
    warnings.push('No EPSS scores imported: findings have no exploit likelihood.');

  const byEcosystem = new Map<string, number>();
  for (const h of hostOsVersions(db)) {
    const eco = ecosystemOfHost(h.osId, h.osVersion);
    if (eco) byEcosystem.set(eco, (byEcosystem.get(eco) ?? 0) + h.hosts);
  }
  const ecosystems = [...byEcosystem]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([ecosystem, hosts]) => ({ ecosystem, hosts, covered: ecosystemCovered(db, ecosystem) }));
  for (const e of ecosystems)
    if (!e.covered)
      warnings.push(
        `No advisories cover ${e.ecosystem} (${e.hosts} host${e.hosts === 1 ? '' : 's'}): their updates cannot be matched to CVEs until its OSV or tracker files are imported.`,
      );
  const noDistroAdvisories =
    ecosystems.length > 0
      ? !ecosystems.some((e) => e.covered)
      : !feeds.some((f) => f.feed === 'osv' || f.feed === 'debian-tracker' || f.feed === 'csaf');
  return { feeds, warnings, ecosystems, noDistroAdvisories, counts: advisoryCounts(db) };
}
