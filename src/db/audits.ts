import type { Database } from 'better-sqlite3';
import { cached } from './statements';
import type { WindowsAuditFacts, WindowsUpdateDetails } from '../api';
import {
  APPLIED_EXCEPTION_ID,
  EXCEPTION_ACTIVE,
  FINDING_OVERDUE,
  HAS_ACTIVE_EXCEPTION,
  exceptionsById,
} from './exceptions';
import { refreshCurrentFindings } from './current';
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
  /** A Windows audit's facts (migration 012); absent for every other audit. */
  windows?: WindowsAuditFacts;
}

/** One package of a host's installed set, with the source package it was built from (migration 013). */
export interface InstalledPackage {
  name: string;
  arch: string | null;
  version: string;
  sourceName: string | null;
  sourceVersion: string | null;
}

/** One installed hotfix a Windows audit listed (Win32_QuickFixEngineering). */
export interface AuditHotfix {
  hotfixId: string;
  description: string | null;
  installedOn: string | null;
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
  /** A KB finding's Windows Update details (UpdateID, revision, size…); absent or null otherwise. */
  details?: WindowsUpdateDetails | null;
  /** The source package and its installed and available versions (migration 013); null when unknown. */
  sourcePackage?: string | null;
  sourceInstalledVersion?: string | null;
  sourceAvailableVersion?: string | null;
  /**
   * The enrichment's judgement when whoever stores the audit already knows it (a bulk import):
   * written in the same INSERT, with `judgedAt` as its time, instead of an UPDATE per finding
   * afterwards. writeAuditIntel is still called for the evidence and the audit's counts, with
   * `storedWithFinding` set on these findings' judgements.
   */
  judged?: (FindingIntel & { judgedAt: string }) | null;
}

/** What the advisory snapshot says about a finding (migration 013; written by src/intel's enrichment). */
export interface FindingIntel {
  cves: string[];
  kev: boolean;
  epss: number | null;
  tier: 'kev' | 'critical' | 'high' | 'medium' | 'low' | null;
  firstSeenAt: string | null;
  dueAt: string | null;
}

export interface FindingRecord extends FindingInput, FindingIntel {
  id: number;
  auditId: number;
  hostId: number;
  sourcePackage: string | null;
  sourceInstalledVersion: string | null;
  sourceAvailableVersion: string | null;
}

type Row = Record<string, unknown>;

/**
 * Each host's newest successful audit by when it was taken (not by row id): an offline collection
 * imported today but taken last week must not hide a newer SSH audit. Kept by migration 015's
 * triggers in `current_audits`.
 */
const CURRENT_AUDITS = '(SELECT host_id, audit_id AS id FROM current_audits)';
const bool = (v: unknown): boolean | null => (v === null || v === undefined ? null : v === 1);

function toAudit(row: Row): AuditRecord {
  const windows = parseJsonObject(row.windows) as WindowsAuditFacts | null;
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
    // Only Windows audits carry the key, so every other audit reads as before.
    ...(windows ? { windows } : {}),
  };
}

