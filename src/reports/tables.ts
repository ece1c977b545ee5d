import type { Database } from 'better-sqlite3';
import type { ReportTable } from '../api';
import { HAS_ACTIVE_ACCEPT, HAS_ACTIVE_EXCEPTION, APPLIED_EXCEPTION_ID } from '../db';
import { csvLine, type CsvValue } from '../util';
import { hostsParam, type ReportRange } from './types';

/**
 * The reports' CSV tables, for the spreadsheets and dashboards auditors and MSPs already use: one
 * row per finding (of each host's newest successful audit), per host, or per patch-job step in the
 * period. RFC 4180 with CRLF, every cell quoted and formula-safe (src/util/csv.ts: package names,
 * repositories and host names come from the hosts). Each column is declared once below, with the
 * type its cells hold, and docs/schemas/csv-<table>.schema.json is generated from these lists
 * (`npm run report-schemas`), so a column added here without its schema fails a test.
 */

/** What a column's cells hold: the JSON Schema of a row says the same. */
export type CsvType = 'int' | 'number' | 'text' | 'time' | 'yesno';
export interface CsvColumn {
  name: string;
  type: CsvType;
  /** May be empty (no value). */
  optional?: boolean;
  description: string;
}

const col = (name: string, type: CsvType, description: string, optional = false): CsvColumn => ({
  name,
  type,
  description,
  optional,
});

/** A table stops here: about 40 MB of text, which a spreadsheet still opens. */
export const REPORT_CSV_LIMIT = 200_000;

export const CSV_COLUMNS: Record<ReportTable, readonly CsvColumn[]> = {
  findings: [
    col('finding_id', 'int', 'The finding record (findings.id).'),
    col('audit_id', 'int', 'The audit that found it: the host’s newest successful audit.'),
    col('audit_at', 'time', 'When that audit started.'),
    col('host_id', 'int', 'The host record.'),
    col('host', 'text', 'The host’s name.'),
    col('address', 'text', 'The host’s address.', true),
    col('os', 'text', 'The operating system the audit read.', true),
    col('kind', 'text', 'package, or kb for a Windows update.'),
    col('package', 'text', 'The package (or KB) with an update pending.'),
    col('arch', 'text', 'Its architecture.', true),
    col('installed_version', 'text', 'The version installed.', true),
    col('available_version', 'text', 'The version offered.'),
    col('repository', 'text', 'Where the update comes from.', true),
    col('security', 'yesno', 'The package manager marks it as a security update.'),
    col(
      'tier',
      'text',
      'kev, critical, high, medium or low as the advisory data judged it; empty: not a security update.',
      true,
    ),
    col('cves', 'text', 'The CVEs it fixes, space separated.', true),
    col('known_exploited', 'yesno', 'One of its CVEs is in CISA’s known-exploited catalogue.'),
    col('epss', 'number', 'The highest EPSS score of its CVEs.', true),
    col('first_seen_at', 'time', 'When an audit first saw this update pending.', true),
    col('due_at', 'time', 'When it is due (from its tier and the workspace’s fix-within days).', true),
    col('overdue', 'yesno', 'Past its due date with no exception covering it.'),
    col('exception_id', 'int', 'The exception that covers it now.', true),
    col('exception_decision', 'text', 'accept or defer.', true),
    col('judged_at', 'time', 'When the advisory data last judged it.', true),
  ],
  hosts: [
    col('host_id', 'int', 'The host record.'),
    col('host', 'text', 'The host’s name.'),
    col('address', 'text', 'The host’s address.', true),
    col('mac', 'text', 'Its MAC address.', true),
    col('os', 'text', 'The operating system (from its newest successful audit, else discovery).', true),
    col('tags', 'text', 'Its tags, space separated.', true),
    col('last_audit_id', 'int', 'Its newest audit of any outcome.', true),
    col('last_audit_at', 'time', 'When that audit started.', true),
    col('last_audit_status', 'text', 'succeeded, failed, cancelled, interrupted or running.', true),
    col('current_audit_id', 'int', 'Its newest successful audit: the counts below are its.', true),
    col('current_audit_at', 'time', 'When that audit started.', true),
    col('pending_updates', 'int', 'Updates pending in that audit.'),
    col('open_security', 'int', 'Of those, the ones with a tier and no active accept.'),
    col('known_exploited', 'int', 'Open ones in the kev tier.'),
    col('critical', 'int', 'Open ones in the critical tier.'),
    col('high', 'int', 'Open ones in the high tier.'),
    col('medium', 'int', 'Open ones in the medium tier.'),
    col('low', 'int', 'Open ones in the low tier.'),
    col('overdue', 'int', 'Open ones past their due date with no exception.'),
    col('judged_at', 'time', 'When the advisory data last judged its findings.', true),
  ],
  jobs: [
    col('job_id', 'int', 'The patch job.'),
    col('job_name', 'text', 'Its name.'),
    col('job_status', 'text', 'Its status.'),
    col('reboot_policy', 'text', 'never, if-required or always.'),
    col('approved_by', 'text', 'Who approved its plan.', true),
    col('approved_at', 'time', 'When.', true),
    col('approval_log_id', 'int', 'The job.approve audit-log entry.', true),
    col('plan_digest', 'text', 'The digest of the approved plan, from that entry.', true),
    col('handed_off_to', 'text', 'ansible when the job was handed to Ansible.', true),
    col('step_id', 'int', 'The job step (one host).'),
    col('host_id', 'int', 'The host record.'),
    col('host', 'text', 'The host’s name.'),
    col('step_status', 'text', 'The step’s outcome.'),
    col('started_at', 'time', 'When the step started.', true),
    col('finished_at', 'time', 'When it finished.', true),
    col('packages', 'text', 'The approved name=version list, space separated.', true),
    col('verify_audit_id', 'int', 'The audit that re-read the host after the install.', true),
    col(
      'verified',
      'yesno',
      'Every approved package was found at its approved version afterwards; empty: not read.',
      true,
    ),
    col('error', 'text', 'The step’s error message.', true),
  ],
};

