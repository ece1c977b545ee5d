import { useEffect } from 'react';
import { windowAdvice } from '../../components/advice';
import { formatTime } from '../../components/format';
import { hostHref, useApp } from '../../stores/app';
import { useHosts } from '../hosts/store';
import { ExposureSection } from './ExposureSection';
import { FirstRunChecklist } from './FirstRunChecklist';
import { useDashboard } from './store';

function Figure({ label, value, tone }: { label: string; value: number; tone?: 'danger' | 'warning' }) {
  return (
    <div className="card" role="group" aria-label={label}>
      <div className={`card-figure${value > 0 && tone ? ` ${tone}` : ''}`}>{value.toLocaleString('en')}</div>
      <div className="card-label">{label}</div>
    </div>
  );
}

export function DashboardPage() {
  const figures = useDashboard((s) => s.figures);
  const failed = useDashboard((s) => s.failed);
  const error = useDashboard((s) => s.error);
  const load = useDashboard((s) => s.load);
  const exposure = useDashboard((s) => s.exposure);
  const exposureError = useDashboard((s) => s.exposureError);
  const hosts = useHosts((s) => s.hosts);
  const loadHosts = useHosts((s) => s.load);
  const info = useApp((s) => s.info);
  const navigate = useApp((s) => s.navigate);
  useEffect(() => {
    void load();
    void loadHosts();
  }, [load, loadHosts]);
  const names = new Map(hosts.map((h) => [h.id, h.name]));
  return (
    <div className="page">
      <h1>Dashboard</h1>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <FirstRunChecklist />
      {figures && (
        <div className="cards wrap">
          <Figure label="Hosts" value={figures.hosts} />
          <Figure label="Hosts audited" value={figures.audited} />
          <Figure label="Pending updates" value={figures.pendingUpdates} />
          <Figure
            label="Marked security by the package manager"
            value={figures.securityUpdates}
            tone="danger"
          />
          <Figure label="Reboots pending" value={figures.rebootsPending} tone="warning" />
          <Figure label="Failed audits" value={figures.failedAudits} tone="danger" />
        </div>
      )}
      {figures && figures.pendingUpdates > 0 && (
        <p>
          {figures.pendingUpdates.toLocaleString('en')} updates are pending on {figures.hostsWithUpdates} host
          {figures.hostsWithUpdates === 1 ? '' : 's'}
          {figures.newestAudit ? ` (newest audit ${formatTime(figures.newestAudit)})` : ''}.{' '}
          <button type="button" className="link" onClick={() => navigate('updates')}>
            See them all
          </button>
        </p>
      )}
      {exposureError && (
        <p role="alert" className="error">
          The security figures could not be read: {exposureError}
        </p>
      )}
      {exposure && <ExposureSection exposure={exposure} />}
      {failed.length > 0 && (
        <section aria-label="Failed audits list">
          <h2 className="section-title">Failed audits</h2>
          <ul>
            {failed.slice(0, 20).map((a) => (
              <li key={a.id}>
                <a href={hostHref(a.hostId)}>
                  <strong>{names.get(a.hostId) ?? `host ${a.hostId}`}</strong>
                </a>
                : {a.errorKind ?? a.status}
                {a.errorMessage ? ` — ${a.errorMessage}` : ''}
                {windowAdvice(a.errorKind) ? ` ${windowAdvice(a.errorKind)}` : ''}
              </li>
            ))}
          </ul>
        </section>
      )}
      <p className="muted small">Workspace: {info?.workspace?.path ?? 'none open'}</p>
    </div>
  );
}
