import { useEffect, useId, useMemo, useRef, useState } from 'react';
import type { ReportFormat, ReportKind, ReportTable } from '../../../src/api/portable-schemas';
import { Field } from '../../components/Field';
import { plural } from '../../components/format';
import { useApp } from '../../stores/app';
import { PRESET_LABELS, type PeriodPreset } from './period';
import { splitPreview, styleFrame } from './preview-frame';
import { previewMatches, useReports } from './store';
import './reports.css';

const KINDS: { kind: ReportKind; label: string; text: string }[] = [
  {
    kind: 'owner',
    label: 'Owner report',
    text: 'One or two pages in plain words for the business owner: how exposed the machines are, what was fixed, what is late and what to do next.',
  },
  {
    kind: 'compliance',
    label: 'Compliance report',
    text: 'For an auditor: each host’s audits, open updates with their evidence, every patch job with who approved it, exceptions and the audit log, each with its record number.',
  },
];

const FORMATS: { format: ReportFormat; label: string }[] = [
  { format: 'pdf', label: 'PDF' },
  { format: 'html', label: 'HTML (opens in any browser)' },
  { format: 'csv', label: 'CSV (a spreadsheet table)' },
  { format: 'json', label: 'JSON (for other tools)' },
];

const TABLES: { table: ReportTable; label: string }[] = [
  { table: 'findings', label: 'Updates: one row per pending update' },
  { table: 'hosts', label: 'Hosts: one row per host' },
  { table: 'jobs', label: 'Patch jobs: one row per host of each job' },
];

/** Reports: pick the report, the period and the hosts, see it as it will print, export it. */
export function ReportsPage() {
  const loadHosts = useReports((s) => s.loadHosts);
  useEffect(() => {
    void loadHosts();
  }, [loadHosts]);
  return (
    <div className="page reports-page">
      <h1>Reports</h1>
      <p className="muted">
        Reports are made from what this workspace recorded: audits, updates, patch jobs, exceptions and the
        audit log. The preview is the report exactly as it exports.
      </p>
      <div className="reports-layout">
        <form className="reports-form" aria-label="Report" onSubmit={(e) => e.preventDefault()}>
          <KindChoice />
          <PeriodChoice />
          <HostChoice />
          <ExportChoice />
        </form>
        <PreviewPane />
      </div>
    </div>
  );
}

function KindChoice() {
  const kind = useReports((s) => s.kind);
  const choose = useReports((s) => s.choose);
  const id = useId();
  return (
    <fieldset>
      <legend>Report</legend>
      {KINDS.map((k) => (
        <div key={k.kind} className="reports-option">
          {/* The radio is named by the report's name alone; its description is read after it. */}
          <label className="inline">
            <input
              type="radio"
              name="report-kind"
              value={k.kind}
              checked={kind === k.kind}
              aria-describedby={`${id}-${k.kind}`}
              onChange={() => choose({ kind: k.kind })}
            />
            <strong>{k.label}</strong>
          </label>
          <span id={`${id}-${k.kind}`} className="muted small">
            {k.text}
          </span>
        </div>
      ))}
    </fieldset>
  );
}

function PeriodChoice() {
  const preset = useReports((s) => s.preset);
  const from = useReports((s) => s.from);
  const to = useReports((s) => s.to);
  const { choose, choosePreset } = useReports.getState();
  return (
    <fieldset>
      <legend>Period</legend>
      <Field label="Period" hint="Whole days, in UTC; the last day is included.">
        {(id) => (
          <select id={id} value={preset} onChange={(e) => choosePreset(e.target.value as PeriodPreset)}>
            {(Object.keys(PRESET_LABELS) as PeriodPreset[]).map((p) => (
              <option key={p} value={p}>
                {PRESET_LABELS[p]}
              </option>
            ))}
          </select>
        )}
      </Field>
      <div className="row">
        <Field label="From">
          {(id) => (
            <input
              id={id}
              type="date"
              value={from}
              max={to || undefined}
              onChange={(e) => choose({ from: e.target.value, preset: 'custom' })}
            />
          )}
        </Field>
        <Field label="To">
          {(id) => (
            <input
              id={id}
              type="date"
              value={to}
              min={from || undefined}
              onChange={(e) => choose({ to: e.target.value, preset: 'custom' })}
            />
          )}
        </Field>
      </div>
    </fieldset>
  );
}

