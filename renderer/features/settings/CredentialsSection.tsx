import { useEffect, useRef, useState, type ChangeEvent, type FormEvent } from 'react';
import type { Credential } from '../../../src/api/schemas';
import { api, describeError } from '../../api';
import { Field } from '../../components/Field';
import { formatTime } from '../../components/format';
import { useApp } from '../../stores/app';
import { useHosts } from '../hosts/store';
import { useCredentials, type NewCredential } from './credentials-store';
import { windowsAccountProblem } from './windows-account';

type Kind = NewCredential['kind'];

/** A private key file is a few KiB; the core refuses more, and so does this page before reading. */
const KEY_FILE_MAX_BYTES = 64 * 1024;

/**
 * A key chosen from a file: in the desktop app the core reads it after its own open-file dialog
 * and answers an id (the key never reaches this page); in a browser the page reads the picked file.
 */
type KeyFile =
  { name: string; fileId: string; text?: undefined } | { name: string; text: string; fileId?: undefined };

/** Reads a picked key file in the browser, bounded; errors name the file, never its content. */
async function readPickedKey(file: File): Promise<string> {
  if (file.size > KEY_FILE_MAX_BYTES)
    throw new Error(
      `${file.name} is ${file.size.toLocaleString('en')} bytes: a private key file is at most ${KEY_FILE_MAX_BYTES.toLocaleString('en')}.`,
    );
  const text = await file.text();
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text))
    throw new Error(
      `${file.name} is not a private key file (expected a -----BEGIN … PRIVATE KEY----- block; a .pub file is the public half).`,
    );
  return text;
}

/** The credential kinds in words, as the list and the form name them. */
const KIND_LABELS: Record<Credential['kind'], string> = {
  password: 'password',
  key: 'private key',
  agent: 'SSH agent',
  windows: 'Windows account (WinRM)',
};

