import type { Database } from 'better-sqlite3';
import { z } from 'zod';
import { FindingEvidence } from '../api';
import { HAS_ACTIVE_ACCEPT, HAS_ACTIVE_EXCEPTION, readSettings } from '../db';
import { findingEvidence } from '../intel';
import type { Clock } from '../util';
import { hostsParam, type ReportRange } from './types';

/**
 * The compliance (auditor's) report: per host, what was checked, with which advisory data, what
 * is still open and why, which patch jobs touched it in the period (who approved which plan, each
 * step's outcome and its verification), the exceptions, and an excerpt of the audit log. Every
 * figure carries the id of the record it comes from (audit #, finding #, job #, step #, log entry
 * #, exception #, advisory source #), so an auditor can check it in the workspace.
 *
 * "Open" findings are those of the host's newest successful audit that the advisory data gave a
 * tier (a security update), accepted ones included and marked; other pending updates are counted.
 */

/** Bounds: a report stays readable and its JSON stays a few megabytes. */
export const COMPLIANCE_LIMITS = {
  findingsPerHost: 500,
  /** Over the whole report: each finding's evidence is a few queries. */
  findings: 20_000,
  logEntries: 2000,
  logDetails: 400,
} as const;

const Int = z.number().int();
const Nullable = <T extends z.ZodType>(t: T) => t.nullable();

export const AdvisorySourceRef = z.object({
  sourceId: Int,
  feed: z.string(),
  publisher: z.string(),
  fileName: z.string(),
  sha256: z.string(),
  /** The feed's own date, or null when the file carries none. */
  publishedAt: Nullable(z.string()),
  importedAt: z.string(),
  /** Whole days from the feed's date (else its import) to the report's asOf. */
  ageDays: Int,
  superseded: z.boolean(),
});

export const ComplianceFinding = z.object({
  findingId: Int,
  auditId: Int,
  kind: z.string(),
  package: z.string(),
  arch: Nullable(z.string()),
  installedVersion: Nullable(z.string()),
  availableVersion: z.string(),
  tier: z.enum(['kev', 'critical', 'high', 'medium', 'low']),
  dueAt: Nullable(z.string()),
  overdue: z.boolean(),
  cves: z.array(z.string()),
  kev: z.boolean(),
  epss: Nullable(z.number()),
  /** Covered by an active accept: not open, kept visible. */
  accepted: z.boolean(),
  evidence: FindingEvidence,
});

export const ComplianceStep = z.object({
  jobId: Int,
  stepId: Int,
  status: z.string(),
  startedAt: Nullable(z.string()),
  finishedAt: Nullable(z.string()),
  packageManager: Nullable(z.string()),
  /** The approved plan for this host: `name=version` to install. */
  packages: z.array(z.object({ name: z.string(), from: Nullable(z.string()), to: z.string() })),
  errorKind: Nullable(z.string()),
  errorMessage: Nullable(z.string()),
  verification: z.object({
    /** The audit that re-read the host after the install. */
    verifyAuditId: Nullable(Int),
    /** The versions read after the install, per package. */
    afterVersions: Nullable(z.record(z.string(), z.string().nullable())),
    /** Every approved package is at its approved version after the install (null: not read). */
    matchesPlan: Nullable(z.boolean()),
    mismatches: z.array(z.string()),
  }),
});

export const ComplianceException = z.object({
  exceptionId: Int,
  scope: z.enum(['finding', 'cve', 'package', 'host-package']),
  decision: z.enum(['accept', 'defer']),
  hostId: Nullable(Int),
  package: Nullable(z.string()),
  availableVersion: Nullable(z.string()),
  cve: Nullable(z.string()),
  reason: z.string(),
  owner: z.string(),
  createdAt: z.string(),
  createdBy: z.string(),
  expiresAt: z.string(),
  removedAt: Nullable(z.string()),
  removedBy: Nullable(z.string()),
  state: z.enum(['active', 'expired', 'removed']),
});

