import { create } from 'zustand';
import type { AppInfo, Settings } from '../../src/api/schemas';
import { api, describeError } from '../api';

export type PageId = 'dashboard' | 'discover' | 'hosts' | 'updates' | 'jobs' | 'reports' | 'settings';
export const PAGES: { id: PageId; label: string }[] = [
  { id: 'dashboard', label: 'Dashboard' },
  { id: 'discover', label: 'Discover' },
  { id: 'hosts', label: 'Hosts' },
  { id: 'updates', label: 'Updates' },
  { id: 'jobs', label: 'Patch jobs' },
  { id: 'reports', label: 'Reports' },
  { id: 'settings', label: 'Settings' },
];

/** Where the window is: a page, and for `#/hosts/<id>` the host whose detail is open. */
export interface Route {
  page: PageId;
  hostId: number | null;
}

export function routeFromHash(hash: string): Route {
  const [id = '', sub] = hash.replace(/^#\/?/, '').split('/');
  const page = PAGES.some((p) => p.id === id) ? (id as PageId) : 'dashboard';
  const hostId = page === 'hosts' && sub && /^[1-9][0-9]{0,15}$/.test(sub) ? Number(sub) : null;
  return { page, hostId };
}

/** The link to one host's detail page; browser back returns to where it was opened from. */
export function hostHref(id: number): string {
  return `#/hosts/${id}`;
}

/** Opens one host's detail page (a history entry of its own). */
export function openHost(id: number): void {
  window.location.hash = hostHref(id).slice(1);
  useApp.setState({ page: 'hosts', hostId: id });
}

interface AppState {
  page: PageId;
  /** The host whose detail page is open (`#/hosts/<id>`), if any. */
  hostId: number | null;
  /** An element id the page just opened should scroll to instead of its top (one use). */
  anchor: string | null;
  info: AppInfo | null;
  settings: Settings | null;
  error: string | null;
  /** Opens a page at its top, or at the element `anchor` names (e.g. the credential form). */
  navigate(page: PageId, anchor?: string): void;
  load(): Promise<void>;
  saveSettings(patch: Partial<Settings>): Promise<void>;
}

export const useApp = create<AppState>((set, get) => ({
  ...routeFromHash(window.location.hash),
  anchor: null,
  info: null,
  settings: null,
  error: null,
  navigate(page, anchor) {
    window.location.hash = `/${page}`;
    set({ page, hostId: null, anchor: anchor ?? null });
  },
  async load() {
    try {
      const info = await api.app.info();
      const settings = info.workspace ? await api.settings.get() : null;
      set({ info, settings, error: null });
    } catch (error) {
      set({ error: describeError(error) });
    }
  },
  async saveSettings(patch) {
    const settings = await api.settings.set({ patch });
    set({ settings });
    void get().load();
  },
}));

window.addEventListener('hashchange', () => useApp.setState(routeFromHash(window.location.hash)));