function CredentialRow({ credential }: { credential: Credential }) {
  const remove = useCredentials((s) => s.remove);
  const test = useCredentials((s) => s.test);
  const result = useCredentials((s) => s.tests.get(credential.id));
  const hosts = useHosts((s) => s.hosts);
  const [hostId, setHostId] = useState('');
  return (
    <tr data-credential-id={credential.id}>
      <td>{credential.name}</td>
      <td className="mono">{credential.username}</td>
      <td>
        {KIND_LABELS[credential.kind] ?? credential.kind}
        {credential.hasPassphrase && <span className="badge">passphrase</span>}
        {credential.hasSudoPassword && <span className="badge">sudo password</span>}
        {credential.trustOnFirstUse && (
          <span className="badge warn" title="Pins a new host's SSH key on first contact">
            trusts new keys
          </span>
        )}
      </td>
      <td className="small">
        {credential.scope.length ? credential.scope.join(', ') : <span className="muted">none</span>}
      </td>
      <td className="small">{formatTime(credential.createdAt)}</td>
      <td>
        <div className="row" role="group" aria-label={`Test ${credential.name}`}>
          <Field label="Host" className="inline-field">
            {(id) => (
              <select id={id} value={hostId} onChange={(e) => setHostId(e.target.value)}>
                <option value="">choose…</option>
                {hosts.map((h) => (
                  <option key={h.id} value={h.id}>
                    {h.name}
                    {h.address && h.address !== h.name ? ` (${h.address})` : ''}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <button
            type="button"
            disabled={!hostId || result === 'running'}
            onClick={() => void test(credential.id, Number(hostId))}
          >
            Test connection
          </button>
          {result && (
            <span
              role="status"
              data-ok={result === 'running' ? undefined : String(result.ok)}
              className={result === 'running' ? 'muted' : result.ok ? 'ok' : 'error'}
            >
              {result === 'running' ? 'Connecting…' : result.message}
            </span>
          )}
        </div>
      </td>
      <td>
        <button
          type="button"
          className="secondary"
          aria-label={`Remove ${credential.name}`}
          onClick={() => void remove(credential.id)}
        >
          Remove
        </button>
      </td>
    </tr>
  );
}

/** Credentials: entered once, sealed by the core; no call ever returns a secret to this page. */
export function CredentialsSection() {
  const credentials = useCredentials((s) => s.credentials);
  const error = useCredentials((s) => s.error);
  const load = useCredentials((s) => s.load);
  const add = useCredentials((s) => s.add);
  const loadHosts = useHosts((s) => s.load);
  const [name, setName] = useState('');
  const [username, setUsername] = useState('');
  const [kind, setKind] = useState<Kind>('password');
  const [scope, setScope] = useState('');
  // The secret fields live only here, only until the form is submitted.
  const [secret, setSecret] = useState('');
  const [passphrase, setPassphrase] = useState('');
  const [sudoPassword, setSudoPassword] = useState('');
  const [firstUse, setFirstUse] = useState(false);
  const [busy, setBusy] = useState(false);
  const [keyFile, setKeyFile] = useState<KeyFile | null>(null);
  const [keyFileError, setKeyFileError] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const desktop = useApp((s) => s.info?.carrier === 'electron');
  const forgetKeyFile = () => {
    setKeyFile(null);
    setKeyFileError(null);
    if (fileInput.current) fileInput.current.value = '';
  };
  const chooseInApp = async () => {
    setKeyFileError(null);
    try {
      const chosen = await api.credentials.chooseKeyFile();
      if (chosen.fileId && chosen.fileName) {
        setKeyFile({ name: chosen.fileName, fileId: chosen.fileId });
        setSecret('');
      }
    } catch (error) {
      setKeyFileError(describeError(error));
    }
  };
  const pickInBrowser = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    setKeyFileError(null);
    if (!file) return setKeyFile(null);
    try {
      setKeyFile({ name: file.name, text: await readPickedKey(file) });
      setSecret('');
    } catch (error) {
      setKeyFile(null);
      e.target.value = '';
      setKeyFileError(error instanceof Error ? error.message : String(error));
    }
  };
  // Only a credential that holds nothing a rogue host could keep may trust keys on first use.
  const keyOnly = (kind === 'key' || kind === 'agent') && !(kind === 'key' && passphrase) && !sudoPassword;
  const windows = kind === 'windows';
  // Said once the admin leaves the field or submits, not while they are still typing the domain.
  const [accountChecked, setAccountChecked] = useState(false);
  const accountProblem = windows && accountChecked ? windowsAccountProblem(username) : null;
  useEffect(() => {
    void load();
    void loadHosts();
  }, [load, loadHosts]);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (windows && windowsAccountProblem(username)) {
      setAccountChecked(true);
      return;
    }
    setBusy(true);
    // Left empty, the scope is every host, as the field's placeholder and the CLI's default say
    // (it was sent as an empty list, so a newcomer's first credential covered no host at all).
    const scopeList = scope
      .split(/[\s,]+/)
      .map((s) => s.trim())
      .filter(Boolean);
    const input: NewCredential = {
      name: name.trim(),
      username: username.trim(),
      kind,
      secret:
        kind === 'agent'
          ? undefined
          : ((kind === 'key' ? keyFile?.text : undefined) ?? (secret || undefined)),
      keyFileId: kind === 'key' ? keyFile?.fileId : undefined,
      passphrase: kind === 'key' && passphrase ? passphrase : undefined,
      sudoPassword: !windows && sudoPassword ? sudoPassword : undefined,
      trustOnFirstUse: keyOnly && firstUse ? true : undefined,
      scope: scopeList.length ? scopeList : ['*'],
    };
    // Cleared whatever the outcome: a failed add asks for the secret again rather than keeping it.
    setSecret('');
    setPassphrase('');
    setSudoPassword('');
    forgetKeyFile();
    const ok = await add(input);
    setBusy(false);
    if (ok) {
      setName('');
      setUsername('');
      setScope('');
      setAccountChecked(false);
    }
  };
  return (
    <section className="credentials" aria-labelledby="credentials-heading">
      <h2 id="credentials-heading">Credentials</h2>
      <p className="muted small">
        Passwords, keys and passphrases are sealed before they reach the workspace and are never shown again.
        A credential applies to the hosts in its scope: host names or addresses,{' '}
        <span className="mono">tag:name</span>, or <span className="mono">*</span> for every host. A name
        matches only a name you gave the host, never one it announced itself.
      </p>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {credentials.length === 0 ? (
        <p className="muted">
          No credentials yet. Add one below to audit hosts over SSH, or Windows PCs over WinRM.
        </p>
      ) : (
        <table className="grid" aria-label="Credentials">
          <thead>
            <tr>
              <th>Name</th>
              <th>User</th>
              <th>Kind</th>
              <th>Scope</th>
              <th>Added</th>
              <th>Test</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {credentials.map((c) => (
              <CredentialRow key={c.id} credential={c} />
            ))}
          </tbody>
        </table>
      )}
      <form className="settings credential-form" aria-label="Add credential" onSubmit={(e) => void submit(e)}>
        <fieldset>
          <legend>Add a credential</legend>
          <div className="row">
            <Field label="Name">
              {(id) => <input id={id} value={name} required onChange={(e) => setName(e.target.value)} />}
            </Field>
            <Field
              label={windows ? 'Windows account' : 'User'}
              hint={
                windows
                  ? 'PATCHDECK\\alice for a domain account, .\\admin for a local account of the PC, or alice@patchdeck.example.'
                  : undefined
              }
            >
              {(id) => (
                <input
                  id={id}
                  value={username}
                  required
                  autoComplete="off"
                  spellCheck={false}
                  placeholder={windows ? 'PATCHDECK\\alice' : undefined}
                  aria-invalid={accountProblem ? true : undefined}
                  onBlur={() => setAccountChecked(true)}
                  onChange={(e) => setUsername(e.target.value)}
                />
              )}
            </Field>
            <Field label="Kind">
              {(id) => (
                <select id={id} value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
                  <option value="password">Password</option>
                  <option value="key">Private key</option>
                  <option value="agent">SSH agent</option>
                  <option value="windows">Windows account (WinRM)</option>
                </select>
              )}
            </Field>
          </div>
          {accountProblem && (
            <p role="alert" className="error small" aria-label="Windows account problem">
              {accountProblem}
            </p>
          )}
          {(kind === 'password' || windows) && (
            <Field
              label="Password"
              hint={
                windows
                  ? 'Sent only to a PC whose WinRM certificate or NTLM identity you trusted, inside the sealed session.'
                  : undefined
              }
            >
              {(id) => (
                <input
                  id={id}
                  type="password"
                  autoComplete="new-password"
                  required
                  value={secret}
                  onChange={(e) => setSecret(e.target.value)}
                />
              )}
            </Field>
          )}
          {kind === 'key' && (
            <>
              <div className="row" role="group" aria-label="Key from a file">
                {desktop ? (
                  <button type="button" className="secondary" onClick={() => void chooseInApp()}>
                    Choose key file…
                  </button>
                ) : (
                  <Field label="Private key file">
                    {(id) => (
                      <input id={id} ref={fileInput} type="file" onChange={(e) => void pickInBrowser(e)} />
                    )}
                  </Field>
                )}
                {keyFile && (
                  <span role="status" className="ok" aria-label="Chosen key file">
                    Key read from {keyFile.name}{' '}
                    <button type="button" className="link" onClick={forgetKeyFile}>
                      Clear
                    </button>
                  </span>
                )}
                {keyFileError && (
                  <span role="alert" className="error">
                    {keyFileError}
                  </span>
                )}
              </div>
              {!keyFile && (
                <Field label="Private key" hint="Or paste the whole file, from -----BEGIN to -----END.">
                  {(id) => (
                    <textarea
                      id={id}
                      rows={5}
                      className="mono"
                      required
                      spellCheck={false}
                      autoComplete="off"
                      value={secret}
                      onChange={(e) => setSecret(e.target.value)}
                    />
                  )}
                </Field>
              )}
              <Field label="Key passphrase (optional)">
                {(id) => (
                  <input
                    id={id}
                    type="password"
                    autoComplete="new-password"
                    value={passphrase}
                    onChange={(e) => setPassphrase(e.target.value)}
                  />
                )}
              </Field>
            </>
          )}
          {kind === 'agent' && (
            <p className="muted small">Uses the SSH agent of the user running Patchdeck (SSH_AUTH_SOCK).</p>
          )}
          {windows && (
            <p className="muted small">
              A local account that is an administrator of the PC is refused by Windows&apos; remote
              restrictions until the PC allows it (LocalAccountTokenFilterPolicy); the error then names the
              one change to make on the PC. A domain administrator needs nothing more.
            </p>
          )}
          {!windows && (
            <Field
              label="Sudo password (optional)"
              hint={kind === 'password' ? 'Defaults to the login password.' : 'Only if sudo asks for one.'}
            >
              {(id) => (
                <input
                  id={id}
                  type="password"
                  autoComplete="new-password"
                  value={sudoPassword}
                  onChange={(e) => setSudoPassword(e.target.value)}
                />
              )}
            </Field>
          )}
          <Field
            label="Scope"
            hint="Comma-separated: host names, addresses, tag:web, or * for every host. Left empty: every host."
          >
            {(id) => (
              <input id={id} value={scope} placeholder="*" onChange={(e) => setScope(e.target.value)} />
            )}
          </Field>
          {!windows && (
            <label className="inline">
              <input
                type="checkbox"
                disabled={!keyOnly}
                checked={keyOnly && firstUse}
                onChange={(e) => setFirstUse(e.target.checked)}
              />
              Trust a new host&apos;s SSH key on first use
              <span className="muted small">
                {' '}
                {keyOnly
                  ? '— skips the key review for hosts this key logs in to. Off is safer.'
                  : '— only for a key without passphrase or the SSH agent, with no sudo password: a password is never sent to a host whose key you have not trusted.'}
              </span>
            </label>
          )}
          <div className="form-actions">
            <button type="submit" disabled={busy || !name.trim() || !username.trim()}>
              Add credential
            </button>
          </div>
        </fieldset>
      </form>
    </section>
  );
}
