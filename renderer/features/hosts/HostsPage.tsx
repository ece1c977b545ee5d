import { useEffect, useState } from 'react';
import { windowAdvice } from '../../components/advice';
import type { Audit, Host } from '../../../src/api/schemas';
import { EmptyState } from '../../components/EmptyState';
import { formatTime } from '../../components/format';
import { OsIcon } from '../../components/OsIcon';
import { hostHref, useApp } from '../../stores/app';
import { HostDetail } from './HostDetail';
import { KeyReview } from './KeyReview';
import { matchesFilter, useHosts } from './store';
import { hostAddressProblem } from './address';
import { managedOverWinrm, managementText, refreshOptionText, wsusOf, wsusTitle } from './windows-host';

/** What discovery guessed, or — better — what the newest audit read from the host itself. */
function osLabel(host: Host, audit: Audit | undefined): string {
  if (audit?.osName) return [audit.osName, audit.osVersion].filter(Boolean).join(' ');
  if (!host.osName && !host.osFamily) return 'unknown';
  return [host.osName ?? host.osFamily, host.osVersion].filter(Boolean).join(' ');
}

function AuditStatus({ audit, auditing }: { audit: Audit | undefined; auditing: boolean }) {
  if (auditing) return <span className="muted">auditing…</span>;
  if (!audit) return <span className="muted">not audited</span>;
  if (audit.status === 'succeeded')
    return (
      <span title={`Audited ${formatTime(audit.finishedAt)}`}>
        {audit.updatesCount} update{audit.updatesCount === 1 ? '' : 's'}
        {audit.securityCount > 0 && <span className="badge security">{audit.securityCount} security</span>}
        {audit.rebootRequired && <span className="badge warn">reboot required</span>}
        {wsusOf(audit) && (
          <span className="badge warn" title={wsusTitle(wsusOf(audit)!)}>
            WSUS
          </span>
        )}
      </span>
    );
  return (
    <span className="error" title={audit.errorMessage ?? undefined}>
      {audit.status}
      {audit.errorKind ? `: ${audit.errorKind}` : ''}
      {audit.errorMessage && <div className="small">{audit.errorMessage}</div>}
      {windowAdvice(audit.errorKind) && <div className="small advice">{windowAdvice(audit.errorKind)}</div>}
    </span>
  );
}