/** A JSON object column (written by this module only); null when empty or not an object. */
function parseJsonObject(value: unknown): Record<string, unknown> | null {
  if (typeof value !== 'string' || value === '') return null;
  try {
    const parsed: unknown = JSON.parse(value);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

function toFinding(row: Row): FindingRecord {
  const details = parseJsonObject(row.details) as WindowsUpdateDetails | null;
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
    ...(details ? { details } : {}),
    sourcePackage: (row.source_package as string | null) ?? null,
    sourceInstalledVersion: (row.source_installed_version as string | null) ?? null,
    sourceAvailableVersion: (row.source_available_version as string | null) ?? null,
    cves: parseJsonArray(row.cves as string),
    kev: row.kev === 1,
    epss: (row.epss as number | null) ?? null,
    tier: (row.tier as FindingIntel['tier']) ?? null,
    firstSeenAt: (row.first_seen_at as string | null) ?? null,
    dueAt: (row.due_at as string | null) ?? null,
  };
}

export function startAudit(
  db: Database,
  input: { hostId: number; taskId: number | null; source?: string; refreshed?: boolean },
): number {
  return Number(
    cached(
      db,
      `INSERT INTO audits (host_id, task_id, status, source, refreshed, started_at) VALUES (?, ?, 'running', ?, ?, ?)`,
    ).run(input.hostId, input.taskId, input.source ?? 'ssh', input.refreshed ? 1 : 0, now()).lastInsertRowid,
  );
}

/**
 * Records a successful audit and its findings in one transaction: all or nothing. Returns the
 * findings' row ids in the order given (the enrichment judges them by id without reading them back).
 */
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
    /** A Windows audit: the PC's facts and its installed hotfixes. */
    windows?: (WindowsAuditFacts & { hotfixes: AuditHotfix[] }) | null;
    /** The host's whole installed set with source names (Linux audits); absent when not read. */
    installed?: InstalledPackage[];
    /**
     * When the audit was taken, when not now: an offline collection is dated by the host's clock.
     * Set here so that the installed sets kept (each host's newest three) follow that date.
     */
    startedAt?: string;
    finishedAt?: string;
  },
): number[] {
  const insertPackage = cached(
    db,
    `INSERT OR IGNORE INTO audit_packages (audit_id, name, arch, version, source_name, source_version) VALUES (?, ?, ?, ?, ?, ?)`,
  );
  const insert = cached(
    db,
    `INSERT INTO findings (audit_id, host_id, kind, package, arch, installed_version, available_version, repository, security, severity, vendor_severity, advisories, held, reboot_required, details,
       source_package, source_installed_version, source_available_version, cves, kev, epss, tier, first_seen_at, due_at, intel_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const insertHotfix = cached(
    db,
    `INSERT OR IGNORE INTO audit_hotfixes (audit_id, hotfix_id, description, installed_on) VALUES (?, ?, ?, ?)`,
  );
  const ids: number[] = new Array<number>(result.findings.length);
  db.transaction(() => {
    const { host_id: hostId } = cached(db, 'SELECT host_id FROM audits WHERE id = ?').get(auditId) as {
      host_id: number;
    };
    // Positional parameters and one statement per workspace: binding an object per finding and
    // preparing the statements per audit were half of storing a 50-finding audit.
    let security = 0;
    for (let i = 0; i < result.findings.length; i++) {
      const f = result.findings[i]!;
      if (f.security) security++;
      const j = f.judged ?? null;
      ids[i] = insert.run(
        auditId,
        hostId,
        f.kind,
        f.package,
        f.arch,
        f.installedVersion,
        f.availableVersion,
        f.repository,
        f.security ? 1 : 0,
        f.severity,
        f.vendorSeverity,
        JSON.stringify(f.advisories),
        f.held ? 1 : 0,
        f.rebootRequired === null ? null : f.rebootRequired ? 1 : 0,
        f.details ? JSON.stringify(f.details) : null,
        f.sourcePackage ?? null,
        f.sourceInstalledVersion ?? null,
        f.sourceAvailableVersion ?? null,
        j === null ? '[]' : JSON.stringify(j.cves),
        j?.kev ? 1 : 0,
        j?.epss ?? null,
        j?.tier ?? null,
        j?.firstSeenAt ?? null,
        j?.dueAt ?? null,
        j?.judgedAt ?? null,
      ).lastInsertRowid as number;
    }
    const { hotfixes = [], ...facts } = result.windows ?? {};
    for (const h of hotfixes) insertHotfix.run(auditId, h.hotfixId, h.description, h.installedOn);
    const installed = result.installed ?? [];
    for (const p of installed)
      insertPackage.run(auditId, p.name, p.arch ?? '', p.version, p.sourceName, p.sourceVersion);
    // One UPDATE: the audit's current-picture trigger (migration 015) runs once.
    cached(
      db,
      `UPDATE audits SET status = 'succeeded', windows = ?, os_id = ?, os_name = ?, os_version = ?, kernel = ?, package_manager = ?, metadata_age_seconds = ?,
         reboot_required = ?, updates_count = ?, security_count = ?, warnings = ?, finished_at = ?, duration_ms = ?,
         started_at = coalesce(?, started_at) WHERE id = ?`,
    ).run(
      result.windows ? JSON.stringify(facts) : null,
      result.osId,
      result.osName,
      result.osVersion,
      result.kernel,
      result.packageManager,
      result.metadataAgeSeconds,
      result.rebootRequired === null ? null : result.rebootRequired ? 1 : 0,
      result.findings.length,
      security,
      JSON.stringify(result.warnings),
      result.finishedAt ?? now(),
      result.durationMs,
      result.startedAt ?? null,
      auditId,
    );
    // Only a new installed set can push an older one out of the newest INSTALLED_SETS_KEPT.
    if (installed.length > 0) pruneInstalledSets(db, hostId);
  })();
  return ids;
}

/** How many of a host's audits keep their installed set (the newest, by when they were taken). */
export const INSTALLED_SETS_KEPT = 3;

/**
 * Deletes the installed sets of a host's audits older than its newest INSTALLED_SETS_KEPT audits
 * that have one (a set is ~3 000 rows; findings and audits themselves are kept).
 */
export function pruneInstalledSets(db: Database, hostId: number): number {
  return db
    .prepare(
      // Ranked by a window, not by ORDER BY … LIMIT -1 OFFSET inside IN (…): with migration 015's
      // index on (host_id, started_at, id) SQLite answered that subquery with every audit,
      // which deleted the newest installed set too (test/integration/audit-sources.test.ts).
      `DELETE FROM audit_packages WHERE audit_id IN (
         SELECT id FROM (
           SELECT a.id, row_number() OVER (ORDER BY a.started_at DESC, a.id DESC) AS rank FROM audits a
            WHERE a.host_id = ? AND EXISTS (SELECT 1 FROM audit_packages p WHERE p.audit_id = a.id))
          WHERE rank > ?)`,
    )
    .run(hostId, INSTALLED_SETS_KEPT).changes;
}

/** An audit's installed set (empty when it recorded none or it was pruned), by name, arch and version. */
export function listInstalledPackages(db: Database, auditId: number): InstalledPackage[] {
  return (
    db
      .prepare(
        `SELECT name, arch, version, source_name AS sourceName, source_version AS sourceVersion
           FROM audit_packages WHERE audit_id = ? ORDER BY name, arch, version`,
      )
      .all(auditId) as {
      name: string;
      arch: string;
      version: string;
      sourceName: string | null;
      sourceVersion: string | null;
    }[]
  ).map((row) => ({ ...row, arch: row.arch === '' ? null : row.arch }));
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
        `SELECT a.* FROM hosts h JOIN audits a ON a.id = (SELECT id FROM audits l WHERE l.host_id = h.id AND l.status != 'running'
           ORDER BY l.started_at DESC, l.id DESC LIMIT 1) ORDER BY a.host_id`,
      )
      .all() as Row[]
  ).map(toAudit);
}

/** The hotfixes a Windows audit listed as installed, by id. */
export function listAuditHotfixes(db: Database, auditId: number): AuditHotfix[] {
  return db
    .prepare(
      'SELECT hotfix_id AS hotfixId, description, installed_on AS installedOn FROM audit_hotfixes WHERE audit_id = ? ORDER BY hotfix_id',
    )
    .all(auditId) as AuditHotfix[];
}

/** A pending Windows update of a host's newest successful audit, as the patch flow installs it. */
export interface WindowsUpdateOfHost {
  findingId: number;
  auditId: number;
  /** `KB5034441` (or the title when the update has no KB). */
  kb: string;
  title: string;
  updateId: string;
  revision: number | null;
  security: boolean;
  severity: string | null;
  rebootBehavior: WindowsUpdateDetails['rebootBehavior'];
  sizeBytes: number | null;
}

/**
 * The KB findings of the host's newest successful audit that carry an UpdateID (the install task
 * names updates by UpdateID, never by title); [] when the host has none.
 */
export function windowsUpdatesOf(db: Database, hostId: number): WindowsUpdateOfHost[] {
  const latest = db
    .prepare(
      `SELECT id FROM audits WHERE host_id = ? AND status = 'succeeded' ORDER BY started_at DESC, id DESC LIMIT 1`,
    )
    .get(hostId) as { id: number } | undefined;
  if (!latest) return [];
  const out: WindowsUpdateOfHost[] = [];
  for (const f of listFindings(db, latest.id)) {
    if (f.kind !== 'kb' || !f.details?.updateId) continue;
    out.push({
      findingId: f.id,
      auditId: f.auditId,
      kb: f.package,
      title: f.availableVersion,
      updateId: f.details.updateId,
      revision: f.details.revision,
      security: f.security,
      severity: f.severity,
      rebootBehavior: f.details.rebootBehavior,
      sizeBytes: f.details.sizeBytes,
    });
  }
  return out;
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
         JOIN ${CURRENT_AUDITS} l ON l.id = f.audit_id
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

/** Severity filter values: the collectors' normalised severities, and `none` for no rating. */
export const FINDING_SEVERITIES = ['critical', 'important', 'moderate', 'low', 'unknown', 'none'] as const;
export type FindingSeverityFilter = (typeof FINDING_SEVERITIES)[number];
export type FindingSortKey = 'security' | 'host' | 'package' | 'repository' | 'risk' | 'due';

/** Which of the current findings to show; every field narrows, all of them in SQL. */
export interface FindingFilter {
  /** Matches package names, host names, and advisory ids (DSA-…, RHSA-…, CVE-…), literally. */
  search?: string;
  securityOnly?: boolean;
  hostId?: number;
  severity?: FindingSeverityFilter;
  /** The OS label of the host's newest audit, as findingFacets lists it. */
  os?: string;
  repository?: string;
  tag?: string;
  /** Only findings that fix a CVE in CISA's KEV catalogue. */
  kevOnly?: boolean;
  /** Only findings past their due date that no active exception covers. */
  overdue?: boolean;
  /** Only findings whose highest EPSS score is at least this. */
  epssAtLeast?: number;
  tier?: 'kev' | 'critical' | 'high' | 'medium' | 'low';
  /** true: only findings an active exception covers; false: only those none covers. */
  hasException?: boolean;
  /** The time exceptions and due dates are judged at (ISO); now when absent. */
  now?: string;
}

export interface FindingQueryInput extends FindingFilter {
  offset: number;
  limit: number;
  sort: FindingSortKey;
  /** `asc` is each column's natural order (security first for `security`); `desc` reverses it. */
  direction?: 'asc' | 'desc';
}

/**
 * The current findings (migration 015's `current_findings`, refreshed before each read): the
 * columns the page filters and sorts on, named as in `findings` so that the exception conditions
 * (src/db/exceptions.ts) read them as they read a finding. `sharing` is how many current findings
 * of the fleet are the same update (kind, package): the risk order's last key.
 */
const CURRENT_FINDINGS_FROM = 'FROM current_findings f';

/**
 * FROM and WHERE over the current findings with only the conditions the filter sets (fixed SQL
 * fragments; every value goes in as a parameter), over `current_findings f` alone.
 */
function currentFindings(filter: FindingFilter, exceptionsActive = true) {
  const where: string[] = [];
  const params: Record<string, string | number> = {};
  if (filter.search) {
    params.search = `%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    // The names are matched in the short lists first (one row per pending update, per host), then
    // the findings read by index: the same rows as matching every finding's package, host name and
    // advisories (current_updates holds every current update with its findings' distinct advisory
    // lists: a finding matches when its list is one of those that match, compared as a whole).
    where.push(`(f.package IN (SELECT u.package FROM current_updates u WHERE u.package LIKE @search ESCAPE '\\')
      OR f.host_id IN (SELECT h.id FROM hosts h WHERE h.name LIKE @search ESCAPE '\\')
      OR (f.kind, f.package, f.advisories) IN (SELECT u.kind, u.package, list.value FROM current_updates u, json_each(u.advisories) list
          WHERE EXISTS (SELECT 1 FROM json_each(list.value) adv WHERE adv.value LIKE @search ESCAPE '\\')))`);
  }
  // Unary +: not an index key, so that a page walks its sort's index and stops after its rows
  // (a third of the findings are security ones) instead of reading every match and sorting them.
  if (filter.securityOnly) where.push('+f.security = 1');
  if (filter.hostId !== undefined) {
    params.hostId = filter.hostId;
    where.push('f.host_id = @hostId');
  }
  if (filter.severity) {
    params.severity = filter.severity;
    where.push(`coalesce(f.severity, 'none') = @severity`);
  }
  if (filter.os) {
    params.os = filter.os;
    where.push('f.os_label = @os');
  }
  if (filter.repository) {
    params.repository = filter.repository;
    where.push('+f.repository = @repository');
  }
  if (filter.tag) {
    params.tag = filter.tag;
    where.push(
      'EXISTS (SELECT 1 FROM hosts h, json_each(h.tags) tag WHERE h.id = f.host_id AND tag.value = @tag)',
    );
  }
  if (filter.kevOnly) where.push('f.kev = 1');
  if (filter.tier) {
    params.tier = filter.tier;
    where.push('+f.tier = @tier');
  }
  if (filter.epssAtLeast !== undefined) {
    params.epssAtLeast = filter.epssAtLeast;
    where.push('f.epss >= @epssAtLeast');
  }
  // With no exception active at @now (the caller checked), "covered by one" is false for every finding.
  if (filter.overdue)
    where.push(exceptionsActive ? FINDING_OVERDUE : '(f.due_at IS NOT NULL AND f.due_at < @now)');
  if (filter.hasException !== undefined) {
    if (exceptionsActive)
      where.push(filter.hasException ? HAS_ACTIVE_EXCEPTION : `NOT ${HAS_ACTIVE_EXCEPTION}`);
    else if (filter.hasException) where.push('0');
  }
  // Every query may name @now (the overdue and exception columns do): always bound.
  params.now = filter.now ?? now();
  return {
    sql: `${CURRENT_FINDINGS_FROM}${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`,
    params,
    filtered: where.length > 0,
  };
}