type Row = Record<string, unknown>;
const inScope = (column: string): string =>
  `(@hosts IS NULL OR ${column} IN (SELECT value FROM json_each(@hosts)))`;
const CURRENT_AUDITS = `SELECT id, host_id, started_at FROM (SELECT id, host_id, started_at,
  row_number() OVER (PARTITION BY host_id ORDER BY started_at DESC, id DESC) AS rn
  FROM audits WHERE status = 'succeeded') WHERE rn = 1`;
const yesNo = (v: unknown): string => (v ? 'yes' : 'no');
const words = (json: unknown): string => {
  try {
    const list = JSON.parse(String(json ?? '[]')) as unknown;
    return Array.isArray(list) ? list.map(String).join(' ') : '';
  } catch {
    return '';
  }
};
const osOf = (name: unknown, version: unknown): string | null =>
  name ? (version ? `${String(name)} ${String(version)}` : String(name)) : null;

function findingsRows(db: Database, p: Row): Iterable<CsvValue[]> {
  const statement = db.prepare(
    `SELECT f.*, c.started_at AS audit_at, h.name AS host_name, h.address AS host_address,
       a.os_name, a.os_version, ${APPLIED_EXCEPTION_ID} AS exception_id,
       (f.due_at IS NOT NULL AND f.due_at < @now AND NOT ${HAS_ACTIVE_EXCEPTION}) AS overdue
     FROM findings f JOIN (${CURRENT_AUDITS}) c ON c.id = f.audit_id JOIN hosts h ON h.id = f.host_id
     JOIN audits a ON a.id = f.audit_id
     WHERE ${inScope('f.host_id')}
     ORDER BY h.name COLLATE NOCASE, h.id, f.tier IS NULL,
       CASE f.tier WHEN 'kev' THEN 0 WHEN 'critical' THEN 1 WHEN 'high' THEN 2 WHEN 'medium' THEN 3 ELSE 4 END,
       f.package, f.id`,
  );
  const decision = db.prepare('SELECT decision FROM finding_exceptions WHERE id = ?').pluck();
  return (function* () {
    for (const f of statement.iterate(p) as Iterable<Row>) {
      const exceptionId = (f.exception_id as number | null) ?? null;
      yield [
        f.id as number,
        f.audit_id as number,
        f.audit_at as string,
        f.host_id as number,
        f.host_name as string,
        f.host_address as string | null,
        osOf(f.os_name, f.os_version),
        f.kind as string,
        f.package as string,
        f.arch as string | null,
        f.installed_version as string | null,
        f.available_version as string,
        f.repository as string | null,
        yesNo(f.security),
        f.tier as string | null,
        words(f.cves),
        yesNo(f.kev),
        f.epss as number | null,
        f.first_seen_at as string | null,
        f.due_at as string | null,
        yesNo(f.overdue),
        exceptionId,
        exceptionId === null ? null : (decision.get(exceptionId) as string),
        f.intel_at as string | null,
      ];
    }
  })();
}