function HostChoice() {
  const hosts = useReports((s) => s.hosts);
  const hostsError = useReports((s) => s.hostsError);
  const allHosts = useReports((s) => s.allHosts);
  const chosen = useReports((s) => s.chosen);
  const { choose, toggleHost } = useReports.getState();
  const [filter, setFilter] = useState('');
  const shown = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    return (hosts ?? []).filter(
      (h) => !needle || h.name.toLowerCase().includes(needle) || (h.address ?? '').includes(needle),
    );
  }, [hosts, filter]);
  const chosenSet = new Set(chosen);
  return (
    <fieldset>
      <legend>Hosts</legend>
      {hostsError && (
        <p role="alert" className="error small">
          The host list could not be read: {hostsError}
        </p>
      )}
      {hosts !== null && hosts.length === 0 && (
        <p role="note" className="warning small">
          There are no hosts in the inventory yet, so a report would have nothing to say. Add hosts on the
          Discover or Hosts page, and audit them.
        </p>
      )}
      <label className="inline">
        <input
          type="radio"
          name="report-hosts"
          checked={allHosts}
          onChange={() => choose({ allHosts: true })}
        />
        All hosts{hosts !== null && hosts.length > 0 ? ` (${hosts.length})` : ''}
      </label>
      <label className="inline">
        <input
          type="radio"
          name="report-hosts"
          checked={!allHosts}
          disabled={hosts === null || hosts.length === 0}
          onChange={() => choose({ allHosts: false })}
        />
        Chosen hosts{!allHosts ? ` (${chosen.length} chosen)` : ''}
      </label>
      {!allHosts && hosts !== null && (
        <div className="reports-hosts">
          {hosts.length > 8 && (
            <input
              type="search"
              aria-label="Find a host"
              placeholder="Find a host by name or address"
              value={filter}
              onChange={(e) => setFilter(e.target.value)}
            />
          )}
          <ul aria-label="Hosts to report on">
            {shown.map((h) => (
              <li key={h.id}>
                <label className="inline">
                  <input
                    type="checkbox"
                    checked={chosenSet.has(h.id)}
                    onChange={(e) => toggleHost(h.id, e.target.checked)}
                  />
                  <span>{h.name}</span>
                  {h.address && h.address !== h.name && <span className="muted small mono">{h.address}</span>}
                </label>
              </li>
            ))}
            {shown.length === 0 && <li className="muted small">No host matches “{filter}”.</li>}
          </ul>
        </div>
      )}
    </fieldset>
  );
}

function ExportChoice() {
  const format = useReports((s) => s.format);
  const table = useReports((s) => s.table);
  const exporting = useReports((s) => s.exporting);
  const previewing = useReports((s) => s.previewing);
  const result = useReports((s) => s.result);
  const desktop = useApp((s) => s.info?.carrier === 'electron');
  const { setFormat, setTable, runExport, runPreview } = useReports.getState();
  return (
    <fieldset>
      <legend>Preview and export</legend>
      <div className="form-actions">
        <button type="button" disabled={previewing} onClick={() => void runPreview()}>
          {previewing ? 'Making the preview…' : 'Preview'}
        </button>
      </div>
      <Field label="Format">
        {(id) => (
          <select id={id} value={format} onChange={(e) => setFormat(e.target.value as ReportFormat)}>
            {FORMATS.map((f) => (
              <option key={f.format} value={f.format}>
                {f.label}
              </option>
            ))}
          </select>
        )}
      </Field>
      {format === 'csv' && (
        <Field label="Table" hint="A CSV file holds one table; export each table you need.">
          {(id) => (
            <select id={id} value={table} onChange={(e) => setTable(e.target.value as ReportTable)}>
              {TABLES.map((t) => (
                <option key={t.table} value={t.table}>
                  {t.label}
                </option>
              ))}
            </select>
          )}
        </Field>
      )}
      <div className="form-actions">
        <button type="button" className="secondary" disabled={exporting} onClick={() => void runExport()}>
          {exporting ? 'Exporting…' : desktop ? 'Export…' : 'Export'}
        </button>
      </div>
      {result && (
        <div role={result.kind === 'error' ? 'alert' : 'status'} className={`reports-result ${result.kind}`}>
          <p>{result.text}</p>
          {result.offerHtml && (
            <button type="button" disabled={exporting} onClick={() => void runExport('html')}>
              Export as HTML instead
            </button>
          )}
        </div>
      )}
      <p className="muted small">
        {desktop
          ? 'Export asks where to save the file.'
          : 'In the browser, Export downloads the file to where your browser saves downloads.'}{' '}
        JSON and CSV follow the published schemas in docs/schemas, for the tools auditors and dashboards use.
      </p>
    </fieldset>
  );
}

function PreviewPane() {
  const preview = useReports((s) => s.preview);
  const previewError = useReports((s) => s.previewError);
  const previewing = useReports((s) => s.previewing);
  const current = useReports(previewMatches);
  const parts = useMemo(() => (preview ? splitPreview(preview.html) : null), [preview]);
  const frame = useRef<HTMLIFrameElement>(null);
  const [height, setHeight] = useState(0);
  useEffect(() => setHeight(0), [parts]);
  return (
    <section className="reports-preview" aria-label="Preview" aria-busy={previewing}>
      {previewError && (
        <p role="alert" className="error">
          {previewError}
        </p>
      )}
      {!preview && !previewError && (
        <div className="reports-preview-empty muted">
          Choose a report, a period and the hosts, then press Preview to see it here as it will print.
        </div>
      )}
      {preview && parts && (
        <>
          <header className="reports-preview-head">
            <strong>{preview.title}</strong>
            <span className="muted small">
              {preview.from} to {preview.to} · {plural(preview.hostCount, 'host')} · made{' '}
              {new Date(preview.generatedAt).toLocaleString()}
            </span>
            {!current && (
              <span role="note" className="warning small">
                The choices changed since this preview: press Preview to see them.
              </span>
            )}
          </header>
          {/* No scripts can run inside (sandbox without allow-scripts); allow-same-origin only lets
              this page hand the report its own styles (see preview-frame.ts). */}
          <iframe
            ref={frame}
            title="Report preview"
            sandbox="allow-same-origin"
            srcDoc={parts.html}
            style={height ? { height } : undefined}
            onLoad={() => {
              if (frame.current) setHeight(styleFrame(frame.current, parts) + 24);
            }}
          />
        </>
      )}
    </section>
  );
}
