import type { Database } from 'better-sqlite3';

/**
 * Exceptions (migration 013's `finding_exceptions`): an admin accepts or defers a finding, a CVE,
 * a package or a host × package until a date. Nothing runs when one expires: every query below
 * compares `expires_at` with the time it is given, so an expired exception stops applying by
 * itself. Times are ISO-8601 UTC (`Date#toISOString`), so text order is time order.
 */

export type ExceptionScope = 'finding' | 'cve' | 'package' | 'host-package';
export type ExceptionDecision = 'accept' | 'defer';

export interface ExceptionRow {
  id: number;
  scope: ExceptionScope;
  decision: ExceptionDecision;
  hostId: number | null;
  hostName: string | null;
  package: string | null;
  availableVersion: string | null;
  cve: string | null;
  reason: string;
  owner: string;
  expiresAt: string;
  createdAt: string;
  createdBy: string;
  removedAt: string | null;
  removedBy: string | null;
}

export interface NewException {
  scope: ExceptionScope;
  decision: ExceptionDecision;
  hostId: number | null;
  package: string | null;
  availableVersion: string | null;
  cve: string | null;
  reason: string;
  owner: string;
  expiresAt: string;
  createdAt: string;
  createdBy: string;
}

/**
 * The SQL condition "exception `e` covers finding `f`" at `@now` (both aliases must be in scope),
 * without the active test of `e` itself. A CVE exception covers a finding whose evidence names
 * that CVE only when every other CVE of the finding is covered too, by an active CVE exception
 * (an accept needs accepts for all of them; a defer is content with accepts or defers): accepting
 * CVE-B must not hide an update that also fixes a known-exploited CVE-A.
 */
export const EXCEPTION_COVERS = `(
  (e.scope = 'finding' AND e.host_id = f.host_id AND e.package = f.package AND e.available_version = f.available_version)
  OR (e.scope = 'host-package' AND e.host_id = f.host_id AND e.package = f.package)
  OR (e.scope = 'package' AND e.package = f.package)
  OR (e.scope = 'cve' AND EXISTS (SELECT 1 FROM finding_cves fc WHERE fc.finding_id = f.id AND fc.cve = e.cve)
      AND NOT EXISTS (SELECT 1 FROM finding_cves fu WHERE fu.finding_id = f.id AND fu.cve <> e.cve
        AND NOT EXISTS (SELECT 1 FROM finding_exceptions ec WHERE ec.scope = 'cve' AND ec.cve = fu.cve
          AND ec.removed_at IS NULL AND ec.expires_at > @now AND (e.decision = 'defer' OR ec.decision = 'accept')))))`;

/** Active at `@now`: not taken back, not expired. */
export const EXCEPTION_ACTIVE = `e.removed_at IS NULL AND e.expires_at > @now`;

/**
 * The id of the exception that applies to finding `f` at `@now`: an accept before a defer (an
 * accepted finding is never overdue), then the one that lasts longest. Null when none applies.
 */
export const APPLIED_EXCEPTION_ID = `(SELECT e.id FROM finding_exceptions e WHERE ${EXCEPTION_ACTIVE} AND ${EXCEPTION_COVERS}
  ORDER BY e.decision = 'accept' DESC, e.expires_at DESC, e.id LIMIT 1)`;

/** Finding `f` is covered by an active exception of any decision at `@now`. */
export const HAS_ACTIVE_EXCEPTION = `EXISTS (SELECT 1 FROM finding_exceptions e WHERE ${EXCEPTION_ACTIVE} AND ${EXCEPTION_COVERS})`;

/** Finding `f` is covered by an active 'accept' at `@now`. */
export const HAS_ACTIVE_ACCEPT = `EXISTS (SELECT 1 FROM finding_exceptions e WHERE ${EXCEPTION_ACTIVE} AND e.decision = 'accept' AND ${EXCEPTION_COVERS})`;