function hostsRows(db: Database, p: Row): Iterable<CsvValue[]> {
  const open = `f.tier IS NOT NULL AND NOT ${HAS_ACTIVE_ACCEPT}`;
  const statement = db.prepare(
    `SELECT h.id, h.name, h.address, h.mac, h.tags, h.os_name AS host_os, h.os_version AS host_os_version,
       l.id AS last_id, l.started_at AS last_at, l.status AS last_status,
       c.id AS current_id, c.started_at AS current_at, a.os_name, a.os_version,
       (SELECT count(*) FROM findings f WHERE f.audit_id = c.id) AS pending,
       (SELECT count(*) FROM findings f WHERE f.audit_id = c.id AND ${open}) AS open_security,
       (SELECT count(*) FROM findings f WHERE f.audit_id = c.id AND ${open} AND f.tier = 'kev') AS kev,
       (SELECT count(*) FROM findings f WHERE f.audit_id = c.id AND ${open} AND f.tier = 'critical') AS critical,
       (SELECT count(*) FROM findings f WHERE f.audit_id = c.id AND ${open} AND f.tier = 'high') AS high,
       (SELECT count(*) FROM findings f WHERE f.audit_id = c.id AND ${open} AND f.tier = 'medium') AS medium,
       (SELECT count(*) FROM findings f WHERE f.audit_id = c.id AND ${open} AND f.tier = 'low') AS low,
       (SELECT count(*) FROM findings f WHERE f.audit_id = c.id AND ${open}
          AND f.due_at IS NOT NULL AND f.due_at < @now AND NOT ${HAS_ACTIVE_EXCEPTION}) AS overdue,
       (SELECT max(f.intel_at) FROM findings f WHERE f.audit_id = c.id) AS judged_at
     FROM hosts h
     LEFT JOIN (${CURRENT_AUDITS}) c ON c.host_id = h.id
     LEFT JOIN audits a ON a.id = c.id
     LEFT JOIN audits l ON l.id = (SELECT x.id FROM audits x WHERE x.host_id = h.id ORDER BY x.started_at DESC, x.id DESC LIMIT 1)
     WHERE ${inScope('h.id')} ORDER BY h.name COLLATE NOCASE, h.id`,
  );
  return (function* () {
    for (const h of statement.iterate(p) as Iterable<Row>) {
      yield [
        h.id as number,
        h.name as string,
        h.address as string | null,
        h.mac as string | null,
        h.os_name ? osOf(h.os_name, h.os_version) : osOf(h.host_os, h.host_os_version),
        words(h.tags),
        h.last_id as number | null,
        h.last_at as string | null,
        h.last_status as string | null,
        h.current_id as number | null,
        h.current_at as string | null,
        h.pending as number,
        h.open_security as number,
        h.kev as number,
        h.critical as number,
        h.high as number,
        h.medium as number,
        h.low as number,
        h.overdue as number,
        h.judged_at as string | null,
      ];
    }
  })();
}

