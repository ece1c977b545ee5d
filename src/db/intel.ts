import type { Database, Statement } from 'better-sqlite3';
import { cached } from './statements';
import {
  APPLIED_EXCEPTION_ID,
  EXCEPTION_ACTIVE,
  FINDING_OVERDUE,
  HAS_ACTIVE_ACCEPT,
  HAS_ACTIVE_EXCEPTION,
} from './exceptions';
import { refreshCurrentFindings } from './current';
import { parseJsonArray } from './time';

/**
 * What src/intel's matching reads from the advisory snapshot (migration 013) and writes back onto
 * findings: one batched query per question (json_each of the names or ids asked about), so that
 * enriching an audit costs a handful of queries however many findings it has.
 */

/** One advisory_packages row with its advisory's facts. */
export interface SnapshotPackageRow {
  advisoryRowId: number;
  advisoryId: string;
  feed: 'osv' | 'debian-tracker' | 'csaf';
  sourceId: number;
  ecosystem: string;
  package: string;
  nameKind: 'source' | 'binary';
  introduced: string | null;
  fixed: string | null;
  status: 'fixed' | 'open' | 'not-affected' | 'undetermined';
  urgency: string | null;
  cves: string[];
  severity: 'critical' | 'high' | 'medium' | 'low' | 'none' | null;
  cvssScore: number | null;
}

type Row = Record<string, unknown>;

/**
 * The enrichment's statements, prepared once per connection: it runs a dozen per audit, and
 * compiling them again for each of a fleet's audits cost more than some of the queries.
 */

/**
 * The Debian tracker rates each release apart (bookworm 'low', bullseye 'high'): a tracker row's
 * rating is its own urgency, never the record's (which is the highest across releases).
 * 'unimportant' and 'low' are low; 'not yet assigned' and unknown words are no rating.
 */
export function trackerUrgencySeverity(urgency: string | null): SnapshotPackageRow['severity'] {
  const word = urgency === null ? '' : urgency.replace(/\*+$/, '').trim().toLowerCase();
  return word === 'unimportant' || word === 'low'
    ? 'low'
    : word === 'medium' || word === 'high'
      ? word
      : null;
}

/** The same in SQL over a tracker row `ap` (for the evidence of a stored match). */
const TRACKER_ROW_SEVERITY = `CASE rtrim(lower(trim(ap.urgency)), '*') WHEN 'unimportant' THEN 'low' WHEN 'low' THEN 'low'
  WHEN 'medium' THEN 'medium' WHEN 'high' THEN 'high' ELSE NULL END`;

function toPackageRow(row: Row): SnapshotPackageRow {
  const feed = row.feed as SnapshotPackageRow['feed'];
  const urgency = (row.urgency as string | null) ?? null;
  return {
    advisoryRowId: row.advisory as number,
    advisoryId: row.advisory_id as string,
    feed,
    sourceId: row.source_id as number,
    ecosystem: row.ecosystem as string,
    package: row.package as string,
    nameKind: row.name_kind as SnapshotPackageRow['nameKind'],
    introduced: (row.introduced as string | null) ?? null,
    fixed: (row.fixed as string | null) ?? null,
    status: row.status as SnapshotPackageRow['status'],
    urgency,
    cves: parseJsonArray(row.cves as string),
    severity:
      feed === 'debian-tracker'
        ? trackerUrgencySeverity(urgency)
        : ((row.severity as SnapshotPackageRow['severity']) ?? null),
    cvssScore: (row.cvss_score as number | null) ?? null,
  };
}

/** Every row of the snapshot that names one of `names` in `ecosystem` (withdrawn advisories left out). */
export function snapshotPackagesFor(db: Database, ecosystem: string, names: string[]): SnapshotPackageRow[] {
  if (names.length === 0) return [];
  return (
    cached(
      db,
      // IN (…) rather than a join on json_each: the planner then looks each name up in the index.
      `SELECT ap.*, a.advisory_id, a.feed, a.source_id, a.cves, a.severity, a.cvss_score
         FROM advisory_packages ap JOIN advisories a ON a.id = ap.advisory
         WHERE ap.ecosystem = @ecosystem AND ap.package IN (SELECT value FROM json_each(@names)) AND a.withdrawn = 0`,
    ).all({ ecosystem, names: JSON.stringify(names) }) as Row[]
  ).map(toPackageRow);
}

/** An advisory the snapshot holds, looked up by its id (reconciling what the package manager reported). */
export interface KnownAdvisory {
  advisoryRowId: number;
  advisoryId: string;
  feed: SnapshotPackageRow['feed'];
  sourceId: number;
  cves: string[];
  severity: SnapshotPackageRow['severity'];
  cvssScore: number | null;
}

export function advisoriesWithIds(db: Database, ids: string[]): KnownAdvisory[] {
  if (ids.length === 0) return [];
  return (
    cached(
      db,
      `SELECT a.id, a.advisory_id, a.feed, a.source_id, a.cves, a.severity, a.cvss_score FROM advisories a
         WHERE a.withdrawn = 0 AND a.advisory_id IN (SELECT value FROM json_each(?))`,
    ).all(JSON.stringify(ids)) as Row[]
  ).map((row) => ({
    advisoryRowId: row.id as number,
    advisoryId: row.advisory_id as string,
    feed: row.feed as KnownAdvisory['feed'],
    sourceId: row.source_id as number,
    cves: parseJsonArray(row.cves as string),
    severity: (row.severity as KnownAdvisory['severity']) ?? null,
    cvssScore: (row.cvss_score as number | null) ?? null,
  }));
}

