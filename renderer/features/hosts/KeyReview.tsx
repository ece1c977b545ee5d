import { useEffect, useState } from 'react';
import type { Host, HostKeySighting } from '../../../src/api/schemas';
import { api, describeError } from '../../api';
import { formatTime } from '../../components/format';
import { isWinrmPin, pinTypeLabel } from './windows-host';

const pair = (k: { hostId: number; fingerprint: string }): string => `${k.hostId}:${k.fingerprint}`;

/** By host name; a host's several keys side by side. */
function byHost(keys: HostKeySighting[]): HostKeySighting[] {
  return [...keys].sort(
    (a, b) =>
      a.hostName.localeCompare(b.hostName, 'en', { numeric: true }) ||
      a.fingerprint.localeCompare(b.fingerprint),
  );
}

/** What the listed sightings are, in words: SSH keys, WinRM identities of Windows PCs, or both. */
function identityWords(list: HostKeySighting[]): string {
  const winrm = list.some((k) => isWinrmPin(k.type));
  const ssh = list.some((k) => !isWinrmPin(k.type));
  return winrm && ssh ? 'an SSH key or a WinRM identity' : winrm ? 'a WinRM identity' : 'an SSH key';
}

/** What "select all" may tick: never a host showing several keys, never a changed key. */
const bulk = (k: HostKeySighting): boolean => !k.conflict && !k.changed;
const hostCount = (list: HostKeySighting[]): number => new Set(list.map((k) => k.hostId)).size;
const hosts_ = (n: number, verb: [string, string]): string =>
  `${n} host${n === 1 ? '' : 's'} ${verb[n === 1 ? 0 : 1]}`;

const SOURCE: Record<HostKeySighting['source'], string> = {
  scan: 'discovery scan',
  probe: 'key check',
  connect: 'refused audit',
  'first-use': 'pinned on first use',
};

/**
 * The trust rule made visible: hosts whose SSH key nobody has trusted get no password. The
 * admin checks the listed fingerprints and trusts them in one reviewed step. A host whose key
 * changed needs an explicit confirmation; a host that showed several keys is never ticked for
 * the admin — which one is genuine is a question only the admin can answer.
 */
export function KeyReview({ hosts }: { hosts: Host[] }) {
  const [keys, setKeys] = useState<HostKeySighting[]>([]);
  const [open, setOpen] = useState(false);
  // The admin's choice is a set of exact host:fingerprint pairs: a reload never ticks a key the
  // admin did not see, and a host whose key changed underneath is not pinned with the new key.
  const [chosen, setChosen] = useState<Set<string>>(new Set());
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
        const next = byHost(list);
        setKeys(next);
        const present = new Set(next.map(pair));
        setChosen((old) => new Set([...old].filter((p) => present.has(p))));
      })
      .catch((e: unknown) => live && setError(describeError(e)));
    return () => {
      live = false;
    };
  }, [hosts]);
  if (keys.length === 0 && !notice) return null;
  const fresh = keys.filter(bulk);
  const changed = keys.filter((k) => k.changed && !k.conflict);
  const conflicted = keys.filter((k) => k.conflict);
  const picked = keys.filter((k) => chosen.has(pair(k)));
  const pickedChanged = picked.some((k) => k.changed);
  const pickedHosts = hostCount(picked);
  // A host that showed several keys is trusted on its own, never as part of a bulk review.
  const conflictInBulk = picked.length > 1 && picked.some((k) => k.conflict);
  const toggleReview = (): void => {
    if (!open) setChosen(new Set(fresh.map(pair)));
    setConfirmChanged(false);
    setOpen(!open);
  };
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
          <p className={changed.length || conflicted.length ? 'error' : 'warn'}>
            {fresh.length > 0 && (
              <strong>
                {`${hosts_(hostCount(fresh), ['shows', 'show'])} ${identityWords(fresh)} nobody has trusted yet. `}
              </strong>
            )}
            {changed.length > 0 && (
              <strong>
                {hosts_(hostCount(changed), ['now presents', 'now present'])} a different key than the one
                trusted.{' '}
              </strong>
            )}
            {conflicted.length > 0 && (
              <strong>
                {hosts_(hostCount(conflicted), ['showed', 'showed'])} more than one key — find out which one
                is genuine.{' '}
              </strong>
            )}
            Patchdeck sends no password to a host until you have trusted its key.
          </p>
          <button type="button" onClick={toggleReview} aria-expanded={open}>
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
            {keys.some((k) => isWinrmPin(k.type)) && (
              <>
                {' '}
                A Windows PC&apos;s HTTPS certificate is compared with the one its WinRM listener uses; an
                NTLM identity is only the name the PC announces about itself, which any machine could
                announce.
              </>
            )}
          </p>
          <table className="grid" aria-label="Keys awaiting review">
            <thead>
              <tr>
                <th>
                  <input
                    type="checkbox"
                    aria-label="Select all keys"
                    checked={fresh.length > 0 && fresh.every((k) => chosen.has(pair(k)))}
                    onChange={(e) => setChosen(new Set(e.target.checked ? fresh.map(pair) : []))}
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
                  key={pair(k)}
                  data-host-id={k.hostId}
                  data-fingerprint={k.fingerprint}
                  className={k.changed || k.conflict ? 'changed' : undefined}
                >
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Trust the key ${k.fingerprint} of ${k.hostName}`}
                      checked={chosen.has(pair(k))}
                      onChange={(e) => {
                        // One key per host: ticking one of a host's keys unticks its others.
                        const next = new Set([...chosen].filter((p) => !p.startsWith(`${k.hostId}:`)));
                        if (e.target.checked) next.add(pair(k));
                        setChosen(next);
                      }}
                    />
                  </td>
                  <td>
                    {k.hostName}
                    {k.conflict && <span className="badge error">several keys</span>}
                    {k.changed && <span className="badge error">key changed</span>}
                    {k.source === 'first-use' && <span className="badge warn">pinned, not reviewed</span>}
                  </td>
                  <td className="mono">{k.address ?? '—'}</td>
                  <td className="mono">{isWinrmPin(k.type) ? pinTypeLabel(k.type) : k.type}</td>
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
          {conflictInBulk && (
            <p className="error small">
              A host that showed several keys is trusted on its own: tick only its genuine key.
            </p>
          )}
          <div className="row">
            <button
              type="button"
              disabled={busy || picked.length === 0 || conflictInBulk || (pickedChanged && !confirmChanged)}
              onClick={() => void trust()}
            >
              {picked.length > 0 && picked.every((k) => isWinrmPin(k.type))
                ? `Trust ${pickedHosts === 1 ? 'this identity' : `these ${pickedHosts} identities`}`
                : `Trust ${pickedHosts === 1 ? 'this key' : `these ${pickedHosts} keys`}`}
            </button>
          </div>
        </>
      )}
    </section>
  );
}
