import { useEffect, useRef, useState, type FormEvent } from 'react';
import type { CveFacts, ExceptionInput, FindingEvidence } from '../../../src/api/intel-schemas';
import { describeError } from '../../api';
import { formatTime } from '../../components/format';
import { TIER_LABELS, dayOf, dueText, exceptionWord, formatEpss, shortSha } from '../../components/intel';
import { useApp } from '../../stores/app';
import { useEvidence, useExceptions } from './store';
import './intel.css';

const NAME_KIND: Record<string, string> = {
  source: 'source package',
  binary: 'binary package',
  'package-manager': 'named by the package manager',
};

/** Only web links are made clickable; anything else a feed carried is shown as text. */
function safeUrl(url: string | null): string | null {
  return url && /^https:\/\//i.test(url) ? url : null;
}

function KevFacts({ kev }: { kev: CveFacts['kev'] }) {
  if (!kev) return <span>Not in CISA&apos;s Known Exploited Vulnerabilities catalogue.</span>;
  return (
    <span>
      <strong>Known exploited</strong>: in CISA&apos;s KEV catalogue since{' '}
      {kev.dateAdded ?? 'an unknown date'}
      {kev.dueDate ? `, CISA's due date ${kev.dueDate}` : ''}
      {kev.ransomware ? ', used in ransomware campaigns' : ''}
      {kev.name ? ` (${kev.name})` : ''}. Catalogue dated {dayOf(kev.catalogDate)}.
    </span>
  );
}

