import type { Database, Statement } from 'better-sqlite3';
import type { AdvisoryRecord, EpssRecord, FeedKind, KevRecord } from '../intel';
import { parseJsonArray } from './time';

/**
 * The advisory snapshot's tables (migration 013): imported files (`advisory_sources`), distro
 * advisories and what they fix (`advisories`, `advisory_packages`), and the two whole catalogues
 * (`kev_entries`, `epss_scores`).
 *
 * A feed file is read asynchronously (it streams), but a better-sqlite3 transaction must not span
 * an `await`: any other call on the same connection would land inside it. So a file's records are
 * first written to TEMP staging tables in small synchronous batches, and only once the whole file
 * has been read does one synchronous transaction move them into the snapshot. A refused file
 * leaves nothing but cleared staging tables behind.
 */

export interface AdvisorySourceRow {
  id: number;
  feed: FeedKind;
  publisher: string;
  fileName: string;
  sha256: string;
  publishedAt: string | null;
  importedAt: string;
  recordCount: number;
  ecosystems: string[];
  details: Record<string, string>;
  supersededAt: string | null;
}

export interface NewAdvisorySource {
  feed: FeedKind;
  publisher: string;
  fileName: string;
  sha256: string;
  publishedAt: string | null;
  recordCount: number;
  ecosystems: string[];
  details: Record<string, string>;
}

const statements = new WeakMap<Database, Map<string, Statement>>();
/** A prepared statement, prepared once per connection: an import runs the same few per file. */
function stmt(db: Database, sql: string): Statement {
  let cache = statements.get(db);
  if (!cache) statements.set(db, (cache = new Map()));
  let s = cache.get(sql);
  if (!s) cache.set(sql, (s = db.prepare(sql)));
  return s;
}

interface SourceDbRow {
  id: number;
  feed: FeedKind;
  publisher: string;
  file_name: string;
  sha256: string;
  published_at: string | null;
  imported_at: string;
  record_count: number;
  ecosystems: string;
  details: string | null;
  superseded_at: string | null;
}

function toSource(row: SourceDbRow): AdvisorySourceRow {
  let details: Record<string, string>;
  try {
    details = row.details ? (JSON.parse(row.details) as Record<string, string>) : {};
  } catch {
    details = {};
  }
  return {
    id: row.id,
    feed: row.feed,
    publisher: row.publisher,
    fileName: row.file_name,
    sha256: row.sha256,
    publishedAt: row.published_at,
    importedAt: row.imported_at,
    recordCount: row.record_count,
    ecosystems: parseJsonArray(row.ecosystems),
    details,
    supersededAt: row.superseded_at,
  };
}

/** The file of `feed` with this sha256 imported before, if any (superseded or not). */
export function findAdvisorySource(db: Database, feed: FeedKind, sha256: string): AdvisorySourceRow | null {
  const row = stmt(
    db,
    'SELECT * FROM advisory_sources WHERE feed = ? AND sha256 = ? ORDER BY id LIMIT 1',
  ).get(feed, sha256) as SourceDbRow | undefined;
  return row ? toSource(row) : null;
}

/** The current (not superseded) file of a whole-catalogue feed (KEV, EPSS). */
export function currentCatalogSource(db: Database, feed: 'kev' | 'epss'): AdvisorySourceRow | null {
  const row = stmt(
    db,
    'SELECT * FROM advisory_sources WHERE feed = ? AND superseded_at IS NULL ORDER BY id DESC LIMIT 1',
  ).get(feed) as SourceDbRow | undefined;
  return row ? toSource(row) : null;
}

/** Every imported file that is not superseded, oldest first. */
export function listCurrentAdvisorySources(db: Database): AdvisorySourceRow[] {
  return (
    db
      .prepare('SELECT * FROM advisory_sources WHERE superseded_at IS NULL ORDER BY id')
      .all() as SourceDbRow[]
  ).map(toSource);
}

export function getAdvisorySource(db: Database, id: number): AdvisorySourceRow | null {
  const row = db.prepare('SELECT * FROM advisory_sources WHERE id = ?').get(id) as SourceDbRow | undefined;
  return row ? toSource(row) : null;
}

/** How much the snapshot holds. */
export function advisoryCounts(db: Database): { advisories: number; kev: number; epss: number } {
  const one = (sql: string): number => (db.prepare(sql).pluck().get() as number) ?? 0;
  return {
    advisories: one('SELECT count(*) FROM advisories'),
    kev: one('SELECT count(*) FROM kev_entries'),
    epss: one('SELECT count(*) FROM epss_scores'),
  };
}

