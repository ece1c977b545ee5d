/**
 * Test support: a small client workspace for the report tests, written through the same
 * functions an audit, the enrichment, an exception and a patch job use (src/db/testing helpers,
 * the intel snapshot helpers), with dates set as if it had run over two months.
 */
import type { Database } from 'better-sqlite3';
import { DEFAULT_SETTINGS } from '../../api';
import {
  createMemoryWorkspace,
  insertException,
  insertHost,
  listSteps,
  updateJob,
  updateStep,
} from '../../db';
import { DEBIAN_12, packageFinding, recordAudit } from '../../db/testing/audits';
import { insertTestJob } from '../../db/testing/jobs';
import type { FindingInput } from '../../db/audits';
import { enrichAudit } from '../../intel/enrich';
import { addKev, addSource, dateAudit } from '../../intel/testing/snapshot';
import { ManualClock } from '../../util';

export const REPORT_NOW = '2026-11-30T12:00:00.000Z';
export const HOSTILE_NAME = `<img src=x onerror="alert(1)">&'pc"`;

const update = (pkg: string, security: boolean, extra: Partial<FindingInput> = {}): FindingInput =>
  packageFinding({
    package: pkg,
    arch: 'amd64',
    installedVersion: '1.0-1',
    availableVersion: '1.0-1+deb12u1',
    repository: security ? 'bookworm-security' : 'bookworm-updates',
    security,
    ...extra,
  });

export interface ReportWorkspace {
  db: Database;
  hosts: Record<'office' | 'srvA' | 'srvB' | 'srvC' | 'hostile', number>;
  jobId: number;
}

/** Audits a host at `at` (judged then, as an audit is), returning the audit's id. */
function auditAt(db: Database, hostId: number, at: string, findings: FindingInput[]): number {
  const id = recordAudit(db, hostId, DEBIAN_12, 'apt', findings);
  dateAudit(db, id, at);
  enrichAudit(db, id, { clock: new ManualClock(at), settings: DEFAULT_SETTINGS });
  return id;
}

/** The client workspace in memory. */
export function reportWorkspace(): ReportWorkspace {
  return fillReportWorkspace(createMemoryWorkspace());
}

/** The client's rows written into `db` (a new, empty workspace: a file for the CLI tests). */
export function fillReportWorkspace(db: Database): ReportWorkspace {
  const kev = addSource(db, { feed: 'kev', publisher: 'CISA', publishedAt: '2026-11-28T00:00:00.000Z' });
  addKev(db, kev, 'CVE-2024-1111', { dateAdded: '2024-05-01', dueDate: '2026-11-10' });
  addKev(db, kev, 'CVE-2024-2222', { dateAdded: '2024-06-01', dueDate: '2026-12-20' });
  const hosts = {
    office: insertHost(db, { name: 'OFFICE-PC3' }).id,
    srvA: insertHost(db, { name: 'srv-a' }).id,
    srvB: insertHost(db, { name: 'srv-b' }).id,
    srvC: insertHost(db, { name: 'srv-c' }).id,
    hostile: insertHost(db, { name: HOSTILE_NAME }).id,
  };
  const openssl = update('openssl', true, { advisories: ['CVE-2024-1111'] });
  const curl = update('curl', true, { severity: 'critical' });
  const zlib = update('zlib1g', true, { severity: 'important' });
  const libx = update('libx11-6', true, { severity: 'critical' });
  // OFFICE-PC3: curl and vim installed between its two audits.
  auditAt(db, hosts.office, '2026-10-20T09:00:00.000Z', [openssl, curl, update('vim', false), zlib]);
  auditAt(db, hosts.office, '2026-11-15T09:00:00.000Z', [openssl, zlib, libx]);
  // srv-a: the known-exploited bash fix installed; tar accepted; nginx new.
  auditAt(db, hosts.srvA, '2026-09-01T09:00:00.000Z', [
    update('bash', true, { advisories: ['CVE-2024-2222'] }),
    update('tar', true, { severity: 'moderate' }),
  ]);
  auditAt(db, hosts.srvA, '2026-11-20T09:00:00.000Z', [
    update('tar', true, { severity: 'moderate' }),
    update('nginx', true, { severity: 'low' }),
  ]);
  // srv-b: audited twice, the last over 30 days ago (gzip installed between them, before the
  // period); a failed audit in the period says nothing.
  auditAt(db, hosts.srvB, '2026-10-01T09:00:00.000Z', [
    openssl,
    update('perl', true, { severity: 'critical' }),
    update('gzip', false),
  ]);
  auditAt(db, hosts.srvB, '2026-10-25T09:00:00.000Z', [
    openssl,
    update('perl', true, { severity: 'critical' }),
  ]);
  db.prepare(
    `INSERT INTO audits (host_id, status, started_at, finished_at, error_kind, error_message)
     VALUES (?, 'failed', '2026-11-26T09:00:00.000Z', '2026-11-26T09:00:05.000Z', 'network', 'no route')`,
  ).run(hosts.srvB);
  auditAt(db, hosts.hostile, '2026-11-05T09:00:00.000Z', [update('sudo', true, { severity: 'critical' })]);

  insertException(db, {
    scope: 'package',
    decision: 'accept',
    hostId: null,
    package: 'tar',
    availableVersion: null,
    cve: null,
    reason: 'the vendor pins tar <b>1.34</b>',
    owner: 'Dana',
    expiresAt: '2027-01-10T00:00:00.000Z',
    createdAt: '2026-11-02T00:00:00.000Z',
    createdBy: 'dana',
  });
  insertException(db, {
    scope: 'host-package',
    decision: 'defer',
    hostId: hosts.office,
    package: 'zlib1g',
    availableVersion: null,
    cve: null,
    reason: 'month-end close',
    owner: 'Sam',
    expiresAt: '2026-12-05T00:00:00.000Z',
    createdAt: '2026-11-03T00:00:00.000Z',
    createdBy: 'sam',
  });
  // An expired exception applies no more.
  insertException(db, {
    scope: 'package',
    decision: 'accept',
    hostId: null,
    package: 'perl',
    availableVersion: null,
    cve: null,
    reason: 'old',
    owner: 'Sam',
    expiresAt: '2026-11-01T00:00:00.000Z',
    createdAt: '2026-10-01T00:00:00.000Z',
    createdBy: 'sam',
  });

  const pkgs = (names: string[]) =>
    names.map((name) => ({ name, arch: 'amd64', from: '1.0-1', to: '1.0-1+deb12u1', security: true }));
  const jobId = insertTestJob(db, [hosts.office, hosts.srvA], {
    name: 'November patching',
    packages: pkgs(['curl', 'vim']),
  });
  const [office, srvA] = listSteps(db, jobId);
  updateStep(db, office!.id, {
    status: 'succeeded',
    startedAt: '2026-11-14T20:00:00.000Z',
    finishedAt: '2026-11-14T20:05:00.000Z',
  });
  updateStep(db, srvA!.id, {
    status: 'failed',
    errorMessage: 'dpkg lock',
    startedAt: '2026-11-14T20:00:00.000Z',
    finishedAt: '2026-11-14T20:01:00.000Z',
  });
  updateJob(db, jobId, { status: 'failed', finishedAt: '2026-11-14T20:05:00.000Z' });
  // A job of October is not in the period.
  const old = insertTestJob(db, [hosts.srvB], { name: 'October', packages: pkgs(['perl']) });
  updateStep(db, listSteps(db, old)[0]!.id, { status: 'succeeded', finishedAt: '2026-10-10T10:00:00.000Z' });
  return { db, hosts, jobId };
}
