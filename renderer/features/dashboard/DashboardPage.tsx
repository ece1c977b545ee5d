import { useEffect } from 'react';
import { useApp } from '../../stores/app';
import { useHosts } from '../hosts/store';

export function DashboardPage() {
  const info = useApp((s) => s.info);
  const hosts = useHosts((s) => s.hosts);
  const load = useHosts((s) => s.load);
  const navigate = useApp((s) => s.navigate);
  useEffect(() => {
    void load();
  }, [load]);
  return (
    <div className="page">
      <h1>Dashboard</h1>
      <div className="cards">
        <div className="card">
          <div className="card-figure">{hosts.length}</div>
          <div className="card-label">hosts in this workspace</div>
        </div>
        <div className="card">
          <div className="card-label">Workspace</div>
          <div className="mono small">{info?.workspace?.path ?? 'none open'}</div>
        </div>
      </div>
      {hosts.length === 0 && (
        <p>
          Start by{' '}
          <button type="button" className="link" onClick={() => navigate('discover')}>
            discovering the hosts
          </button>{' '}
          of a network. Once hosts are audited, this page will summarise missing updates, security fixes and
          pending reboots across them.
        </p>
      )}
    </div>
  );
}