function jobsRows(db: Database, p: Row): Iterable<CsvValue[]> {
  const statement = db.prepare(
    `SELECT j.id AS job_id, j.name AS job_name, j.status AS job_status, j.reboot_policy, j.approved_by, j.approved_at,
       j.handed_off_to, s.id AS step_id, s.host_id, h.name AS host_name, s.status, s.started_at, s.finished_at,
       s.packages, s.after_versions, s.verify_audit_id, s.error_message,
       (SELECT l.id FROM audit_log l WHERE l.action = 'job.approve' AND l.entity_id = CAST(j.id AS TEXT) ORDER BY l.id DESC LIMIT 1) AS approval_id
     FROM job_steps s JOIN patch_jobs j ON j.id = s.job_id JOIN hosts h ON h.id = s.host_id
     WHERE ${inScope('s.host_id')} AND (
         (j.created_at >= @from AND j.created_at < @until) OR (j.approved_at >= @from AND j.approved_at < @until)
         OR (s.started_at >= @from AND s.started_at < @until) OR (s.finished_at >= @from AND s.finished_at < @until)
         OR (j.finished_at >= @from AND j.finished_at < @until) OR (j.handed_off_at >= @from AND j.handed_off_at < @until))
     ORDER BY j.id, s.id`,
  );
  const digest = db.prepare('SELECT details FROM audit_log WHERE id = ?').pluck();
  return (function* () {
    for (const s of statement.iterate(p) as Iterable<Row>) {
      const approvalId = (s.approval_id as number | null) ?? null;
      let planDigest: string | null = null;
      if (approvalId !== null) {
        try {
          const details = JSON.parse(String(digest.get(approvalId))) as { digest?: unknown };
          planDigest = typeof details.digest === 'string' ? details.digest : null;
        } catch {
          planDigest = null;
        }
      }
      const packages = parseList(s.packages);
      const after = parseAfter(s.after_versions);
      yield [
        s.job_id as number,
        s.job_name as string,
        s.job_status as string,
        s.reboot_policy as string,
        s.approved_by as string | null,
        s.approved_at as string | null,
        approvalId,
        planDigest,
        s.handed_off_to as string | null,
        s.step_id as number,
        s.host_id as number,
        s.host_name as string,
        s.status as string,
        s.started_at as string | null,
        s.finished_at as string | null,
        packages.map((x) => `${x.name}=${x.to}`).join(' '),
        s.verify_audit_id as number | null,
        after === null ? null : yesNo(packages.every((x) => (after[x.name] ?? null) === x.to)),
        s.error_message as string | null,
      ];
    }
  })();
}

function parseList(json: unknown): { name: string; to: string }[] {
  try {
    const list = JSON.parse(String(json ?? '[]')) as unknown;
    return Array.isArray(list)
      ? list.map((x: { name?: unknown; to?: unknown }) => ({ name: String(x?.name), to: String(x?.to) }))
      : [];
  } catch {
    return [];
  }
}

function parseAfter(json: unknown): Record<string, string | null> | null {
  if (typeof json !== 'string') return null;
  try {
    const value = JSON.parse(json) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, string | null>)
      : null;
  } catch {
    return null;
  }
}

const ROWS: Record<ReportTable, (db: Database, p: Row) => Iterable<CsvValue[]>> = {
  findings: findingsRows,
  hosts: hostsRows,
  jobs: jobsRows,
};

/**
 * One table of a report's range as CSV, header first. The findings and hosts tables are the
 * state now (each host's newest successful audit); the jobs table is the steps of the jobs that
 * touched those hosts in the period.
 */
export function reportCsv(
  db: Database,
  range: ReportRange,
  table: ReportTable,
  options: { now?: string; limit?: number } = {},
): string {
  const columns = CSV_COLUMNS[table];
  const p = {
    hosts: hostsParam(range),
    from: range.fromIso,
    until: range.untilIso,
    now: options.now ?? new Date().toISOString(),
  };
  const limit = options.limit ?? REPORT_CSV_LIMIT;
  const parts = [csvLine(columns.map((c) => c.name))];
  let n = 0;
  for (const row of ROWS[table](db, p)) {
    if (n++ >= limit) break;
    parts.push(csvLine(row));
  }
  return parts.join('');
}
