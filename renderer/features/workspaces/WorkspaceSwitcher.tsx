import { useEffect, useRef, useState, type FormEvent } from 'react';
import { onEvent } from '../../api';
import { Field } from '../../components/Field';
import { useApp } from '../../stores/app';
import { useWorkspaces } from './store';
import './workspaces.css';

const fileName = (path: string): string => path.split(/[\\/]/).pop() ?? path;
const when = (iso: string): string => iso.slice(0, 16).replace('T', ' ');

/** How often the window asks whether the network it is on belongs to another client's workspace. */
const SUGGESTION_EVERY_MS = 5 * 60 * 1000;

/** Keeps the switcher's list and the network suggestion current (mounted once, in the shell). */
function useWorkspacesLive(): void {
  const workspacePath = useApp((s) => s.info?.workspace?.path ?? null);
  useEffect(() => {
    const { load, checkSuggestion } = useWorkspaces.getState();
    void load();
    void checkSuggestion();
    const timer = window.setInterval(() => void checkSuggestion(), SUGGESTION_EVERY_MS);
    const off = onEvent('entity.changed', (payload) => {
      if (payload.entity === 'workspace') void load();
    });
    return () => {
      window.clearInterval(timer);
      off();
    };
  }, [workspacePath]);
}

/**
 * "This looks like <site>'s network. Open <site>'s workspace?" — only a question: nothing opens
 * until the admin presses Open, and "Not now" keeps it quiet for that network in this window.
 */
export function WorkspaceSuggestionBanner() {
  const suggestion = useWorkspaces((s) => s.suggestion);
  const busy = useWorkspaces((s) => s.busy);
  if (!suggestion) return null;
  const site = suggestion.siteName || fileName(suggestion.path);
  return (
    <div className="workspace-suggestion" role="region" aria-label="Workspace suggestion">
      <span>
        This looks like <strong>{site}</strong>&apos;s network. Open {site}&apos;s workspace?
      </span>
      <button
        type="button"
        disabled={busy !== null}
        onClick={() => void useWorkspaces.getState().open(suggestion.path)}
      >
        Open
      </button>
      <button
        type="button"
        className="secondary"
        onClick={() => useWorkspaces.getState().dismissSuggestion()}
      >
        Not now
      </button>
    </div>
  );
}

