import { useEffect } from 'react';
import type { FindingExceptionRecord } from '../../../src/api/intel-schemas';
import { dayOf } from '../../components/intel';
import { plural } from '../../components/format';
import { useExceptions } from './store';

const SCOPE_LABELS: Record<FindingExceptionRecord['scope'], string> = {
  finding: 'This update',
  cve: 'A CVE',
  package: 'A package',
  'host-package': 'A package on a host',
};

/** What an exception covers, in words: "openssl 3.0.13-1 on web01", "CVE-2023-44487 everywhere". */
function coverText(e: FindingExceptionRecord): string {
  const host = e.hostName ?? (e.hostId !== null ? `host ${e.hostId}` : null);
  if (e.scope === 'cve') return `${e.cve ?? '?'} on every host`;
  if (e.scope === 'package') return `${e.package ?? '?'} on every host`;
  if (e.scope === 'host-package') return `${e.package ?? '?'} on ${host ?? '?'}`;
  return `${e.package ?? '?'}${e.availableVersion ? ` ${e.availableVersion}` : ''} on ${host ?? '?'}`;
}

/** The Updates page's list of accepted and deferred risks, with remove. */
export function ExceptionsSection() {
  const rows = useExceptions((s) => s.rows);
  const loaded = useExceptions((s) => s.loaded);
  const includeInactive = useExceptions((s) => s.includeInactive);
  const error = useExceptions((s) => s.error);
  const notice = useExceptions((s) => s.notice);
  const { load, setIncludeInactive, remove } = useExceptions.getState();
  useEffect(() => {
    void load();
  }, [load]);
  return (
    <section aria-label="Exceptions" className="exceptions-section">
      <h2 className="section-title">Exceptions</h2>
      <p className="muted small">
        An accepted risk leaves the overdue list until it expires; a deferred one is due at its expiry
        instead. Expired exceptions stop applying by themselves. Add one from an update&apos;s evidence (its
        CVEs cell).
      </p>
      <label className="inline small">
        <input
          type="checkbox"
          checked={includeInactive}
          onChange={(e) => setIncludeInactive(e.target.checked)}
        />
        Include expired and removed ones
      </label>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {notice && (
        <p role="status" className="muted small">
          {notice}
        </p>
      )}
      {loaded && rows.length === 0 ? (
        <p className="muted">
          {includeInactive ? 'No exception was ever recorded.' : 'No exception applies now.'}
        </p>
      ) : (
        <table className="grid compact" aria-label="Exceptions list">
          <thead>
            <tr>
              <th>Decision</th>
              <th>Covers</th>
              <th>Reason</th>
              <th>Owner</th>
              <th>Until</th>
              <th>State</th>
              <th>Updates now</th>
              <th>
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((e) => (
              <tr key={e.id} data-exception-id={e.id}>
                <td>{e.decision === 'accept' ? 'Accepted' : 'Deferred'}</td>
                <td title={SCOPE_LABELS[e.scope]}>{coverText(e)}</td>
                <td className="small">{e.reason}</td>
                <td className="small">{e.owner}</td>
                <td className="small">{dayOf(e.expiresAt)}</td>
                <td className={e.state === 'active' ? undefined : 'muted'}>
                  {e.state}
                  {e.state === 'removed' && e.removedBy ? ` by ${e.removedBy}` : ''}
                </td>
                <td>{plural(e.findings, 'update')}</td>
                <td>
                  {e.state === 'active' && (
                    <button
                      type="button"
                      className="secondary small"
                      aria-label={`Remove the exception for ${coverText(e)}`}
                      onClick={() => void remove(e.id)}
                    >
                      Remove
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