/** The terms of a sort, each with its direction; `current_findings_by_<sort>` serves the ascending order. */
function findingOrderTerms(
  sort: FindingSortKey,
  direction: 'asc' | 'desc' = 'asc',
): [string, 'ASC' | 'DESC'][] {
  const dir = direction === 'desc' ? 'DESC' : 'ASC';
  const flip = direction === 'desc' ? 'ASC' : 'DESC';
  const host = 'f.host_name COLLATE NOCASE';
  switch (sort) {
    case 'host':
      return [
        [host, dir],
        ['f.host_id', dir],
        ['f.security', 'DESC'],
        ['f.package', 'ASC'],
        ['f.id', 'ASC'],
      ];
    case 'package':
      return [
        ['f.package', dir],
        [host, 'ASC'],
        ['f.host_id', 'ASC'],
        ['f.arch', 'ASC'],
        ['f.id', 'ASC'],
      ];
    case 'repository':
      // Findings without a repository stay last either way.
      return [
        ['f.repository IS NULL', 'ASC'],
        ['f.repository', dir],
        ['f.package', 'ASC'],
        [host, 'ASC'],
        ['f.id', 'ASC'],
      ];
    case 'security':
      return [
        ['f.security', flip],
        ['f.sev_rank', dir],
        [host, 'ASC'],
        ['f.package', 'ASC'],
        ['f.id', 'ASC'],
      ];
    case 'risk':
      // Tier, then EPSS (highest first), then age (oldest sighting first), then how many hosts share it.
      return [
        ['f.tier_rank', dir],
        ['coalesce(f.epss, -1)', flip],
        ['f.first_seen_at IS NULL', 'ASC'],
        ['f.first_seen_at', dir],
        ['f.sharing', flip],
        ['f.package', 'ASC'],
        [host, 'ASC'],
        ['f.id', 'ASC'],
      ];
    case 'due':
      return [
        ['f.due_at IS NULL', 'ASC'],
        ['f.due_at', dir],
        ['f.tier_rank', 'ASC'],
        ['f.package', 'ASC'],
        [host, 'ASC'],
        ['f.id', 'ASC'],
      ];
  }
}

