import { useEffect, useRef } from 'react';
import { dayOf } from '../../components/intel';
import { plural } from '../../components/format';
import { useApp } from '../../stores/app';
import { useAdvisories } from './advisories-store';

const FEED_LABELS: Record<string, string> = {
  kev: 'CISA KEV catalogue',
  epss: 'FIRST EPSS scores',
  osv: 'OSV advisories',
  'debian-tracker': 'Debian security tracker',
  csaf: 'Red Hat CSAF/VEX',
};

/**
 * Settings → Advisories: which feed files the snapshot holds and how old each is, the warnings of
 * advisories.status, and the three ways to bring feeds in (files, the publishers, a bundle out).
 */
export function AdvisoriesSection() {
  const status = useAdvisories((s) => s.status);
  const error = useAdvisories((s) => s.error);
  const busy = useAdvisories((s) => s.busy);
  const uploading = useAdvisories((s) => s.uploading);
  const result = useAdvisories((s) => s.result);
  const { load, importFiles, update, exportBundle } = useAdvisories.getState();
  const desktop = useApp((s) => s.info?.carrier === 'electron');
  const fileInput = useRef<HTMLInputElement>(null);
  useEffect(() => {
    void load();
  }, [load]);
  const empty = status !== null && status.feeds.length === 0;
  return (
    <section id="advisories" aria-label="Advisories" className="advisories-settings">
      <h2>Advisories</h2>
      <p className="muted small">
        Patchdeck works out which CVEs each update fixes, whether they are known to be exploited and how
        likely exploitation is, from feed files kept in this workspace: CISA&apos;s KEV catalogue,
        FIRST&apos;s EPSS scores, OSV advisories and the Debian security tracker. Nothing is fetched unless
        you choose Update from publishers.
      </p>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {empty && (
        <p role="note" className="warning" aria-label="No advisories">
          No advisories are imported yet, so updates carry only the CVEs their package managers name, no
          known-exploited flags or EPSS scores, and tiers fall back to the package manager&apos;s own
          severity. Import feed files or update from the publishers below.
        </p>
      )}
      {status && status.warnings.length > 0 && (
        <ul className="warning small" aria-label="Advisory warnings">
          {status.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
      {status && status.feeds.length > 0 && (
        <table className="grid compact" aria-label="Advisory feeds">
          <thead>
            <tr>
              <th>Feed</th>
              <th>Publisher</th>
              <th>File</th>
              <th>Dated</th>
              <th>Age</th>
              <th>Records</th>
              <th>sha256</th>
            </tr>
          </thead>
          <tbody>
            {status.feeds.map((f) => (
              <tr key={f.id} data-feed={f.feed}>
                <td>{FEED_LABELS[f.feed] ?? f.feed}</td>
                <td>{f.publisher}</td>
                <td className="mono small">{f.fileName}</td>
                <td className="small">
                  {f.publishedAt !== null
                    ? dayOf(f.publishedAt)
                    : `no date of its own; imported ${dayOf(f.importedAt)}`}
                </td>
                <td className={f.stale ? 'warning' : undefined}>
                  {plural(f.ageDays, 'day')}
                  {f.stale && <strong> — stale</strong>}
                </td>
                <td>{f.recordCount.toLocaleString('en')}</td>
                <td className="mono small" title={f.sha256}>
                  {f.sha256.slice(0, 12)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {status && (
        <p className="small" aria-label="Snapshot counts">
          {plural(status.counts.advisories, 'advisory', 'advisories')},{' '}
          {plural(status.counts.kev, 'known-exploited CVE')}, {plural(status.counts.epss, 'EPSS score')}.
          {status.ecosystems.length > 0 && (
            <>
              {' '}
              Hosts&apos; systems:{' '}
              {status.ecosystems.map((e, i) => (
                <span key={e.ecosystem} className={e.covered ? undefined : 'warning'}>
                  {i > 0 ? ', ' : ''}
                  {e.ecosystem} ({plural(e.hosts, 'host')}
                  {e.covered ? '' : ', no advisories'})
                </span>
              ))}
              .
            </>
          )}
        </p>
      )}
      <div className="form-actions">
        {desktop ? (
          <button type="button" disabled={busy !== null} onClick={() => void importFiles()}>
            {busy === 'import' ? 'Importing…' : 'Import files…'}
          </button>
        ) : (
          <>
            <input
              ref={fileInput}
              type="file"
              multiple
              aria-label="Advisory files to import"
              className="visually-hidden"
              onChange={(e) => {
                const files = [...(e.target.files ?? [])];
                e.target.value = '';
                if (files.length) void importFiles(files);
              }}
            />
            <button type="button" disabled={busy !== null} onClick={() => fileInput.current?.click()}>
              {busy === 'import' ? (uploading ?? 'Importing…') : 'Import files…'}
            </button>
          </>
        )}
        <button type="button" className="secondary" disabled={busy !== null} onClick={() => void update()}>
          {busy === 'update' ? 'Updating…' : 'Update from publishers'}
        </button>
        <button
          type="button"
          className="secondary"
          disabled={busy !== null || empty}
          onClick={() => void exportBundle()}
        >
          {busy === 'export' ? 'Exporting…' : 'Export bundle'}
        </button>
        {result && (
          <span role={result.kind === 'error' ? 'alert' : 'status'} className={result.kind}>
            {result.text}
          </span>
        )}
      </div>
      <p className="muted small">
        Import files takes KEV JSON, EPSS CSV (.csv or .csv.gz), OSV records or all.zip exports, the Debian
        tracker JSON, and advisory bundles exported by another Patchdeck. Export bundle writes the whole
        snapshot as one dated file to carry to a site with no network.
      </p>
    </section>
  );
}
