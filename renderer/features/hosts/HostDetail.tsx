import { useEffect, useState } from 'react';
import { windowAdvice } from '../../components/advice';
import type { Audit, Host } from '../../../src/api/schemas';
import { findingVersionText, formatDuration, formatTime, plural } from '../../components/format';
import { OsIcon } from '../../components/OsIcon';
import { useHostDetail, type AuditDiff } from './detail-store';
import { RebootHost } from './RebootHost';
import { useHosts } from './store';

type DiffFinding = AuditDiff['added'][number];

function FindingList({ title, findings }: { title: string; findings: DiffFinding[] }) {
  return (
    <section aria-label={`${title} findings`} className="diff-part">
      <h4>
        {title} ({findings.length})
      </h4>
      {findings.length === 0 ? (
        <p className="muted small">none</p>
      ) : (
        <ul className="small">
          {findings.slice(0, 200).map((f) => (
            <li key={f.id}>
              <span className="mono">{f.package}</span>
              {f.arch && <span className="muted small"> ({f.arch})</span>} {findingVersionText(f)}
              {f.security && <span className="badge security">security</span>}
            </li>
          ))}
          {findings.length > 200 && <li className="muted">… and {findings.length - 200} more</li>}
        </ul>
      )}
    </section>
  );
}

function auditOutcome(audit: Audit): string {
  if (audit.status === 'succeeded')
    return `${plural(audit.updatesCount, 'update')}, ${audit.securityCount} security${audit.rebootRequired ? ', reboot required' : ''}`;
  if (audit.status === 'running') return 'running…';
  return `${audit.status}${audit.errorKind ? `: ${audit.errorKind}` : ''}`;
}

/** An imported host has no connection target until the admin types the address it really has. */
function ConfirmAddress({ host }: { host: Host }) {
  const update = useHosts((s) => s.update);
  // A scan may have seen a machine answering to this name: offered, never assumed.
  const [address, setAddress] = useState(host.address ?? '');
  return (
    <section aria-label="Offline only" className="trust-box">
      <p>
        <strong>{host.name} is offline only.</strong> It came from an imported collection file, which anyone
        could have written, so Patchdeck does not look its name up or connect to it. Type the address you know
        it has to audit it over the network.
      </p>
      {host.address && (
        <p className="small">
          A scan saw a machine answering to this name at <span className="mono">{host.address}</span>. Confirm
          it only if you know that is this host.
        </p>
      )}
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          void update(host.id, { address: address.trim() });
        }}
      >
        <label>
          Address
          <input value={address} onChange={(e) => setAddress(e.target.value)} placeholder="198.18.0.11" />
        </label>
        <button type="submit" disabled={!address.trim()}>
          Confirm address
        </button>
      </form>
    </section>
  );
}