const orderBy = (terms: [string, 'ASC' | 'DESC'][], reversed = false): string =>
  terms.map(([t, d]) => `${t} ${reversed ? (d === 'ASC' ? 'DESC' : 'ASC') : d}`).join(', ');

/**
 * The statements of one page of findings and their parameters (the benchmark prints their plans):
 * the totals, and the page's finding ids, read from one sort index of `current_findings` alone.
 * A page past the middle is read from the other end in the reversed order (then turned back), so
 * that no page walks more than half the list.
 */
export function findingQuerySql(query: FindingQueryInput, total?: number, exceptionsActive = true) {
  const { sql: current, params } = currentFindings(query, exceptionsActive);
  const terms = findingOrderTerms(query.sort, query.direction);
  const reversed = total !== undefined && query.offset > total / 2;
  const limit = reversed ? Math.max(0, Math.min(query.limit, total - query.offset)) : query.limit;
  const offset = reversed ? Math.max(0, total - query.offset - query.limit) : query.offset;
  return {
    totals: `SELECT count(*) total, coalesce(sum(f.security), 0) security, count(DISTINCT f.host_id) hosts ${current}`,
    ids: `SELECT f.id ${current} ORDER BY ${orderBy(terms, reversed)} LIMIT @limit OFFSET @offset`,
    params: { ...params, limit, offset },
    reversed,
  };
}