function HostRow({ host }: { host: Host }) {
  const selected = useHosts((s) => s.selected.has(host.id));
  const toggle = useHosts((s) => s.toggle);
  const update = useHosts((s) => s.update);
  const remove = useHosts((s) => s.remove);
  const audit = useHosts((s) => s.audit);
  const latest = useHosts((s) => s.latest.get(host.id));
  const auditing = useHosts((s) => s.auditing.has(host.id));
  const noCredential = useHosts((s) => s.credentials.length === 0);
  const [editing, setEditing] = useState(false);
  const [notes, setNotes] = useState(host.notes);
  return (
    <tr
      data-host-id={host.id}
      data-address={host.address ?? ''}
      className={host.inInventory ? undefined : 'discovered'}
    >
      <td>
        <input
          type="checkbox"
          aria-label={`Select ${host.name}`}
          checked={selected}
          onChange={() => toggle(host.id)}
        />
      </td>
      <td>
        <OsIcon family={host.osFamily} />
        <a href={hostHref(host.id)} className="host-link" title={NAME_SOURCE_TITLE[host.nameSource]}>
          {host.name}
        </a>
        {host.isNew && (
          <span
            className="badge"
            title="Found by the latest scan of its network and not audited or trusted yet. Audit it or trust its key and this clears."
          >
            new
          </span>
        )}
        {host.seenInLastScan === false && (
          <span
            className="badge warn"
            title="The latest completed scan that covered this address did not find the host. A cancelled scan never says so."
          >
            not seen in last scan
          </span>
        )}
        {!host.inInventory && <span className="badge warn">discovered</span>}
        {host.offlineOnly && (
          <span
            className="badge warn"
            title="Imported from a collection file; set its address to audit it over the network"
          >
            offline only
          </span>
        )}
        {host.keyTrust === 'pending' &&
          (managedOverWinrm(host) ? (
            <span
              className="badge warn"
              title="No password is sent to this PC until its WinRM certificate or NTLM identity is trusted"
            >
              identity not trusted
            </span>
          ) : (
            <span
              className="badge warn"
              title="No password is sent to this host until its SSH key is trusted"
            >
              key not trusted
            </span>
          ))}
        {host.keyTrust === 'changed' && (
          <span className="badge error">{managedOverWinrm(host) ? 'identity changed' : 'key changed'}</span>
        )}
        {host.keyTrust === 'first-use' && (
          <span
            className="badge warn"
            title="Pinned automatically by a key-only credential; no password is sent until you review it"
          >
            key not reviewed
          </span>
        )}
      </td>
      <td className="mono">{host.address ?? '—'}</td>
      <td>{osLabel(host, latest)}</td>
      <td>{host.management.length ? managementText(host.management) : host.lastSeen ? 'alive' : '—'}</td>
      <td className="small">
        {host.mac ? <span className="mono">{host.mac}</span> : '—'}
        {host.macVendor && <div className="muted">{host.macVendor}</div>}
      </td>
      <td className="small">{host.lastSeen ? formatTime(host.lastSeen) : 'never'}</td>
      <td className="audit-status">
        <AuditStatus audit={latest} auditing={auditing} />
      </td>
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
      <td className="actions">
        {host.inInventory ? (
          <button
            type="button"
            disabled={auditing || host.offlineOnly || noCredential}
            title={
              host.offlineOnly
                ? 'Offline only: set its address first (host detail)'
                : noCredential
                  ? 'Add a credential first (Settings)'
                  : undefined
            }
            onClick={() => void audit([host.id])}
            aria-label={`Audit ${host.name}`}
          >
            Audit
          </button>
        ) : (
          <button
            type="button"
            onClick={() => void update(host.id, { inInventory: true })}
            aria-label={`Add ${host.name} to inventory`}
          >
            Add to inventory
          </button>
        )}
        <button
          type="button"
          className="secondary"
          onClick={() => void remove(host.id)}
          aria-label={`Remove ${host.name}`}
        >
          Remove
        </button>
      </td>
    </tr>
  );
}

/** Where the shown name came from, best first (the README's "Host names"). */
const NAME_SOURCE_TITLE: Record<Host['nameSource'], string> = {
  admin: 'Name given by an admin',
  audit: 'Name from the host itself (its hostname, read by an audit)',
  target: 'Name from the scan targets',
  netbios: 'Name from NetBIOS',
  mdns: 'Name from mDNS (Bonjour/Avahi)',
  ptr: 'Name from reverse DNS',
  certificate: 'Name from its TLS certificate',
  scan: 'Name found by an earlier scan',
  address: 'No name known yet: shown by its address',
};

