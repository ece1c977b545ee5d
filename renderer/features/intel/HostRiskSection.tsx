import { useEffect } from 'react';
import { findingVersionText, plural } from '../../components/format';
import { formatEpss } from '../../components/intel';
import { NoSnapshotNote } from './NoSnapshotNote';
import { RiskCells } from './RiskCells';
import { useHostRisk } from './store';

/** Host detail: this host's security updates in risk order with the Updates page's risk columns, then its unfixed CVEs. */
export function HostRiskSection({
  hostId,
  auditedAt,
  windows,
}: {
  hostId: number;
  auditedAt: string | null;
  /** A Windows PC: its updates are KBs with titles, in Windows words. */
  windows: boolean;
}) {
  const findings = useHostRisk((s) => (s.hostId === hostId ? s.findings : []));
  const total = useHostRisk((s) => (s.hostId === hostId ? s.total : 0));
  const unfixed = useHostRisk((s) => (s.hostId === hostId ? s.unfixed : []));
  const unfixedTotal = useHostRisk((s) => (s.hostId === hostId ? s.unfixedTotal : 0));
  const error = useHostRisk((s) => s.error);
  const load = useHostRisk((s) => s.load);
  useEffect(() => {
    void load(hostId);
  }, [load, hostId, auditedAt]);
  return (
    <section aria-label="Security updates by risk" className="host-risk">
      <h3>Security updates by risk</h3>
      <NoSnapshotNote />
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {findings.length === 0 ? (
        <p className="muted">No security update is pending on this host by its newest audit.</p>
      ) : (
        <div role="table" aria-label="Security updates of this host" className="host-risk-table">
          <div role="row" className="finding-row header">
            <div role="columnheader">{windows ? 'KB' : 'Package'}</div>
            <div role="columnheader">{windows ? 'Title' : 'Installed → available'}</div>
            <div role="columnheader">Tier</div>
            <div role="columnheader">Due</div>
            <div role="columnheader">CVEs</div>
            <div role="columnheader">KEV</div>
            <div role="columnheader">EPSS</div>
          </div>
          {findings.map((f) => (
            <div role="row" key={f.id} className="finding-row" data-finding-id={f.id}>
              <div role="cell" className="mono" title={f.package}>
                {f.package}
              </div>
              <div role="cell" className="mono small" title={findingVersionText(f)}>
                {findingVersionText(f)}
              </div>
              <RiskCells finding={f} />
            </div>
          ))}
        </div>
      )}
      {total > findings.length && (
        <p className="muted small">
          The {findings.length} riskiest of {plural(total, 'security update')} are shown; the Updates page
          lists them all (filter by this host).
        </p>
      )}
      {unfixedTotal > 0 && (
        <details className="small">
          <summary>
            {plural(unfixedTotal, 'CVE')} affect installed software with no fix published yet (no due date)
          </summary>
          <table className="grid compact" aria-label="Unfixed CVEs">
            <thead>
              <tr>
                <th>{windows ? 'Software' : 'Package'}</th>
                <th>CVE</th>
                <th>Status</th>
                <th>Severity</th>
                <th>KEV</th>
                <th>EPSS</th>
                <th>Advisory</th>
              </tr>
            </thead>
            <tbody>
              {unfixed.map((u) => (
                <tr key={`${u.package}:${u.cve}:${u.advisoryId}`}>
                  <td className="mono">
                    {u.package} {u.version}
                  </td>
                  <td className="mono">{u.cve}</td>
                  <td>
                    {u.status}
                    {u.urgency ? ` (${u.urgency})` : ''}
                  </td>
                  <td>{u.severity ?? '—'}</td>
                  <td>{u.kev ? 'KEV' : '—'}</td>
                  <td className="mono">{formatEpss(u.epss)}</td>
                  <td className="mono small">{u.advisoryId}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {unfixedTotal > unfixed.length && (
            <p className="muted">… and {unfixedTotal - unfixed.length} more</p>
          )}
        </details>
      )}
    </section>
  );
}