/** How many hosts have a current finding the filter keeps: one probe per host, not a DISTINCT over every row. */
function currentHostCount(
  db: Database,
  current: string,
  filtered: boolean,
  params: Record<string, unknown>,
): number {
  // Unfiltered: the hosts with a current finding are those with a 'host' count (current_host_facets).
  if (!filtered)
    return cached(db, `SELECT count(*) FROM current_host_facets WHERE facet = 'host'`)
      .pluck()
      .get() as number;
  return (
    db
      .prepare(
        `SELECT count(*) AS n FROM current_audits c WHERE EXISTS (SELECT 1 ${current} ${filtered ? 'AND' : 'WHERE'} f.host_id = c.host_id)`,
      )
      .get(params) as { n: number }
  ).n;
}

/** Whether any exception is active at `now` (when none is, no finding can be covered by one). */
function exceptionActiveAt(db: Database, now: string): boolean {
  return (
    cached(db, `SELECT 1 FROM finding_exceptions e WHERE ${EXCEPTION_ACTIVE} LIMIT 1`).get({ now }) !==
    undefined
  );
}

/**
 * The totals of a page filtered on exactly one value the per-host counts keep (security only, a
 * tier, KEV, a severity, an OS, a repository, a host, a tag), from current_host_facets: ~2 000
 * rows instead of every current finding. Null for any other filter (counted over the rows).
 */
