import type { ComplianceReport } from './compliance';
import { agree, esc, htmlDocument, plural } from './html';
import type { ReportMeta } from './types';

/**
 * The compliance report as one printable HTML document: a cover with the totals and the advisory
 * files used, then one section per host (each on a new printed page), the jobs with their
 * approvals, the exceptions of the whole site and the audit-log excerpt. Every row names the
 * record it comes from (audit #, finding #, job #, step #, log #, exception #, source #); every
 * value from the workspace goes through esc().
 */

type Host = ComplianceReport['hosts'][number];
type Finding = Host['findings'][number];
type Step = Host['steps'][number];
type Exception = Host['exceptions'][number];

const CSS = `
  .cover dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 8px 0; }
  .cover dt { color: #57606a; }
  .host { break-before: page; }
  .host:first-of-type { break-before: auto; }
  .tier { font-weight: 600; text-transform: uppercase; font-size: 8pt; }
  .tier-kev { color: #a40e26; } .tier-critical { color: #bc4c00; } .tier-high { color: #9a6700; }
  .bad { color: #a40e26; font-weight: 600; } .ok { color: #1a7f37; font-weight: 600; }
  .ref { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 8pt; color: #57606a; white-space: nowrap; }
  .evidence { font-size: 8pt; color: #57606a; }
  code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 8.5pt; overflow-wrap: anywhere; }
  .totals td { font-variant-numeric: tabular-nums; }
`;

const day = (iso: string | null | undefined): string => (iso ? esc(iso.slice(0, 10)) : '—');
const time = (iso: string | null | undefined): string =>
  iso ? esc(iso.replace('T', ' ').replace(/\.\d+Z$/u, 'Z')) : '—';
const ref = (label: string, id: number | string | null | undefined): string =>
  id === null || id === undefined ? '' : `<span class="ref">${esc(label)} #${esc(id)}</span>`;

function findingRow(f: Finding): string {
  const ev = f.evidence;
  const sources = ev.cves
    .flatMap((c) =>
      c.evidence.map(
        (e) =>
          `${esc(c.cve)}${e.advisoryId && e.advisoryId !== c.cve ? `: ${esc(e.advisoryId)}` : ''} (${esc(e.feed)}${e.fixedVersion ? `, fixed in ${esc(e.fixedVersion)}` : ''}${e.sourceFile ? `; file ${esc(e.sourceFile)}${e.snapshotDate ? ` of ${day(e.snapshotDate)}` : ''}` : e.feed === 'package-manager' ? '; named by the host’s own update tool' : ''})`,
      ),
    )
    .slice(0, 6);
  const more = ev.cves.reduce((n, c) => n + c.evidence.length, 0) - sources.length;
  return `<tr>
  <td>${ref('finding', f.findingId)}</td>
  <td><span class="mono">${esc(f.package)}</span>${f.arch ? ` <span class="muted">${esc(f.arch)}</span>` : ''}<br>
    <span class="muted">${esc(f.installedVersion ?? '—')} → ${esc(f.availableVersion)}</span></td>
  <td><span class="tier tier-${esc(f.tier)}">${esc(f.tier)}</span>${f.accepted ? '<br><span class="muted">accepted</span>' : ''}</td>
  <td>${day(f.dueAt)}${f.overdue ? ' <span class="bad">overdue</span>' : ''}</td>
  <td class="evidence">${esc(ev.tierReason ?? '')}${ev.dueReason ? `<br>Due: ${esc(ev.dueReason)}` : ''}${
    sources.length ? `<br>${sources.join('<br>')}${more > 0 ? `<br>and ${more} more` : ''}` : ''
  }${ev.exception ? `<br>Exception #${esc(ev.exception.id)} (${esc(ev.exception.decision)}) until ${day(ev.exception.expiresAt)}` : ''}${
    ev.judgedAt ? `<br>Judged ${time(ev.judgedAt)}` : ''
  }</td>
