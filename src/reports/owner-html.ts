import { agree, esc, htmlDocument, plural } from './html';
import { OWNER_TIERS, plainDate, type OwnerReport } from './owner';
import type { ReportMeta } from './types';

/**
 * The owner report as one printable, self-contained document (one or two A4 pages): the actions
 * first, then the figures with two inline SVG charts (open updates by risk, and over the period),
 * then the lists. Every value from the workspace goes through esc().
 */

const TIER_LABEL: Record<(typeof OWNER_TIERS)[number], string> = {
  kev: 'Being exploited now',
  critical: 'Critical',
  high: 'High',
  medium: 'Medium',
  low: 'Low',
};
const TIER_COLOR: Record<(typeof OWNER_TIERS)[number], string> = {
  kev: '#8b0000',
  critical: '#cf222e',
  high: '#e36209',
  medium: '#bf8700',
  low: '#6e7781',
};

const CSS = `
  .lead { font-size: 11.5pt; margin: 6px 0 14px; }
  .cards { display: grid; grid-template-columns: repeat(5, 1fr); gap: 8px; margin: 10px 0; }
  .card { border: 1px solid #d0d7de; border-radius: 6px; padding: 8px; }
  .card b { display: block; font-size: 18pt; line-height: 1.1; }
  .card.bad b { color: #cf222e; }
  .card span { font-size: 8.5pt; color: #57606a; }
  ol.actions { padding-left: 20px; margin: 6px 0; }
  ol.actions li { margin: 4px 0; font-size: 11pt; }
  .charts { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }
  .chart h3 { margin-top: 6px; }
  svg text { font: 8pt system-ui, "DejaVu Sans", sans-serif; fill: #1b1f24; }
  .glossary { font-size: 8.5pt; color: #57606a; }
  h2, h3 { break-after: avoid-page; page-break-after: avoid; }
  section { break-inside: avoid-page; }
  table { break-inside: auto; }
`;

/** Rows a table shows on paper (the JSON export has them all): the report stays one or two pages. */
const SHOWN = 12;
const more = (n: number, one: string, many: string): string =>
  n > SHOWN
    ? `<p class="muted">… and ${n - SHOWN} more ${agree(n - SHOWN, one, many)} (the JSON and CSV exports list them all).</p>`
    : '';

function card(value: number, label: string, bad = false): string {
  return `<div class="card${bad && value > 0 ? ' bad' : ''}"><b>${value}</b><span>${esc(label)}</span></div>`;
}

/** Horizontal bars: open updates per risk tier. */
function tierChart(report: OwnerReport): string {
  const width = 320;
  const rowH = 22;
  const labelW = 120;
  const max = Math.max(1, ...OWNER_TIERS.map((t) => report.exposure.byTier[t]));
  const rows = OWNER_TIERS.map((t, i) => {
    const n = report.exposure.byTier[t];
    const w = Math.round(((width - labelW - 36) * n) / max);
    const y = i * rowH + 4;
    return `<text x="0" y="${y + 13}">${esc(TIER_LABEL[t])}</text>
<rect x="${labelW}" y="${y}" width="${w}" height="${rowH - 8}" fill="${TIER_COLOR[t]}" rx="2"/>
<text x="${labelW + w + 4}" y="${y + 13}">${n}</text>`;
  }).join('\n');
  return `<svg role="img" aria-label="Open security updates by risk" width="${width}" height="${OWNER_TIERS.length * rowH + 4}" viewBox="0 0 ${width} ${OWNER_TIERS.length * rowH + 4}" xmlns="http://www.w3.org/2000/svg">${rows}</svg>`;
}

