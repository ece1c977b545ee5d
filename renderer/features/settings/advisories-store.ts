import { create } from 'zustand';
import type { AdvisoryStatus, FeedKind } from '../../../src/api/intel-schemas';
import type { Task } from '../../../src/api/schemas';
import { ApiError, api, describeError, uploadFile } from '../../api';
import { finishExport } from '../../components/download';
import { isFinished, outcomeText } from '../../components/task-outcome';
import { announceJudgementChanged } from '../intel/store';

export type AdvisoryResult = { kind: 'ok' | 'error' | 'warn'; text: string };

interface AdvisoriesState {
  status: AdvisoryStatus | null;
  error: string | null;
  /** The import or update task running now, if any. */
  taskId: number | null;
  busy: 'import' | 'update' | 'export' | null;
  /** Browser mode: which chosen file is being uploaded now ("Uploading 2 of 3…"), before the import. */
  uploading: string | null;
  result: AdvisoryResult | null;
  load(): Promise<void>;
  /** Desktop: Patchdeck's own file dialog (no paths); browser: the files the page read. */
  importFiles(files?: File[]): Promise<void>;
  update(feeds?: FeedKind[]): Promise<void>;
  exportBundle(): Promise<void>;
  /** A task changed: when it is ours and finished, say how it went and read the status again. */
  taskChanged(task: Task): void;
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
    uploading: null,
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
        // Browser mode: each file is streamed to the carrier first (any size, read from disk as it
        // goes), one after another; the import then names the uploads by id.
        const uploads: string[] = [];
        for (const [i, file] of (files ?? []).entries()) {
          set({ uploading: files!.length > 1 ? `Uploading ${i + 1} of ${files!.length}…` : 'Uploading…' });
          try {
            uploads.push((await uploadFile(file)).uploadId);
          } catch (error) {
            set({
              busy: null,
              uploading: null,
              result: {
                kind: 'error',
                text: `Nothing was imported: ${file.name} could not be uploaded: ${describeError(error)}`,
              },
            });
            return;
          }
        }
        set({ uploading: null });
        const { taskId } = await api.advisories.import(uploads.length ? { uploads } : {});
        ours(taskId);
      } catch (error) {
        // The desktop's file dialog closed with no file: nothing happened, and that is no failure.
        if (error instanceof ApiError && error.code === 'cancelled')
          set({
            busy: null,
            uploading: null,
            result: { kind: 'warn', text: `Import cancelled: ${error.message}` },
          });
        else
          set({
            busy: null,
            uploading: null,
            result: { kind: 'error', text: `Import failed: ${describeError(error)}` },
          });
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
        const went = finishExport(made, 'application/zip');
        set({
          result:
            went === 'cancelled'
              ? { kind: 'warn', text: 'Export cancelled: no bundle was saved.' }
              : {
                  kind: 'ok',
                  text: `Bundle ${made.fileName} (${(made.bytes / 1024 / 1024).toFixed(1)} MiB, sha256 ${made.sha256.slice(0, 12)}…) ${went === 'saved' ? `saved to ${made.path}` : 'downloaded'}.`,
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