</tr>`;
}

function stepRow(s: Step, report: ComplianceReport): string {
  const job = report.jobs.find((j) => j.jobId === s.jobId);
  const v = s.verification;
  const verdict =
    v.matchesPlan === null
      ? '<span class="muted">not verified</span>'
      : v.matchesPlan
        ? '<span class="ok">matches the plan</span>'
        : `<span class="bad">differs</span>: ${v.mismatches.map(esc).join('; ')}`;
  return `<tr>
  <td>${ref('job', s.jobId)}<br>${ref('step', s.stepId)}</td>
  <td>${esc(job?.name ?? '')}<br><span class="muted">approved by ${esc(job?.approvedBy ?? '—')} ${time(job?.approvedAt)}</span>${
    job?.approvalLogId ? `<br>${ref('log', job.approvalLogId)}` : ''
  }</td>
  <td>${esc(s.status)}${s.errorMessage ? `<br><span class="bad">${esc(s.errorMessage)}</span>` : ''}<br><span class="muted">${time(s.finishedAt ?? s.startedAt)}</span></td>
  <td class="mono">${s.packages.map((p) => `${esc(p.name)}=${esc(p.to)}`).join('<br>') || '—'}</td>
  <td>${verdict}${v.verifyAuditId ? `<br>${ref('audit', v.verifyAuditId)}` : ''}</td>
</tr>`;
}

function exceptionRows(list: Exception[]): string {
  if (!list.length) return '<p class="muted">No exception.</p>';
  return `<table><thead><tr><th>Record</th><th>Decision</th><th>What</th><th>Reason</th><th>Owner</th><th>Until</th><th>State</th></tr></thead><tbody>
${list
  .map(
    (e) => `<tr><td>${ref('exception', e.exceptionId)}</td><td>${esc(e.decision)}</td>
  <td>${esc(e.scope)}: <span class="mono">${esc(e.cve ?? e.package ?? '')}${e.availableVersion ? ` ${esc(e.availableVersion)}` : ''}</span></td>
  <td>${esc(e.reason)}</td><td>${esc(e.owner)}<br><span class="muted">by ${esc(e.createdBy)} ${day(e.createdAt)}</span></td>
  <td>${day(e.expiresAt)}</td><td>${esc(e.state)}${e.removedAt ? ` ${day(e.removedAt)}` : ''}</td></tr>`,
  )
  .join('\n')}
</tbody></table>`;
}

function hostSection(h: Host, report: ComplianceReport): string {
  const last = h.lastAudit;
  const findings = h.findings.length
    ? `<table><thead><tr><th>Record</th><th>Update</th><th>Tier</th><th>Due</th><th>Evidence</th></tr></thead><tbody>
${h.findings.map(findingRow).join('\n')}
</tbody></table>${h.findingsOmitted ? `<p class="muted">${esc(h.findingsOmitted)} more open ${agree(h.findingsOmitted, 'finding is', 'findings are')} in the findings CSV export.</p>` : ''}`
    : `<p class="muted">${h.currentAuditId === null ? 'Never audited successfully: nothing is known.' : 'No open security finding.'}</p>`;
  const steps = h.steps.length
    ? `<table><thead><tr><th>Record</th><th>Job and approval</th><th>Outcome</th><th>Approved versions</th><th>Verification</th></tr></thead><tbody>
${h.steps.map((s) => stepRow(s, report)).join('\n')}
</tbody></table>`
    : '<p class="muted">No patch job touched this host in the period.</p>';
  return `<section class="host">
<h2>${esc(h.name)} <span class="ref">host #${esc(h.hostId)}</span></h2>
<table><tbody>
<tr><th>Address</th><td>${esc(h.address ?? '—')}</td><th>OS</th><td>${esc(h.os ?? 'unknown')}</td></tr>
<tr><th>Last audit</th><td>${last ? `${time(last.startedAt)}, ${esc(last.status)} ${ref('audit', last.auditId)}${last.errorMessage ? `<br><span class="bad">${esc(last.errorMessage)}</span>` : ''}` : 'never'}</td>
<th>Findings from</th><td>${h.currentAuditId ? `${ref('audit', h.currentAuditId)} ${time(h.currentAuditAt)}` : '—'}</td></tr>
<tr><th>Advisory data</th><td colspan="3">${
    h.advisoryData.ageDays === null
      ? 'not judged'
      : `${esc(plural(h.advisoryData.ageDays, 'day'))} old when this report was made; judged ${time(h.advisoryData.judgedAt)}${
          h.advisoryData.sourceIds.length
            ? `; files ${h.advisoryData.sourceIds.map((id) => ref('source', id)).join(' ')}`
            : ''
        }`
  }</td></tr>
</tbody></table>
<h3>Open security findings (${esc(h.findings.filter((f) => !f.accepted).length + h.findingsOmitted)})</h3>
${findings}
<p class="muted">Other pending updates (no security advisory): ${esc(h.otherPendingUpdates)}.</p>
<h3>Patch jobs in the period</h3>
${steps}
<h3>Exceptions</h3>
${exceptionRows(h.exceptions)}
</section>`;
}

export function renderComplianceHtml(report: ComplianceReport, meta: ReportMeta): string {
  const t = report.totals;
  const title = `Compliance report ${report.from} to ${report.to}`;
  const sources = report.advisorySources.filter((s) => !s.superseded);
  const body = `<section class="cover">