function facetTotals(
  db: Database,
  filter: FindingFilter,
  exceptionsActive: boolean,
): { total: number; security: number; hosts: number } | null {
  const one: [string, string | number][] = [];
  if (filter.search) return null;
  // With no exception active, "none covers it" keeps every finding; anything else is counted on the rows.
  if (filter.hasException !== undefined && (exceptionsActive || filter.hasException)) return null;
  if (filter.epssAtLeast !== undefined || filter.overdue) return null;
  if (filter.securityOnly) one.push(['security', '1']);
  if (filter.kevOnly) one.push(['kev-any', '1']);
  if (filter.tier) one.push(['tier', filter.tier]);
  if (filter.severity) one.push(['severity', filter.severity]);
  if (filter.os) one.push(['os', filter.os]);
  if (filter.repository) one.push(['repository', filter.repository]);
  if (filter.hostId !== undefined) one.push(['host', filter.hostId]);
  if (filter.tag) one.push(['tag', filter.tag]);
  if (one.length !== 1) return null;
  const [facet, value] = one[0]!;
  const sums = 'coalesce(sum(c.n), 0) AS total, coalesce(sum(c.sec), 0) AS security, count(*) AS hosts';
  if (facet === 'host')
    return cached(
      db,
      `SELECT ${sums} FROM current_host_facets c WHERE c.host_id = ? AND c.facet = 'host'`,
    ).get(value) as { total: number; security: number; hosts: number };
  if (facet === 'tag')
    return cached(
      db,
      `SELECT ${sums} FROM current_host_facets c JOIN hosts h ON h.id = c.host_id
       WHERE c.facet = 'host' AND EXISTS (SELECT 1 FROM json_each(h.tags) tag WHERE tag.value = ?)`,
    ).get(value) as { total: number; security: number; hosts: number };
  return cached(db, `SELECT ${sums} FROM current_host_facets c WHERE c.facet = ? AND c.value = ?`).get(
    facet,
    value,
  ) as {
    total: number;
    security: number;
    hosts: number;
  };
}

/** The page's rows, in the order of `ids`, with the host's name, whether overdue, and the exception that applies. */
function findingRowsByIds(db: Database, ids: number[], at: string, exceptionsActive = true): Row[] {
  const rows = db
    .prepare(
      exceptionsActive
        ? `SELECT f.*, h.name AS host_name, ${FINDING_OVERDUE} AS is_overdue, ${APPLIED_EXCEPTION_ID} AS exception_id
       FROM findings f JOIN hosts h ON h.id = f.host_id WHERE f.id IN (SELECT value FROM json_each(@ids))`
        : `SELECT f.*, h.name AS host_name, (f.due_at IS NOT NULL AND f.due_at < @now) AS is_overdue, NULL AS exception_id
       FROM findings f JOIN hosts h ON h.id = f.host_id WHERE f.id IN (SELECT value FROM json_each(@ids))`,
    )
    .all({ ids: JSON.stringify(ids), now: at }) as Row[];
  const byId = new Map(rows.map((r) => [r.id as number, r]));
  return ids.map((id) => byId.get(id)).filter((r): r is Row => r !== undefined);
}

/** One page of the current findings (each host's newest successful audit), filtered and sorted in SQL. */
export function queryFindings(db: Database, query: FindingQueryInput) {
  refreshCurrentFindings(db);
  const at = query.now ?? now();
  const active = exceptionActiveAt(db, at);
  const first = findingQuerySql({ ...query, now: at }, undefined, active);
  const { filtered, sql: current } = currentFindings({ ...query, now: at }, active);
  // Unfiltered, the counts are kept per update (current_updates): ~1 000 rows, not 100 000; one
  // facet value's counts are kept per host (current_host_facets).
  const counted = (
    filtered
      ? (facetTotals(db, query, active) ?? db.prepare(first.totals).get(first.params))
      : db
          .prepare(
            'SELECT coalesce(sum(findings), 0) total, coalesce(sum(security_findings), 0) security FROM current_updates',
          )
          .get(first.params)
  ) as { total: number; security: number; hosts?: number };
  // Filtered, the hosts are counted in the same pass (over the rows kept); unfiltered, by one probe per host.
  const totals = {
    ...counted,
    hosts: counted.hosts ?? currentHostCount(db, current, filtered, first.params),
  };
  const sql = findingQuerySql({ ...query, now: at }, totals.total, active);
  const ids = db.prepare(sql.ids).pluck().all(sql.params) as number[];
  if (sql.reversed) ids.reverse();
  const rows = findingRowsByIds(db, ids, at, active);
  const exceptions = exceptionsById(
    db,
    rows.map((r) => r.exception_id as number | null).filter((id): id is number => id !== null),
  );
  return {
    total: totals.total,
    securityTotal: totals.security,
    hostsTotal: totals.hosts,
    offset: query.offset,
    rows: rows.map((row) => {
      const e = row.exception_id === null ? undefined : exceptions.get(row.exception_id as number);
      return {
        ...toFinding(row),
        hostName: row.host_name as string,
        overdue: row.is_overdue === 1,
        exception: e
          ? {
              id: e.id,
              decision: e.decision,
              scope: e.scope,
              expiresAt: e.expiresAt,
              reason: e.reason,
              owner: e.owner,
            }
          : null,
      };
    }),
  };
}

