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

function pageFromHash(): PageId {
  const id = window.location.hash.replace(/^#\/?/, '');
  return PAGES.some((p) => p.id === id) ? (id as PageId) : 'dashboard';
}

interface AppState {
  page: PageId;
  info: AppInfo | null;
  settings: Settings | null;
  error: string | null;
  navigate(page: PageId): void;
  load(): Promise<void>;
  saveSettings(patch: Partial<Settings>): Promise<void>;
}

export const useApp = create<AppState>((set, get) => ({
  page: pageFromHash(),
  info: null,
  settings: null,
  error: null,
  navigate(page) {
    window.location.hash = `/${page}`;
    set({ page });
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

window.addEventListener('hashchange', () => useApp.setState({ page: pageFromHash() }));