export interface KevFact {
  cve: string;
  dateAdded: string | null;
  dueDate: string | null;
  ransomware: boolean;
  name: string | null;
  /** The catalogue's own date (the KEV file's dateReleased). */
  catalogDate: string | null;
}

export function kevFactsFor(db: Database, cves: string[]): Map<string, KevFact> {
  if (cves.length === 0) return new Map();
  const rows = cached(
    db,
    `SELECT k.*, s.published_at FROM kev_entries k LEFT JOIN advisory_sources s ON s.id = k.source_id
       WHERE k.cve IN (SELECT value FROM json_each(?))`,
  ).all(JSON.stringify(cves)) as Row[];
  return new Map(
    rows.map((r) => [
      r.cve as string,
      {
        cve: r.cve as string,
        dateAdded: (r.date_added as string | null) ?? null,
        dueDate: (r.due_date as string | null) ?? null,
        ransomware: r.ransomware === 1,
        name: (r.name as string | null) ?? null,
        catalogDate: (r.published_at as string | null) ?? null,
      },
    ]),
  );
}

export interface EpssFact {
  cve: string;
  epss: number;
  percentile: number;
  scoreDate: string | null;
}

export function epssFactsFor(db: Database, cves: string[]): Map<string, EpssFact> {
  if (cves.length === 0) return new Map();
  const rows = cached(
    db,
    `SELECT e.*, s.published_at FROM epss_scores e LEFT JOIN advisory_sources s ON s.id = e.source_id
       WHERE e.cve IN (SELECT value FROM json_each(?))`,
  ).all(JSON.stringify(cves)) as Row[];
  return new Map(
    rows.map((r) => [
      r.cve as string,
      {
        cve: r.cve as string,
        epss: r.epss as number,
        percentile: r.percentile as number,
        scoreDate: (r.published_at as string | null) ?? null,
      },
    ]),
  );
}

/** A finding of an earlier audit, by what makes it "the same update pending" for its first sighting. */
export interface EarlierFinding {
  kind: string;
  package: string;
  arch: string | null;
  firstSeenAt: string | null;
}

/** The host's successful audits taken before `auditId`, newest first (id and when taken). */
export function earlierSuccessfulAudits(
  db: Database,
  hostId: number,
  auditId: number,
  startedAt: string,
): { id: number; startedAt: string }[] {
  return cached(
    db,
    `SELECT id, started_at AS startedAt FROM audits WHERE host_id = @hostId AND status = 'succeeded' AND id != @auditId
         AND (started_at < @startedAt OR (started_at = @startedAt AND id < @auditId)) ORDER BY started_at DESC, id DESC`,
  ).all({ hostId, auditId, startedAt }) as { id: number; startedAt: string }[];
}

export function findingKeysOfAudit(db: Database, auditId: number): EarlierFinding[] {
  return (
    cached(db, 'SELECT kind, package, arch, first_seen_at FROM findings WHERE audit_id = ?').all(
      auditId,
    ) as Row[]
  ).map((r) => ({
    kind: r.kind as string,
    package: r.package as string,
    arch: (r.arch as string | null) ?? null,
    firstSeenAt: (r.first_seen_at as string | null) ?? null,
  }));
}

/** One CVE a finding fixes and the record that says so (a `finding_cves` row). */
export interface FindingCveRow {
  cve: string;
  advisoryRowId: number | null;
  advisoryId: string;
  feed: 'osv' | 'debian-tracker' | 'csaf' | 'package-manager';
  sourceId: number | null;
  ecosystem: string | null;
  matchedName: string;
  nameKind: 'source' | 'binary' | 'package-manager';
  fixedVersion: string | null;
}

/** What the enrichment decided about one finding. */
export interface FindingJudgement {
  findingId: number;
  cves: string[];
  kev: boolean;
  epss: number | null;
  tier: 'kev' | 'critical' | 'high' | 'medium' | 'low' | null;
  firstSeenAt: string | null;
  dueAt: string | null;
  evidence: FindingCveRow[];
  /** What the last enrichment wrote (findingsToJudge's `judged`); absent or null: write it all. */
  previous?: PreviousJudgement | null;
  /**
   * The finding was stored with this very judgement and time by completeAudit (FindingInput's
   * `judged`, with the same `judgedAt`): it is new, has no evidence yet and needs no UPDATE; only
   * its evidence rows are written.
   */
  storedWithFinding?: boolean;
}

const EVIDENCE_COLUMNS =
  'finding_id, cve, advisory, advisory_id, feed, source_id, ecosystem, matched_name, name_kind, fixed_version';
const EVIDENCE_ROWS_PER_INSERT = 50;

/** One evidence row's stored values, in EVIDENCE_COLUMNS order without finding_id. */
const evidenceValues = (e: FindingCveRow): unknown[] => [
  e.cve,
  e.advisoryRowId,
  e.advisoryId,
  e.feed,
  e.sourceId,
  e.ecosystem,
  e.matchedName,
  e.nameKind,
  e.fixedVersion,
];