/** One package pending on several hosts: the "package X on N hosts" view. */
export interface FindingGroup {
  package: string;
  kind: string;
  /** Distinct architectures, sorted; an empty list when the package manager names none. */
  arches: string[];
  hosts: number;
  hostIds: number[];
  findings: number;
  security: boolean;
  /** The most severe normalised severity among its findings, or null. */
  severity: string | null;
  /** The available version when every host is offered the same one; null when they differ. */
  availableVersion: string | null;
  availableVersions: number;
  /** Advisory and CVE ids, at most GROUP_ADVISORIES of them. */
  advisories: string[];
  advisoriesTotal: number;
}

const GROUP_ADVISORIES = 20;
const RANK_SEVERITY = ['critical', 'important', 'moderate', 'low', 'unknown'];

function groupOrder(sort: FindingSortKey, direction: 'asc' | 'desc' = 'asc'): string {
  const dir = direction === 'desc' ? 'DESC' : 'ASC';
  const flip = direction === 'desc' ? 'ASC' : 'DESC';
  switch (sort) {
    // "By host" in the grouped view: the packages pending on the most hosts first.
    case 'host':
      return `hosts ${flip}, package, kind`;
    case 'package':
      return `package ${dir}, kind ${dir}`;
    case 'repository':
      return `repository IS NULL, repository ${dir}, package, kind`;
    case 'security':
      return `security ${flip}, rank ${dir}, hosts DESC, package, kind`;
    case 'risk':
      return `tier_rank ${dir}, coalesce(epss, -1) ${flip}, first_seen_at IS NULL, first_seen_at ${dir}, hosts DESC, package, kind`;
    case 'due':
      return `due_at IS NULL, due_at ${dir}, tier_rank, package, kind`;
  }
}

/**
 * The current findings grouped by package (and kind), one row per package with the hosts it is
 * pending on, paged and sorted in SQL. The filters are the same as queryFindings'.
 */
export function queryFindingGroups(db: Database, query: FindingQueryInput) {
  refreshCurrentFindings(db);
  const at = query.now ?? now();
  const active = exceptionActiveAt(db, at);
  const { sql: current, params, filtered } = currentFindings({ ...query, now: at }, active);
  // "Security only" and nothing else: kept per update over its security findings (current_security_updates).
  const securityOnly =
    query.securityOnly === true && !currentFindings({ ...query, securityOnly: false }, active).filtered;
  const aggregate = (
    where: string,
  ): string => `SELECT f.package AS package, f.kind AS kind, count(*) AS findings,
         sum(f.security) AS security_findings, count(DISTINCT f.host_id) AS hosts, max(f.security) AS security,
         min(f.sev_rank) AS rank, min(f.repository) AS repository, min(f.tier_rank) AS tier_rank, max(f.epss) AS epss,
         min(f.first_seen_at) AS first_seen_at, min(f.due_at) AS due_at, 0 AS kept
       ${where} GROUP BY f.package, f.kind`;
  const keptIn = securityOnly ? 'current_security_updates' : 'current_updates';
  const kept = `SELECT package, kind, findings, security_findings, hosts, security, rank,
         repository, tier_rank, epss, first_seen_at, due_at, 1 AS kept FROM ${keptIn}`;
  // 1. Every group's order keys and counts (cheap aggregates, one pass over the index).
  // Unfiltered (or security only), they are kept per update (migration 015).
  const source = filtered && !securityOnly ? `(${aggregate(current)})` : `(${kept})`;
  const ordered = db
    .prepare(`SELECT * FROM ${source} ORDER BY ${groupOrder(query.sort, query.direction)}`)
    .all(params) as Row[];
  const totals = { groups: ordered.length, total: 0, security: 0 };
  for (const r of ordered) {
    totals.total += r.findings as number;
    totals.security += r.security_findings as number;
  }
  const hosts = {
    hosts:
      (filtered ? facetTotals(db, query, active)?.hosts : undefined) ??
      currentHostCount(db, current, filtered, params),
  };
  const page = ordered.slice(query.offset, query.offset + query.limit);
  // 2. The lists of the page's groups only; current_updates keeps those of the groups it gave whole.
  const lists = new Map<string, Row>();
  for (const whole of [false, true]) {
    const part = page.filter((r) => (r.kept === 1) === whole);
    if (part.length === 0) continue;
    for (const r of db
      .prepare(
        !whole
          ? `SELECT f.package AS package, f.kind AS kind, json_group_array(DISTINCT f.host_id) AS host_ids,
           json_group_array(DISTINCT f.arch) AS arches, count(DISTINCT f.available_version) AS versions,
           min(f.available_version) AS version, json_group_array(DISTINCT f.advisories) AS advisories
         ${current} AND f.package IN (SELECT value FROM json_each(@packages))
         GROUP BY f.package, f.kind`
          : `SELECT u.package, u.kind, u.host_ids, u.arches, u.versions, u.version, u.advisories
         FROM json_each(@keys) k CROSS JOIN ${keptIn} u ON u.kind = k.value ->> 1 AND u.package = k.value ->> 0`,
      )
      .all({
        ...params,
        packages: JSON.stringify([...new Set(part.map((r) => r.package))]),
        keys: JSON.stringify(part.map((r) => [r.package, r.kind])),
      }) as Row[])
      lists.set(JSON.stringify([r.package, r.kind]), r);
  }
  const rows = page.map((r) => ({ ...r, ...lists.get(JSON.stringify([r.package, r.kind])) }));
  const groups: FindingGroup[] = rows.map((row) => {
    const advisories = new Set<string>();
    for (const list of parseJsonArray<string>(row.advisories as string))
      for (const id of parseJsonArray<string>(list)) advisories.add(id);
    const sorted = [...advisories].sort();
    return {
      package: row.package as string,
      kind: row.kind as string,
      arches: parseJsonArray<string | null>(row.arches as string)
        .filter((a): a is string => typeof a === 'string' && a !== '')
        .sort(),
      hosts: row.hosts as number,
      hostIds: parseJsonArray<number>(row.host_ids as string).sort((x, y) => x - y),
      findings: row.findings as number,
      security: row.security === 1,
      severity: RANK_SEVERITY[row.rank as number] ?? null,
      availableVersion: row.versions === 1 ? (row.version as string) : null,
      availableVersions: row.versions as number,
      advisories: sorted.slice(0, GROUP_ADVISORIES),
      advisoriesTotal: sorted.length,
    };
  });
  return {
    total: totals.groups,
    findingsTotal: totals.total,
    securityTotal: totals.security,
    hostsTotal: hosts.hosts,
    offset: query.offset,
    rows: groups,
  };
}