<h1>Compliance report</h1>
<p class="muted">${esc(meta.siteName || 'This workspace')} · ${esc(report.from)} to ${esc(report.to)} · state as of ${time(report.asOf)}</p>
<table class="totals"><tbody>
<tr><th>Hosts</th><td class="num">${esc(t.hosts)}</td><th>Audited successfully</th><td class="num">${esc(t.auditedHosts)}</td></tr>
<tr><th>Open security findings</th><td class="num">${esc(t.openFindings)}</td><th>Overdue</th><td class="num">${esc(t.overdueFindings)}</td></tr>
<tr><th>Patch jobs in the period</th><td class="num">${esc(t.jobs)}</td><th>Steps verified against the plan</th><td class="num">${esc(t.stepsVerified)} of ${esc(t.steps)}</td></tr>
<tr><th>Exceptions</th><td class="num">${esc(t.exceptions)}</td><th>Audit-log entries</th><td class="num">${esc(t.logEntries)}</td></tr>
</tbody></table>
<h3>Advisory data in use</h3>
${
  sources.length
    ? `<table><thead><tr><th>Record</th><th>Feed</th><th>File</th><th>Dated</th><th>Age</th><th>sha256</th></tr></thead><tbody>
${sources
  .map(
    (s) =>
      `<tr><td>${ref('source', s.sourceId)}</td><td>${esc(s.feed)} (${esc(s.publisher)})</td><td class="mono">${esc(s.fileName)}</td><td>${day(s.publishedAt ?? s.importedAt)}</td><td class="num">${esc(s.ageDays)} d</td><td class="mono">${esc(s.sha256.slice(0, 16))}…</td></tr>`,
  )
  .join('\n')}
</tbody></table>`
    : '<p class="muted">No advisory data imported: findings carry no tier.</p>'
}
</section>
${report.hosts.map((h) => hostSection(h, report)).join('\n')}
<section class="host">
<h2>Patch jobs and their approvals</h2>
${
  report.jobs.length
    ? `<table><thead><tr><th>Record</th><th>Name</th><th>Status</th><th>Approved by</th><th>Plan digest</th><th>Hosts</th></tr></thead><tbody>
${report.jobs
  .map(
    (j) =>
      `<tr><td>${ref('job', j.jobId)}</td><td>${esc(j.name)}${j.handedOffTo ? `<br><span class="muted">handed to ${esc(j.handedOffTo)}</span>` : ''}</td><td>${esc(j.status)}</td><td>${esc(j.approvedBy ?? '—')}<br><span class="muted">${time(j.approvedAt)}</span> ${ref('log', j.approvalLogId)}</td><td class="mono">${esc(j.planDigest ?? '—')}</td><td class="num">${esc(j.hostIds.length)}</td></tr>`,
  )
  .join('\n')}
</tbody></table>`
    : '<p class="muted">No patch job in the period.</p>'
}
<h2>Exceptions for the whole site</h2>
${exceptionRows(report.siteExceptions)}
<h2>Audit log excerpt</h2>
${
  report.auditLog.length
    ? `<table><thead><tr><th>Record</th><th>When</th><th>Who</th><th>What</th><th>Details</th></tr></thead><tbody>
${report.auditLog
  .map(
    (e) =>
      `<tr><td>${ref('log', e.logId)}</td><td>${time(e.at)}</td><td>${esc(e.actor)}</td><td>${esc(e.action)}${e.entityType ? ` <span class="muted">${esc(e.entityType)} ${esc(e.entityId ?? '')}</span>` : ''}</td><td class="mono">${esc(e.details)}</td></tr>`,
  )
  .join('\n')}
</tbody></table>${report.auditLogOmitted ? `<p class="muted">${esc(report.auditLogOmitted)} more ${agree(report.auditLogOmitted, 'entry is', 'entries are')} in the workspace's audit log.</p>` : ''}`
    : '<p class="muted">No audit-log entry about these hosts in the period.</p>'
}
</section>
<footer>Made by ${esc(meta.generatedBy)} on ${time(meta.generatedAt)} with Patchdeck ${esc(meta.patchdeckVersion)} from ${esc(meta.workspacePath)}. Every figure names its record (#) in that workspace.</footer>`;
  return htmlDocument({ title, css: CSS, body });
}