/** The evidence rows as the primary key keeps them: the first of each (CVE, advisory id). */
function uniqueEvidence(evidence: readonly FindingCveRow[]): readonly FindingCveRow[] {
  if (evidence.length < 2) return evidence;
  const seen = new Set<string>();
  const out: FindingCveRow[] = [];
  for (const e of evidence) {
    const key = `${e.cve}\u0000${e.advisoryId}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(e);
  }
  return out;
}

/** One evidence row's values as one comparable string (NUL does not occur in ids, names or versions). */
const evidenceKey = (values: readonly unknown[]): string =>
  values.map((v) => (v === null ? '\u0001' : String(v))).join('\u0000');

/**
 * Writes an audit's judgements in one transaction: each finding's summary columns, its evidence
 * rows replaced whole, and the audit's open findings per tier (the trend). Only what changed is
 * written: a finding judged as before (same summary, same evidence) gets its judging time only,
 * and evidence is cleared only where a previous judgement can have left some (a finding with no
 * CVEs has no evidence rows). New evidence goes in several rows per INSERT.
 */
export function writeAuditIntel(
  db: Database,
  auditId: number,
  judgements: FindingJudgement[],
  counts: Record<string, number>,
  judgedAt: string,
): void {
  const update = cached(
    db,
    `UPDATE findings SET cves = ?, kev = ?, epss = ?, tier = ?, first_seen_at = ?, due_at = ?, intel_at = ? WHERE id = ?`,
  );
  const touch = cached(db, 'UPDATE findings SET intel_at = ? WHERE id = ?');
  const touchAll = cached(db, 'UPDATE findings SET intel_at = ? WHERE audit_id = ?');
  const one = `(${Array(10).fill('?').join(', ')})`;
  const evidenceInsert = (rows: number): Statement =>
    cached(
      db,
      `INSERT OR IGNORE INTO finding_cves (${EVIDENCE_COLUMNS}) VALUES ${Array(rows).fill(one).join(', ')}`,
    );
  const insertMany = evidenceInsert(EVIDENCE_ROWS_PER_INSERT);
  // One finding at a time, by the primary key: a DELETE … IN (SELECT …) was planned as a scan of
  // every evidence row of the workspace, which made enriching a fleet quadratic.
  const clear = cached(db, 'DELETE FROM finding_cves WHERE finding_id = ?');
  // The evidence stored for this audit's findings, read in one query only when some finding
  // could be unchanged (judged before): finding id → its rows, each as one string.
  const stored = cached(
    db,
    `SELECT fc.finding_id, fc.cve, fc.advisory, fc.advisory_id, fc.feed, fc.source_id, fc.ecosystem, fc.matched_name,
       fc.name_kind, fc.fixed_version
     FROM findings f JOIN finding_cves fc ON fc.finding_id = f.id WHERE f.audit_id = ?`,
  );
  stored.raw(true);
  let before: Map<number, Set<string>> | null = null;
  const storedOf = (findingId: number): Set<string> | undefined => {
    if (before === null) {
      before = new Map();
      for (const r of stored.all(auditId) as unknown[][]) {
        const id = r[0] as number;
        let rows = before.get(id);
        if (!rows) before.set(id, (rows = new Set()));
        rows.add(evidenceKey(r.slice(1)));
      }
    }
    return before.get(findingId);
  };
  const sameEvidence = (findingId: number, evidence: readonly FindingCveRow[]): boolean => {
    const rows = storedOf(findingId);
    if ((rows?.size ?? 0) !== evidence.length) return false;
    return evidence.every((e) => rows!.has(evidenceKey(evidenceValues(e))));
  };
  db.transaction(() => {
    const unchanged: number[] = [];
    let pending: unknown[] = [];
    const flush = (): void => {
      const width = 10 * EVIDENCE_ROWS_PER_INSERT;
      let i = 0;
      for (; i + width <= pending.length; i += width) insertMany.run(pending.slice(i, i + width));
      // The rest (an audit's few dozen rows) in statements of 32, 16, … 1 rows, not one per row.
      for (let rows = 32; rows >= 1; rows >>= 1)
        while (pending.length - i >= rows * 10) {
          evidenceInsert(rows).run(pending.slice(i, i + rows * 10));
          i += rows * 10;
        }
      pending = [];
    };
    for (const j of judgements) {
      const evidence = uniqueEvidence(j.evidence);
      if (j.storedWithFinding === true) {
        for (const e of evidence) pending.push(j.findingId, ...evidenceValues(e));
        if (pending.length >= 10 * EVIDENCE_ROWS_PER_INSERT * 20) flush();
        continue;
      }
      const cves = JSON.stringify(j.cves);
      const kev = j.kev ? 1 : 0;
      const p = j.previous ?? null;
      if (
        p !== null &&
        p.cves === cves &&
        p.kev === kev &&
        p.epss === j.epss &&
        p.tier === j.tier &&
        p.firstSeenAt === j.firstSeenAt &&
        p.dueAt === j.dueAt &&
        (evidence.length === 0 ? p.cves === '[]' : sameEvidence(j.findingId, evidence))
      ) {
        unchanged.push(j.findingId);
        continue;
      }
      // Evidence rows name the finding's CVEs: none stored when it had none, or was never judged.
      if (p === null ? j.previous === undefined : p.cves !== '[]') clear.run(j.findingId);
      // Positional parameters: binding an object per row cost a third of the write.
      update.run(cves, kev, j.epss, j.tier, j.firstSeenAt, j.dueAt, judgedAt, j.findingId);
      for (const e of evidence) pending.push(j.findingId, ...evidenceValues(e));
      if (pending.length >= 10 * EVIDENCE_ROWS_PER_INSERT * 20) flush();
    }
    flush();
    // An unchanged finding was judged now all the same: its time only (the audit's, in one
    // statement, when most are; a changed one was given the same time above).
    if (unchanged.length > judgements.length / 2) touchAll.run(judgedAt, auditId);
    else for (const id of unchanged) touch.run(judgedAt, id);
    cached(db, 'UPDATE audits SET intel_counts = ? WHERE id = ?').run(
      JSON.stringify(openCountsAsJudged(db, auditId, counts, judgedAt)),
      auditId,
    );
  })();
}

/**
 * The trend's counts of one audit: its judged findings per tier without those under an accept
 * active at the judging (as the tier cards leave them out). `counts` are all judged findings;
 * with no accept active at all (the common case) they are the answer as they are.
 */
function openCountsAsJudged(
  db: Database,
  auditId: number,
  counts: Record<string, number>,
  judgedAt: string,
): Record<string, number> {
  const x = exceptionSql(db, judgedAt);
  if (x.accept === '0') return counts;
  const out: Record<string, number> = { kev: 0, critical: 0, high: 0, medium: 0, low: 0 };
  const rows = db
    .prepare(
      `SELECT f.tier AS tier, count(*) AS n FROM findings f
        WHERE f.audit_id = @auditId AND f.tier IS NOT NULL AND NOT ${x.accept} GROUP BY f.tier`,
    )
    .all({ auditId, now: judgedAt }) as { tier: string; n: number }[];
  for (const r of rows) out[r.tier] = r.n;
  return out;
}

/** Each host's newest successful audit, with what the host's ecosystem is read from. */
export function newestSuccessfulAudits(
  db: Database,
): { id: number; hostId: number; osId: string | null; osVersion: string | null }[] {
  return db
    .prepare(
      `SELECT a.id, a.host_id AS hostId, a.os_id AS osId, a.os_version AS osVersion FROM audits a
       JOIN (SELECT audit_id AS id FROM current_audits) l ON l.id = a.id ORDER BY a.host_id`,
    )
    .all() as { id: number; hostId: number; osId: string | null; osVersion: string | null }[];
}

/** The evidence rows of a finding with the advisory and the file they came from. */
export interface EvidenceRow extends FindingCveRow {
  publisher: string | null;
  url: string | null;
  severity: string | null;
  vendorSeverity: string | null;
  cvssVector: string | null;
  cvssScore: number | null;
  sourceFile: string | null;
  sourceSha256: string | null;
  snapshotDate: string | null;
}

export function evidenceOfFinding(db: Database, findingId: number): EvidenceRow[] {
  return (
    db
      .prepare(
        `SELECT fc.*, a.url,
           CASE WHEN a.feed = 'debian-tracker' THEN (SELECT ${TRACKER_ROW_SEVERITY} FROM advisory_packages ap
             WHERE ap.advisory = a.id AND ap.ecosystem = fc.ecosystem AND ap.package = fc.matched_name LIMIT 1)
             ELSE a.severity END AS severity,
           CASE WHEN a.feed = 'debian-tracker' THEN (SELECT ap.urgency FROM advisory_packages ap
             WHERE ap.advisory = a.id AND ap.ecosystem = fc.ecosystem AND ap.package = fc.matched_name LIMIT 1)
             ELSE a.vendor_severity END AS vendor_severity,
           a.cvss_vector, a.cvss_score,
           s.publisher, s.file_name, s.sha256, coalesce(s.published_at, s.imported_at) AS snapshot_date
         FROM finding_cves fc LEFT JOIN advisories a ON a.id = fc.advisory
         LEFT JOIN advisory_sources s ON s.id = fc.source_id
         WHERE fc.finding_id = ? ORDER BY fc.cve, fc.advisory_id`,
      )
      .all(findingId) as Row[]
  ).map((r) => ({
    cve: r.cve as string,
    advisoryRowId: (r.advisory as number | null) ?? null,
    advisoryId: r.advisory_id as string,
    feed: r.feed as FindingCveRow['feed'],
    sourceId: (r.source_id as number | null) ?? null,
    ecosystem: (r.ecosystem as string | null) ?? null,
    matchedName: r.matched_name as string,
    nameKind: r.name_kind as FindingCveRow['nameKind'],
    fixedVersion: (r.fixed_version as string | null) ?? null,
    publisher: (r.publisher as string | null) ?? null,
    url: (r.url as string | null) ?? null,
    severity: (r.severity as string | null) ?? null,
    vendorSeverity: (r.vendor_severity as string | null) ?? null,
    cvssVector: (r.cvss_vector as string | null) ?? null,
    cvssScore: (r.cvss_score as number | null) ?? null,
    sourceFile: (r.file_name as string | null) ?? null,
    sourceSha256: (r.sha256 as string | null) ?? null,
    snapshotDate: (r.snapshot_date as string | null) ?? null,
  }));
}

/** The snapshot's advisory rows (not 'fixed') that name installed packages of an audit: the unfixed CVEs' candidates. */
export interface UnfixedCandidate {
  name: string;
  version: string;
  sourceName: string | null;
  sourceVersion: string | null;
  row: SnapshotPackageRow;
}

export function openAdvisoriesOfInstalled(
  db: Database,
  auditId: number,
  ecosystem: string,
): UnfixedCandidate[] {
  // No installed set kept (an older audit, or not a Linux one): nothing to look up.
  if (!cached(db, 'SELECT 1 FROM audit_packages WHERE audit_id = ? LIMIT 1').get(auditId)) return [];
  const select = `SELECT p.name AS p_name, p.version AS p_version, p.source_name AS p_source_name, p.source_version AS p_source_version,
      ap.*, a.advisory_id, a.feed, a.source_id, a.cves, a.severity, a.cvss_score
    FROM advisory_packages ap JOIN advisories a ON a.id = ap.advisory AND a.withdrawn = 0`;
  // Prepared once per connection (the Dashboard asks it for every host).
  const rows = cached(
    db,
    `${select} JOIN audit_packages p ON p.audit_id = @auditId AND p.name = ap.package
         WHERE ap.ecosystem = @ecosystem AND ap.status = 'open' AND ap.name_kind = 'binary'
       UNION ALL
       ${select} JOIN audit_packages p ON p.audit_id = @auditId AND p.source_name = ap.package
         WHERE ap.ecosystem = @ecosystem AND ap.status = 'open' AND ap.name_kind = 'source'
       UNION ALL
       ${select} JOIN audit_packages p ON p.audit_id = @auditId AND p.source_name IS NULL AND p.name = ap.package
         WHERE ap.ecosystem = @ecosystem AND ap.status = 'open' AND ap.name_kind = 'source'`,
  ).all({ auditId, ecosystem }) as Row[];
  return rows.map((r) => ({
    name: r.p_name as string,
    version: r.p_version as string,
    sourceName: (r.p_source_name as string | null) ?? null,
    sourceVersion: (r.p_source_version as string | null) ?? null,
    row: toPackageRow(r),
  }));
}

/** Adds one sentence to an audit's warnings (the enrichment's own failure, said, never hidden). */
export function appendAuditWarning(db: Database, auditId: number, warning: string): void {
  const row = db.prepare('SELECT warnings FROM audits WHERE id = ?').get(auditId) as
    { warnings: string } | undefined;
  if (!row) return;
  const warnings = [...parseJsonArray(row.warnings), warning.slice(0, 1000)];
  db.prepare('UPDATE audits SET warnings = ? WHERE id = ?').run(JSON.stringify(warnings), auditId);
}

/** Every current finding with a tier: what its due date is computed from. */
export function currentJudgedFindings(db: Database): {
  id: number;
  tier: FindingJudgement['tier'];
  firstSeenAt: string | null;
  kevCves: string[];
}[] {
  return (
    db
      .prepare(
        `SELECT f.id, f.tier, f.first_seen_at,
           (SELECT json_group_array(DISTINCT fc.cve) FROM finding_cves fc JOIN kev_entries k ON k.cve = fc.cve WHERE fc.finding_id = f.id) AS kev_cves
         FROM findings f
         JOIN (SELECT audit_id AS id FROM current_audits) l ON l.id = f.audit_id
         WHERE f.tier IS NOT NULL`,
      )
      .all() as Row[]
  ).map((r) => ({
    id: r.id as number,
    tier: r.tier as FindingJudgement['tier'],
    firstSeenAt: (r.first_seen_at as string | null) ?? null,
    kevCves: parseJsonArray(r.kev_cves as string),
  }));
}

export function updateDueDates(db: Database, updates: { id: number; dueAt: string | null }[]): void {
  const update = db.prepare('UPDATE findings SET due_at = ? WHERE id = ?');
  db.transaction(() => {
    for (const u of updates) update.run(u.dueAt, u.id);
  })();
}

// ---- The dashboard's figures over the current findings (each host's newest successful audit) ----

/**
 * The current findings (migration 015's `current_findings`, brought up to date by `fresh` first):
 * the columns named as in `findings`, so the exception conditions apply to them unchanged.
 */
const CURRENT = 'FROM current_findings f';
const TIER_RANK = 'f.tier_rank';
function fresh(db: Database): Database {
  refreshCurrentFindings(db);
  return db;
}
const RANK_TIER = ['kev', 'critical', 'high', 'medium', 'low'] as const;
export type TierName = (typeof RANK_TIER)[number];

/**
 * The exception conditions for a query at `now`: the full subqueries, or constants when no
 * exception is active at all (the common case), which spares 100 000 findings a lookup each.
 */
function exceptionSql(
  db: Database,
  now: string,
): { accept: string; any: string; overdue: string; deferEndsThisWeek: string } {
  const active = cached(db, `SELECT 1 FROM finding_exceptions e WHERE ${EXCEPTION_ACTIVE} LIMIT 1`).get({
    now,
  });
  if (active)
    return {
      accept: HAS_ACTIVE_ACCEPT,
      any: HAS_ACTIVE_EXCEPTION,
      overdue: FINDING_OVERDUE,
      // The exception that applies (an accept outranks a defer) is a defer ending before @weekEnd:
      // the update is due again then.
      deferEndsThisWeek: `EXISTS (SELECT 1 FROM finding_exceptions ae WHERE ae.id = ${APPLIED_EXCEPTION_ID}
        AND ae.decision = 'defer' AND ae.expires_at < @weekEnd)`,
    };
  return {
    accept: '0',
    any: '0',
    overdue: '(f.due_at IS NOT NULL AND f.due_at < @now)',
    deferEndsThisWeek: '0',
  };
}

/** Open security findings (an active accept leaves one out) per tier, at `now`. */
export function openFindingsByTier(db: Database, now: string): Record<TierName, number> {
  fresh(db);
  const out: Record<TierName, number> = { kev: 0, critical: 0, high: 0, medium: 0, low: 0 };
  const x = exceptionSql(db, now);
  // No active exception: the per-host counts kept with the current picture, summed.
  const rows = (
    x.any === '0'
      ? cached(
          db,
          `SELECT value AS tier, sum(n) AS n FROM current_host_facets WHERE facet = 'tier' GROUP BY value`,
        ).all()
      : db
          .prepare(
            `SELECT f.tier AS tier, count(*) AS n ${CURRENT} WHERE f.tier IS NOT NULL AND NOT ${x.accept} GROUP BY f.tier`,
          )
          .all({ now })
  ) as { tier: TierName; n: number }[];
  for (const r of rows) out[r.tier] = r.n;
  return out;
}

/** Overdue, due before `weekEnd`, and covered by an exception, over the current security findings. */
export function dueFigures(
  db: Database,
  now: string,
  weekEnd: string,
): { overdue: number; dueThisWeek: number; excepted: number; exceptionsExpiringSoon: number } {
  fresh(db);
  const x = exceptionSql(db, now);
  const expiringSoon = (): number =>
    (
      db
        .prepare(
          `SELECT count(*) AS n FROM finding_exceptions e WHERE ${EXCEPTION_ACTIVE} AND e.expires_at < @weekEnd`,
        )
        .get({ now, weekEnd }) as { n: number }
    ).n;
  // No active exception: two ranges of the judged findings' due-date index.
  if (x.any === '0') {
    const judged = `FROM current_findings f INDEXED BY current_findings_judged_due WHERE f.tier IS NOT NULL`;
    return {
      overdue:
        (cached(db, `SELECT count(*) ${judged} AND f.due_at < @now`).pluck().get({ now }) as number) ?? 0,
      dueThisWeek: cached(db, `SELECT count(*) ${judged} AND f.due_at >= @now AND f.due_at < @weekEnd`)
        .pluck()
        .get({ now, weekEnd }) as number,
      excepted: 0,
      exceptionsExpiringSoon: expiringSoon(),
    };
  }
  const row = db
    .prepare(
      `SELECT coalesce(sum(${x.overdue}), 0) AS overdue,
         coalesce(sum((f.due_at >= @now AND f.due_at < @weekEnd AND NOT ${x.any}) OR ${x.deferEndsThisWeek}), 0) AS due_week,
         coalesce(sum(${x.any}), 0) AS excepted
       ${CURRENT} WHERE f.tier IS NOT NULL`,
    )
    .get({ now, weekEnd }) as { overdue: number; due_week: number; excepted: number };
  return {
    overdue: row.overdue,
    dueThisWeek: row.due_week,
    excepted: row.excepted,
    exceptionsExpiringSoon: expiringSoon(),
  };
}

export function hostCounts(db: Database): { hosts: number; audited: number } {
  return db
    .prepare(
      `SELECT (SELECT count(*) FROM hosts) AS hosts, (SELECT count(DISTINCT host_id) FROM audits WHERE status = 'succeeded') AS audited`,
    )
    .get() as { hosts: number; audited: number };
}

/** The hosts with the most open security findings: KEV first, then overdue, worst tier, count. */
export function mostExposedHosts(
  db: Database,
  now: string,
  limit: number,
): {
  hostId: number;
  hostName: string;
  open: number;
  overdue: number;
  kev: number;
  worstTier: TierName | null;
}[] {
  fresh(db);
  const x = exceptionSql(db, now);
  // No active exception: each host's judged counts kept with the current picture, and its overdue
  // findings from a range of the due-date index.
  const summed = `WITH per AS (
      SELECT host_id, sum(CASE WHEN facet = 'tier' THEN n ELSE 0 END) AS open, sum(CASE WHEN facet = 'kev' THEN n ELSE 0 END) AS kev,
        min(CASE WHEN facet = 'tier' THEN CASE value WHEN 'kev' THEN 0 WHEN 'critical' THEN 1 WHEN 'high' THEN 2
          WHEN 'medium' THEN 3 WHEN 'low' THEN 4 ELSE 5 END END) AS worst
      FROM current_host_facets WHERE facet IN ('tier', 'kev') GROUP BY host_id),
    od AS (SELECT f.host_id, count(*) AS n FROM current_findings f INDEXED BY current_findings_judged_due
      WHERE f.tier IS NOT NULL AND f.due_at < @now GROUP BY f.host_id)
    SELECT per.host_id AS host_id, h.name AS host_name, per.open AS open, coalesce(od.n, 0) AS overdue, per.kev AS kev,
      per.worst AS worst
    FROM per JOIN hosts h ON h.id = per.host_id LEFT JOIN od ON od.host_id = per.host_id WHERE per.open > 0
    ORDER BY kev DESC, overdue DESC, worst, open DESC, h.name COLLATE NOCASE, per.host_id LIMIT @limit`;
  return (
    (x.any === '0'
      ? cached(db, summed)
      : db.prepare(
          `SELECT f.host_id AS host_id, h.name AS host_name, count(*) AS open, coalesce(sum(${x.overdue}), 0) AS overdue,
           sum(f.kev) AS kev, min(${TIER_RANK}) AS worst
         ${CURRENT} JOIN hosts h ON h.id = f.host_id
         WHERE f.tier IS NOT NULL AND NOT ${x.accept}
         GROUP BY f.host_id ORDER BY kev DESC, overdue DESC, worst, open DESC, h.name COLLATE NOCASE, f.host_id LIMIT @limit`,
        )
    ).all({ now, limit }) as Row[]
  ).map((r) => ({
    hostId: r.host_id as number,
    hostName: r.host_name as string,
    open: r.open as number,
    overdue: r.overdue as number,
    kev: r.kev as number,
    worstTier: RANK_TIER[r.worst as number] ?? null,
  }));
}

export interface PriorityGroup {
  package: string;
  tier: TierName;
  epss: number | null;
  cves: string[];
  kev: boolean;
  hosts: number;
  hostIds: number[];
  findingIds: number[];
  oldestFirstSeenAt: string | null;
  earliestDueAt: string | null;
  overdue: number;
}

/**
 * "Patch these first": open security findings grouped by package, in risk order (tier, EPSS, age,
 * hosts). Three steps: which groups have the best tier (the few packages with a finding of that
 * tier and none better, tier by tier until `limit` groups are found: one pass over the findings
 * without sorting them all), their order with plain aggregates over those packages' findings only
 * (by the package index), then the lists (hosts, findings, CVEs) of the few groups shown.
 */
export function priorityGroups(db: Database, now: string, limit: number): PriorityGroup[] {
  fresh(db);
  const x = exceptionSql(db, now);
  if (x.any === '0') return priorityGroupsKept(db, now, limit);
  const open = `${CURRENT} WHERE f.tier IS NOT NULL AND NOT ${x.accept}`;
  // CROSS JOIN keeps the current audits outside: the planner otherwise walked the package index
  // (a random row read per finding) to produce the DISTINCT, three times slower.
  const ofTier = db.prepare(
    `SELECT DISTINCT f.package, f.kind ${CURRENT} WHERE f.tier = @tier AND NOT ${x.accept}`,
  );
  const ordered = db.prepare(
    `SELECT f.package AS package, f.kind AS kind, min(${TIER_RANK}) AS tier_rank, max(f.epss) AS epss, max(f.kev) AS kev,
       count(DISTINCT f.host_id) AS hosts, min(f.first_seen_at) AS oldest, min(f.due_at) AS earliest,
       coalesce(sum(${x.overdue}), 0) AS overdue
     ${open} AND f.package IN (SELECT value FROM json_each(@packages)) GROUP BY f.package, f.kind
     ORDER BY tier_rank, coalesce(max(f.epss), -1) DESC, oldest IS NULL, oldest, hosts DESC, package, kind`,
  );
  const groupKey = (r: Row): string => JSON.stringify([r.package, r.kind]);
  const better = new Set<string>();
  const top: Row[] = [];
  for (const tier of RANK_TIER) {
    if (top.length >= limit) break;
    const groups = new Set<string>();
    for (const r of ofTier.all({ now, tier }) as Row[]) {
      const key = groupKey(r);
      if (!better.has(key)) groups.add(key);
    }
    if (groups.size === 0) continue;
    const packages = [...new Set([...groups].map((k) => (JSON.parse(k) as string[])[0]))];
    // Other kinds of these packages come too (grouped apart, of their own best tier): left out.
    for (const r of ordered.all({ now, packages: JSON.stringify(packages) }) as Row[])
      if (groups.has(groupKey(r)) && top.length < limit) top.push(r);
    for (const key of groups) better.add(key);
  }
  const members = db.prepare(
    `SELECT f.id, f.host_id, f.cves ${CURRENT}
     WHERE f.package = @package AND f.kind = @kind AND f.tier IS NOT NULL AND NOT ${x.accept}`,
  );
  return top.map((r) => {
    const cves = new Set<string>();
    const hostIds = new Set<number>();
    const findingIds: number[] = [];
    for (const m of members.all({ now, package: r.package, kind: r.kind }) as Row[]) {
      findingIds.push(m.id as number);
      hostIds.add(m.host_id as number);
      for (const c of parseJsonArray<string>(m.cves as string)) cves.add(c);
    }
    return {
      package: r.package as string,
      tier: RANK_TIER[r.tier_rank as number]!,
      epss: (r.epss as number | null) ?? null,
      cves: [...cves].sort(),
      kev: r.kev === 1,
      hosts: r.hosts as number,
      hostIds: [...hostIds].sort((a, b) => a - b),
      findingIds: findingIds.sort((a, b) => a - b),
      oldestFirstSeenAt: (r.oldest as string | null) ?? null,
      earliestDueAt: (r.earliest as string | null) ?? null,
      overdue: r.overdue as number,
    };
  });
}

/**
 * priorityGroups when no exception is active: the groups' order keys and lists over their judged
 * findings are kept per update in current_updates (rebuilt with the current picture); only the
 * overdue counts, which move with `now`, are read at the call (a range of the due-date index).
 */
function priorityGroupsKept(db: Database, now: string, limit: number): PriorityGroup[] {
  const top = cached(
    db,
    `SELECT package, kind FROM current_updates WHERE open_findings > 0
     ORDER BY open_tier_rank, coalesce(open_epss, -1) DESC, open_first_seen IS NULL, open_first_seen, open_hosts DESC,
       package, kind LIMIT ?`,
  ).all(limit) as { package: string; kind: string }[];
  if (top.length === 0) return [];
  const keys = JSON.stringify(top.map((r) => [r.package, r.kind]));
  const rows = cached(
    db,
    `SELECT u.package, u.kind, u.open_tier_rank AS tier_rank, u.open_epss AS epss, u.open_kev AS kev, u.open_hosts AS hosts,
       u.open_first_seen AS oldest, u.open_due AS earliest, u.open_host_ids AS host_ids, u.open_finding_ids AS finding_ids,
       u.open_cves AS cves,
       (SELECT count(*) FROM current_findings f INDEXED BY current_findings_judged_due
         WHERE f.tier IS NOT NULL AND f.due_at < ? AND f.kind = u.kind AND f.package = u.package) AS overdue
     FROM json_each(?) k CROSS JOIN current_updates u ON u.kind = k.value ->> 1 AND u.package = k.value ->> 0
     ORDER BY k.key`,
  ).all(now, keys) as Row[];
  return rows.map((r) => {
    const cves = new Set<string>();
    for (const list of parseJsonArray<string>(r.cves as string))
      for (const c of parseJsonArray<string>(list)) cves.add(c);
    return {
      package: r.package as string,
      tier: RANK_TIER[r.tier_rank as number]!,
      epss: (r.epss as number | null) ?? null,
      cves: [...cves].sort(),
      kev: r.kev === 1,
      hosts: r.hosts as number,
      hostIds: parseJsonArray<number>(r.host_ids as string).sort((a, b) => a - b),
      findingIds: parseJsonArray<number>(r.finding_ids as string).sort((a, b) => a - b),
      oldestFirstSeenAt: (r.oldest as string | null) ?? null,
      earliestDueAt: (r.earliest as string | null) ?? null,
      overdue: r.overdue as number,
    };
  });
}

/** Every successful audit's judged counts per tier, oldest first (the trend). */
export function auditTierCounts(
  db: Database,
): { hostId: number; startedAt: string; counts: Record<string, number> }[] {
  return (
    db
      .prepare(
        `SELECT host_id, started_at, intel_counts FROM audits WHERE status = 'succeeded' AND intel_counts IS NOT NULL ORDER BY started_at, id`,
      )
      .all() as Row[]
  ).map((r) => ({
    hostId: r.host_id as number,
    startedAt: r.started_at as string,
    counts: JSON.parse(r.intel_counts as string) as Record<string, number>,
  }));
}

/** The exception that applies to one finding at `now`, if any (its id). */
export function appliedExceptionId(db: Database, findingId: number, now: string): number | null {
  const row = db
    .prepare(
      `SELECT ${APPLIED_EXCEPTION_ID} AS id
       FROM findings f WHERE f.id = @findingId`,
    )
    .get({ now, findingId }) as { id: number | null } | undefined;
  return row?.id ?? null;
}

/** A finding with its host's name and its audit's OS (for the evidence panel). */
export function findingWithContext(
  db: Database,
  findingId: number,
): (Row & { host_name: string; os_id: string | null; os_version: string | null }) | null {
  return (
    (db
      .prepare(
        `SELECT f.*, h.name AS host_name, a.os_id, a.os_version FROM findings f JOIN hosts h ON h.id = f.host_id
         JOIN audits a ON a.id = f.audit_id WHERE f.id = ?`,
      )
      .get(findingId) as
      (Row & { host_name: string; os_id: string | null; os_version: string | null }) | undefined) ?? null
  );
}

/** The successful audit of a host taken at `startedAt` (the one a finding was first seen in). */
export function auditTakenAt(db: Database, hostId: number, startedAt: string): number | null {
  const row = db
    .prepare(
      `SELECT id FROM audits WHERE host_id = ? AND status = 'succeeded' AND started_at = ? ORDER BY id LIMIT 1`,
    )
    .get(hostId, startedAt) as { id: number } | undefined;
  return row?.id ?? null;
}

/** The columns of an audit's findings that the enrichment reads (lighter than listFindings). */
export interface JudgeableFinding {
  id: number;
  kind: string;
  package: string;
  arch: string | null;
  installedVersion: string | null;
  availableVersion: string;
  sourcePackage: string | null;
  sourceInstalledVersion: string | null;
  sourceAvailableVersion: string | null;
  security: boolean;
  severity: string | null;
  advisories: string[];
  /** What the last enrichment wrote (null when none judged it yet), so that an unchanged finding is not written again. */
  judged: PreviousJudgement | null;
}

/** A finding's summary columns as the last enrichment left them (`cves` as stored, JSON). */
export interface PreviousJudgement {
  cves: string;
  kev: number;
  epss: number | null;
  tier: FindingJudgement['tier'];
  firstSeenAt: string | null;
  dueAt: string | null;
}

export function findingsToJudge(db: Database, auditId: number): JudgeableFinding[] {
  return (
    cached(
      db,
      `SELECT id, kind, package, arch, installed_version, available_version, source_package, source_installed_version,
           source_available_version, security, severity, advisories, intel_at, cves, kev, epss, tier, first_seen_at, due_at
         FROM findings WHERE audit_id = ?`,
    )
      .raw()
      .all(auditId) as unknown[][]
  ).map((r) => ({
    id: r[0] as number,
    kind: r[1] as string,
    package: r[2] as string,
    arch: (r[3] as string | null) ?? null,
    installedVersion: (r[4] as string | null) ?? null,
    availableVersion: r[5] as string,
    sourcePackage: (r[6] as string | null) ?? null,
    sourceInstalledVersion: (r[7] as string | null) ?? null,
    sourceAvailableVersion: (r[8] as string | null) ?? null,
    security: r[9] === 1,
    severity: (r[10] as string | null) ?? null,
    advisories: r[11] === '[]' ? [] : parseJsonArray(r[11] as string),
    judged:
      r[12] === null
        ? null
        : {
            cves: r[13] as string,
            kev: r[14] as number,
            epss: (r[15] as number | null) ?? null,
            tier: (r[16] as FindingJudgement['tier']) ?? null,
            firstSeenAt: (r[17] as string | null) ?? null,
            dueAt: (r[18] as string | null) ?? null,
          },
  }));
}
