import { useEffect, useState } from 'react';
import type { HostKeySighting } from '../../../src/api/schemas';
import { api } from '../../api';
import { useApp } from '../../stores/app';
import { Field } from '../../components/Field';
import { formatTime } from '../../components/format';
import { OsIcon } from '../../components/OsIcon';
import { MAX_RESULTS, PORT_PRESETS, useDiscover, type DiscoveredHost, type Scan } from './store';
import './discover.css';

function managedBy(host: DiscoveredHost): string {
  if (host.management.includes('ssh') && host.management.includes('winrm')) return 'both';
  if (host.management.length) return host.management.join(', ');
  return 'none';
}

function OsGuess({ host }: { host: DiscoveredHost }) {
  if (!host.osFamily && !host.osName) return <span className="muted">unknown</span>;
  const label = [host.osName ?? host.osFamily, host.osVersion].filter(Boolean).join(' ');
  const confidence = host.osConfidence !== null ? `${Math.round(host.osConfidence * 100)}%` : null;
  return (
    <details className="os-guess">
      <summary>
        <OsIcon family={host.osFamily} />
        {label}
        {confidence && <span className="muted small"> ({confidence})</span>}
      </summary>
      {host.osEvidence.length > 0 ? (
        <ul className="evidence small">
          {host.osEvidence.map((e, i) => (
            <li key={i}>{e}</li>
          ))}
        </ul>
      ) : (
        <p className="small muted">No evidence recorded.</p>
      )}
    </details>
  );
}

/** The SSH key the sweep read (a key exchange, no login): shown so the admin can check it before trusting. */
function SshKeyCell({ host, seen }: { host: DiscoveredHost; seen: HostKeySighting | undefined }) {
  if (host.keyTrust === 'trusted') return <span className="ok small">trusted</span>;
  if (!seen) return <span className="muted">—</span>;
  return (
    <span className="small">
      <span className="mono fingerprint">{seen.fingerprint}</span>
      <div className={seen.changed ? 'error' : 'muted'}>
        {seen.type}, {seen.changed ? 'CHANGED since trusted' : 'not trusted yet'}
      </div>
    </span>
  );
}

function ResultRow({ host, seen }: { host: DiscoveredHost; seen: HostKeySighting | undefined }) {
  const add = useDiscover((s) => s.addToInventory);
  const open = host.services.filter((s) => s.state === 'open');
  return (
    <tr data-host-id={host.id} data-address={host.address ?? ''}>
      <td className="mono">{host.address ?? '—'}</td>
      <td>
        {host.name !== host.address ? host.name : <span className="muted">—</span>}
        {host.wasNew && <span className="badge">new</span>}
      </td>
      <td>
        <OsGuess host={host} />
      </td>
      <td>
        {open.length === 0 ? (
          <span className="muted">none open</span>
        ) : (
          <ul className="ports">
            {open.map((s) => (
              <li key={s.port} title={s.banner ?? undefined}>
                <span className="mono">{s.port}</span>
                {s.service && <span className="muted">/{s.service}</span>}
                {s.banner && <span className="banner-text small mono"> {s.banner}</span>}
              </li>
            ))}
          </ul>
        )}
      </td>
      <td>{managedBy(host)}</td>
      <td className="small">
        {host.mac ? (
          <>
            <span className="mono">{host.mac}</span>
            {host.macVendor && <div className="muted">{host.macVendor}</div>}
          </>
        ) : (
          <span className="muted">—</span>
        )}
      </td>
      <td>
        <SshKeyCell host={host} seen={seen} />
      </td>
      <td>
        {host.inInventory ? (
          <span className="ok">In inventory</span>
        ) : (
          <button
            type="button"
            aria-label={`Add ${host.address ?? host.name} to inventory`}
            onClick={() => void add([host.id])}
          >
            Add to inventory
          </button>
        )}
      </td>
    </tr>
  );
}