/** Stacked area-free line: open security updates (all tiers) per audit day in the period. */
function trendChart(report: OwnerReport): string {
  const width = 320;
  const height = 120;
  const pad = { l: 30, r: 8, t: 8, b: 20 };
  const points = report.trend.map((p) => ({
    date: p.date,
    total: OWNER_TIERS.reduce((n, t) => n + p[t], 0),
    kev: p.kev,
  }));
  if (points.length === 0)
    return `<p class="muted">No audit in this period was judged against advisory data, so there is no trend to draw.</p>`;
  const max = Math.max(1, ...points.map((p) => p.total));
  const t0 = Date.parse(`${report.from}T00:00:00Z`);
  const t1 = Math.max(t0 + 86_400_000, Date.parse(`${report.to}T00:00:00Z`));
  const x = (d: string): number =>
    pad.l + ((Date.parse(`${d}T00:00:00Z`) - t0) / (t1 - t0)) * (width - pad.l - pad.r);
  const y = (v: number): number => pad.t + (1 - v / max) * (height - pad.t - pad.b);
  const line = (key: 'total' | 'kev', color: string): string =>
    `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points
      .map((p) => `${x(p.date).toFixed(1)},${y(p[key]).toFixed(1)}`)
      .join(' ')}"/>` +
    points
      .map(
        (p) => `<circle cx="${x(p.date).toFixed(1)}" cy="${y(p[key]).toFixed(1)}" r="2.5" fill="${color}"/>`,
      )
      .join('');
  return `<svg role="img" aria-label="Open security updates over the period" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg">
<line x1="${pad.l}" y1="${height - pad.b}" x2="${width - pad.r}" y2="${height - pad.b}" stroke="#d0d7de"/>
<line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${height - pad.b}" stroke="#d0d7de"/>
<text x="${pad.l - 4}" y="${pad.t + 8}" text-anchor="end">${max}</text>
<text x="${pad.l - 4}" y="${height - pad.b}" text-anchor="end">0</text>
<text x="${pad.l}" y="${height - 4}">${esc(plainDate(`${report.from}T00:00:00Z`))}</text>
<text x="${width - pad.r}" y="${height - 4}" text-anchor="end">${esc(plainDate(`${report.to}T00:00:00Z`))}</text>
${line('total', '#0969da')}${line('kev', TIER_COLOR.kev)}
</svg>
<p class="muted">Blue: all open security updates; dark red: those being exploited now. One point per day with an audit${report.asOf.slice(0, 10) <= report.to ? '; the last one is today' : ''}.</p>`;
}

/** The sentence under the title: how many machines wait for how many security updates. */
function leadSentence(report: OwnerReport): string {
  const m = report.machines;
  const x = report.exposure;
  if (m.total === 0) return 'No machine is in this report.';
  if (x.open === 0)
    return m.total === 1
      ? 'The machine has no known security update waiting.'
      : `None of the ${m.total} machines has a known security update waiting.`;
  const waiting =
    x.open === 1 ? 'a security update waiting' : `security updates waiting (${x.open} updates in all)`;
  const kev =
    x.byTier.kev === 0
      ? ''
      : x.open === 1
        ? ', for a weakness attackers are using now'
        : `; ${x.byTier.kev} of those updates ${agree(x.byTier.kev, 'fixes a weakness', 'fix weaknesses')} attackers are using now`;
  const late =
    x.overdue === 0
      ? ''
      : x.open === 1
        ? '; it is past its due date'
        : `; ${x.overdue} ${x.byTier.kev === 0 ? `of those updates ${agree(x.overdue, 'is past its', 'are past their')}` : agree(x.overdue, 'is past its', 'are past their')} due date`;
  return `${m.exposed} of ${plural(m.total, 'machine')} ${agree(m.exposed, 'has', 'have')} ${waiting}${kev}${late}.`;
}

/** What the audits of the period saw installed, in a sentence that agrees with its counts. */
function fixedSentence(report: OwnerReport): string {
  const f = report.fixed;
  const n = f.updatesNoLongerPending;
  if (n === 0) return 'The audits of the period saw no update installed.';
  const security =
    n === 1
      ? f.securityNoLongerPending === 1
        ? 'it was a security update'
        : 'it was not a security update'
      : `${f.securityNoLongerPending} of them ${agree(f.securityNoLongerPending, 'was a security update', 'were security updates')}`;
  const kev =
    f.knownExploitedNoLongerPending === 0
      ? ''
      : n === 1
        ? ', for a weakness being exploited'
        : `, ${f.knownExploitedNoLongerPending} for ${agree(f.knownExploitedNoLongerPending, 'a weakness', 'weaknesses')} being exploited`;
  return `${plural(n, 'update')} ${agree(n, 'was', 'were')} installed on ${plural(f.machines, 'machine')} (seen in the audits of the period); ${security}${kev}.`;
}

