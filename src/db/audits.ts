import type { Database } from 'better-sqlite3';
import { now, parseJsonArray } from './time';

export interface AuditRecord {
  id: number;
  hostId: number;
  taskId: number | null;
  status: 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';
  source: string;
  osId: string | null;
  osName: string | null;
  osVersion: string | null;
  kernel: string | null;
  packageManager: string | null;
  metadataAgeSeconds: number | null;
  refreshed: boolean;
  rebootRequired: boolean | null;
  updatesCount: number;
  securityCount: number;
  errorKind: string | null;
  errorMessage: string | null;
  errorStderr: string | null;
  warnings: string[];
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
}

export interface FindingInput {
  kind: string;
  package: string;
  arch: string | null;
  installedVersion: string | null;
  availableVersion: string;
  repository: string | null;
  security: boolean;
  severity: string | null;
  vendorSeverity: string | null;
  advisories: string[];
  held: boolean;
  rebootRequired: boolean | null;
}

export interface FindingRecord extends FindingInput {
  id: number;
  auditId: number;
  hostId: number;
}

type Row = Record<string, unknown>;

/**
 * Each host's newest audit by when it was taken (not by row id): an offline collection
 * imported today but taken last week must not hide a newer SSH audit.
 */
const newestAuditPerHost = (statusCondition: string): string =>
  `(SELECT host_id, id FROM (SELECT host_id, id, row_number() OVER (PARTITION BY host_id ORDER BY started_at DESC, id DESC) AS rn
     FROM audits WHERE ${statusCondition}) WHERE rn = 1)`;
const bool = (v: unknown): boolean | null => (v === null || v === undefined ? null : v === 1);

function toAudit(row: Row): AuditRecord {
  return {
    id: row.id as number,
    hostId: row.host_id as number,
    taskId: (row.task_id as number | null) ?? null,
    status: row.status as AuditRecord['status'],
    source: row.source as string,
    osId: (row.os_id as string | null) ?? null,
    osName: (row.os_name as string | null) ?? null,
    osVersion: (row.os_version as string | null) ?? null,
    kernel: (row.kernel as string | null) ?? null,
    packageManager: (row.package_manager as string | null) ?? null,
    metadataAgeSeconds: (row.metadata_age_seconds as number | null) ?? null,
    refreshed: row.refreshed === 1,
    rebootRequired: bool(row.reboot_required),
    updatesCount: row.updates_count as number,
    securityCount: row.security_count as number,
    errorKind: (row.error_kind as string | null) ?? null,
    errorMessage: (row.error_message as string | null) ?? null,
    errorStderr: (row.error_stderr as string | null) ?? null,
    warnings: parseJsonArray(row.warnings as string),
    startedAt: row.started_at as string,
    finishedAt: (row.finished_at as string | null) ?? null,
    durationMs: (row.duration_ms as number | null) ?? null,
  };
}

function toFinding(row: Row): FindingRecord {
  return {
    id: row.id as number,
    auditId: row.audit_id as number,
    hostId: row.host_id as number,
    kind: row.kind as string,
    package: row.package as string,
    arch: (row.arch as string | null) ?? null,
    installedVersion: (row.installed_version as string | null) ?? null,
    availableVersion: row.available_version as string,
    repository: (row.repository as string | null) ?? null,
    security: row.security === 1,
    severity: (row.severity as string | null) ?? null,
    vendorSeverity: (row.vendor_severity as string | null) ?? null,
    advisories: parseJsonArray(row.advisories as string),
    held: row.held === 1,
    rebootRequired: bool(row.reboot_required),
  };
}

export function startAudit(
  db: Database,
  input: { hostId: number; taskId: number | null; source?: string; refreshed?: boolean },
): number {
  return Number(
    db
      .prepare(
        `INSERT INTO audits (host_id, task_id, status, source, refreshed, started_at) VALUES (?, ?, 'running', ?, ?, ?)`,
      )
      .run(input.hostId, input.taskId, input.source ?? 'ssh', input.refreshed ? 1 : 0, now()).lastInsertRowid,
  );
}