function AddHostForm() {
  const add = useHosts((s) => s.add);
  const [name, setName] = useState('');
  const [address, setAddress] = useState('');
  const [port, setPort] = useState('22');
  // Checked as typed: a mistyped address (999.1.1.1) is named before anything is sent.
  const nameProblem = name.trim() ? hostAddressProblem(name.trim()) : null;
  const addressProblem = address.trim() ? hostAddressProblem(address.trim()) : null;
  return (
    <form
      className="row host-add-form"
      aria-label="Add host"
      onSubmit={(e) => {
        e.preventDefault();
        void add({
          name: name.trim(),
          address: address.trim() || undefined,
          sshPort: Number(port) || 22,
        }).then((ok) => {
          if (ok) {
            setName('');
            setAddress('');
            setPort('22');
          }
        });
      }}
    >
      <label>
        Host name
        <input
          value={name}
          onChange={(e) => setName(e.target.value)}
          required
          placeholder="web01.example.lan"
          aria-invalid={nameProblem !== null}
          aria-describedby={nameProblem ? 'add-host-name-problem' : undefined}
        />
      </label>
      <label>
        Address (optional)
        <input
          value={address}
          onChange={(e) => setAddress(e.target.value)}
          placeholder="198.18.0.11"
          aria-invalid={addressProblem !== null}
          aria-describedby={addressProblem ? 'add-host-address-problem' : undefined}
        />
      </label>
      <label>
        SSH port
        <input type="number" min={1} max={65535} value={port} onChange={(e) => setPort(e.target.value)} />
      </label>
      <button type="submit" disabled={!name.trim() || nameProblem !== null || addressProblem !== null}>
        Add host
      </button>
      {nameProblem && (
        <p className="error small" role="alert" id="add-host-name-problem">
          Host name: {nameProblem}
        </p>
      )}
      {addressProblem && (
        <p className="error small" role="alert" id="add-host-address-problem">
          Address: {addressProblem}
        </p>
      )}
    </form>
  );
}