export function renderOwnerHtml(report: OwnerReport, meta: ReportMeta): string {
  const site = meta.siteName || 'this workspace';
  const period = `${plainDate(`${report.from}T00:00:00Z`)} – ${plainDate(`${report.to}T00:00:00Z`)}`;
  const m = report.machines;
  const f = report.fixed;
  const lead = leadSentence(report);
  const actions = report.actions.map((a) => `<li>${esc(a.text)}</li>`).join('');
  const overdueRows = report.overdue
    .slice(0, SHOWN)
    .map(
      (
        o,
      ) => `<tr><td>${esc(o.hostName)}</td><td class="num">${o.count}</td><td class="num">${o.knownExploited}</td>
<td>${esc(plainDate(o.since))}</td><td>${esc(o.packages.join(', '))}${o.count > o.packages.length ? ', …' : ''}</td><td>${esc(o.why)}</td></tr>`,
    )
    .join('');
  const jobRows = f.jobs
    .slice(0, SHOWN)
    .map(
      (
        j,
      ) => `<tr><td>#${j.id} ${esc(j.name)}</td><td>${esc(j.status)}</td><td>${j.finishedAt ? esc(plainDate(j.finishedAt)) : ''}</td>
<td class="num">${j.hostsSucceeded}</td><td class="num">${j.hostsFailed}</td><td class="num">${j.packagesInstalled}</td></tr>`,
    )
    .join('');
  const exceptionRows = report.exceptions
    .slice(0, SHOWN)
    .map(
      (
        e,
      ) => `<tr><td>${e.decision === 'accept' ? 'Accepted risk' : 'Postponed'}</td><td>${esc(e.what)}</td><td>${esc(e.reason)}</td>
<td>${esc(e.owner)}</td><td>${esc(plainDate(e.expiresAt))}${e.expiresSoon ? ' <b>(soon)</b>' : ''}</td></tr>`,
    )
    .join('');
  const unchecked = m.notCheckedRecently
    .map(
      (h) =>
        `${esc(h.name)} (${h.lastAuditAt ? `last checked ${esc(plainDate(h.lastAuditAt))}` : 'never checked'})`,
    )
    .join(', ');
  const body = `
<header>
  <h1>Security updates: owner's summary</h1>
  <div class="muted">${esc(site)} · ${esc(period)} · status on ${esc(plainDate(report.asOf))}</div>
</header>
<p class="lead">${esc(lead)}</p>
<h2>What to do next</h2>
<ol class="actions">${actions}</ol>
<h2>At a glance</h2>
<div class="cards">
  ${card(m.total, agree(m.total, 'machine', 'machines'))}
  ${card(m.exposed, agree(m.exposed, 'machine with security updates waiting', 'machines with security updates waiting'), true)}
  ${card(m.withKnownExploited, agree(m.withKnownExploited, 'machine open to attacks in use now', 'machines open to attacks in use now'), true)}
  ${card(m.withOverdue, agree(m.withOverdue, 'machine with overdue updates', 'machines with overdue updates'), true)}
  ${card(f.securityNoLongerPending, agree(f.securityNoLongerPending, 'security update installed in the period', 'security updates installed in the period'))}
</div>
<div class="charts">
  <div class="chart"><h3>Waiting security updates, by risk</h3>${tierChart(report)}</div>
  <div class="chart"><h3>Over the period</h3>${trendChart(report)}</div>
</div>
<section>
<h2>What was fixed in the period</h2>
<p>${esc(fixedSentence(report))}</p>
${f.jobs.length ? `<table><thead><tr><th>Patch job</th><th>Result</th><th>Finished</th><th class="num">Machines done</th><th class="num">Machines failed</th><th class="num">Packages</th></tr></thead><tbody>${jobRows}</tbody></table>${more(f.jobs.length, 'job', 'jobs')}` : '<p class="muted">No patch job ran in the period.</p>'}
</section>
<section>
<h2>Overdue, and why</h2>
${report.overdue.length ? `<table><thead><tr><th>Machine</th><th class="num">Overdue</th><th class="num">Exploited now</th><th>Overdue since</th><th>Software</th><th>Why it was due</th></tr></thead><tbody>${overdueRows}</tbody></table>${more(report.overdue.length, 'machine', 'machines')}` : '<p>Nothing is overdue.</p>'}
</section>
<section>
<h2>Exceptions</h2>
${report.exceptions.length ? `<table><thead><tr><th>Decision</th><th>What</th><th>Reason</th><th>Owner</th><th>Until</th></tr></thead><tbody>${exceptionRows}</tbody></table>${more(report.exceptions.length, 'exception', 'exceptions')}` : '<p>No exception is in force: every update counts.</p>'}
</section>
${unchecked ? `<p><b>Not checked in the last 30 days:</b> ${unchecked}.</p>` : ''}
<p class="glossary"><b>How to read this.</b> A <i>security update</i> fixes a known weakness in software on a machine. "Being exploited now" means the weakness is on CISA's list of weaknesses attackers are actively using (the Known Exploited Vulnerabilities catalogue). Each risk level has a number of days within which its updates are due, counted from the day an audit first found them. An <i>exception</i> is a recorded decision to accept a risk or postpone an update until a date, with a reason. Figures count each machine's latest audit${
    report.advisoryData.oldestDate
      ? `, judged with advisory data from ${esc(plainDate(report.advisoryData.oldestDate))}`
      : ''
  }.</p>
<footer>Made by ${esc(meta.generatedBy)} with Patchdeck ${esc(meta.patchdeckVersion)} on ${esc(plainDate(meta.generatedAt))} (${esc(meta.generatedAt)}) from ${esc(meta.workspacePath)}.</footer>`;
  return htmlDocument({ title: `Owner report — ${site} — ${report.from} to ${report.to}`, css: CSS, body });
}