/** The open workspace's name in the sidebar, and the dialog that switches, names and carries workspaces. */
export function WorkspaceSwitcher() {
  useWorkspacesLive();
  const workspace = useApp((s) => s.info?.workspace ?? null);
  const desktop = useApp((s) => s.info?.carrier === 'electron');
  const siteName = useWorkspaces((s) => s.siteName);
  const recent = useWorkspaces((s) => s.recent);
  const busy = useWorkspaces((s) => s.busy);
  const result = useWorkspaces((s) => s.result);
  const imported = useWorkspaces((s) => s.imported);
  const dialog = useRef<HTMLDialogElement>(null);
  // The dialog's content exists only while it is open: nothing of it is in the sidebar otherwise.
  const [open, setOpen] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);
  const [site, setSite] = useState(siteName);
  const [pathMode, setPathMode] = useState<'open' | 'create' | null>(null);
  const [path, setPath] = useState('');
  useEffect(() => setSite(siteName), [siteName]);
  useEffect(() => {
    if (open && dialog.current && !dialog.current.open) dialog.current.showModal();
  }, [open]);

  const show = (): void => {
    useWorkspaces.getState().clearResult();
    void useWorkspaces.getState().load();
    setOpen(true);
  };
  const saveSite = (e: FormEvent): void => {
    e.preventDefault();
    void useWorkspaces.getState().setSite(site);
  };
  const submitPath = (e: FormEvent): void => {
    e.preventDefault();
    if (path.trim()) void useWorkspaces.getState().open(path.trim(), pathMode === 'create');
  };
  const others = recent.filter((r) => !r.current);

  return (
    <>
      <button
        type="button"
        className="workspace-switch"
        title={workspace?.path}
        aria-label={`Workspace: ${siteName || (workspace ? fileName(workspace.path) : 'none')}. Switch workspace`}
        onClick={show}
      >
        {siteName && <span className="workspace-site">{siteName}</span>}
        <span className="workspace-name mono small">
          {workspace ? fileName(workspace.path) : 'no workspace'}
        </span>
        <span className="muted small">Switch…</span>
      </button>
      <dialog
        ref={dialog}
        className="workspace-dialog"
        aria-label="Workspaces"
        onClose={() => setOpen(false)}
      >
        {open && (
          <>
            <div className="detail-head">
              <h2>Workspaces</h2>
              <button type="button" className="secondary" onClick={() => dialog.current?.close()}>
                Close
              </button>
            </div>
            <p className="muted small">
              One workspace per client: each is its own file, with its own hosts, audits, jobs and log.
            </p>

            {workspace && (
              <section aria-label="This workspace">
                <h3>This workspace</h3>
                <p className="mono small">{workspace.path}</p>
                <form className="form-row" onSubmit={saveSite}>
                  <Field
                    label="Site name"
                    hint="Shown here and on reports and bundles, e.g. the client’s name."
                  >
                    {(id) => (
                      <input id={id} value={site} maxLength={200} onChange={(e) => setSite(e.target.value)} />
                    )}
                  </Field>
                  <button type="submit" disabled={busy !== null || site.trim() === siteName}>
                    {busy === 'site' ? 'Saving…' : 'Save site name'}
                  </button>
                </form>
              </section>
            )}

            <section aria-label="Recent workspaces">
              <h3>Recent</h3>
              {others.length === 0 ? (
                <p className="muted">No other workspace has been opened on this machine yet.</p>
              ) : (
                <ul className="recent-list">
                  {others.map((r) => (
                    <li key={r.path}>
                      <span className="recent-site">{r.siteName || '(no site name)'}</span>
                      <span className="mono small recent-path" title={r.path}>
                        {r.path}
                      </span>
                      <span className="muted small">opened {when(r.lastOpenedAt)} UTC</span>
                      {r.exists ? (
                        <button
                          type="button"
                          className="secondary"
                          disabled={busy !== null}
                          aria-label={`Open ${r.siteName || fileName(r.path)}`}
                          onClick={() => void useWorkspaces.getState().open(r.path)}
                        >
                          Open
                        </button>
                      ) : (
                        <span
                          className="badge warn"
                          title="The file is no longer there (moved, deleted, an unplugged drive)"
                        >
                          missing
                        </span>
                      )}
                    </li>
                  ))}
                </ul>
              )}
              <div className="form-actions">
                <button type="button" className="secondary" onClick={() => setPathMode('create')}>
                  New workspace…
                </button>
                <button type="button" className="secondary" onClick={() => setPathMode('open')}>
                  Open workspace…
                </button>
              </div>
              {pathMode && (
                <form className="form-row" onSubmit={submitPath}>
                  <Field
                    label={pathMode === 'create' ? 'New workspace file' : 'Workspace file to open'}
                    hint={
                      pathMode === 'create'
                        ? 'A new file on the machine Patchdeck runs on, e.g. /home/me/clients/acme.patchdeck'
                        : 'The path of a workspace file on the machine Patchdeck runs on.'
                    }
                  >
                    {(id) => (
                      <input
                        id={id}
                        className="mono"
                        value={path}
                        onChange={(e) => setPath(e.target.value)}
                      />
                    )}
                  </Field>
                  <button type="submit" disabled={busy !== null || path.trim() === ''}>
                    {busy === 'open' ? 'Opening…' : pathMode === 'create' ? 'Create and open' : 'Open'}
                  </button>
                </form>
              )}
            </section>

            {workspace && (
              <section aria-label="Site bundles">
                <h3>Carry a site’s records</h3>
                <p className="muted small">
                  A site bundle holds this workspace’s hosts, audits, updates, patch jobs and log, and the
                  advisories they were judged with — never a password or key. Import one to merge an offline
                  site’s work here.
                </p>
                <div className="form-actions">
                  <button
                    type="button"
                    disabled={busy !== null}
                    onClick={() => void useWorkspaces.getState().exportBundle()}
                  >
                    {busy === 'export' ? 'Exporting…' : 'Export site bundle…'}
                  </button>
                  {!desktop && (
                    <input
                      ref={fileInput}
                      type="file"
                      accept=".pdbundle"
                      aria-label="Bundle to import"
                      className="visually-hidden"
                      onChange={(e) => {
                        const file = e.target.files?.[0];
                        e.target.value = '';
                        if (file) void useWorkspaces.getState().importBundle(file);
                      }}
                    />
                  )}
                  <button
                    type="button"
                    className="secondary"
                    disabled={busy !== null}
                    onClick={() =>
                      desktop ? void useWorkspaces.getState().importBundle() : fileInput.current?.click()
                    }
                  >
                    {busy === 'import' ? 'Importing…' : 'Import bundle…'}
                  </button>
                </div>
              </section>
            )}

            {result && (
              <p
                role={result.kind === 'error' ? 'alert' : 'status'}
                className={result.kind === 'warn' ? 'warning' : result.kind}
              >
                {result.text}
              </p>
            )}
            {imported && imported.matchedHosts.length > 0 && (
              <ul className="small" aria-label="Matched hosts">
                {imported.matchedHosts.map((h) => (
                  <li key={`${h.hostId}-${h.name}`}>
                    {h.name} — already here (matched by{' '}
                    {h.by === 'host-key' ? 'host key' : h.by === 'bundle' ? 'an earlier bundle' : h.by})
                  </li>
                ))}
              </ul>
            )}
            {imported?.imported && imported.warnings.length > 0 && (
              <ul className="small warning" aria-label="Import warnings">
                {imported.warnings.map((w) => (
                  <li key={w}>{w}</li>
                ))}
              </ul>
            )}
          </>
        )}
      </dialog>
    </>
  );
}
