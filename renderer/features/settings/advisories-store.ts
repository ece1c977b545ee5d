import { create } from 'zustand';
import type { AdvisoryStatus, FeedKind } from '../../../src/api/intel-schemas';
import type { Task } from '../../../src/api/schemas';
import { ApiError, api, describeError } from '../../api';
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

/**
 * The browser carrier takes one message of at most 1 MiB (src/server's MAX_BODY), and base64 grows
 * files by a third: what does not fit is refused here, named, before anything is sent.
 */
export const MAX_UPLOAD_BASE64 = 1024 * 1024 - 16 * 1024;
const MAX_UPLOAD_KIB = Math.floor((MAX_UPLOAD_BASE64 * 3) / 4 / 1024);

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

/** Advisory tasks seen finishing: a quick import can finish before its call has answered with its id. */
const finishedTasks = new Map<number, Task>();

export const useAdvisories = create<AdvisoriesState>((set, get) => {
  const ours = (taskId: number): void => {
    set({ taskId });
    const done = finishedTasks.get(taskId);
    if (done) get().taskChanged(done);
  };
  return {
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
        const uploads = files?.length
          ? await Promise.all(files.map(async (f) => ({ name: f.name, base64: await readBase64(f) })))
          : null;
        if (uploads) {
          const big = uploads.filter((u) => u.base64.length > MAX_UPLOAD_BASE64).map((u) => u.name);
          const total = uploads.reduce((n, u) => n + u.base64.length + u.name.length + 32, 0);
          if (big.length > 0 || total > MAX_UPLOAD_BASE64) {
            const what =
              big.length > 0
                ? `${big.join(', ')} ${big.length === 1 ? 'is' : 'are'} too big to upload through the browser (at most ${MAX_UPLOAD_KIB} KiB per import)`
                : `these files together are too big to upload at once (at most ${MAX_UPLOAD_KIB} KiB per import): choose fewer at a time`;
            set({
              busy: null,
              result: {
                kind: 'error',
                text: `Nothing was imported: ${what}. The desktop app imports files of any size.`,
              },
            });
            return;
          }
        }
        const { taskId } = await api.advisories.import(uploads ? { files: uploads } : {});
        ours(taskId);
      } catch (error) {
        // The desktop's file dialog closed with no file: nothing happened, and that is no failure.
        if (error instanceof ApiError && error.code === 'cancelled')
          set({ busy: null, result: { kind: 'warn', text: `Import cancelled: ${error.message}` } });
        else set({ busy: null, result: { kind: 'error', text: `Import failed: ${describeError(error)}` } });
      }
    },
    async update(feeds) {
      if (get().busy) return;
      set({ busy: 'update', result: null });
      try {
        const { taskId } = await api.advisories.update(feeds ? { feeds } : {});
        ours(taskId);
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
      if (!task.kind.startsWith('advisories.') || !isFinished(task)) return;
      finishedTasks.set(task.id, task);
      if (finishedTasks.size > 20) finishedTasks.delete(finishedTasks.keys().next().value!);
      // An import from elsewhere (the CLI, another window) changes the snapshot this page shows too.
      if (task.id !== get().taskId) {
        void get().load();
        announceJudgementChanged();
        return;
      }
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
  };
});

api.on('task.changed', (task) => useAdvisories.getState().taskChanged(task));