function TargetCheckSummary() {
  const check = useDiscover((s) => s.check);
  const checking = useDiscover((s) => s.checking);
  const confirmLarge = useDiscover((s) => s.confirmLarge);
  const setConfirmLarge = useDiscover((s) => s.setConfirmLarge);
  const force = useDiscover((s) => s.force);
  const setForce = useDiscover((s) => s.setForce);
  if (!check)
    return (
      <p className="muted small">
        {checking ? 'Checking…' : 'Enter targets to see how many addresses they cover.'}
      </p>
    );
  return (
    <div className="target-check" aria-live="polite">
      <p data-testid="address-count">
        <strong>{check.addresses.toLocaleString('en')}</strong> address{check.addresses === 1 ? '' : 'es'}
        {check.first.length > 0 && (
          <span className="muted small mono">
            {' '}
            ({check.first.join(', ')}
            {check.addresses > check.first.length ? ', …' : ''})
          </span>
        )}
      </p>
      {check.errors.length > 0 && (
        <ul className="error small" aria-label="Target errors">
          {check.errors.map((e, i) => (
            <li key={i}>{e}</li>
          ))}
        </ul>
      )}
      {check.warnings.length > 0 && (
        <ul className="warning small" aria-label="Target warnings">
          {check.warnings.map((w, i) => (
            <li key={i}>{w}</li>
          ))}
        </ul>
      )}
      {/* Offered only where forcing can help: beyond a /12 the refusal above is final. */}
      {check.forceApplies && (
        <label className="inline warning">
          <input type="checkbox" checked={force} onChange={(e) => setForce(e.target.checked)} />
          Scan more than a /16 anyway (force)
        </label>
      )}
      {check.needsConfirmation && !check.refused && (
        <label className="inline warning">
          <input type="checkbox" checked={confirmLarge} onChange={(e) => setConfirmLarge(e.target.checked)} />
          Yes, scan all {check.addresses.toLocaleString('en')} addresses (more than a /22)
        </label>
      )}
    </div>
  );
}

function SavedNetworks() {
  const networks = useDiscover((s) => s.networks);
  const pick = useDiscover((s) => s.pickNetwork);
  const save = useDiscover((s) => s.saveNetwork);
  const remove = useDiscover((s) => s.removeNetwork);
  const targets = useDiscover((s) => s.targets);
  const [name, setName] = useState('');
  const [picked, setPicked] = useState('');
  return (
    <fieldset className="saved-networks">
      <legend>Saved networks</legend>
      <div className="row">
        <Field label="Saved network">
          {(id) => (
            <select
              id={id}
              value={picked}
              onChange={(e) => {
                setPicked(e.target.value);
                if (e.target.value) pick(Number(e.target.value));
              }}
            >
              <option value="">{networks.length ? 'Pick a saved network…' : 'No saved networks yet'}</option>
              {networks.map((n) => (
                <option key={n.id} value={n.id}>
                  {n.name} — {n.targets.slice(0, 60)}
                </option>
              ))}
            </select>
          )}
        </Field>
        <button
          type="button"
          disabled={!picked}
          onClick={() => {
            void remove(Number(picked));
            setPicked('');
          }}
        >
          Remove saved network
        </button>
        <form
          className="row saved-network-save"
          onSubmit={(e) => {
            e.preventDefault();
            void save(name.trim()).then(() => setName(''));
          }}
        >
          <label>
            Save these targets as
            <input value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. Office LAN" />
          </label>
          <button type="submit" disabled={!name.trim() || !targets.trim()}>
            Save network
          </button>
        </form>
      </div>
    </fieldset>
  );
}

function scanStatusLabel(scan: Scan): string {
  return scan.status === 'completed' ? 'completed' : scan.status;
}

