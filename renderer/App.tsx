import { useEffect, useRef, useState, type ReactNode } from 'react';
import { onConnectionChange } from './api';
import { StatusArea } from './components/StatusArea';
import { DashboardPage } from './features/dashboard/DashboardPage';
import { HostsPage } from './features/hosts/HostsPage';
import { DiscoverPage } from './features/discover/DiscoverPage';
import { JobsPage } from './features/jobs/JobsPage';
import { ReportsPage } from './features/reports/ReportsPage';
import { SettingsPage } from './features/settings/SettingsPage';
import { hasUnsavedSettings, useSettingsDraft } from './features/settings/settings-draft';
import { FindingsPage } from './features/findings/FindingsPage';
import { EvidencePanel } from './features/intel/EvidencePanel';
import { useEvidence } from './features/intel/store';
import { PAGES, useApp, type PageId } from './stores/app';
import { WorkspaceSuggestionBanner, WorkspaceSwitcher } from './features/workspaces/WorkspaceSwitcher';

const PAGE_COMPONENTS: Record<PageId, () => ReactNode> = {
  dashboard: DashboardPage,
  discover: DiscoverPage,
  hosts: HostsPage,
  // The page shows findings; the window calls them updates, as its admins do.
  updates: FindingsPage,
  jobs: JobsPage,
  reports: ReportsPage,
  settings: SettingsPage,
};

/** What is wrong with the browser carrier's connection, if anything; reloads the shell when it is back. */
function useConnectionProblem(reload: () => Promise<void>): string | null {
  const [problem, setProblem] = useState<string | null>(null);
  useEffect(
    () =>
      onConnectionChange((state) => {
        setProblem(state.connected ? null : (state.message ?? 'The connection to Patchdeck closed.'));
        if (state.connected) void reload();
      }),
    [reload],
  );
  return problem;
}

function useTheme(): void {
  const theme = useApp((s) => s.settings?.theme ?? 'system');
  useEffect(() => {
    const media = window.matchMedia('(prefers-color-scheme: dark)');
    const apply = (): void => {
      const dark = theme === 'dark' || (theme === 'system' && media.matches);
      document.documentElement.dataset.theme = dark ? 'dark' : 'light';
    };
    apply();
    media.addEventListener('change', apply);
    return () => media.removeEventListener('change', apply);
  }, [theme]);
}

export function App() {
  const page = useApp((s) => s.page);
  const hostId = useApp((s) => s.hostId);
  const unsavedSettings = useSettingsDraft(hasUnsavedSettings);
  const content = useRef<HTMLElement>(null);
  const navigate = useApp((s) => s.navigate);
  const load = useApp((s) => s.load);
  const error = useApp((s) => s.error);
  useTheme();
  const connectionProblem = useConnectionProblem(load);
  useEffect(() => {
    void load();
  }, [load]);
  // Every route opens at its top, like a new page: a host's detail never appears below the table.
  // A button that leads to one part of a page (the credential form) names it as the anchor.
  const anchor = useApp((s) => s.anchor);
  const shown = useRef('');
  useEffect(() => {
    const route = `${page}/${hostId ?? ''}`;
    if (!anchor && route === shown.current) return;
    shown.current = route;
    const target = anchor ? document.getElementById(anchor) : null;
    if (target) target.scrollIntoView({ block: 'start' });
    else content.current?.scrollTo({ top: 0 });
    if (anchor) useApp.setState({ anchor: null });
  }, [page, hostId, anchor]);
  // The evidence dialog belongs to the page it was opened from: another page (a link, the
  // sidebar, the browser's back button) closes it.
  const evidenceRoute = useRef<string | null>(null);
  useEffect(() => {
    const route = `${page}/${hostId ?? ''}`;
    if (evidenceRoute.current !== null && evidenceRoute.current !== route) useEvidence.getState().close();
    evidenceRoute.current = route;
  }, [page, hostId]);
  const Page = PAGE_COMPONENTS[page];
  return (
    <div className="shell">
      <nav className="sidebar" aria-label="Main">
        <div className="brand">Patchdeck</div>
        <ul>
          {PAGES.map((p) => (
            <li key={p.id}>
              <a
                href={`#/${p.id}`}
                aria-current={p.id === page ? 'page' : undefined}
                onClick={(e) => {
                  e.preventDefault();
                  navigate(p.id);
                }}
              >
                {p.label}
                {p.id === 'settings' && unsavedSettings && (
                  <span className="badge warn" title="Changed settings not saved yet">
                    unsaved
                  </span>
                )}
              </a>
            </li>
          ))}
        </ul>
        <WorkspaceSwitcher />
      </nav>
      <main className="content" ref={content}>
        {connectionProblem && connectionProblem !== error && (
          <p role="alert" className="error banner">
            {connectionProblem}
          </p>
        )}
        {error && (
          <p role="alert" className="error banner">
            {error}
          </p>
        )}
        <WorkspaceSuggestionBanner />
        <Page />
        <EvidencePanel />
      </main>
      <StatusArea />
    </div>
  );
}
