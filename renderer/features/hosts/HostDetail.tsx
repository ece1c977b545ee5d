import { useEffect, useState } from 'react';
import { windowAdvice } from '../../components/advice';
import type { Audit, Host } from '../../../src/api/schemas';
import { findingVersionText, formatDuration, formatTime, plural } from '../../components/format';
import { OsIcon } from '../../components/OsIcon';
import { useHostDetail, type AuditDiff, type KeyProbe } from './detail-store';
import { HostRiskSection } from '../intel/HostRiskSection';
import { RebootHost } from './RebootHost';
import { useHosts } from './store';
import {
  formatBytes,
  formatDate,
  isKb,
  kbCategories,
  kbDetails,
  kbRestartText,
  updateSourceLabel,
} from '../../components/windows-updates';
import {
  certificateFacts,
  isWindowsHost,
  isWinrmPin,
  managedOverWinrm,
  pinTypeLabel,
  rebootReasonTexts,
  refreshOptionText,
  winrmTargetText,
} from './windows-host';

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
          {findings.slice(0, 200).map((f) =>
            isKb(f) ? (
              <KbItem key={f.id} finding={f} />
            ) : (
              <li key={f.id}>
                <span className="mono">{f.package}</span>
                {f.arch && <span className="muted small"> ({f.arch})</span>} {findingVersionText(f)}
                {f.security && <span className="badge security">security</span>}
              </li>
            ),
          )}
          {findings.length > 200 && <li className="muted">… and {findings.length - 200} more</li>}
        </ul>
      )}
    </section>
  );
}

/** A Windows update: KB and title, MSRC rating, categories, size, release date and restart. */
function KbItem({ finding }: { finding: DiffFinding }) {
  const details = kbDetails(finding);
  const facts = [
    kbCategories(finding).join(', '),
    formatBytes(details.sizeBytes),
    formatDate(details.releasedAt) && `released ${formatDate(details.releasedAt)}`,
    kbRestartText(finding),
  ].filter(Boolean);
  return (
    <li data-kb={finding.package}>
      <span className="mono">{finding.package}</span> {finding.availableVersion}
      {finding.security && <span className="badge security">security</span>}
      {finding.vendorSeverity && <span className="badge">{finding.vendorSeverity}</span>}
      {facts.length > 0 && <div className="muted small">{facts.join(' · ')}</div>}
    </li>
  );
}

/**
 * How the PC takes its updates, when its newest audit read Group Policy: a WSUS server decides
 * what Windows Update offers it, so the admin must know that approvals happen there too; and who
 * searched (the session, or a SYSTEM task when Windows denied the session).
 */
function WindowsManagement({ host, audit }: { host: Host; audit: Audit }) {
  const facts = audit.windows;
  if (!facts) return null;
  const policy = facts.policy;
  return (
    <>
      {policy?.useWUServer && (
        <p className="warning" role="note" aria-label="WSUS">
          <strong>{host.name} is managed by WSUS</strong>
          {policy.server ? (
            <>
              {' '}
              (<span className="mono">{policy.server}</span>)
            </>
          ) : null}
          : Group Policy makes it take its updates from that server, so only what WSUS approved for it is
          listed here and can be installed. Approve updates there first.
        </p>
      )}
      {policy?.noAutoUpdate && (
        <p className="muted small" role="note">
          Group Policy switches Windows&apos; Automatic Updates off on {host.name}: it installs only what
          Patchdeck or an admin starts.
        </p>
      )}
      {facts.searchedBy === 'system-task' && (
        <p className="muted small" role="note">
          Windows refused the update search to the remote session, so the newest audit searched through a
          one-off task running as SYSTEM on the PC.
        </p>
      )}
    </>
  );
}