function CveBlock({ facts }: { facts: CveFacts }) {
  return (
    <section className="evidence-cve" aria-label={facts.cve} data-cve={facts.cve}>
      <h3 className="mono">
        <a
          href={`https://www.cve.org/CVERecord?id=${encodeURIComponent(facts.cve)}`}
          target="_blank"
          rel="noreferrer"
        >
          {facts.cve}
        </a>
      </h3>
      <ul className="small">
        <li>
          <KevFacts kev={facts.kev} />
        </li>
        <li>
          {facts.epss
            ? `EPSS ${formatEpss(facts.epss.score)} chance of exploitation in 30 days (percentile ${formatEpss(facts.epss.percentile)}), scores of ${dayOf(facts.epss.scoreDate)}.`
            : 'No EPSS score for this CVE in the snapshot.'}
        </li>
        <li>
          {facts.cvssScore !== null ? `CVSS ${facts.cvssScore.toFixed(1)}` : 'No CVSS score in the snapshot'}
          {facts.cvssVector && <span className="mono"> {facts.cvssVector}</span>}.
          {facts.severity ? ` Severity: ${facts.severity}.` : ''}
        </li>
      </ul>
      {facts.evidence.length === 0 ? (
        <p className="muted small">No record in the snapshot names this CVE for this update.</p>
      ) : (
        <table className="grid compact" aria-label={`Evidence for ${facts.cve}`}>
          <thead>
            <tr>
              <th>Publisher</th>
              <th>Advisory</th>
              <th>Matched</th>
              <th>Fixed in</th>
              <th>File</th>
              <th>sha256</th>
              <th>Dated</th>
            </tr>
          </thead>
          <tbody>
            {facts.evidence.map((e, i) => {
              const url = safeUrl(e.url);
              return (
                <tr key={`${e.advisoryId}:${i}`}>
                  <td className="small">{e.publisher ?? e.feed}</td>
                  <td className="mono small">
                    {url ? (
                      <a href={url} target="_blank" rel="noreferrer">
                        {e.advisoryId}
                      </a>
                    ) : (
                      e.advisoryId
                    )}
                    {e.vendorSeverity && <span className="muted"> ({e.vendorSeverity})</span>}
                  </td>
                  <td className="small">
                    <span className="mono">{e.matchedName}</span>{' '}
                    <span className="muted">({NAME_KIND[e.nameKind] ?? e.nameKind})</span>
                  </td>
                  <td className="mono small">{e.fixedVersion ?? '—'}</td>
                  <td className="mono small">{e.sourceFile ?? '—'}</td>
                  <td className="mono small" title={e.sourceSha256 ?? undefined}>
                    {shortSha(e.sourceSha256)}
                  </td>
                  <td className="small">{dayOf(e.snapshotDate)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

type Scope = ExceptionInput['scope'];

function inDays(days: number): string {
  const d = new Date(Date.now() + days * 86_400_000);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

/** "Accept or defer…": an exception for this update, one of its CVEs, its package, or its package on this host. */
function ExceptionForm({ evidence, onDone }: { evidence: FindingEvidence; onDone(text: string): void }) {
  const operator = useApp((s) => s.settings?.operatorName ?? '');
  const add = useExceptions((s) => s.add);
  const [decision, setDecision] = useState<'accept' | 'defer'>('defer');
  const [scope, setScope] = useState<Scope>('finding');
  const [cve, setCve] = useState(evidence.cves[0]?.cve ?? '');
  const [reason, setReason] = useState('');
  const [owner, setOwner] = useState(operator);
  const [until, setUntil] = useState(inDays(30));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const base = {
      decision,
      reason,
      owner, // The end of that day in UTC, as the CLI and the README have it.
      expiresAt: `${until}T23:59:59.000Z`,
    };
    const input: ExceptionInput =
      scope === 'finding'
        ? { ...base, scope, findingId: evidence.findingId }
        : scope === 'cve'
          ? { ...base, scope, cve }
          : scope === 'package'
            ? { ...base, scope, package: evidence.package }
            : { ...base, scope, hostId: evidence.hostId, package: evidence.package };
    try {
      const record = await add(input);
      onDone(
        `${record.decision === 'accept' ? 'Accepted' : 'Deferred'} until ${dayOf(record.expiresAt)}; it covers ${record.findings} update${record.findings === 1 ? '' : 's'} now.`,
      );
    } catch (err) {
      setError(`Not recorded: ${describeError(err)}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="exception-form" aria-label="Accept or defer" onSubmit={(e) => void submit(e)}>
      <fieldset>
        <legend>Decision</legend>
        <label className="inline">
          <input
            type="radio"
            name="decision"
            checked={decision === 'defer'}
            onChange={() => setDecision('defer')}
          />
          Defer: due at the expiry date instead
        </label>
        <label className="inline">
          <input
            type="radio"
            name="decision"
            checked={decision === 'accept'}
            onChange={() => setDecision('accept')}
          />
          Accept the risk: not overdue until the expiry date
        </label>
      </fieldset>
      <label>
        Covers
        <select value={scope} onChange={(e) => setScope(e.target.value as Scope)}>
          <option value="finding">
            This update ({evidence.package} {evidence.availableVersion} on {evidence.hostName})
          </option>
          <option value="cve" disabled={evidence.cves.length === 0}>
            One CVE on every host
          </option>
          <option value="package">{evidence.package} on every host</option>
          <option value="host-package">
            {evidence.package} on {evidence.hostName}, any version
          </option>
        </select>
      </label>
      {scope === 'cve' && (
        <label>
          CVE
          <select value={cve} onChange={(e) => setCve(e.target.value)}>
            {evidence.cves.map((c) => (
              <option key={c.cve} value={c.cve}>
                {c.cve}
              </option>
            ))}
          </select>
        </label>
      )}
      <label>
        Reason
        <textarea
          value={reason}
          required
          minLength={3}
          maxLength={2000}
          onChange={(e) => setReason(e.target.value)}
        />
      </label>
      <label>
        Owner
        <input value={owner} required maxLength={200} onChange={(e) => setOwner(e.target.value)} />
      </label>
      <label>
        Expires on (UTC)
        <input
          type="date"
          value={until}
          required
          min={inDays(1)}
          onChange={(e) => setUntil(e.target.value)}
        />
      </label>
      <div className="form-actions">
        <button type="submit" disabled={busy}>
          {busy ? 'Recording…' : decision === 'accept' ? 'Accept until then' : 'Defer until then'}
        </button>
        {error && (
          <span role="alert" className="error">
            {error}
          </span>
        )}
      </div>
    </form>
  );
}

function EvidenceBody({ evidence }: { evidence: FindingEvidence }) {
  const [form, setForm] = useState(false);
  const done = useEvidence((s) => s.notice);
  const refresh = useEvidence((s) => s.refresh);
  return (
    <>
      <dl className="facts small">
        <dt>Update</dt>
        <dd className="mono">
          {evidence.installedVersion ?? 'new'} → {evidence.availableVersion}
        </dd>
        {evidence.sourcePackage && (
          <>
            <dt>Source package</dt>
            <dd className="mono">{evidence.sourcePackage}</dd>
          </>
        )}
        <dt>Advisories of</dt>
        <dd>{evidence.ecosystem ?? 'no known ecosystem'}</dd>
        <dt>Tier</dt>
        <dd>
          {evidence.tier ? <strong>{TIER_LABELS[evidence.tier]}</strong> : 'none (not a security update)'}
          {evidence.tierReason && ` — ${evidence.tierReason}`}
        </dd>
        <dt>First seen</dt>
        <dd>
          {formatTime(evidence.firstSeenAt)}
          {evidence.firstSeenAuditId !== null && (
            <span className="muted"> (audit #{evidence.firstSeenAuditId})</span>
          )}
        </dd>
        <dt>Due</dt>
        <dd className={evidence.overdue ? 'overdue' : undefined}>
          {evidence.overdue ? (
            <strong>{dueText(evidence)}</strong>
          ) : (
            `${evidence.exception && evidence.dueAt ? `${exceptionWord(evidence.exception.decision)} ` : ''}${dueText(evidence)}`
          )}
          {evidence.dueReason && ` — ${evidence.dueReason}`}
        </dd>
        <dt>Exception</dt>
        <dd>
          {evidence.exception
            ? `${evidence.exception.decision === 'accept' ? 'Accepted' : 'Deferred'} until ${dayOf(evidence.exception.expiresAt)} by ${evidence.exception.owner}: ${evidence.exception.reason}`
            : 'none'}
        </dd>
        <dt>Judged</dt>
        <dd>{formatTime(evidence.judgedAt)}</dd>
      </dl>
      {evidence.cves.length === 0 ? (
        <p className="muted">No CVE is known for this update in the imported advisories.</p>
      ) : (
        evidence.cves.map((c) => <CveBlock key={c.cve} facts={c} />)
      )}
      {evidence.unmatchedAdvisories.length > 0 && (
        <p className="small">
          Reported by the package manager but not in the snapshot:{' '}
          <span className="mono">{evidence.unmatchedAdvisories.join(', ')}</span>
        </p>
      )}
      {done && (
        <p role="status" className="ok">
          {done}
        </p>
      )}
      {form ? (
        <ExceptionForm
          evidence={evidence}
          onDone={(text) => {
            setForm(false);
            void refresh(text);
          }}
        />
      ) : (
        <button type="button" className="secondary" onClick={() => setForm(true)}>
          Accept or defer…
        </button>
      )}
    </>
  );
}

/** The evidence of one update, opened from its CVEs cell: a modal dialog over any page. */
export function EvidencePanel() {
  const findingId = useEvidence((s) => s.findingId);
  const evidence = useEvidence((s) => s.evidence);
  const loading = useEvidence((s) => s.loading);
  const error = useEvidence((s) => s.error);
  const close = useEvidence((s) => s.close);
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = dialog.current;
    if (!d) return;
    if (findingId !== null && !d.open) d.showModal();
    if (findingId === null && d.open) d.close();
  }, [findingId]);
  return (
    <dialog ref={dialog} className="evidence-panel" aria-label="Evidence" onClose={close}>
      <div className="detail-head">
        <h2>
          {evidence ? (
            <>
              Evidence: <span className="mono">{evidence.package}</span> on {evidence.hostName}
            </>
          ) : (
            'Evidence'
          )}
        </h2>
        <button type="button" className="secondary" onClick={close}>
          Close
        </button>
      </div>
      {loading && <p className="muted">Loading…</p>}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {evidence && <EvidenceBody key={evidence.findingId} evidence={evidence} />}
    </dialog>
  );
}