export interface FacetValue {
  value: string;
  /** Current findings with this value (for tags and hosts: findings on those hosts). */
  count: number;
}

/** At most this many values per filter list; the rest stay reachable through search. */
const FACET_LIMIT = 500;

/** The values each filter of the Updates page can take, over all current findings. */
export function findingFacets(db: Database) {
  refreshCurrentFindings(db);
  // Summed from the per-host counts kept with the current picture (current_host_facets).
  const facet = (name: 'severity' | 'os' | 'repository'): FacetValue[] =>
    cached(
      db,
      `SELECT value, sum(n) AS count FROM current_host_facets WHERE facet = ?
       GROUP BY value ORDER BY count DESC, value LIMIT ${FACET_LIMIT}`,
    ).all(name) as FacetValue[];
  const hosts = cached(
    db,
    `SELECT host_id AS id, value AS name, n AS count FROM current_host_facets WHERE facet = 'host'
     ORDER BY value COLLATE NOCASE, host_id LIMIT ${FACET_LIMIT}`,
  ).all() as { id: number; name: string; count: number }[];
  const tags = cached(
    db,
    `SELECT tag.value AS value, sum(c.n) AS count
     FROM current_host_facets c JOIN hosts h ON h.id = c.host_id, json_each(h.tags) tag
     WHERE c.facet = 'host' AND typeof(tag.value) = 'text' GROUP BY tag.value ORDER BY tag.value LIMIT ${FACET_LIMIT}`,
  ).all() as FacetValue[];
  const severities = facet('severity');
  return {
    severities: FINDING_SEVERITIES.filter((s) => severities.some((v) => v.value === s)).map((s) =>
      severities.find((v) => v.value === s)!,
    ),
    os: facet('os'),
    repositories: facet('repository'),
    tags,
    hosts,
  };
}

/** A current finding with what an export row needs besides the finding itself. */
export interface ExportedFinding extends FindingRecord {
  hostName: string;
  hostAddress: string | null;
  os: string | null;
}

/** Every current finding the filter keeps, in the given order, one at a time (for exports). */
export function* iterateFindings(
  db: Database,
  query: FindingFilter & { sort: FindingSortKey; direction?: 'asc' | 'desc' },
): Generator<ExportedFinding> {
  refreshCurrentFindings(db);
  const { sql: current, params } = currentFindings(query);
  const statement = db.prepare(
    `SELECT fr.*, h.name AS host_name, h.address AS host_address, f.os_label AS os_label
     ${current.replace(CURRENT_FINDINGS_FROM, `${CURRENT_FINDINGS_FROM} JOIN findings fr ON fr.id = f.id JOIN hosts h ON h.id = f.host_id`)}
     ORDER BY ${orderBy(findingOrderTerms(query.sort, query.direction))}`,
  );
  for (const row of statement.iterate(params) as IterableIterator<Row>) {
    yield {
      ...toFinding(row),
      hostName: row.host_name as string,
      hostAddress: (row.host_address as string | null) ?? null,
      os: (row.os_label as string | null) ?? null,
    };
  }
}