/** The hotfixes the newest audit found installed on the PC (Win32_QuickFixEngineering), newest first. */
function Hotfixes() {
  const hotfixes = useHostDetail((s) => s.hotfixes);
  if (hotfixes.length === 0) return null;
  const sorted = [...hotfixes].sort((a, b) => (b.installedOn ?? '').localeCompare(a.installedOn ?? ''));
  return (
    <section aria-label="Installed updates">
      <details>
        <summary>
          <strong>Installed updates ({hotfixes.length})</strong>
        </summary>
        <table className="grid compact" aria-label="Installed hotfixes">
          <thead>
            <tr>
              <th>KB</th>
              <th>Kind</th>
              <th>Installed on</th>
            </tr>
          </thead>
          <tbody>
            {sorted.map((h) => (
              <tr key={h.hotfixId}>
                <td className="mono">{h.hotfixId}</td>
                <td className="small">{h.description ?? '—'}</td>
                <td className="small">{h.installedOn ?? 'not recorded'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
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

/** What the trust panel says for one family of pins: SSH host keys, or a PC's WinRM identity. */
interface TrustTexts {
  label: string;
  heading: string;
  none: string;
  read: string;
  check: string;
  compare: string;
  trust: string;
  changedTitle: string;
  changedWhy: string;
  confirm: string;
  retrust: string;
  keep: string;
}

const SSH_TEXTS: TrustTexts = {
  label: 'SSH host keys',
  heading: 'SSH host key',
  none: "No key pinned yet, so Patchdeck sends this host no password. Read its key here, compare the fingerprint with the machine's own, and trust it (or review several at once on the Hosts page).",
  read: 'Read host key',
  check: 'Check host key',
  compare:
    'Compare it with the fingerprint on the machine (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) before trusting it.',
  trust: 'Trust this key',
  changedTitle: 'Host key changed',
  changedWhy:
    'This happens when the machine was reinstalled or its keys regenerated — or when something is impersonating it. Audits of this host are blocked until you re-trust it.',
  confirm: "I checked with the machine's owner that this new key is genuine",
  retrust: 'Re-trust with the new key',
  keep: 'Keep the old key',
};

const WINRM_TEXTS: TrustTexts = {
  label: 'WinRM identity',
  heading: 'WinRM identity',
  none: "Nothing pinned yet, so Patchdeck sends this PC no password. Read what its WinRM presents here — the HTTPS certificate, or over HTTP the names the PC announces — compare it with the PC's own, and trust it (or review several at once on the Hosts page).",
  read: 'Read WinRM identity',
  check: 'Check WinRM identity',
  compare:
    "Compare it with the certificate of the PC's WinRM HTTPS listener, or over HTTP with the PC's own computer and domain names, before trusting it.",
  trust: 'Trust this identity',
  changedTitle: 'WinRM identity changed',
  changedWhy:
    'This happens when the PC got a new WinRM certificate, was renamed or joined another domain — or when something is impersonating it. Audits of this PC are blocked until you re-trust it.',
  confirm: "I checked with the PC's owner that this new identity is genuine",
  retrust: 'Re-trust with the new identity',
  keep: 'Keep the old identity',
};

/** The plain warning of an NTLM identity pin: it is only what the PC says its name is. */
function NtlmPinWarning() {
  return (
    <p className="warning small" role="note">
      An NTLM identity is only the name the PC announced about itself, not a proof: any machine on the network
      can announce the same name. It stops Patchdeck from talking to a different PC by mistake, not an
      impostor. For a pin that proves the PC, enable WinRM over HTTPS (port 5986) and trust its certificate.
    </p>
  );
}

/** A certificate pin as its stored PEM describes it (the core reads it; untrusted text, cleaned). */
function PinFacts({ pin }: { pin: object & { type: string; certificate?: { selfSigned: boolean } | null } }) {
  if (pin.type !== 'x509-certificate') return null;
  const facts = certificateFacts(pin);
  if (!facts) return null;
  const selfSigned = pin.certificate ? pin.certificate.selfSigned : facts.issuer === facts.subject;
  return (
    <div className="small muted" data-testid="pinned-certificate">
      {facts.subject && <>Subject {facts.subject}</>}
      {facts.issuer && !selfSigned && <> · issued by {facts.issuer}</>}
      {facts.issuer && selfSigned && <> · self-signed</>}
      {(facts.validFrom || facts.validTo) && (
        <>
          {' '}
          · valid {formatTime(facts.validFrom)} to {formatTime(facts.validTo)}
        </>
      )}
    </div>
  );
}

/** What a presented certificate says of itself (untrusted text, cleaned by the core): for the review. */
function ProbeCertificate({ facts }: { facts: NonNullable<KeyProbe['certificate']> }) {
  return (
    <span className="small" data-testid="presented-certificate">
      {' '}
      (subject <span className="mono">{facts.subject}</span>,{' '}
      {facts.selfSigned ? 'self-signed' : <>issued by {facts.issuer}</>}, valid {formatTime(facts.validFrom)}{' '}
      to {formatTime(facts.validTo)})
    </span>
  );
}

function HostKeys({ host, family }: { host: Host; family: 'ssh' | 'winrm' }) {
  const allKeys = useHostDetail((s) => s.keys);
  const anyProbe = useHostDetail((s) => s.probe);
  const probeChannel = useHostDetail((s) => s.probeChannel);
  const probing = useHostDetail((s) => s.probing);
  const checkKey = useHostDetail((s) => s.checkKey);
  const trust = useHostDetail((s) => s.trust);
  const dismiss = useHostDetail((s) => s.dismissProbe);
  const message = useHostDetail((s) => s.trustMessage);
  const [understood, setUnderstood] = useState(false);
  const winrm = family === 'winrm';
  const t = winrm ? WINRM_TEXTS : SSH_TEXTS;
  const keys = allKeys.filter((k) => isWinrmPin(k.type) === winrm);
  // Each panel answers for its own family: a WinRM probe is never offered as an SSH key.
  const probe = anyProbe && (probeChannel === 'winrm') === winrm ? anyProbe : null;
  useEffect(() => setUnderstood(false), [probe]);
  const pinned = keys[0];
  const ntlm = keys.some((k) => k.type === 'ntlm-identity') || probe?.type === 'ntlm-identity';
  const what = (type: string) => (winrm ? pinTypeLabel(type) : type);
  return (
    <section aria-label={t.label}>
      <h3>{t.heading}</h3>
      {keys.length === 0 ? (
        <p className="muted">{t.none}</p>
      ) : (
        <table className="grid compact" aria-label={winrm ? 'Pinned WinRM identities' : 'Pinned host keys'}>
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
                <td>{what(k.type)}</td>
                <td className="mono small">
                  {k.fingerprint}
                  <PinFacts pin={k} />
                </td>
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
      {winrm && ntlm && <NtlmPinWarning />}
      <div className="row">
        <button type="button" disabled={probing} onClick={() => void checkKey(family)}>
          {keys.length ? t.check : t.read}
        </button>
        {message && (!anyProbe || probe) && (
          <span role="status" className="ok small">
            {message}
          </span>
        )}
      </div>
      {probe && !probe.changed && keys.some((k) => k.fingerprint === probe.fingerprint) && (
        <p role="status" className="ok">
          {host.name} still presents the trusted {winrm ? 'identity' : 'key'} ({what(probe.type)}{' '}
          <span className="mono">{probe.fingerprint}</span>).
        </p>
      )}
      {probe && !probe.changed && !keys.some((k) => k.fingerprint === probe.fingerprint) && (
        <div className="trust-box" role="group" aria-label={winrm ? 'Trust this identity' : 'Trust this key'}>
          <p>
            {host.name} presents {what(probe.type)} <span className="mono">{probe.fingerprint}</span>
            {probe.certificate && <ProbeCertificate facts={probe.certificate} />}
            {'. '}
            {winrm ? (
              probe.type === 'x509-certificate' ? (
                "Compare it with the certificate of the PC's WinRM HTTPS listener before trusting it."
              ) : probe.type === 'ntlm-identity' ? (
                "Compare it with the PC's own computer and domain names before trusting it: it is only what the PC announces."
              ) : (
                t.compare
              )
            ) : (
              <>
                Compare it with the fingerprint on the machine (
                <span className="mono">ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub</span>) before trusting it.
              </>
            )}
          </p>
          <button type="button" onClick={() => void trust(false)} disabled={probing}>
            {t.trust}
          </button>{' '}
          <button type="button" className="secondary" onClick={dismiss}>
            Not now
          </button>
        </div>
      )}
      {probe && probe.changed && (
        <div className="trust-box danger-box" role="alertdialog" aria-label={t.changedTitle}>
          <p>
            <strong>
              The {winrm ? 'WinRM identity' : 'host key'} of {host.name} has changed.
            </strong>{' '}
            It now presents {what(probe.type)} <span className="mono">{probe.fingerprint}</span>
            {probe.certificate && <ProbeCertificate facts={probe.certificate} />}
            {pinned && (
              <>
                , not the {winrm ? 'identity' : 'key'} trusted on {formatTime(pinned.trustedAt)} (
                <span className="mono">{pinned.fingerprint}</span>)
              </>
            )}
            . {t.changedWhy}
          </p>
          <label className="inline">
            <input type="checkbox" checked={understood} onChange={(e) => setUnderstood(e.target.checked)} />
            {t.confirm}
          </label>
          <button
            type="button"
            className="danger"
            disabled={!understood || probing}
            onClick={() => void trust(true)}
          >
            {t.retrust}
          </button>{' '}
          <button type="button" className="secondary" onClick={dismiss}>
            {t.keep}
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
  const keys = useHostDetail((s) => s.keys);
  const close = useHosts((s) => s.openDetail);
  const audit = useHosts((s) => s.audit);
  const auditRefresh = useHosts((s) => s.auditRefresh);
  const setAuditRefresh = useHosts((s) => s.setAuditRefresh);
  const auditing = useHosts((s) => s.auditing.has(host.id));
  const noCredential = useHosts((s) => s.credentials.length === 0);
  useEffect(() => {
    void load(host.id);
  }, [load, host.id]);
  const newest = audits.find((a) => a.status === 'succeeded');
  const windows = isWindowsHost(host, newest);
  const refreshOption = refreshOptionText([host], () => newest);
  // What the newest Windows audit read as the reasons for its "needs a reboot", in words.
  const rebootReasons = rebootReasonTexts(newest);
  const overWinrm = managedOverWinrm(host);
  const winrmText = winrmTargetText(host);
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
          <label className="inline" title={refreshOption.title}>
            <input
              type="checkbox"
              checked={auditRefresh}
              onChange={(e) => setAuditRefresh(e.target.checked)}
            />
            {refreshOption.label}
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
      {newest?.windows && <WindowsManagement host={host} audit={newest} />}
      <RebootHost host={host} audit={newest} />
      {rebootReasons.length > 0 && (
        <section className="muted small" aria-label="Why a restart is needed">
          Why {host.name} needs a restart:
          <ul>
            {rebootReasons.map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ul>
        </section>
      )}
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
                <span className="muted">
                  {' '}
                  ({windows ? 'build' : 'kernel'} {audits.find((a) => a.kernel)?.kernel})
                </span>
              )}
            </dd>
          </>
        )}
        <dt>MAC</dt>
        <dd>
          {host.mac ? <span className="mono">{host.mac}</span> : '—'}
          {host.macVendor ? ` (${host.macVendor})` : ''}
        </dd>
        {!overWinrm && (
          <>
            <dt>SSH port</dt>
            <dd>{host.sshPort}</dd>
          </>
        )}
        {winrmText && (
          <>
            <dt>WinRM</dt>
            <dd>{winrmText}</dd>
          </>
        )}
        <dt>First / last seen</dt>
        <dd>
          {formatTime(host.firstSeen)} / {formatTime(host.lastSeen)}
        </dd>
      </dl>
      {newest && <HostRiskSection hostId={host.id} auditedAt={newest.finishedAt} windows={windows} />}
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
      {!host.offlineOnly && !overWinrm && <HostKeys host={host} family="ssh" />}
      {!host.offlineOnly && (winrmText !== null || keys.some((k) => isWinrmPin(k.type))) && (
        <HostKeys host={host} family="winrm" />
      )}
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
                <th>{windows ? 'Updates from' : 'Packages'}</th>
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
                    {updateSourceLabel(a.packageManager) ?? '—'}
                    {a.metadataAgeSeconds !== null && (
                      <span className="muted">
                        {' '}
                        {a.packageManager === 'windows-update'
                          ? `(last search ${Math.round(a.metadataAgeSeconds / 3600)} h ago)`
                          : `(metadata ${Math.round(a.metadataAgeSeconds / 3600)} h old)`}
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
      {windows && <Hotfixes />}
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