/** Records a successful audit and its findings in one transaction: all or nothing. */
export function completeAudit(
  db: Database,
  auditId: number,
  result: {
    osId: string | null;
    osName: string | null;
    osVersion: string | null;
    kernel: string | null;
    packageManager: string | null;
    metadataAgeSeconds: number | null;
    rebootRequired: boolean | null;
    warnings: string[];
    durationMs: number;
    findings: FindingInput[];
  },
): void {
  const insert = db.prepare(
    `INSERT INTO findings (audit_id, host_id, kind, package, arch, installed_version, available_version, repository, security, severity, vendor_severity, advisories, held, reboot_required)
     VALUES (@auditId, @hostId, @kind, @package, @arch, @installedVersion, @availableVersion, @repository, @security, @severity, @vendorSeverity, @advisories, @held, @rebootRequired)`,
  );
  db.transaction(() => {
    const { host_id: hostId } = db.prepare('SELECT host_id FROM audits WHERE id = ?').get(auditId) as {
      host_id: number;
    };
    for (const f of result.findings) {
      insert.run({
        ...f,
        auditId,
        hostId,
        security: f.security ? 1 : 0,
        held: f.held ? 1 : 0,
        rebootRequired: f.rebootRequired === null ? null : f.rebootRequired ? 1 : 0,
        advisories: JSON.stringify(f.advisories),
      });
    }
    db.prepare(
      `UPDATE audits SET status = 'succeeded', os_id = ?, os_name = ?, os_version = ?, kernel = ?, package_manager = ?, metadata_age_seconds = ?,
         reboot_required = ?, updates_count = ?, security_count = ?, warnings = ?, finished_at = ?, duration_ms = ? WHERE id = ?`,
    ).run(
      result.osId,
      result.osName,
      result.osVersion,
      result.kernel,
      result.packageManager,
      result.metadataAgeSeconds,
      result.rebootRequired === null ? null : result.rebootRequired ? 1 : 0,
      result.findings.length,
      result.findings.filter((f) => f.security).length,
      JSON.stringify(result.warnings),
      now(),
      result.durationMs,
      auditId,
    );
  })();
}

export function failAudit(
  db: Database,
  auditId: number,
  error: {
    status?: 'failed' | 'cancelled';
    kind: string;
    message: string;
    stderr?: string;
    durationMs: number;
  },
): void {
  db.prepare(
    `UPDATE audits SET status = ?, error_kind = ?, error_message = ?, error_stderr = ?, finished_at = ?, duration_ms = ? WHERE id = ?`,
  ).run(
    error.status ?? 'failed',
    error.kind,
    error.message,
    (error.stderr ?? '').slice(0, 64 * 1024),
    now(),
    error.durationMs,
    auditId,
  );
}

export function markInterruptedAudits(db: Database): number {
  return db
    .prepare(`UPDATE audits SET status = 'interrupted', finished_at = ? WHERE status = 'running'`)
    .run(now()).changes;
}

export function getAudit(db: Database, id: number): AuditRecord | null {
  const row = db.prepare('SELECT * FROM audits WHERE id = ?').get(id) as Row | undefined;
  return row ? toAudit(row) : null;
}

export function listAudits(db: Database, hostId: number, limit = 50): AuditRecord[] {
  return (
    db
      .prepare('SELECT * FROM audits WHERE host_id = ? ORDER BY started_at DESC, id DESC LIMIT ?')
      .all(hostId, limit) as Row[]
  ).map(toAudit);
}

/** The newest finished audit of each host (the current picture of the fleet). */
export function latestAudits(db: Database): AuditRecord[] {
  return (
    db
      .prepare(
        `SELECT a.* FROM audits a JOIN ${newestAuditPerHost("status != 'running'")} l ON l.id = a.id ORDER BY a.host_id`,
      )
      .all() as Row[]
  ).map(toAudit);
}

export function listFindings(db: Database, auditId: number): FindingRecord[] {
  return (
    db
      .prepare('SELECT * FROM findings WHERE audit_id = ? ORDER BY security DESC, package')
      .all(auditId) as Row[]
  ).map(toFinding);
}

/** Findings of every host's newest successful audit. */
export function listCurrentFindings(db: Database): (FindingRecord & { hostName: string })[] {
  return (
    db
      .prepare(
        `SELECT f.*, h.name AS host_name FROM findings f
         JOIN ${newestAuditPerHost("status = 'succeeded'")} l ON l.id = f.audit_id
         JOIN hosts h ON h.id = f.host_id
         ORDER BY f.security DESC, h.name, f.package`,
      )
      .all() as Row[]
  ).map((row) => ({ ...toFinding(row), hostName: row.host_name as string }));
}

