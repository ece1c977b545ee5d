import { useEffect, useState } from 'react';
import type { Host } from '../../../src/api/schemas';
import { EmptyState } from '../../components/EmptyState';
import { useApp } from '../../stores/app';
import { matchesFilter, useHosts } from './store';

function osLabel(host: Host): string {
  if (!host.osName && !host.osFamily) return 'unknown';
  return [host.osName ?? host.osFamily, host.osVersion].filter(Boolean).join(' ');
}

function HostRow({ host }: { host: Host }) {
  const selected = useHosts((s) => s.selected.has(host.id));
  const toggle = useHosts((s) => s.toggle);
  const update = useHosts((s) => s.update);
  const remove = useHosts((s) => s.remove);
  const [editing, setEditing] = useState(false);
  const [notes, setNotes] = useState(host.notes);
  return (
    <tr data-host-id={host.id}>
      <td>
        <input
          type="checkbox"
          aria-label={`Select ${host.name}`}
          checked={selected}
          onChange={() => toggle(host.id)}
        />
      </td>
      <td>
        <span className={`os-icon os-${host.osFamily ?? 'unknown'}`} aria-hidden="true" />
        {host.name}
        {host.isNew && <span className="badge">new</span>}
      </td>
      <td className="mono">{host.address ?? '—'}</td>
      <td>{osLabel(host)}</td>
      <td>{host.management.length ? host.management.join(', ') : host.lastSeen ? 'alive' : '—'}</td>
      <td>{host.mac ? `${host.mac}${host.macVendor ? ` (${host.macVendor})` : ''}` : '—'}</td>
      <td>{host.lastSeen ? new Date(host.lastSeen).toLocaleString() : 'never'}</td>
      <td>
        {editing ? (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void update(host.id, { notes }).then(() => setEditing(false));
            }}
          >
            <input
              aria-label={`Notes for ${host.name}`}
              value={notes}
              onChange={(e) => setNotes(e.target.value)}
            />
            <button type="submit">Save</button>
          </form>
        ) : (
          <button type="button" className="link" onClick={() => setEditing(true)}>
            {host.notes || 'add note'}
          </button>
        )}
      </td>
      <td>
        <button type="button" onClick={() => void remove(host.id)} aria-label={`Remove ${host.name}`}>
          Remove
        </button>
      </td>
    </tr>
  );
}

export function HostsPage() {
  const { hosts, load, filter, setFilter, error, loading } = useHosts();
  const navigate = useApp((s) => s.navigate);
  useEffect(() => {
    void load();
  }, [load]);
  const shown = hosts.filter((h) => matchesFilter(h, filter));
  return (
    <div className="page">
      <h1>Hosts</h1>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {hosts.length === 0 && !loading ? (
        <EmptyState title="No hosts yet">
          <p>
            Hosts appear here after a discovery scan, with their OS, reachability and what Patchdeck can
            manage them with.
          </p>
          <button type="button" onClick={() => navigate('discover')}>
            Discover hosts
          </button>
        </EmptyState>
      ) : (
        <>
          <div className="toolbar">
            <input
              type="search"
              placeholder="Filter by name, address, OS, vendor or tag"
              aria-label="Filter hosts"
              value={filter}
              onChange={(e) => setFilter(e.target.value)}
            />
            <span className="muted">
              {shown.length} of {hosts.length}
            </span>
          </div>
          <table className="grid" aria-label="Hosts">
            <thead>
              <tr>
                <th />
                <th>Name</th>
                <th>Address</th>
                <th>OS</th>
                <th>Managed by</th>
                <th>MAC</th>
                <th>Last seen</th>
                <th>Notes</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {shown.map((host) => (
                <HostRow key={host.id} host={host} />
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
