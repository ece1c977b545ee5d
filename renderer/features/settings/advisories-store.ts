import { create } from 'zustand';
import type { AdvisoryStatus, FeedKind } from '../../../src/api/intel-schemas';
import type { Task } from '../../../src/api/schemas';
import { api, describeError } from '../../api';
import { isFinished, outcomeText } from '../../components/task-outcome';
import { announceJudgementChanged } from '../intel/store';

export type AdvisoryResult = { kind: 'ok' | 'error' | 'warn'; text: string };

interface AdvisoriesState {
  status: AdvisoryStatus | null;
  error: string | null;
  /** The import or update task running now, if any. */
  taskId: number | null;
  busy: 'import' | 'update' | 'export' | null;
  result: AdvisoryResult | null;
  load(): Promise<void>;
  /** Desktop: Patchdeck's own file dialog (no paths); browser: the files the page read. */
  importFiles(files?: File[]): Promise<void>;
  update(feeds?: FeedKind[]): Promise<void>;
  exportBundle(): Promise<void>;
  /** A task changed: when it is ours and finished, say how it went and read the status again. */
  taskChanged(task: Task): void;
}

/** The browser's bytes of a file, base64 (FileReader's data URL without its prefix). */
function readBase64(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      const url = String(reader.result);
      resolve(url.slice(url.indexOf(',') + 1));
    };
    reader.onerror = () => reject(reader.error ?? new Error(`Could not read ${file.name}.`));
    reader.readAsDataURL(file);
  });
}

function saveDownload(name: string, base64: string): void {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/zip' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export const useAdvisories = create<AdvisoriesState>((set, get) => ({
  status: null,
  error: null,
  taskId: null,
  busy: null,
  result: null,
  async load() {
    try {
      set({ status: await api.advisories.status(), error: null });
    } catch (error) {
      set({ error: describeError(error) });
    }
  },
  async importFiles(files) {
    if (get().busy) return;
    set({ busy: 'import', result: null });
    try {
      const args = files?.length
        ? {
            files: await Promise.all(files.map(async (f) => ({ name: f.name, base64: await readBase64(f) }))),
          }
        : {};
      const { taskId } = await api.advisories.import(args);
      set({ taskId });
    } catch (error) {
      set({ busy: null, result: { kind: 'error', text: `Import failed: ${describeError(error)}` } });
    }
  },
  async update(feeds) {
    if (get().busy) return;
    set({ busy: 'update', result: null });
    try {
      const { taskId } = await api.advisories.update(feeds ? { feeds } : {});
      set({ taskId });
    } catch (error) {
      set({ busy: null, result: { kind: 'error', text: `Update failed: ${describeError(error)}` } });
    }
  },
  async exportBundle() {
    if (get().busy) return;
    set({ busy: 'export', result: null });
    try {
      const made = await api.advisories.exportBundle({});
      if (made.base64) saveDownload(made.fileName, made.base64);
      set({
        result:
          made.path === null && !made.base64
            ? { kind: 'warn', text: 'Export cancelled: no bundle was saved.' }
            : {
                kind: 'ok',
                text: `Bundle ${made.fileName} (${(made.bytes / 1024 / 1024).toFixed(1)} MiB, sha256 ${made.sha256.slice(0, 12)}…) ${made.path ? `saved to ${made.path}` : 'downloaded'}.`,
              },
      });
    } catch (error) {
      set({ result: { kind: 'error', text: `Export failed: ${describeError(error)}` } });
    } finally {
      set({ busy: null });
    }
  },
  taskChanged(task) {
    if (task.id !== get().taskId || !isFinished(task)) return;
    const what = get().busy === 'update' ? 'Update from publishers' : 'Import';
    const ok = task.outcome === 'succeeded' || (task.outcome === null && task.status === 'succeeded');
    set({
      taskId: null,
      busy: null,
      result: { kind: ok ? 'ok' : 'error', text: `${what} ${outcomeText(task)}` },
    });
    void get().load();
    announceJudgementChanged();
  },
}));

api.on('task.changed', (task) => useAdvisories.getState().taskChanged(task));