/** The advisories of each (feed, publisher): how many, and the newest record's date. */
export function advisoryGroups(
  db: Database,
): { feed: FeedKind; publisher: string; advisories: number; newestModifiedAt: string | null }[] {
  return db
    .prepare(
      `SELECT a.feed AS feed, s.publisher AS publisher, count(*) AS advisories,
              max(coalesce(a.modified_at, a.published_at)) AS newestModifiedAt
         FROM advisories a JOIN advisory_sources s ON s.id = a.source_id
        GROUP BY a.feed, s.publisher ORDER BY a.feed, s.publisher`,
    )
    .all() as { feed: FeedKind; publisher: string; advisories: number; newestModifiedAt: string | null }[];
}

const STAGE_BATCH = 4000;

const ADV_COLUMNS = `summary, severity, vendor_severity, cvss_vector, cvss_score, published_at, modified_at, cves, url, withdrawn`;
const ADV_UPDATE = `source_id = excluded.source_id, summary = excluded.summary, severity = excluded.severity,
           vendor_severity = excluded.vendor_severity, cvss_vector = excluded.cvss_vector,
           cvss_score = excluded.cvss_score, published_at = excluded.published_at,
           modified_at = excluded.modified_at, cves = excluded.cves, url = excluded.url,
           withdrawn = excluded.withdrawn
         WHERE advisories.modified_at IS NULL OR excluded.modified_at IS NULL
            OR excluded.modified_at >= advisories.modified_at`;

function advisoryParams(r: AdvisoryRecord) {
  return {
    advisoryId: r.advisoryId,
    summary: r.summary,
    severity: r.severity,
    vendorSeverity: r.vendorSeverity,
    cvssVector: r.cvssVector,
    cvssScore: r.cvssScore,
    publishedAt: r.publishedAt,
    modifiedAt: r.modifiedAt,
    cves: JSON.stringify(r.cves),
    url: r.url,
    withdrawn: r.withdrawn ? 1 : 0,
  };
}

/**
 * One file's records on their way in. Most files are small (one OSV record, the KEV catalogue):
 * their records stay in memory and `commit*` writes them straight in. A file with more records
 * than one batch spills them, batch by batch, into TEMP tables (per connection, never in the
 * workspace file), and `commit*` moves those in with set-based statements. Memory stays bounded
 * either way. One stage per connection at a time (the import serialises files).
 */
export class AdvisoryStage {
  private kev: KevRecord[] = [];
  private epss: EpssRecord[] = [];
  private advisories = new Map<string, AdvisoryRecord>();
  /** Advisory ids already in the TEMP tables (a later copy in the same file replaces them). */
  private readonly spilledIds = new Set<string>();
  /** Whether any record went to the TEMP tables. */
  spilled = false;
  /** Records staged so far, by kind. */
  counts = { kev: 0, epss: 0, advisories: 0 };

  constructor(private readonly db: Database) {
    db.exec(`
      CREATE TEMP TABLE IF NOT EXISTS stage_kev (
        cve TEXT PRIMARY KEY, vendor TEXT, product TEXT, name TEXT, date_added TEXT, due_date TEXT,
        ransomware INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TEMP TABLE IF NOT EXISTS stage_epss (
        cve TEXT PRIMARY KEY, epss REAL NOT NULL, percentile REAL NOT NULL) WITHOUT ROWID;
      CREATE TEMP TABLE IF NOT EXISTS stage_adv (
        advisory_id TEXT PRIMARY KEY, summary TEXT, severity TEXT, vendor_severity TEXT,
        cvss_vector TEXT, cvss_score REAL, published_at TEXT, modified_at TEXT, cves TEXT NOT NULL,
        url TEXT, withdrawn INTEGER NOT NULL);
      CREATE TEMP TABLE IF NOT EXISTS stage_pkg (
        advisory_id TEXT NOT NULL, ecosystem TEXT NOT NULL, package TEXT NOT NULL,
        name_kind TEXT NOT NULL, introduced TEXT, fixed TEXT, status TEXT NOT NULL, urgency TEXT);
      CREATE INDEX IF NOT EXISTS temp.stage_pkg_advisory ON stage_pkg(advisory_id);
    `);
    this.spilled = true;
    this.clear();
  }

