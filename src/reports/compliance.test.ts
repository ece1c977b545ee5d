import fs from 'node:fs';
import path from 'node:path';
import type { Database } from 'better-sqlite3';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, type ReportTable } from '../api';
import { createMemoryWorkspace, insertHost, listSteps, updateJob, updateStep } from '../db';
import { DEBIAN_12, packageFinding, recordAudit } from '../db/testing/audits';
import { ACME_SECURITY_UPDATE, insertTestJob } from '../db/testing/jobs';
import { addFindingException, enrichCurrentFindings } from '../intel';
import { ACME_PENDING, addAcmeSnapshot, dateAudit, TZDATA_PENDING } from '../intel/testing/snapshot';
import { ManualClock } from '../util';
import { buildComplianceReport, COMPLIANCE_LIMITS, ComplianceReport } from './compliance';
import { buildOwnerReport } from './owner';
import { REPORT_NOW, reportWorkspace } from './testing/workspace';
import { renderComplianceHtml } from './compliance-html';
import { reportJson } from './json';
import { reportSchemaFiles, schemaText } from './schemas';
import { CSV_COLUMNS, reportCsv } from './tables';
import { resolveRange, type ReportMeta } from './types';

// Real SQLite workspaces with real audits, a real advisory snapshot judged by src/intel, a job whose
// approval is in the append-only audit log; the published schemas read from docs/schemas/ as committed.

const SCHEMAS = path.resolve(import.meta.dirname, '../../docs/schemas');
const clock = new ManualClock('2026-11-20T10:00:00.000Z');
const HOSTILE = '<img src=x onerror=alert(1)>&"PC"';
const FORMULA = '=HYPERLINK("http://evil.invalid","x")';
const META: ReportMeta = {
  generatedAt: '2026-11-20T10:00:00.000Z',
  generatedBy: 'auditor <b>',
  siteName: 'Acme Dental',
  workspacePath: '/tmp/acme.patchdeck',
  patchdeckVersion: '0.0.0-test',
};