function PastScans() {
  const scans = useDiscover((s) => s.scans);
  const show = useDiscover((s) => s.showScan);
  const current = useDiscover((s) => s.scanId);
  if (scans.length === 0)
    return <p className="muted">No scans yet. Each scan you start is recorded here with its outcome.</p>;
  return (
    <table className="grid" aria-label="Past scans">
      <thead>
        <tr>
          <th>Scan</th>
          <th>Targets</th>
          <th>Status</th>
          <th>Hosts found</th>
          <th>Addresses probed</th>
          <th>Started</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {scans.map((scan) => (
          <tr key={scan.id} data-scan-id={scan.id} aria-current={scan.id === current ? 'true' : undefined}>
            <td>#{scan.id}</td>
            <td className="mono small">{scan.targets.slice(0, 80)}</td>
            <td className={scan.status === 'failed' ? 'error' : undefined}>
              {scanStatusLabel(scan)}
              {scan.error && <div className="small">{scan.error}</div>}
            </td>
            <td>{scan.hostsFound}</td>
            <td>
              {scan.addressesProbed.toLocaleString('en')} / {scan.addressesTotal.toLocaleString('en')}
            </td>
            <td className="small">{formatTime(scan.startedAt)}</td>
            <td>
              <button type="button" className="link" onClick={() => void show(scan.id)}>
                Show results of scan #{scan.id}
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function DiscoverPage() {
  const s = useDiscover();
  const settings = useApp((st) => st.settings);
  const navigate = useApp((st) => st.navigate);
  const loadLists = s.loadLists;
  useEffect(() => {
    void loadLists();
  }, [loadLists]);
  const [keys, setKeys] = useState<Map<number, HostKeySighting>>(new Map());
  const resultIds = s.results.map((h) => h.id).join(',');
  const running0 = s.progress?.status;
  useEffect(() => {
    let live = true;
    const hostIds = resultIds ? resultIds.split(',').map(Number) : [];
    if (hostIds.length === 0) return setKeys(new Map());
    api.hosts
      .pendingKeys({ hostIds })
      .then((list) => {
        if (!live) return;
        const byHost = new Map<number, HostKeySighting>();
        for (const k of list) if (!byHost.has(k.hostId)) byHost.set(k.hostId, k);
        setKeys(byHost);
      })
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [resultIds, running0]);
  const running = s.progress?.status === 'running' || s.progress?.status === 'queued';
  const check = s.check;
  const blocked =
    !s.targets.trim() ||
    (check !== null &&
      (check.errors.length > 0 ||
        (check.refused && !s.force) ||
        (check.needsConfirmation && !check.refused && !s.confirmLarge) ||
        check.addresses === 0)) ||
    (s.preset === 'custom' && !s.customPorts.trim());
  const notInInventory = s.results.filter((h) => !h.inInventory);
  const preset = PORT_PRESETS.find((p) => p.name === s.preset);
  return (
    <div className="page">
      <h1>Discover</h1>
      {s.error && (
        <p role="alert" className="error banner">
          {s.error}
        </p>
      )}
      {/* Compact on purpose: at 1280×800 the results of a scan show without scrolling. */}
      <form
        className="discover-form"
        aria-label="Discovery"
        onSubmit={(e) => {
          e.preventDefault();
          void s.start();
        }}
      >
        <fieldset className="discover-targets">
          <legend>Targets</legend>
          <div className="discover-target-fields">
            <Field label="Targets">
              {(id) => (
                <textarea
                  id={id}
                  rows={2}
                  className="mono"
                  value={s.targets}
                  placeholder={'198.18.0.0/24\n198.18.1.10-40, server1.example.lan'}
                  onChange={(e) => s.setField('targets', e.target.value)}
                  onBlur={() => void s.runCheck()}
                />
              )}
            </Field>
            <Field label="Exclude">
              {(id) => (
                <textarea
                  id={id}
                  rows={2}
                  className="mono"
                  value={s.exclude}
                  placeholder="addresses or ranges to leave out"
                  onChange={(e) => s.setField('exclude', e.target.value)}
                />
              )}
            </Field>
          </div>
          <div className="row">
            <button type="button" className="secondary" onClick={() => void s.propose()}>
              Propose my subnets
            </button>
            {s.notice && (
              <span role="status" className="muted small">
                {s.notice}
              </span>
            )}
          </div>
          <TargetCheckSummary />
        </fieldset>
        <fieldset className="discover-probes">
          <legend>Probes</legend>
          <div className="row">
            <Field label="Ports">
              {(id) => (
                <select id={id} value={s.preset} onChange={(e) => s.setField('preset', e.target.value)}>
                  {PORT_PRESETS.map((p) => (
                    <option key={p.name} value={p.name}>
                      {p.name} — {p.description}
                    </option>
                  ))}
                  <option value="custom">custom list…</option>
                </select>
              )}
            </Field>
            {s.preset === 'custom' && (
              <Field label="Custom ports">
                {(id) => (
                  <input
                    id={id}
                    className="mono"
                    value={s.customPorts}
                    placeholder="22,80,8000-8010"
                    onChange={(e) => s.setField('customPorts', e.target.value)}
                  />
                )}
              </Field>
            )}
          </div>
          <div className="row">
            <label>
              Probe timeout (ms)
              <input
                type="number"
                min={100}
                max={30000}
                step={100}
                value={s.timeoutMs ?? settings?.discoveryTimeoutMs ?? 1000}
                onChange={(e) => s.setTimeoutMs(e.target.value ? Number(e.target.value) : null)}
              />
            </label>
            <label className="inline">
              <input
                type="checkbox"
                checked={s.reverseDns}
                onChange={(e) => s.setReverseDns(e.target.checked)}
              />
              Reverse DNS
            </label>
          </div>
          {preset && <p className="muted small mono discover-port-list">Ports: {preset.ports.join(', ')}</p>}
          <div className="form-actions">
            <button type="submit" disabled={blocked || running || s.starting}>
              Start scan
            </button>
            <button type="button" className="danger" disabled={!running} onClick={() => void s.cancel()}>
              Cancel scan
            </button>
          </div>
        </fieldset>
      </form>
      <SavedNetworks />

      <section aria-label="Scan results" className="results">
        <h2>Results{s.scanId !== null ? ` of scan #${s.scanId}` : ''}</h2>
        {s.progress && (
          <div className="scan-progress">
            <progress
              aria-label="Scan progress"
              max={s.progress.total ?? undefined}
              value={s.progress.total ? s.progress.done : undefined}
            />
            <span className="small" role="status" aria-label="Scan status">
              {s.progress.status === 'running' ? 'Scanning' : s.progress.status}:{' '}
              {s.progress.done.toLocaleString('en')}
              {s.progress.total !== null ? ` of ${s.progress.total.toLocaleString('en')}` : ''} addresses
              probed
              {s.progress.message ? ` · ${s.progress.message}` : ''}
            </span>
          </div>
        )}
        {s.results.length === 0 ? (
          <p className="muted">
            {s.scanId === null
              ? 'Live hosts appear here as the scan finds them: address, name, OS guess, open ports, how Patchdeck can manage them and the MAC vendor.'
              : running
                ? 'Waiting for the first host to answer…'
                : 'This scan found no live host.'}
          </p>
        ) : (
          <>
            <div className="toolbar">
              <span>
                {s.found} host{s.found === 1 ? '' : 's'} found
              </span>
              <button
                type="button"
                disabled={notInInventory.length === 0}
                onClick={() => void s.addToInventory(notInInventory.map((h) => h.id))}
              >
                Add all to inventory
              </button>
              <button type="button" className="link" onClick={() => navigate('hosts')}>
                Go to Hosts
              </button>
            </div>
            {keys.size > 0 && (
              <p className="warn small" role="note">
                {keys.size} host{keys.size === 1 ? '' : 's'} showed an SSH key nobody has trusted yet.
                Patchdeck sends them no password until you check and trust the keys (Hosts → Review keys).
              </p>
            )}
            <table className="grid" aria-label="Discovered hosts">
              <thead>
                <tr>
                  <th>Address</th>
                  <th>Name</th>
                  <th>OS guess</th>
                  <th>Open ports</th>
                  <th>Managed by</th>
                  <th>MAC / vendor</th>
                  <th>SSH key</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {s.results.map((host) => (
                  <ResultRow key={host.id} host={host} seen={keys.get(host.id)} />
                ))}
              </tbody>
            </table>
            {s.found > s.results.length && (
              <p className="muted small">
                Showing {s.results.length} of {s.found} hosts (at most {MAX_RESULTS}); all of them are on the
                Hosts page.
              </p>
            )}
          </>
        )}
      </section>
      <section aria-label="Past scans list" className="past-scans">
        <h2>Past scans</h2>
        <PastScans />
      </section>
    </div>
  );
}