  /** Forgets the staged records (before a file, and after it whatever happened). */
  clear(): void {
    this.kev = [];
    this.epss = [];
    this.advisories = new Map();
    this.spilledIds.clear();
    this.counts = { kev: 0, epss: 0, advisories: 0 };
    if (this.spilled)
      for (const table of ['stage_kev', 'stage_epss', 'stage_adv', 'stage_pkg'])
        stmt(this.db, `DELETE FROM temp.${table}`).run();
    this.spilled = false;
  }

  addKev(r: KevRecord): void {
    this.counts.kev++;
    this.kev.push(r);
    if (this.kev.length >= STAGE_BATCH) this.spill();
  }

  addEpss(r: EpssRecord): void {
    this.counts.epss++;
    this.epss.push(r);
    if (this.epss.length >= STAGE_BATCH) this.spill();
  }

  addAdvisory(r: AdvisoryRecord): void {
    // The same advisory twice in one file: the later one stands, with its own packages only.
    if (!this.advisories.has(r.advisoryId) && !this.spilledIds.has(r.advisoryId)) this.counts.advisories++;
    this.advisories.delete(r.advisoryId);
    this.advisories.set(r.advisoryId, r);
    if (this.advisories.size >= STAGE_BATCH / 8) this.spill();
  }

  /** The records still in memory, for a direct commit (only when nothing was spilled). */
  get memory(): { kev: KevRecord[]; epss: EpssRecord[]; advisories: AdvisoryRecord[] } {
    return { kev: this.kev, epss: this.epss, advisories: [...this.advisories.values()] };
  }