/** An audit-log entry at a chosen instant (appendAuditLog stamps the wall clock; the log refuses updates). */
function logAt(
  db: Database,
  at: string,
  action: string,
  entityType: string,
  entityId: number,
  details: object,
): number {
  return Number(
    db
      .prepare(
        'INSERT INTO audit_log (at, actor, action, entity_type, entity_id, details) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(at, 'site admin', action, entityType, String(entityId), JSON.stringify(details)).lastInsertRowid,
  );
}

interface Site {
  db: Database;
  hosts: number[];
  jobId: number;
  approvalId: number;
  verifyAudit: number;
}

/** Three Debian hosts (one hostile name, one out of the chosen scope), judged findings, an approved job with a verified and a failed step. */
function site(): Site {
  const db = createMemoryWorkspace();
  addAcmeSnapshot(db, { kevDueDate: '2026-11-15', trackerPublishedAt: '2026-11-10T00:00:00.000Z' });
  const hosts: number[] = [];
  for (const [i, name] of [HOSTILE, FORMULA, 'reception'].entries()) {
    const id = insertHost(db, { name, address: `192.0.2.${10 + i}` }).id;
    const old = recordAudit(db, id, DEBIAN_12, 'apt', [ACME_PENDING]);
    dateAudit(db, old, `2026-11-0${i + 1}T09:00:00.000Z`);
    const audit = recordAudit(db, id, DEBIAN_12, 'apt', [ACME_PENDING, TZDATA_PENDING]);
    dateAudit(db, audit, `2026-11-1${i}T09:00:00.000Z`);
    hosts.push(id);
  }
  enrichCurrentFindings(db, { clock, settings: DEFAULT_SETTINGS });
  const jobId = insertTestJob(db, hosts.slice(0, 2), { packages: [ACME_SECURITY_UPDATE] });
  updateJob(db, jobId, {
    status: 'failed',
    approvedBy: 'site admin',
    approvedAt: '2026-11-12T08:00:00.000Z',
  });
  // An older approval of the same job (re-planned) and the one that counts.
  logAt(db, '2026-11-11T08:00:00.000Z', 'job.approve', 'patch_job', jobId, { digest: 'old-digest' });
  const approvalId = logAt(db, '2026-11-12T08:00:00.000Z', 'job.approve', 'patch_job', jobId, {
    digest: 'd1g3st',
  });
  logAt(db, '2026-11-12T08:01:00.000Z', 'host.trust', 'host', hosts[2]!, {});
  logAt(db, '2026-10-01T08:00:00.000Z', 'host.trust', 'host', hosts[0]!, { before: 'period' });
  const verifyAudit = recordAudit(db, hosts[0]!, DEBIAN_12, 'apt', []);
  dateAudit(db, verifyAudit, '2026-11-05T00:00:00.000Z'); // older than the current audit: findings stay those of 11-10
  for (const [i, step] of listSteps(db, jobId).entries())
    updateStep(db, step.id, {
      status: i === 0 ? 'succeeded' : 'failed',
      startedAt: '2026-11-12T09:00:00.000Z',
      finishedAt: '2026-11-12T09:05:00.000Z',
      after: { 'acme-tool': i === 0 ? '1.0-1+deb12u1' : '1.0-1' },
      verifyAuditId: i === 0 ? verifyAudit : null,
      errorMessage: i === 0 ? null : 'dpkg lock held',
    });
  addFindingException(
    db,
    {
      scope: 'host-package',
      hostId: hosts[1],
      package: 'acme',
      decision: 'defer',
      reason: 'clinic hours',
      owner: 'Dr A',
      expiresAt: '2026-12-31T00:00:00.000Z',
    },
    { clock, actor: 'site admin' },
  );
  return { db, hosts, jobId, approvalId, verifyAudit };
}

function ajv(): Ajv2020 {
  const a = new Ajv2020({ strict: true, allErrors: true });
  addFormats.default(a);
  return a;
}
const committed = (name: string): Record<string, unknown> =>
  JSON.parse(fs.readFileSync(path.join(SCHEMAS, name), 'utf8')) as Record<string, unknown>;

/** RFC 4180 reader for the test (quoted cells, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  expect(row.length === 0 && cell === '').toBe(true);
  return rows;
}

describe('the compliance report', () => {
  it('traces every figure to its record: audits, findings, the approval entry and its digest, steps and their verification', () => {
    const s = site();
    const range = resolveRange(
      s.db,
      { from: '2026-11-01', to: '2026-11-30', hostIds: s.hosts.slice(0, 2) },
      clock,
    );
    const report = buildComplianceReport(s.db, range, clock);
    expect(report.hosts.map((h) => h.hostId)).toEqual([...s.hosts.slice(0, 2)].sort((a, b) => a - b));
    for (const h of report.hosts) {
      const current = s.db
        .prepare(
          `SELECT id, started_at FROM audits WHERE host_id = ? AND status = 'succeeded' ORDER BY started_at DESC, id DESC LIMIT 1`,
        )
        .get(h.hostId) as { id: number; started_at: string };
      expect(h.currentAuditId).toBe(current.id);
      expect(h.currentAuditAt).toBe(current.started_at);
      const tiered = s.db
        .prepare(`SELECT id FROM findings WHERE audit_id = ? AND tier IS NOT NULL ORDER BY id`)
        .all(current.id) as { id: number }[];
      expect(h.findings.map((f) => f.findingId).sort()).toEqual(tiered.map((r) => r.id));
      const untiered = s.db
        .prepare(`SELECT count(*) AS n FROM findings WHERE audit_id = ? AND tier IS NULL`)
        .get(current.id) as { n: number };
      expect(h.otherPendingUpdates).toBe(untiered.n);
      for (const f of h.findings) {
        const row = s.db
          .prepare('SELECT audit_id, tier, due_at, package FROM findings WHERE id = ?')
          .get(f.findingId) as Record<string, unknown>;
        expect([f.auditId, f.tier, f.package]).toEqual([row.audit_id, row.tier, row.package]);
        expect(f.evidence.findingId).toBe(f.findingId);
        expect(f.evidence.cves.flatMap((c) => c.evidence.map((e) => e.advisoryId))).toContain(
          'DEBIAN:CVE-2026-1000:acme',
        );
      }
      // The tracker file of 2026-11-10 is the oldest file this host's evidence names: 10 days before asOf.
      const sources = s.db
        .prepare(
          `SELECT DISTINCT c.source_id AS id FROM finding_cves c JOIN findings f ON f.id = c.finding_id WHERE f.audit_id = ? ORDER BY 1`,
        )
        .all(current.id) as { id: number }[];
      expect(h.advisoryData.sourceIds).toEqual(sources.map((r) => r.id));
      expect(h.advisoryData.ageDays).toBe(10);
      expect(h.lastAudit?.auditId).toBe(current.id);
    }
    // The kev finding is overdue on the hostile-named host (CISA's date 11-15 passed), deferred on the other.
    const [a, b] = [s.hosts[0]!, s.hosts[1]!].map((id) => report.hosts.find((h) => h.hostId === id)!);
    expect(a!.findings.map((f) => [f.package, f.tier, f.overdue])).toEqual([['acme', 'kev', true]]);
    expect(b!.findings[0]!.overdue).toBe(false);
    expect(b!.exceptions.map((e) => [e.decision, e.reason, e.state])).toEqual([
      ['defer', 'clinic hours', 'active'],
    ]);
    expect(report.totals).toMatchObject({
      hosts: 2,
      auditedHosts: 2,
      openFindings: 2,
      overdueFindings: 1,
      jobs: 1,
      steps: 2,
      stepsVerified: 1,
      exceptions: 1,
    });

    expect(report.jobs).toEqual([
      expect.objectContaining({
        jobId: s.jobId,
        approvedBy: 'site admin',
        approvalLogId: s.approvalId,
        planDigest: 'd1g3st',
        status: 'failed',
      }),
    ]);
    const steps = report.hosts.flatMap((h) => h.steps);
    const ok = steps.find((x) => x.status === 'succeeded')!;
    const bad = steps.find((x) => x.status === 'failed')!;
    expect(ok.verification).toEqual({
      verifyAuditId: s.verifyAudit,
      afterVersions: { 'acme-tool': '1.0-1+deb12u1' },
      matchesPlan: true,
      mismatches: [],
    });
    expect(bad.verification.matchesPlan).toBe(false);
    expect(bad.verification.mismatches).toEqual(['acme-tool: approved 1.0-1+deb12u1, found 1.0-1']);
    expect(bad.errorMessage).toBe('dpkg lock held');

    // The log excerpt: the period's entries about these hosts, their audits and the job; not the
    // other host's, not before the period. Each is the record itself.
    for (const e of report.auditLog) {
      const row = s.db
        .prepare('SELECT at, action, entity_id FROM audit_log WHERE id = ?')
        .get(e.logId) as Record<string, unknown>;
      expect([e.at, e.action, e.entityId]).toEqual([row.at, row.action, row.entity_id]);
      expect(e.at >= range.fromIso && e.at < range.untilIso).toBe(true);
    }
    expect(report.auditLog.map((e) => e.action)).toEqual(expect.arrayContaining(['job.approve']));
    expect(report.auditLog.some((e) => e.entityType === 'host' && e.entityId === String(s.hosts[2]))).toBe(
      false,
    );
    expect(report.auditLog.some((e) => e.details.includes('before'))).toBe(false);
    expect(report.totals.logEntries).toBe(report.auditLog.length);
  });

  it('dates a host whose findings matched no advisory by the files in use when it was judged', () => {
    const s = site();
    const quiet = insertHost(s.db, { name: 'quiet', address: '192.0.2.40' }).id;
    const audit = recordAudit(s.db, quiet, DEBIAN_12, 'apt', [TZDATA_PENDING]);
    dateAudit(s.db, audit, '2026-11-18T00:00:00.000Z');
    enrichCurrentFindings(s.db, { clock, settings: DEFAULT_SETTINGS });
    const report = buildComplianceReport(s.db, resolveRange(s.db, { hostIds: [quiet] }, clock), clock);
    const inUse = s.db
      .prepare(
        `SELECT id FROM advisory_sources WHERE superseded_at IS NULL AND imported_at <= ? ORDER BY feed, id`,
      )
      .all(report.hosts[0]!.advisoryData.judgedAt) as { id: number }[];
    expect(inUse.length).toBe(2);
    expect(report.hosts[0]!.advisoryData.sourceIds).toEqual(inUse.map((r) => r.id));
    // The oldest of them is CISA's catalogue of 2026-11-01: 19 days before asOf.
    expect(report.hosts[0]!.advisoryData.ageDays).toBe(19);
  });

  it('lists at most COMPLIANCE_LIMITS.findingsPerHost findings of a host, and still counts them all', () => {
    const db = createMemoryWorkspace();
    const host = insertHost(db, { name: 'big', address: '192.0.2.50' }).id;
    const n = COMPLIANCE_LIMITS.findingsPerHost + 3;
    const updates = Array.from({ length: n }, (_, i) =>
      packageFinding({
        package: `pkg${i}`,
        arch: 'amd64',
        installedVersion: '1',
        availableVersion: '2',
        repository: 'security',
        security: true,
        severity: 'critical',
      }),
    );
    dateAudit(db, recordAudit(db, host, DEBIAN_12, 'apt', updates), '2026-11-01T00:00:00.000Z');
    enrichCurrentFindings(db, { clock, settings: DEFAULT_SETTINGS });
    const report = buildComplianceReport(db, resolveRange(db, {}, clock), clock);
    const [h] = report.hosts;
    expect(h!.findings).toHaveLength(COMPLIANCE_LIMITS.findingsPerHost);
    expect(h!.findingsOmitted).toBe(3);
    expect(report.totals.openFindings).toBe(n);
    expect(report.totals.overdueFindings).toBe(n);
    expect(renderComplianceHtml(report, META)).toContain(
      '3 more open findings are in the findings CSV export.',
    );
  });

  it('its count sentences agree in number: one more finding, one more log entry, one day old', () => {
    const db = createMemoryWorkspace();
    const host = insertHost(db, { name: 'big', address: '192.0.2.50' }).id;
    const updates = Array.from({ length: COMPLIANCE_LIMITS.findingsPerHost + 1 }, (_, i) =>
      packageFinding({
        package: `pkg${i}`,
        arch: 'amd64',
        installedVersion: '1',
        availableVersion: '2',
        repository: 'security',
        security: true,
        severity: 'critical',
      }),
    );
    dateAudit(db, recordAudit(db, host, DEBIAN_12, 'apt', updates), '2026-11-01T00:00:00.000Z');
    enrichCurrentFindings(db, { clock, settings: DEFAULT_SETTINGS });
    const report = buildComplianceReport(db, resolveRange(db, {}, clock), clock);
    expect(report.hosts[0]!.findingsOmitted).toBe(1);
    expect(renderComplianceHtml(report, META)).toContain(
      '1 more open finding is in the findings CSV export.',
    );
    // The log excerpt's and the advisory age's sentences, at one (the renderer's wording).
    const h = report.hosts[0]!;
    const html = renderComplianceHtml(
      {
        ...report,
        auditLog: [
          {
            logId: 7,
            at: '2026-11-02T00:00:00.000Z',
            actor: 'dana',
            action: 'host.update',
            entityType: 'host',
            entityId: String(host),
            details: '{}',
          },
        ],
        auditLogOmitted: 1,
        hosts: [{ ...h, advisoryData: { ...h.advisoryData, ageDays: 1 } }],
      },
      META,
    );
    expect(html).toContain("1 more entry is in the workspace's audit log.");
    expect(html).toContain('1 day old when this report was made');
    expect(html).not.toMatch(/\b1 (?:more )?(?:open )?(?:findings|entries|days)\b/u);
  });

  it('renders one escaped, script-free, printable section per host naming its records', () => {
    const s = site();
    const report = buildComplianceReport(
      s.db,
      resolveRange(s.db, { from: '2026-11-01', to: '2026-11-30' }, clock),
      clock,
    );
    const html = renderComplianceHtml(report, META);
    expect(html).not.toContain(HOSTILE);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;&amp;&quot;PC&quot;');
    expect(html).not.toMatch(/<script|onerror=alert\(1\)>/iu);
    expect(html).toContain('auditor &lt;b&gt;');
    expect(html.match(/<section class="host">/gu)).toHaveLength(report.hosts.length + 1);
    expect(html).toContain('break-before: page');
    for (const h of report.hosts) {
      expect(html).toContain(`host #${h.hostId}`);
      for (const f of h.findings) expect(html).toContain(`finding #${f.findingId}`);
    }
    expect(html).toContain(`log #${s.approvalId}`);
    expect(html).toContain('d1g3st');
    expect(html).toContain(`audit #${s.verifyAudit}`);
  });
});

describe('the published JSON Schemas', () => {
  it('docs/schemas/ holds exactly what src/reports/schemas.ts generates (run `npm run report-schemas`)', () => {
    const files = reportSchemaFiles();
    expect(fs.readdirSync(SCHEMAS).sort()).toEqual(files.map((f) => f.name).sort());
    for (const file of files)
      expect(fs.readFileSync(path.join(SCHEMAS, file.name), 'utf8'), file.name).toBe(schemaText(file));
  });

  it('accepts the compliance JSON export, and refuses a field the schema does not describe', () => {
    const s = site();
    const report = buildComplianceReport(s.db, resolveRange(s.db, {}, clock), clock);
    const doc = JSON.parse(reportJson('compliance', report, META)) as Record<string, unknown> & {
      report: ComplianceReport;
    };
    expect(doc.$schema).toBe('https://patchdeck.invalid/schemas/report-compliance-1.json');
    expect(doc.schemaVersion).toBe(1);
    expect(doc.meta).toEqual(META);
    const schema = committed('report-compliance.schema.json');
    expect(schema.$id).toBe(doc.$schema);
    const validate = ajv().compile(schema);
    expect(validate(doc.report), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    expect(doc.report.hosts[0]!.findings.length).toBeGreaterThan(0);
    // A field added to the report (or to a nested record) without the schema is refused.
    const extra = structuredClone(doc.report) as ComplianceReport & { extra?: number };
    extra.extra = 1;
    expect(validate(extra)).toBe(false);
    const nested = structuredClone(doc.report);
    (nested.hosts[0]!.findings[0] as Record<string, unknown>).addedColumn = 'x';
    expect(validate(nested)).toBe(false);
  });

  it('names a CVE only the package manager reported as such, never as an empty feed file', () => {
    const w = reportWorkspace();
    const at = new ManualClock(REPORT_NOW);
    const report = buildComplianceReport(
      w.db,
      resolveRange(w.db, { from: '2026-11-01', to: '2026-11-30' }, at),
      at,
    );
    const html = renderComplianceHtml(report, META);
    expect(html).toContain(
      'CVE-2024-1111 (package-manager, fixed in 1.0-1+deb12u1; named by the host’s own update tool)',
    );
    expect(html).not.toContain('; file )');
    expect(html).not.toContain('CVE-2024-1111: CVE-2024-1111');
  });

  it("accepts the owner report's JSON and the compliance JSON of the owner report's workspace", () => {
    const w = reportWorkspace();
    const at = new ManualClock(REPORT_NOW);
    const range = resolveRange(w.db, { from: '2026-11-01', to: '2026-11-30' }, at);
    for (const kind of ['owner', 'compliance'] as const) {
      const report =
        kind === 'owner' ? buildOwnerReport(w.db, range, at) : buildComplianceReport(w.db, range, at);
      const doc = JSON.parse(reportJson(kind, report, META)) as { $schema: string; report: unknown };
      const schema = committed(`report-${kind}.schema.json`);
      expect(schema.$id).toBe(doc.$schema);
      const validate = ajv().compile(schema);
      expect(validate(doc.report), `${kind}: ${JSON.stringify(validate.errors?.slice(0, 3))}`).toBe(true);
      expect(validate({ ...(doc.report as object), added: true })).toBe(false);
    }
    const compliance = buildComplianceReport(w.db, range, at);
    expect(compliance.jobs.map((j) => j.jobId)).toContain(w.jobId);
    expect(compliance.hosts).toHaveLength(Object.keys(w.hosts).length);
  });

  it('describes each CSV table exactly: every real row validates, the header is the schema, a formula stays text', () => {
    const s = site();
    const range = resolveRange(s.db, { from: '2026-11-01', to: '2026-11-30' }, clock);
    const now = new Date(clock.now()).toISOString();
    const tables: ReportTable[] = ['findings', 'hosts', 'jobs'];
    const counts: Record<string, number> = {};
    for (const table of tables) {
      const schema = committed(`csv-${table}.schema.json`);
      const validate = ajv().compile(schema);
      const [header, ...rows] = parseCsv(reportCsv(s.db, range, table, { now }));
      expect(header).toEqual(schema.required);
      expect(header).toEqual(CSV_COLUMNS[table].map((c) => c.name));
      expect(Object.keys(schema.properties as object)).toEqual(header);
      counts[table] = rows.length;
      for (const row of rows) {
        const object = Object.fromEntries(header!.map((name, i) => [name, row[i]]));
        expect(validate(object), `${table}: ${JSON.stringify(validate.errors?.slice(0, 3))}`).toBe(true);
        expect(validate({ ...object, extra: '1' })).toBe(false);
      }
      const text = reportCsv(s.db, range, table, { now });
      if (table !== 'jobs' || text.includes('HYPERLINK')) {
        expect(text).not.toMatch(/(^|,)"=HYPERLINK/mu);
        expect(text).toContain(`"'=HYPERLINK(""http://evil.invalid"",""x"")"`);
      }
    }
    // One row per current finding, per host, per step of the period's jobs.
    const n = (sql: string) => (s.db.prepare(sql).get() as { n: number }).n;
    expect(counts.findings).toBe(
      n(
        `SELECT count(*) AS n FROM findings WHERE audit_id IN (SELECT max(id) FROM audits WHERE status = 'succeeded' AND started_at >= '2026-11-10' GROUP BY host_id)`,
      ),
    );
    expect(counts.hosts).toBe(n('SELECT count(*) AS n FROM hosts'));
    expect(counts.jobs).toBe(n(`SELECT count(*) AS n FROM job_steps WHERE job_id = ${s.jobId}`));
  });

  it('puts the figures of the hosts table where the workspace has them', () => {
    const s = site();
    const range = resolveRange(s.db, { hostIds: [s.hosts[0]!] }, clock);
    const [header, row] = parseCsv(
      reportCsv(s.db, range, 'hosts', { now: new Date(clock.now()).toISOString() }),
    );
    const get = (name: string) => row![header!.indexOf(name)];
    expect(get('host')).toBe(HOSTILE);
    expect(get('pending_updates')).toBe('2');
    expect(get('known_exploited')).toBe('1');
    expect(get('overdue')).toBe('1');
    expect(get('open_security')).toBe('1');
  });
});