export const ComplianceHost = z.object({
  hostId: Int,
  name: z.string(),
  address: Nullable(z.string()),
  os: Nullable(z.string()),
  /** The newest audit of any outcome. */
  lastAudit: Nullable(
    z.object({
      auditId: Int,
      status: z.string(),
      startedAt: z.string(),
      finishedAt: Nullable(z.string()),
      errorMessage: Nullable(z.string()),
    }),
  ),
  /** The newest successful audit: the findings below are its. */
  currentAuditId: Nullable(Int),
  currentAuditAt: Nullable(z.string()),
  advisoryData: z.object({
    /** When the advisory data last judged this host's findings. */
    judgedAt: Nullable(z.string()),
    /** The advisory files its findings' evidence comes from (none matched: the files in use when it was judged). */
    sourceIds: z.array(Int),
    /** Whole days from the oldest of those files (else the judging) to asOf; null: never judged. */
    ageDays: Nullable(Int),
  }),
  findings: z.array(ComplianceFinding),
  /** Open findings not listed because of the bounds (COMPLIANCE_LIMITS); counted in the totals. */
  findingsOmitted: Int,
  /** Pending updates of the current audit that no advisory made security relevant. */
  otherPendingUpdates: Int,
  steps: z.array(ComplianceStep),
  exceptions: z.array(ComplianceException),
});

export const ComplianceJob = z.object({
  jobId: Int,
  name: z.string(),
  status: z.string(),
  rebootPolicy: z.string(),
  createdAt: z.string(),
  approvedBy: Nullable(z.string()),
  approvedAt: Nullable(z.string()),
  /** The `job.approve` audit-log entry and the plan digest it recorded. */
  approvalLogId: Nullable(Int),
  planDigest: Nullable(z.string()),
  startedAt: Nullable(z.string()),
  finishedAt: Nullable(z.string()),
  handedOffTo: Nullable(z.string()),
  hostIds: z.array(Int),
});

export const ComplianceLogEntry = z.object({
  logId: Int,
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  entityType: Nullable(z.string()),
  entityId: Nullable(z.string()),
  /** The entry's details as JSON text, cut at COMPLIANCE_LIMITS.logDetails characters. */
  details: z.string(),
});

export const ComplianceReport = z.object({
  kind: z.literal('compliance'),
  from: z.string(),
  to: z.string(),
  asOf: z.string(),
  hostIds: Nullable(z.array(Int)),
  totals: z.object({
    hosts: Int,
    auditedHosts: Int,
    openFindings: Int,
    overdueFindings: Int,
    jobs: Int,
    steps: Int,
    stepsVerified: Int,
    exceptions: Int,
    logEntries: Int,
  }),
  advisorySources: z.array(AdvisorySourceRef),
  hosts: z.array(ComplianceHost),
  jobs: z.array(ComplianceJob),
  /** Exceptions of no single host (a CVE or a package everywhere) in force during the period. */
  siteExceptions: z.array(ComplianceException),
  auditLog: z.array(ComplianceLogEntry),
  /** Log entries of the period and these hosts/jobs not listed because of the bound. */
  auditLogOmitted: Int,
});
export type ComplianceReport = z.infer<typeof ComplianceReport>;