export interface AuditDiff {
  previousAuditId: number | null;
  added: FindingRecord[];
  resolved: FindingRecord[];
  unchanged: FindingRecord[];
}

const findingKey = (f: FindingRecord): string => `${f.kind}\u0000${f.package}\u0000${f.arch ?? ''}`;

/**
 * Compares an audit with the host's previous successful audit: new findings, resolved ones
 * (gone, or the host now has that version) and unchanged ones. A finding whose available
 * version moved on counts as new.
 */
export function diffWithPrevious(db: Database, auditId: number): AuditDiff {
  const audit = getAudit(db, auditId);
  if (!audit) return { previousAuditId: null, added: [], resolved: [], unchanged: [] };
  const prev = db
    .prepare(
      `SELECT id FROM audits WHERE host_id = @host AND status = 'succeeded' AND id != @id
         AND (started_at < @at OR (started_at = @at AND id < @id)) ORDER BY started_at DESC, id DESC LIMIT 1`,
    )
    .get({ host: audit.hostId, id: auditId, at: audit.startedAt }) as { id: number } | undefined;
  const current = listFindings(db, auditId);
  if (!prev) return { previousAuditId: null, added: current, resolved: [], unchanged: [] };
  const before = new Map(listFindings(db, prev.id).map((f) => [findingKey(f), f]));
  const added: FindingRecord[] = [];
  const unchanged: FindingRecord[] = [];
  for (const f of current) {
    const old = before.get(findingKey(f));
    if (old && old.availableVersion === f.availableVersion) unchanged.push(f);
    else added.push(f);
    before.delete(findingKey(f));
  }
  return { previousAuditId: prev.id, added, resolved: [...before.values()], unchanged };
}

export interface FindingQueryInput {
  offset: number;
  limit: number;
  search?: string;
  securityOnly?: boolean;
  hostId?: number;
  sort: 'security' | 'host' | 'package';
}

const CURRENT_FINDINGS = `FROM findings f
  JOIN ${newestAuditPerHost("status = 'succeeded'")} l ON l.id = f.audit_id
  JOIN hosts h ON h.id = f.host_id
  WHERE (@search IS NULL OR f.package LIKE @search ESCAPE '\\' OR h.name LIKE @search ESCAPE '\\')
    AND (@securityOnly = 0 OR f.security = 1)
    AND (@hostId IS NULL OR f.host_id = @hostId)`;

/** One page of the current findings (each host's newest successful audit), filtered and sorted in SQL. */
export function queryFindings(db: Database, query: FindingQueryInput) {
  const params = {
    search: query.search ? `%${query.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null,
    securityOnly: query.securityOnly ? 1 : 0,
    hostId: query.hostId ?? null,
  };
  const order =
    query.sort === 'host'
      ? 'h.name COLLATE NOCASE, f.security DESC, f.package'
      : query.sort === 'package'
        ? 'f.package, h.name COLLATE NOCASE'
        : `f.security DESC, CASE f.severity WHEN 'critical' THEN 0 WHEN 'important' THEN 1 WHEN 'moderate' THEN 2 WHEN 'low' THEN 3 ELSE 4 END, h.name COLLATE NOCASE, f.package`;
  const totals = db
    .prepare(
      `SELECT count(*) total, coalesce(sum(f.security), 0) security, count(DISTINCT f.host_id) hosts ${CURRENT_FINDINGS}`,
    )
    .get(params) as { total: number; security: number; hosts: number };
  const rows = db
    .prepare(
      `SELECT f.*, h.name AS host_name ${CURRENT_FINDINGS} ORDER BY ${order} LIMIT @limit OFFSET @offset`,
    )
    .all({ ...params, limit: query.limit, offset: query.offset }) as Row[];
  return {
    total: totals.total,
    securityTotal: totals.security,
    hostsTotal: totals.hosts,
    offset: query.offset,
    rows: rows.map((row) => ({ ...toFinding(row), hostName: row.host_name as string })),
  };
}
