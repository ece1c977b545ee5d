import { useEffect, useState } from 'react';
import type { Host, HostKeySighting } from '../../../src/api/schemas';
import { api, describeError } from '../../api';
import { formatTime } from '../../components/format';

/** One key per host: the newest sighting (the list arrives newest first), by host name. */
function newestPerHost(keys: HostKeySighting[]): HostKeySighting[] {
  const seen = new Set<number>();
  return keys
    .filter((k) => (seen.has(k.hostId) ? false : (seen.add(k.hostId), true)))
    .sort((a, b) => a.hostName.localeCompare(b.hostName, 'en', { numeric: true }));
}

const SOURCE: Record<HostKeySighting['source'], string> = {
  scan: 'discovery scan',
  probe: 'key check',
  connect: 'refused audit',
};

/**
 * The trust rule made visible: hosts whose SSH key nobody has trusted get no password. The
 * admin checks the listed fingerprints and trusts them in one reviewed step; a host whose key
 * changed is listed apart and needs its own confirmation.
 */
export function KeyReview({ hosts }: { hosts: Host[] }) {
  const [keys, setKeys] = useState<HostKeySighting[]>([]);
  const [open, setOpen] = useState(false);
  const [chosen, setChosen] = useState<Set<number>>(new Set());
  const [confirmChanged, setConfirmChanged] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // Reload whenever the host list does (a scan, an audit or a trust changes it).
  useEffect(() => {
    let live = true;
    api.hosts
      .pendingKeys({})
      .then((list) => {
        if (!live) return;
        const pending = newestPerHost(list);
        setKeys(pending);
        setChosen(new Set(pending.filter((k) => !k.changed).map((k) => k.hostId)));
      })
      .catch((e: unknown) => live && setError(describeError(e)));
    return () => {
      live = false;
    };
  }, [hosts]);
  if (keys.length === 0 && !notice) return null;
  const fresh = keys.filter((k) => !k.changed);
  const changed = keys.filter((k) => k.changed);
  const picked = keys.filter((k) => chosen.has(k.hostId));
  const pickedChanged = picked.some((k) => k.changed);
  const trust = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      const result = await api.hosts.trustKeys({
        keys: picked.map((k) => ({ hostId: k.hostId, fingerprint: k.fingerprint })),
        replace: pickedChanged,
      });
      setNotice(
        `Trusted ${result.pinned} host key${result.pinned === 1 ? '' : 's'}. These hosts can be audited now.`,
      );
      setOpen(false);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="panel key-review" aria-label="Host keys to review">
      {notice && (
        <p role="status" className="muted">
          {notice}
        </p>
      )}
      {keys.length > 0 && (
        <div className="row">
          <p className={changed.length ? 'error' : 'warn'}>
            {fresh.length > 0 && (
              <>
                <strong>
                  {fresh.length} host{fresh.length === 1 ? '' : 's'} show{fresh.length === 1 ? 's' : ''} an
                  SSH key nobody has trusted yet.
                </strong>{' '}
              </>
            )}
            {changed.length > 0 && (
              <strong>
                {changed.length} host{changed.length === 1 ? '' : 's'} now present
                {changed.length === 1 ? 's' : ''} a different key than the one trusted.{' '}
              </strong>
            )}
            Patchdeck sends no password or key to a host until you trust its key.
          </p>
          <button type="button" onClick={() => setOpen(!open)} aria-expanded={open}>
            {open ? 'Close' : `Review keys (${keys.length})`}
          </button>
        </div>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {open && (
        <>
          <p className="muted small">
            Compare each fingerprint with the machine&apos;s own (on the machine:{' '}
            <code>ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub</code>, or ask its owner). Untick any you
            cannot vouch for.
          </p>
          <table className="grid" aria-label="Keys awaiting review">
            <thead>
              <tr>
                <th>
                  <input
                    type="checkbox"
                    aria-label="Select all keys"
                    checked={fresh.length > 0 && fresh.every((k) => chosen.has(k.hostId))}
                    onChange={(e) => setChosen(new Set(e.target.checked ? fresh.map((k) => k.hostId) : []))}
                  />
                </th>
                <th>Host</th>
                <th>Address</th>
                <th>Key</th>
                <th>Fingerprint</th>
                <th>Seen by</th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr
                  key={`${k.hostId}:${k.fingerprint}`}
                  data-host-id={k.hostId}
                  className={k.changed ? 'changed' : undefined}
                >
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Trust the key of ${k.hostName}`}
                      checked={chosen.has(k.hostId)}
                      onChange={(e) => {
                        const next = new Set(chosen);
                        if (e.target.checked) next.add(k.hostId);
                        else next.delete(k.hostId);
                        setChosen(next);
                      }}
                    />
                  </td>
                  <td>
                    {k.hostName}
                    {k.changed && <span className="badge error">key changed</span>}
                  </td>
                  <td className="mono">{k.address ?? '—'}</td>
                  <td className="mono">{k.type}</td>
                  <td className="mono fingerprint">{k.fingerprint}</td>
                  <td className="small">
                    {SOURCE[k.source]}, {formatTime(k.seenAt)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {pickedChanged && (
            <label className="inline">
              <input
                type="checkbox"
                checked={confirmChanged}
                onChange={(e) => setConfirmChanged(e.target.checked)}
              />
              I checked with the owners that the changed keys are genuine (a reinstall, a new machine) — not
              someone intercepting the connection.
            </label>
          )}
          <div className="row">
            <button
              type="button"
              disabled={busy || picked.length === 0 || (pickedChanged && !confirmChanged)}
              onClick={() => void trust()}
            >
              Trust {picked.length === 1 ? 'this key' : `these ${picked.length} keys`}
            </button>
          </div>
        </>
      )}
    </section>
  );
}