  /** Writes the records in memory to the TEMP tables (one short synchronous transaction). */
  spill(): void {
    if (!this.kev.length && !this.epss.length && !this.advisories.size) return;
    const db = this.db;
    const insKev = stmt(
      db,
      'INSERT OR REPLACE INTO temp.stage_kev VALUES (@cve, @vendor, @product, @name, @dateAdded, @dueDate, @ransomware)',
    );
    const insEpss = stmt(db, 'INSERT OR REPLACE INTO temp.stage_epss VALUES (?, ?, ?)');
    const insAdv = stmt(
      db,
      `INSERT OR REPLACE INTO temp.stage_adv VALUES (@advisoryId, @summary, @severity, @vendorSeverity,
         @cvssVector, @cvssScore, @publishedAt, @modifiedAt, @cves, @url, @withdrawn)`,
    );
    const insPkg = stmt(db, 'INSERT INTO temp.stage_pkg VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    const delPkg = stmt(db, 'DELETE FROM temp.stage_pkg WHERE advisory_id = ?');
    const { kev, epss, advisories } = this.memory;
    this.spilled = true;
    db.transaction(() => {
      for (const r of kev) insKev.run({ ...r, ransomware: r.ransomware ? 1 : 0 });
      for (const r of epss) insEpss.run(r.cve, r.epss, r.percentile);
      for (const r of advisories) {
        if (this.spilledIds.has(r.advisoryId)) delPkg.run(r.advisoryId);
        this.spilledIds.add(r.advisoryId);
        insAdv.run(advisoryParams(r));
        for (const p of r.affected)
          insPkg.run(
            r.advisoryId,
            p.ecosystem,
            p.package,
            p.nameKind,
            p.introduced,
            p.fixed,
            p.status,
            p.urgency,
          );
      }
    })();
    this.kev = [];
    this.epss = [];
    this.advisories = new Map();
  }
}

function insertSource(db: Database, source: NewAdvisorySource, at: string): number {
  const result = stmt(
    db,
    `INSERT INTO advisory_sources (feed, publisher, file_name, sha256, published_at, imported_at, record_count, ecosystems, details)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    source.feed,
    source.publisher,
    source.fileName,
    source.sha256,
    source.publishedAt,
    at,
    source.recordCount,
    JSON.stringify(source.ecosystems),
    JSON.stringify(source.details),
  );
  return Number(result.lastInsertRowid);
}

/**
 * Replaces a whole catalogue (KEV or EPSS) with the staged one, in one transaction: the new file's
 * source row, the previous current file marked superseded, the table emptied and refilled.
 */
export function commitCatalog(
  db: Database,
  stage: AdvisoryStage,
  source: NewAdvisorySource & { feed: 'kev' | 'epss' },
  at: string,
): { sourceId: number; rows: number } {
  if (stage.spilled) stage.spill();
  return db.transaction(() => {
    const id = insertSource(db, source, at);
    stmt(
      db,
      'UPDATE advisory_sources SET superseded_at = ? WHERE feed = ? AND superseded_at IS NULL AND id <> ?',
    ).run(at, source.feed, id);
    let rows: number;
    if (source.feed === 'kev') {
      stmt(db, 'DELETE FROM kev_entries').run();
      if (stage.spilled)
        rows = stmt(
          db,
          `INSERT INTO kev_entries (cve, source_id, vendor, product, name, date_added, due_date, ransomware)
           SELECT cve, ?, vendor, product, name, date_added, due_date, ransomware FROM temp.stage_kev ORDER BY cve`,
        ).run(id).changes;
      else {
        const ins = stmt(
          db,
          `INSERT OR REPLACE INTO kev_entries (cve, source_id, vendor, product, name, date_added, due_date, ransomware)
           VALUES (@cve, @source, @vendor, @product, @name, @dateAdded, @dueDate, @ransomware)`,
        );
        for (const r of stage.memory.kev) ins.run({ ...r, source: id, ransomware: r.ransomware ? 1 : 0 });
        rows = stmt(db, 'SELECT count(*) FROM kev_entries').pluck().get() as number;
      }
    } else {
      stmt(db, 'DELETE FROM epss_scores').run();
      if (stage.spilled)
        rows = stmt(
          db,
          `INSERT INTO epss_scores (cve, source_id, epss, percentile)
           SELECT cve, ?, epss, percentile FROM temp.stage_epss ORDER BY cve`,
        ).run(id).changes;
      else {
        const ins = stmt(
          db,
          'INSERT OR REPLACE INTO epss_scores (cve, source_id, epss, percentile) VALUES (?, ?, ?, ?)',
        );
        for (const r of stage.memory.epss) ins.run(r.cve, id, r.epss, r.percentile);
        rows = stmt(db, 'SELECT count(*) FROM epss_scores').pluck().get() as number;
      }
    }
    return { sourceId: id, rows };
  })();
}

/**
 * Upserts the staged advisories per (feed, advisory_id) in one transaction: a record whose
 * `modified` is older than the one already held is kept out; each advisory written gets exactly
 * the staged packages. Returns how many advisories were written (new or newer).
 */
export function commitAdvisories(
  db: Database,
  stage: AdvisoryStage,
  source: NewAdvisorySource & { feed: 'osv' | 'debian-tracker' | 'csaf' },
  at: string,
): { sourceId: number; rows: number } {
  if (stage.spilled) stage.spill();
  return db.transaction(() => {
    const id = insertSource(db, source, at);
    const p = { source: id, feed: source.feed };
    if (!stage.spilled) {
      const upsert = stmt(
        db,
        `INSERT INTO advisories (source_id, feed, advisory_id, ${ADV_COLUMNS})
         VALUES (@source, @feed, @advisoryId, @summary, @severity, @vendorSeverity, @cvssVector, @cvssScore,
                 @publishedAt, @modifiedAt, @cves, @url, @withdrawn)
         ON CONFLICT (feed, advisory_id) DO UPDATE SET ${ADV_UPDATE}
         RETURNING id`,
      );
      const delPkgs = stmt(db, 'DELETE FROM advisory_packages WHERE advisory = ?');
      const insPkg = stmt(
        db,
        `INSERT INTO advisory_packages (advisory, ecosystem, package, name_kind, introduced, fixed, status, urgency)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      let rows = 0;
      for (const r of stage.memory.advisories) {
        const written = upsert.get({ ...p, ...advisoryParams(r) }) as { id: number } | undefined;
        if (!written) continue;
        rows++;
        delPkgs.run(written.id);
        for (const a of r.affected)
          insPkg.run(
            written.id,
            a.ecosystem,
            a.package,
            a.nameKind,
            a.introduced,
            a.fixed,
            a.status,
            a.urgency,
          );
      }
      return { sourceId: id, rows };
    }
    const rows = stmt(
      db,
      `INSERT INTO advisories (source_id, feed, advisory_id, ${ADV_COLUMNS})
         SELECT @source, @feed, advisory_id, ${ADV_COLUMNS} FROM temp.stage_adv WHERE true
         ON CONFLICT (feed, advisory_id) DO UPDATE SET ${ADV_UPDATE}`,
    ).run(p).changes;
    stmt(
      db,
      `DELETE FROM advisory_packages WHERE advisory IN (
         SELECT a.id FROM temp.stage_adv s JOIN advisories a ON a.feed = @feed AND a.advisory_id = s.advisory_id
          WHERE a.source_id = @source)`,
    ).run(p);
    stmt(
      db,
      `INSERT INTO advisory_packages (advisory, ecosystem, package, name_kind, introduced, fixed, status, urgency)
       SELECT a.id, s.ecosystem, s.package, s.name_kind, s.introduced, s.fixed, s.status, s.urgency
         FROM temp.stage_pkg s JOIN advisories a ON a.feed = @feed AND a.advisory_id = s.advisory_id
        WHERE a.source_id = @source`,
    ).run(p);
    return { sourceId: id, rows };
  })();
}