type Row = Record<string, unknown>;
const DAY_MS = 86_400_000;
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const ageDays = (asOfMs: number, iso: string | null): number | null => {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? Math.max(0, Math.floor((asOfMs - t) / DAY_MS)) : null;
};
function parseJson<T>(text: unknown, fallback: T): T {
  if (typeof text !== 'string') return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

function exceptionOf(r: Row, now: string): z.infer<typeof ComplianceException> {
  const removedAt = str(r.removed_at);
  return {
    exceptionId: r.id as number,
    scope: r.scope as z.infer<typeof ComplianceException>['scope'],
    decision: r.decision as 'accept' | 'defer',
    hostId: (r.host_id as number | null) ?? null,
    package: str(r.package),
    availableVersion: str(r.available_version),
    cve: str(r.cve),
    reason: r.reason as string,
    owner: r.owner as string,
    createdAt: r.created_at as string,
    createdBy: r.created_by as string,
    expiresAt: r.expires_at as string,
    removedAt,
    removedBy: str(r.removed_by),
    state: removedAt ? 'removed' : (r.expires_at as string) <= now ? 'expired' : 'active',
  };
}

/** The hosts' newest successful audit each. */
const CURRENT_AUDITS = `SELECT id, host_id, started_at FROM (SELECT id, host_id, started_at,
  row_number() OVER (PARTITION BY host_id ORDER BY started_at DESC, id DESC) AS rn
  FROM audits WHERE status = 'succeeded') WHERE rn = 1`;

export function buildComplianceReport(db: Database, range: ReportRange, clock: Clock): ComplianceReport {
  const asOfMs = clock.now();
  const asOf = new Date(asOfMs).toISOString();
  const hosts = hostsParam(range);
  const inScope = (col: string): string =>
    `(@hosts IS NULL OR ${col} IN (SELECT value FROM json_each(@hosts)))`;
  const p = { hosts, now: asOf, from: range.fromIso, until: range.untilIso };
  const settings = readSettings(db);

  const advisorySources = (
    db
      .prepare(
        `SELECT id, feed, publisher, file_name, sha256, published_at, imported_at, superseded_at
         FROM advisory_sources ORDER BY feed, id`,
      )
      .all() as Row[]
  ).map((r) => ({
    sourceId: r.id as number,
    feed: r.feed as string,
    publisher: r.publisher as string,
    fileName: r.file_name as string,
    sha256: r.sha256 as string,
    publishedAt: str(r.published_at),
    importedAt: r.imported_at as string,
    ageDays: ageDays(asOfMs, str(r.published_at) ?? (r.imported_at as string)) ?? 0,
    superseded: r.superseded_at !== null,
  }));
  const sourceDate = new Map(advisorySources.map((s) => [s.sourceId, s.publishedAt ?? s.importedAt]));

  // ---- Jobs touching these hosts in the period ----
  const jobRows = db
    .prepare(
      `SELECT DISTINCT j.* FROM patch_jobs j JOIN job_steps s ON s.job_id = j.id
       WHERE ${inScope('s.host_id')} AND (
         (j.created_at >= @from AND j.created_at < @until) OR (j.approved_at >= @from AND j.approved_at < @until)
         OR (s.started_at >= @from AND s.started_at < @until) OR (s.finished_at >= @from AND s.finished_at < @until)
         OR (j.finished_at >= @from AND j.finished_at < @until) OR (j.handed_off_at >= @from AND j.handed_off_at < @until))
       ORDER BY j.id`,
    )
    .all(p) as Row[];
  const approval = db.prepare(
    `SELECT id, details FROM audit_log WHERE action = 'job.approve' AND entity_id = ? ORDER BY id DESC LIMIT 1`,
  );
  const jobIds = jobRows.map((j) => j.id as number);
  const stepRows = db
    .prepare(
      `SELECT * FROM job_steps WHERE job_id IN (SELECT value FROM json_each(@jobs)) AND ${inScope('host_id')}
       ORDER BY job_id, id`,
    )
    .all({ ...p, jobs: JSON.stringify(jobIds) }) as Row[];
  const jobs = jobRows.map((j) => {
    const log = approval.get(String(j.id)) as Row | undefined;
    const details = parseJson<Row>(log?.details, {});
    return {
      jobId: j.id as number,
      name: j.name as string,
      status: j.status as string,
      rebootPolicy: j.reboot_policy as string,
      createdAt: j.created_at as string,
      approvedBy: str(j.approved_by),
      approvedAt: str(j.approved_at),
      approvalLogId: (log?.id as number | undefined) ?? null,
      planDigest: typeof details.digest === 'string' ? details.digest : null,
      startedAt: str(j.started_at),
      finishedAt: str(j.finished_at),
      handedOffTo: str(j.handed_off_to),
      hostIds: stepRows.filter((s) => s.job_id === j.id).map((s) => s.host_id as number),
    };
  });

  // ---- Exceptions ----
  const exceptionRows = db
    .prepare(
      `SELECT * FROM finding_exceptions WHERE created_at < @until AND expires_at >= @from
         AND (removed_at IS NULL OR removed_at >= @from)
         AND (host_id IS NULL OR ${inScope('host_id')}) ORDER BY id`,
    )
    .all(p) as Row[];
  const exceptions = exceptionRows.map((r) => exceptionOf(r, asOf));

  // ---- Hosts ----
  const hostRows = db
    .prepare(
      `SELECT h.id, h.name, h.address, h.os_name, h.os_version,
         c.id AS current_id, c.started_at AS current_at, a.os_name AS audit_os, a.os_version AS audit_os_version
       FROM hosts h LEFT JOIN (${CURRENT_AUDITS}) c ON c.host_id = h.id LEFT JOIN audits a ON a.id = c.id
       WHERE ${inScope('h.id')} ORDER BY h.name COLLATE NOCASE, h.id`,
    )
    .all(p) as Row[];
  const lastAudit = db.prepare(
    `SELECT id, status, started_at, finished_at, error_message FROM audits WHERE host_id = ?
     ORDER BY started_at DESC, id DESC LIMIT 1`,
  );
  const openFindings = db.prepare(
    `SELECT f.*, ${HAS_ACTIVE_ACCEPT} AS accepted, ${HAS_ACTIVE_EXCEPTION} AS excepted FROM findings f WHERE f.audit_id = @audit AND f.tier IS NOT NULL
     ORDER BY CASE f.tier WHEN 'kev' THEN 0 WHEN 'critical' THEN 1 WHEN 'high' THEN 2 WHEN 'medium' THEN 3 ELSE 4 END,
       f.due_at IS NULL, f.due_at, f.package, f.id`,
  );
  const otherCount = db.prepare(`SELECT count(*) AS n FROM findings WHERE audit_id = ? AND tier IS NULL`);
  const judged = db.prepare(`SELECT max(intel_at) AS judged_at FROM findings WHERE audit_id = ?`);
  const sourcesOf = db.prepare(
    `SELECT DISTINCT c.source_id AS id FROM finding_cves c JOIN findings f ON f.id = c.finding_id
     WHERE f.audit_id = ? AND c.source_id IS NOT NULL ORDER BY c.source_id`,
  );

  let openTotal = 0;
  let listed = 0;
  let overdueTotal = 0;
  const hostSections = hostRows.map((h) => {
    const hostId = h.id as number;
    const last = lastAudit.get(hostId) as Row | undefined;
    const auditId = (h.current_id as number | null) ?? null;
    let findings: z.infer<typeof ComplianceFinding>[] = [];
    let omitted = 0;
    let other = 0;
    let judgedAt: string | null = null;
    let sourceIds: number[] = [];
    if (auditId !== null) {
      const rows = openFindings.all({ audit: auditId, now: asOf }) as Row[];
      const room = Math.max(
        0,
        Math.min(COMPLIANCE_LIMITS.findingsPerHost, COMPLIANCE_LIMITS.findings - listed),
      );
      omitted = Math.max(0, rows.length - room);
      listed += Math.min(rows.length, room);
      findings = rows.slice(0, room).map((f) => {
        const evidence = findingEvidence(db, f.id as number, { clock, settings });
        return {
          findingId: f.id as number,
          auditId,
          kind: f.kind as string,
          package: f.package as string,
          arch: str(f.arch),
          installedVersion: str(f.installed_version),
          availableVersion: f.available_version as string,
          tier: f.tier as z.infer<typeof ComplianceFinding>['tier'],
          dueAt: evidence.dueAt,
          overdue: evidence.overdue,
          cves: parseJson<string[]>(f.cves, []),
          kev: f.kev === 1,
          epss: (f.epss as number | null) ?? null,
          accepted: f.accepted === 1,
          evidence,
        };
      });
      const open = rows.filter((f) => f.accepted !== 1);
      openTotal += open.length;
      overdueTotal += open.filter(
        (f) => f.due_at !== null && (f.due_at as string) < asOf && f.excepted !== 1,
      ).length;
      other = (otherCount.get(auditId) as { n: number }).n;
      judgedAt = str((judged.get(auditId) as Row).judged_at);
      sourceIds = (sourcesOf.all(auditId) as { id: number }[]).map((r) => r.id);
      // No finding matched an advisory: it was judged with every file in use then.
      if (sourceIds.length === 0 && judgedAt !== null)
        sourceIds = advisorySources
          .filter((x) => !x.superseded && x.importedAt <= judgedAt!)
          .map((x) => x.sourceId);
    }
    const dates = sourceIds
      .map((id) => sourceDate.get(id))
      .filter((d): d is string => !!d)
      .sort();
    const os = str(h.audit_os ?? h.os_name);
    const osVersion = str(h.audit_os ? h.audit_os_version : h.os_version);
    return {
      hostId,
      name: h.name as string,
      address: str(h.address),
      os: os ? (osVersion ? `${os} ${osVersion}` : os) : null,
      lastAudit: last
        ? {
            auditId: last.id as number,
            status: last.status as string,
            startedAt: last.started_at as string,
            finishedAt: str(last.finished_at),
            errorMessage: str(last.error_message),
          }
        : null,
      currentAuditId: auditId,
      currentAuditAt: str(h.current_at),
      advisoryData: { judgedAt, sourceIds, ageDays: ageDays(asOfMs, dates[0] ?? judgedAt) },
      findings,
      findingsOmitted: omitted,
      otherPendingUpdates: other,
      steps: stepRows.filter((s) => s.host_id === hostId).map(stepOf),
      exceptions: exceptions.filter((e) => e.hostId === hostId),
    };
  });

  // ---- Audit log excerpt: the period's entries about these hosts, their audits, the jobs, the exceptions ----
  const auditIds = db
    .prepare(
      `SELECT id FROM audits WHERE ${inScope('host_id')} AND started_at >= @from AND started_at < @until`,
    )
    .all(p)
    .map((r) => String((r as { id: number }).id));
  const logWhere = `FROM audit_log WHERE at >= @from AND at < @until AND (
      (entity_type = 'host' AND entity_id IN (SELECT CAST(value AS TEXT) FROM json_each(@hosts)))
      OR (entity_type IN ('patch_job', 'job') AND entity_id IN (SELECT value FROM json_each(@jobs)))
      OR (entity_type = 'audit' AND entity_id IN (SELECT value FROM json_each(@audits)))
      OR (entity_type = 'exception' AND entity_id IN (SELECT value FROM json_each(@exceptions))))`;
  const lp = {
    ...p,
    jobs: JSON.stringify(jobIds.map(String)),
    audits: JSON.stringify(auditIds),
    exceptions: JSON.stringify(exceptions.map((e) => String(e.exceptionId))),
  };
  const logCount = (db.prepare(`SELECT count(*) AS n ${logWhere}`).get(lp) as { n: number }).n;
  const auditLog = (
    db
      .prepare(
        `SELECT id, at, actor, action, entity_type, entity_id, details ${logWhere} ORDER BY id LIMIT @limit`,
      )
      .all({ ...lp, limit: COMPLIANCE_LIMITS.logEntries }) as Row[]
  ).map((r) => {
    const details = String(r.details ?? '{}');
    return {
      logId: r.id as number,
      at: r.at as string,
      actor: r.actor as string,
      action: r.action as string,
      entityType: str(r.entity_type),
      entityId: str(r.entity_id),
      details:
        details.length > COMPLIANCE_LIMITS.logDetails
          ? `${details.slice(0, COMPLIANCE_LIMITS.logDetails)}…`
          : details,
    };
  });

  const steps = hostSections.flatMap((h) => h.steps);
  return ComplianceReport.parse({
    kind: 'compliance',
    from: range.from,
    to: range.to,
    asOf,
    hostIds: range.hostIds,
    totals: {
      hosts: hostSections.length,
      auditedHosts: hostSections.filter((h) => h.currentAuditId !== null).length,
      openFindings: openTotal,
      overdueFindings: overdueTotal,
      jobs: jobs.length,
      steps: steps.length,
      stepsVerified: steps.filter((s) => s.verification.matchesPlan === true).length,
      exceptions: exceptions.length,
      logEntries: logCount,
    },
    advisorySources,
    hosts: hostSections,
    jobs,
    siteExceptions: exceptions.filter((e) => e.hostId === null),
    auditLog,
    auditLogOmitted: Math.max(0, logCount - auditLog.length),
  });
}

function stepOf(s: Row): z.infer<typeof ComplianceStep> {
  const packages = parseJson<{ name: string; from?: string | null; to: string }[]>(s.packages, []).map(
    (x) => ({ name: String(x.name), from: x.from ?? null, to: String(x.to) }),
  );
  const after = parseJson<Record<string, string | null> | null>(s.after_versions, null);
  const mismatches = after
    ? packages
        .filter((x) => (after[x.name] ?? null) !== x.to)
        .map((x) => `${x.name}: approved ${x.to}, found ${after[x.name] ?? 'not installed'}`)
    : [];
  return {
    jobId: s.job_id as number,
    stepId: s.id as number,
    status: s.status as string,
    startedAt: str(s.started_at),
    finishedAt: str(s.finished_at),
    packageManager: str(s.package_manager),
    packages,
    errorKind: str(s.error_kind),
    errorMessage: str(s.error_message),
    verification: {
      verifyAuditId: (s.verify_audit_id as number | null) ?? null,
      afterVersions: after,
      matchesPlan: after ? mismatches.length === 0 : null,
      mismatches,
    },
  };
}
