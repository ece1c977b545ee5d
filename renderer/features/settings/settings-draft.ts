import { create } from 'zustand';
import type { Settings } from '../../../src/api/schemas';

/**
 * Settings edited but not saved yet. It lives outside the page so that leaving Settings keeps it
 * (the sidebar marks it) instead of dropping it silently; Save or Discard ends it.
 */
interface SettingsDraftState {
  draft: Partial<Settings>;
  change(patch: Partial<Settings>): void;
  clear(): void;
}

export const useSettingsDraft = create<SettingsDraftState>((set, get) => ({
  draft: {},
  change(patch) {
    set({ draft: { ...get().draft, ...patch } });
  },
  clear() {
    set({ draft: {} });
  },
}));

export const hasUnsavedSettings = (s: SettingsDraftState): boolean => Object.keys(s.draft).length > 0;

// Closing the window or tab with unsaved settings asks first (the browser's own prompt).
window.addEventListener('beforeunload', (event) => {
  if (hasUnsavedSettings(useSettingsDraft.getState())) event.preventDefault();
});
