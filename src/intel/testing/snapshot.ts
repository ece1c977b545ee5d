/**
 * Test support: advisory snapshot rows written straight into a workspace (the tables of migration
 * 013), as an import would have left them, for tests of matching, tiers, due dates and exceptions
 * that must not depend on the feed readers. Values in tests copy real records (ALSA, DSA, the
 * Debian tracker, KEV and EPSS) from ../shared/fixtures/advisories.
 */
import type { Database } from 'better-sqlite3';
import type { FindingInput } from '../../db/audits';
import { packageFinding } from '../../db/testing/audits';

export interface TestSource {
  feed: 'kev' | 'epss' | 'osv' | 'debian-tracker' | 'csaf';
  publisher: string;
  fileName?: string;
  sha256?: string;
  publishedAt?: string | null;
}

export function addSource(db: Database, source: TestSource): number {
  return Number(
    db
      .prepare(
        `INSERT INTO advisory_sources (feed, publisher, file_name, sha256, published_at, imported_at, record_count)
         VALUES (?, ?, ?, ?, ?, ?, 0)`,
      )
      .run(
        source.feed,
        source.publisher,
        source.fileName ?? `${source.feed}.json`,
        source.sha256 ?? 'a'.repeat(64),
        source.publishedAt === undefined ? '2026-08-16T00:00:00.000Z' : source.publishedAt,
        '2026-08-17T00:00:00.000Z',
      ).lastInsertRowid,
  );
}

export interface TestPackage {
  ecosystem: string;
  package: string;
  nameKind: 'source' | 'binary';
  introduced?: string | null;
  fixed?: string | null;
  status?: 'fixed' | 'open' | 'not-affected' | 'undetermined';
  urgency?: string | null;
}

export interface TestAdvisory {
  feed?: 'osv' | 'debian-tracker' | 'csaf';
  advisoryId: string;
  cves: string[];
  severity?: 'critical' | 'high' | 'medium' | 'low' | 'none' | null;
  vendorSeverity?: string | null;
  cvssVector?: string | null;
  cvssScore?: number | null;
  url?: string | null;
  withdrawn?: boolean;
  packages: TestPackage[];
}

/** One advisory and its packages; its row id. */
export function addAdvisory(db: Database, sourceId: number, a: TestAdvisory): number {
  const id = Number(
    db
      .prepare(
        `INSERT INTO advisories (source_id, feed, advisory_id, severity, vendor_severity, cvss_vector, cvss_score, cves, url, withdrawn)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        sourceId,
        a.feed ?? 'osv',
        a.advisoryId,
        a.severity ?? null,
        a.vendorSeverity ?? null,
        a.cvssVector ?? null,
        a.cvssScore ?? null,
        JSON.stringify([...a.cves].sort()),
        a.url ?? null,
        a.withdrawn ? 1 : 0,
      ).lastInsertRowid,
  );
  const insert = db.prepare(
    `INSERT INTO advisory_packages (advisory, ecosystem, package, name_kind, introduced, fixed, status, urgency) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (const p of a.packages)
    insert.run(
      id,
      p.ecosystem,
      p.package,
      p.nameKind,
      p.introduced === undefined ? '0' : p.introduced,
      p.fixed ?? null,
      p.status ?? (p.fixed ? 'fixed' : 'open'),
      p.urgency ?? null,
    );
  return id;
}

export function addKev(
  db: Database,
  sourceId: number,
  cve: string,
  facts: { dateAdded: string; dueDate: string; name?: string; ransomware?: boolean },
): void {
  db.prepare(
    `INSERT INTO kev_entries (cve, source_id, vendor, product, name, date_added, due_date, ransomware) VALUES (?, ?, NULL, NULL, ?, ?, ?, ?)`,
  ).run(cve, sourceId, facts.name ?? null, facts.dateAdded, facts.dueDate, facts.ransomware ? 1 : 0);
}

export function addEpss(db: Database, sourceId: number, cve: string, epss: number, percentile: number): void {
  db.prepare('INSERT INTO epss_scores (cve, source_id, epss, percentile) VALUES (?, ?, ?, ?)').run(
    cve,
    sourceId,
    epss,
    percentile,
  );
}

/** Dates an audit as if it had been taken at `at` (the audit functions use the wall clock). */
export function dateAudit(db: Database, auditId: number, at: string): void {
  db.prepare('UPDATE audits SET started_at = ?, finished_at = ? WHERE id = ?').run(at, at, auditId);
}

/**
 * A small snapshot with one fixable, known-exploited weakness: the Debian tracker's fix of
 * CVE-2026-1000 in the source package acme (5.1-1), and KEV's entry for it due on `kevDueDate`.
 * {@link ACME_PENDING} is the pending update it judges; {@link TZDATA_PENDING} one it does not.
 */
export function addAcmeSnapshot(
  db: Database,
  options: { kevDueDate: string; trackerPublishedAt?: string },
): { tracker: number; kev: number } {
  const tracker = addSource(db, {
    feed: 'debian-tracker',
    publisher: 'Debian',
    fileName: 'tracker.json',
    ...(options.trackerPublishedAt ? { publishedAt: options.trackerPublishedAt } : {}),
  });
  const kev = addSource(db, { feed: 'kev', publisher: 'CISA', publishedAt: '2026-11-01T00:00:00.000Z' });
  addAdvisory(db, tracker, {
    feed: 'debian-tracker',
    advisoryId: 'DEBIAN:CVE-2026-1000:acme',
    cves: ['CVE-2026-1000'],
    severity: 'high',
    packages: [
      { ecosystem: 'Debian:12', package: 'acme', nameKind: 'source', fixed: '5.1-1', urgency: 'high' },
    ],
  });
  addKev(db, kev, 'CVE-2026-1000', { dateAdded: '2026-11-02', dueDate: options.kevDueDate });
  return { tracker, kev };
}

/** acme 5.0-1 → 5.1-1 from bookworm-security, the update {@link addAcmeSnapshot}'s advisory fixes. */
export const ACME_PENDING: FindingInput = packageFinding({
  package: 'acme',
  arch: 'amd64',
  installedVersion: '5.0-1',
  availableVersion: '5.1-1',
  repository: 'bookworm-security',
  security: true,
  sourcePackage: 'acme',
});

/** tzdata 2024a-0 → 2024b-0 from main, an update no advisory speaks of. */
export const TZDATA_PENDING: FindingInput = packageFinding({
  package: 'tzdata',
  arch: 'all',
  installedVersion: '2024a-0',
  availableVersion: '2024b-0',
  repository: 'main',
});