/** Finding `f` is overdue at `@now`: its due date passed and no active exception covers it (a defer moves the date to its expiry). */
export const FINDING_OVERDUE = `(f.due_at IS NOT NULL AND f.due_at < @now AND NOT ${HAS_ACTIVE_EXCEPTION})`;

type Row = Record<string, unknown>;

function toException(row: Row): ExceptionRow {
  return {
    id: row.id as number,
    scope: row.scope as ExceptionScope,
    decision: row.decision as ExceptionDecision,
    hostId: (row.host_id as number | null) ?? null,
    hostName: (row.host_name as string | null) ?? null,
    package: (row.package as string | null) ?? null,
    availableVersion: (row.available_version as string | null) ?? null,
    cve: (row.cve as string | null) ?? null,
    reason: row.reason as string,
    owner: row.owner as string,
    expiresAt: row.expires_at as string,
    createdAt: row.created_at as string,
    createdBy: row.created_by as string,
    removedAt: (row.removed_at as string | null) ?? null,
    removedBy: (row.removed_by as string | null) ?? null,
  };
}

const SELECT_EXCEPTION = `SELECT e.*, h.name AS host_name FROM finding_exceptions e LEFT JOIN hosts h ON h.id = e.host_id`;

export function insertException(db: Database, input: NewException): number {
  return Number(
    db
      .prepare(
        `INSERT INTO finding_exceptions (scope, decision, host_id, package, available_version, cve, reason, owner, expires_at, created_at, created_by)
         VALUES (@scope, @decision, @hostId, @package, @availableVersion, @cve, @reason, @owner, @expiresAt, @createdAt, @createdBy)`,
      )
      .run(input).lastInsertRowid,
  );
}

export function getException(db: Database, id: number): ExceptionRow | null {
  const row = db.prepare(`${SELECT_EXCEPTION} WHERE e.id = ?`).get(id) as Row | undefined;
  return row ? toException(row) : null;
}

/** Exceptions, newest first: only the active ones at `now` unless `includeInactive`. */
export function listExceptions(
  db: Database,
  options: { now: string; includeInactive?: boolean; hostId?: number },
): ExceptionRow[] {
  const where: string[] = [];
  if (!options.includeInactive) where.push(EXCEPTION_ACTIVE);
  if (options.hostId !== undefined) where.push('e.host_id = @hostId');
  return (
    db
      .prepare(`${SELECT_EXCEPTION}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY e.id DESC`)
      .all({ now: options.now, ...(options.hostId !== undefined ? { hostId: options.hostId } : {}) }) as Row[]
  ).map(toException);
}

/** Takes an exception back; false when it was already removed. */
export function markExceptionRemoved(db: Database, id: number, at: string, by: string): boolean {
  return (
    db
      .prepare(
        'UPDATE finding_exceptions SET removed_at = ?, removed_by = ? WHERE id = ? AND removed_at IS NULL',
      )
      .run(at, by, id).changes === 1
  );
}

/**
 * How many current findings (each host's newest successful audit) exception `id` covers, whether
 * or not it is active (a CVE exception's other CVEs are judged at `now`).
 */
export function countCoveredFindings(db: Database, id: number, now: string): number {
  const row = db
    .prepare(
      `SELECT count(*) AS n FROM findings f
       JOIN current_audits l ON l.audit_id = f.audit_id
       JOIN finding_exceptions e ON e.id = @id
       WHERE ${EXCEPTION_COVERS}`,
    )
    .get({ id, now }) as { n: number };
  return row.n;
}

/** The exceptions with these ids, by id. */
export function exceptionsById(db: Database, ids: number[]): Map<number, ExceptionRow> {
  if (ids.length === 0) return new Map();
  const rows = db
    .prepare(`${SELECT_EXCEPTION} WHERE e.id IN (SELECT value FROM json_each(?))`)
    .all(JSON.stringify(ids)) as Row[];
  return new Map(rows.map((r) => [r.id as number, toException(r)]));
}
