import { create } from 'zustand';
import { api, describeError } from '../../api';

interface BackupState {
  busy: boolean;
  result: { kind: 'ok' | 'error'; text: string } | null;
  /** Backs up the open workspace into the backups folder next to it (the core picks the name). */
  backUp(): Promise<void>;
}

export const useBackup = create<BackupState>((set) => ({
  busy: false,
  result: null,
  async backUp() {
    set({ busy: true, result: null });
    try {
      const made = await api.workspace.backup();
      set({
        result: {
          kind: 'ok',
          text: `Backed up to ${made.path} (${(made.bytes / 1024 / 1024).toFixed(1)} MiB, integrity check ok).`,
        },
      });
    } catch (error) {
      set({ result: { kind: 'error', text: describeError(error) } });
    } finally {
      set({ busy: false });
    }
  },
}));