// ---- Reading the snapshot back (the bundle export) ----

export interface StoredKevEntry {
  cve: string;
  vendor: string | null;
  product: string | null;
  name: string | null;
  dateAdded: string | null;
  dueDate: string | null;
  ransomware: boolean;
}

export function* iterateKevEntries(db: Database): Generator<StoredKevEntry> {
  const rows = db
    .prepare(
      'SELECT cve, vendor, product, name, date_added AS dateAdded, due_date AS dueDate, ransomware FROM kev_entries ORDER BY cve',
    )
    .iterate() as IterableIterator<Omit<StoredKevEntry, 'ransomware'> & { ransomware: number }>;
  for (const r of rows) yield { ...r, ransomware: r.ransomware === 1 };
}

export function* iterateEpssScores(db: Database): Generator<EpssRecord> {
  yield* db
    .prepare('SELECT cve, epss, percentile FROM epss_scores ORDER BY cve')
    .iterate() as IterableIterator<EpssRecord>;
}

/** The advisories of one (feed, publisher) with their packages, in advisory id order. */
export function* iterateAdvisories(
  db: Database,
  feed: 'osv' | 'debian-tracker' | 'csaf',
  publisher: string,
): Generator<AdvisoryRecord> {
  const pkgs = db.prepare(
    `SELECT ecosystem, package, name_kind AS nameKind, introduced, fixed, status, urgency
       FROM advisory_packages WHERE advisory = ? ORDER BY rowid`,
  );
  const rows = db
    .prepare(
      `SELECT a.id, a.advisory_id AS advisoryId, a.summary, a.severity, a.vendor_severity AS vendorSeverity,
              a.cvss_vector AS cvssVector, a.cvss_score AS cvssScore, a.published_at AS publishedAt,
              a.modified_at AS modifiedAt, a.cves, a.url, a.withdrawn
         FROM advisories a JOIN advisory_sources s ON s.id = a.source_id
        WHERE a.feed = ? AND s.publisher = ? ORDER BY a.advisory_id`,
    )
    .iterate(feed, publisher) as IterableIterator<{
    id: number;
    advisoryId: string;
    summary: string | null;
    severity: AdvisoryRecord['severity'];
    vendorSeverity: string | null;
    cvssVector: string | null;
    cvssScore: number | null;
    publishedAt: string | null;
    modifiedAt: string | null;
    cves: string;
    url: string | null;
    withdrawn: number;
  }>;
  for (const r of rows)
    yield {
      feed,
      advisoryId: r.advisoryId,
      summary: r.summary,
      severity: r.severity,
      vendorSeverity: r.vendorSeverity,
      cvssVector: r.cvssVector,
      cvssScore: r.cvssScore,
      publishedAt: r.publishedAt,
      modifiedAt: r.modifiedAt,
      cves: parseJsonArray(r.cves),
      url: r.url,
      withdrawn: r.withdrawn === 1,
      affected: pkgs.all(r.id) as AdvisoryRecord['affected'],
    };
}

/** The ecosystems of each host's newest audit, and how many hosts are in each (os_id, os_version). */
export function hostOsVersions(
  db: Database,
): { osId: string | null; osVersion: string | null; hosts: number }[] {
  return db
    .prepare(
      `SELECT a.os_id AS osId, a.os_version AS osVersion, count(*) AS hosts
         FROM audits a
        WHERE a.id = (SELECT max(b.id) FROM audits b WHERE b.host_id = a.host_id AND b.status = 'succeeded')
        GROUP BY a.os_id, a.os_version`,
    )
    .all() as { osId: string | null; osVersion: string | null; hosts: number }[];
}

/** Whether any advisory_packages row is in `ecosystem`. */
export function ecosystemCovered(db: Database, ecosystem: string): boolean {
  return (
    db.prepare('SELECT 1 FROM advisory_packages WHERE ecosystem = ? LIMIT 1').get(ecosystem) !== undefined
  );
}

/** What a finished task returned (its `result` column), parsed; null while it runs or when it threw. */
export function readTaskResult<T>(db: Database, taskId: number): T | null {
  const text = db.prepare('SELECT result FROM tasks WHERE id = ?').pluck().get(taskId) as
    string | null | undefined;
  if (!text) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}