function HostKeys({ host }: { host: Host }) {
  const keys = useHostDetail((s) => s.keys);
  const probe = useHostDetail((s) => s.probe);
  const probing = useHostDetail((s) => s.probing);
  const checkKey = useHostDetail((s) => s.checkKey);
  const trust = useHostDetail((s) => s.trust);
  const dismiss = useHostDetail((s) => s.dismissProbe);
  const message = useHostDetail((s) => s.trustMessage);
  const [understood, setUnderstood] = useState(false);
  useEffect(() => setUnderstood(false), [probe]);
  const pinned = keys[0];
  return (
    <section aria-label="SSH host keys">
      <h3>SSH host key</h3>
      {keys.length === 0 ? (
        <p className="muted">
          No key pinned yet, so Patchdeck sends this host no password. Read its key here, compare the
          fingerprint with the machine&apos;s own, and trust it (or review several at once on the Hosts page).
        </p>
      ) : (
        <table className="grid compact" aria-label="Pinned host keys">
          <thead>
            <tr>
              <th>Type</th>
              <th>Fingerprint</th>
              <th>Trusted</th>
              <th>By</th>
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k.id}>
                <td>{k.type}</td>
                <td className="mono small">{k.fingerprint}</td>
                <td className="small">{formatTime(k.trustedAt)}</td>
                <td>
                  {k.reviewed ? (
                    k.trustedBy
                  ) : (
                    <span
                      className="badge warn"
                      title="No password is sent to this host until the key is reviewed"
                    >
                      automatic, first use — not reviewed
                    </span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="row">
        <button type="button" disabled={probing} onClick={() => void checkKey()}>
          {keys.length ? 'Check host key' : 'Read host key'}
        </button>
        {message && (
          <span role="status" className="ok small">
            {message}
          </span>
        )}
      </div>
      {probe && !probe.changed && keys.some((k) => k.fingerprint === probe.fingerprint) && (
        <p role="status" className="ok">
          {host.name} still presents the trusted key ({probe.type}{' '}
          <span className="mono">{probe.fingerprint}</span>).
        </p>
      )}
      {probe && !probe.changed && !keys.some((k) => k.fingerprint === probe.fingerprint) && (
        <div className="trust-box" role="group" aria-label="Trust this key">
          <p>
            {host.name} presents {probe.type} <span className="mono">{probe.fingerprint}</span>. Compare it
            with the fingerprint on the machine (
            <span className="mono">ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub</span>) before trusting it.
          </p>
          <button type="button" onClick={() => void trust(false)} disabled={probing}>
            Trust this key
          </button>{' '}
          <button type="button" className="secondary" onClick={dismiss}>
            Not now
          </button>
        </div>
      )}
      {probe && probe.changed && (
        <div className="trust-box danger-box" role="alertdialog" aria-label="Host key changed">
          <p>
            <strong>The host key of {host.name} has changed.</strong> It now presents {probe.type}{' '}
            <span className="mono">{probe.fingerprint}</span>
            {pinned && (
              <>
                , not the key trusted on {formatTime(pinned.trustedAt)} (
                <span className="mono">{pinned.fingerprint}</span>)
              </>
            )}
            . This happens when the machine was reinstalled or its keys regenerated — or when something is
            impersonating it. Audits of this host are blocked until you re-trust it.
          </p>
          <label className="inline">
            <input type="checkbox" checked={understood} onChange={(e) => setUnderstood(e.target.checked)} />I
            checked with the machine&apos;s owner that this new key is genuine
          </label>
          <button
            type="button"
            className="danger"
            disabled={!understood || probing}
            onClick={() => void trust(true)}
          >
            Re-trust with the new key
          </button>{' '}
          <button type="button" className="secondary" onClick={dismiss}>
            Keep the old key
          </button>
        </div>
      )}
    </section>
  );
}

export function HostDetail({ host }: { host: Host }) {
  const load = useHostDetail((s) => s.load);
  const audits = useHostDetail((s) => s.audits);
  const diff = useHostDetail((s) => s.diff);
  const diffAuditId = useHostDetail((s) => s.diffAuditId);
  const error = useHostDetail((s) => s.error);
  const close = useHosts((s) => s.openDetail);
  const audit = useHosts((s) => s.audit);
  const auditRefresh = useHosts((s) => s.auditRefresh);
  const setAuditRefresh = useHosts((s) => s.setAuditRefresh);
  const auditing = useHosts((s) => s.auditing.has(host.id));
  const noCredential = useHosts((s) => s.credentials.length === 0);
  useEffect(() => {
    void load(host.id);
  }, [load, host.id]);
  return (
    <section className="page detail host-detail" aria-label={`Host detail: ${host.name}`}>
      <div className="detail-head">
        <h1>
          <OsIcon family={host.osFamily} /> {host.name}
        </h1>
        <div className="row">
          <button
            type="button"
            disabled={auditing || host.offlineOnly || noCredential}
            title={noCredential ? 'Add a credential first (Settings)' : undefined}
            onClick={() => void audit([host.id])}
          >
            {auditing ? 'Auditing…' : 'Audit this host'}
          </button>
          <label className="inline">
            <input
              type="checkbox"
              checked={auditRefresh}
              onChange={(e) => setAuditRefresh(e.target.checked)}
            />
            Refresh package metadata
          </label>
          <button type="button" className="secondary" onClick={() => close(null)}>
            All hosts
          </button>
        </div>
      </div>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {host.offlineOnly && <ConfirmAddress host={host} />}
      <RebootHost host={host} audit={audits.find((a) => a.status === 'succeeded')} />
      <dl className="facts">
        <dt>Addresses</dt>
        <dd className="mono">{host.addresses.length ? host.addresses.join(', ') : (host.address ?? '—')}</dd>
        <dt>OS</dt>
        <dd>
          {[host.osName ?? host.osFamily ?? 'unknown', host.osVersion].filter(Boolean).join(' ')}
          {host.osConfidence !== null && host.osConfidence < 1 && (
            <span className="muted"> (guess, {Math.round(host.osConfidence * 100)}%)</span>
          )}
          {host.osEvidence.length > 0 && (
            <ul className="evidence small muted">
              {host.osEvidence.map((e, i) => (
                <li key={i}>{e}</li>
              ))}
            </ul>
          )}
        </dd>
        {audits[0]?.osName && (
          <>
            <dt>Audited OS</dt>
            <dd>
              {[audits.find((a) => a.osName)?.osName, audits.find((a) => a.osName)?.osVersion]
                .filter(Boolean)
                .join(' ')}
              {audits.find((a) => a.kernel)?.kernel && (
                <span className="muted"> (kernel {audits.find((a) => a.kernel)?.kernel})</span>
              )}
            </dd>
          </>
        )}
        <dt>MAC</dt>
        <dd>
          {host.mac ? <span className="mono">{host.mac}</span> : '—'}
          {host.macVendor ? ` (${host.macVendor})` : ''}
        </dd>
        <dt>SSH port</dt>
        <dd>{host.sshPort}</dd>
        <dt>First / last seen</dt>
        <dd>
          {formatTime(host.firstSeen)} / {formatTime(host.lastSeen)}
        </dd>
      </dl>
      <h3>Services</h3>
      {host.services.length === 0 ? (
        <p className="muted">No open port recorded by discovery.</p>
      ) : (
        <table className="grid compact" aria-label="Services">
          <thead>
            <tr>
              <th>Port</th>
              <th>Service</th>
              <th>Banner</th>
            </tr>
          </thead>
          <tbody>
            {host.services.map((s) => (
              <tr key={s.port}>
                <td className="mono">{s.port}</td>
                <td>{s.service ?? '—'}</td>
                <td className="mono small banner-text">{s.banner ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {!host.offlineOnly && <HostKeys host={host} />}
      <section aria-label="Audit history">
        <h3>Audit history</h3>
        {audits.length === 0 ? (
          <p className="muted">
            Not audited yet. Each audit will be listed here with its findings and errors.
          </p>
        ) : (
          <table className="grid compact" aria-label="Audits">
            <thead>
              <tr>
                <th>Started</th>
                <th>Outcome</th>
                <th>OS</th>
                <th>Packages</th>
                <th>Took</th>
              </tr>
            </thead>
            <tbody>
              {audits.map((a) => (
                <tr key={a.id} data-audit-id={a.id}>
                  <td className="small">{formatTime(a.startedAt)}</td>
                  <td className={a.status === 'failed' ? 'error' : undefined}>
                    {auditOutcome(a)}
                    {a.errorMessage && <div className="small">{a.errorMessage}</div>}
                    {windowAdvice(a.errorKind) && (
                      <div className="small advice">{windowAdvice(a.errorKind)}</div>
                    )}
                    {a.warnings.length > 0 && (
                      // What the audit did by itself (a refresh of missing metadata) or could not
                      // see (no reboot tool) is part of its result, not only of the record.
                      <ul className="small muted audit-warnings" aria-label="Audit notes">
                        {a.warnings.slice(0, 5).map((w, i) => (
                          <li key={i}>{w}</li>
                        ))}
                        {a.warnings.length > 5 && <li>and {a.warnings.length - 5} more</li>}
                      </ul>
                    )}
                  </td>
                  <td className="small">{[a.osName, a.osVersion].filter(Boolean).join(' ') || '—'}</td>
                  <td className="small">
                    {a.packageManager ?? '—'}
                    {a.metadataAgeSeconds !== null && (
                      <span className="muted">
                        {' '}
                        (metadata {Math.round(a.metadataAgeSeconds / 3600)} h old)
                      </span>
                    )}
                  </td>
                  <td className="small">{formatDuration(a.durationMs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {diff && (
        <section aria-label="Changes since the previous audit" className="diff">
          <h3>
            {diff.previousAuditId
              ? `Audit #${diffAuditId} compared with #${diff.previousAuditId}`
              : `Audit #${diffAuditId} (first audit: everything is new)`}
          </h3>
          <div className="diff-grid">
            <FindingList title="New" findings={diff.added} />
            <FindingList title="Resolved" findings={diff.resolved} />
            <FindingList title="Unchanged" findings={diff.unchanged} />
          </div>
        </section>
      )}
    </section>
  );
}