export function HostsPage() {
  const hosts = useHosts((s) => s.hosts);
  const load = useHosts((s) => s.load);
  const loadCredentials = useHosts((s) => s.loadCredentials);
  const filter = useHosts((s) => s.filter);
  const setFilter = useHosts((s) => s.setFilter);
  const error = useHosts((s) => s.error);
  const notice = useHosts((s) => s.notice);
  const noticeFailed = useHosts((s) => s.noticeFailed);
  const loading = useHosts((s) => s.loading);
  const showDiscovered = useHosts((s) => s.showDiscovered);
  const setShowDiscovered = useHosts((s) => s.setShowDiscovered);
  const selected = useHosts((s) => s.selected);
  const selectAll = useHosts((s) => s.selectAll);
  const audit = useHosts((s) => s.audit);
  const credentials = useHosts((s) => s.credentials);
  const credentialId = useHosts((s) => s.auditCredentialId);
  const setCredential = useHosts((s) => s.setAuditCredential);
  const auditRefresh = useHosts((s) => s.auditRefresh);
  const setAuditRefresh = useHosts((s) => s.setAuditRefresh);
  const latestAudits = useHosts((s) => s.latest);
  const detailId = useApp((s) => s.hostId);
  const navigate = useApp((s) => s.navigate);
  const [adding, setAdding] = useState(false);
  const [loaded, setLoaded] = useState(false);
  const [credentialsLoaded, setCredentialsLoaded] = useState(false);
  useEffect(() => {
    void load().then(() => setLoaded(true));
    void loadCredentials().then(() => setCredentialsLoaded(true));
  }, [load, loadCredentials]);
  const inventory = hosts.filter((h) => h.inInventory);
  const discoveredOnly = hosts.length - inventory.length;
  const shown = hosts.filter((h) => (showDiscovered || h.inInventory) && matchesFilter(h, filter));
  const selectedIds = [...selected].filter((id) => hosts.some((h) => h.id === id && h.inInventory));
  // The option speaks for the hosts it applies to: the selected ones, or all (Audit all).
  const refreshOption = refreshOptionText(
    selectedIds.length > 0 ? inventory.filter((h) => selected.has(h.id)) : inventory,
    (h) => latestAudits.get(h.id),
  );
  const detailHost = detailId !== null ? hosts.find((h) => h.id === detailId) : undefined;
  // A host's detail is a page of its own (#/hosts/<id>), opened at the top; back returns here.
  if (detailId !== null) {
    if (detailHost) return <HostDetail host={detailHost} />;
    return (
      <div className="page">
        <h1>Host</h1>
        {!loaded || loading ? (
          <p className="muted">Loading…</p>
        ) : (
          <p role="alert" className="error">
            No host #{detailId} in this workspace (it may have been removed).
          </p>
        )}
        <button type="button" onClick={() => navigate('hosts')}>
          All hosts
        </button>
      </div>
    );
  }
  return (
    <div className="page">
      <h1>Hosts</h1>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {notice && (
        <p role="status" className={noticeFailed ? 'error' : 'muted'} data-testid="hosts-notice">
          {notice}
        </p>
      )}
      {hosts.length === 0 && !loading ? (
        <EmptyState title="No hosts yet">
          <p>
            Hosts appear here after a discovery scan, with their OS, reachability and what Patchdeck can
            manage them with. You can also add one by name.
          </p>
          <div className="row">
            <button type="button" onClick={() => navigate('discover')}>
              Discover hosts
            </button>
          </div>
          <AddHostForm />
        </EmptyState>
      ) : (
        <>
          <KeyReview hosts={hosts} />
          <div className="toolbar">
            <input
              type="search"
              placeholder="Filter by name, address, OS, vendor or tag"
              aria-label="Filter hosts"
              value={filter}
              onChange={(e) => setFilter(e.target.value)}
            />
            <span className="muted">
              {shown.length} of {showDiscovered ? hosts.length : inventory.length}
            </span>
            <label className="inline">
              <input
                type="checkbox"
                checked={showDiscovered}
                onChange={(e) => setShowDiscovered(e.target.checked)}
              />
              Show discovered hosts not in the inventory
              {discoveredOnly > 0 && <span className="muted"> ({discoveredOnly})</span>}
            </label>
            <button
              type="button"
              className="secondary"
              onClick={() => setAdding(!adding)}
              aria-expanded={adding}
            >
              {adding ? 'Close' : 'Add host…'}
            </button>
          </div>
          {adding && <AddHostForm />}
          {credentialsLoaded && credentials.length === 0 ? (
            <p className="toolbar" role="note" aria-label="No credential">
              <span>
                No credential yet: hosts are audited over SSH with a password, a private key or the SSH agent.
              </span>
              <button type="button" onClick={() => navigate('settings', 'credentials-heading')}>
                Add a credential
              </button>
            </p>
          ) : (
            <div className="toolbar">
              <label className="inline">
                Credential
                <select
                  value={credentialId ?? ''}
                  onChange={(e) => setCredential(e.target.value ? Number(e.target.value) : null)}
                >
                  <option value="">Each host&apos;s own / by scope</option>
                  {credentials.map((c) => (
                    <option key={c.id} value={c.id}>
                      {c.name} ({c.username})
                    </option>
                  ))}
                </select>
              </label>
              <label className="inline" title={refreshOption.title}>
                <input
                  type="checkbox"
                  checked={auditRefresh}
                  onChange={(e) => setAuditRefresh(e.target.checked)}
                />
                {refreshOption.label}
              </label>
              <button
                type="button"
                disabled={selectedIds.length === 0 || credentials.length === 0}
                onClick={() => void audit(selectedIds)}
              >
                Audit selected ({selectedIds.length})
              </button>
              <button
                type="button"
                disabled={inventory.length === 0 || credentials.length === 0}
                onClick={() => void audit(undefined)}
              >
                Audit all ({inventory.length})
              </button>
            </div>
          )}
          <table className="grid" aria-label="Hosts">
            <thead>
              <tr>
                <th>
                  <input
                    type="checkbox"
                    aria-label="Select all shown hosts"
                    checked={shown.length > 0 && shown.every((h) => selected.has(h.id))}
                    onChange={(e) =>
                      selectAll(
                        shown.map((h) => h.id),
                        e.target.checked,
                      )
                    }
                  />
                </th>
                <th>Name</th>
                <th>Address</th>
                <th>OS</th>
                <th>Managed by</th>
                <th>MAC / vendor</th>
                <th>Last seen</th>
                <th>Audit</th>
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
