import type { Database } from 'better-sqlite3';
import type { EventBus } from '../api';
import type { Task } from '../api';
import { finishTask, getTask, insertTask, listTasks, markInterruptedTasks, updateTaskProgress } from '../db';
import { errorMessage } from '../util';
import { deriveOutcome, taskSummary, type TaskConclusion, type TaskEnding } from './outcome';

export interface TaskContext {
  taskId: number;
  signal: AbortSignal;
  /** Reports progress; cheap to call often (writes and events are throttled). */
  progress(done: number, total?: number | null, message?: string | null): void;
  /**
   * Says how the task's parts went (hosts succeeded and failed) or sums it up in words; may be
   * called again, the last call counts. The task's outcome and summary come from it, so work that
   * returns normally after every host failed ends as failed, never as succeeded.
   */
  conclude(conclusion: TaskConclusion): void;
}

export class TaskCancelledError extends Error {
  constructor() {
    super('Cancelled.');
    this.name = 'TaskCancelledError';
  }
}

interface Running {
  controller: AbortController;
  done: Promise<Task>;
}

/**
 * Runs long work (scans, audits, patch jobs) as tasks: each has a row in SQLite, emits
 * `task.changed` events as it progresses, and honours cancellation through an AbortSignal.
 * On start-up, rows left `running` by a crash become `interrupted`.
 */
export class TaskRunner {
  private readonly running = new Map<number, Running>();

  constructor(
    private readonly db: Database,
    private readonly events: EventBus,
    private readonly options: { progressIntervalMs?: number } = {},
  ) {
    markInterruptedTasks(db);
  }

  start<T>(
    spec: { kind: string; title: string; params?: unknown },
    work: (ctx: TaskContext) => Promise<T>,
    /** Runs synchronously once the task row exists, before the work starts (e.g. to create a scan row). */
    onCreated?: (taskId: number) => void,
  ): { task: Task; result: Promise<T> } {
    const task = insertTask(this.db, spec);
    onCreated?.(task.id);
    this.events.emit('task.changed', task);
    const controller = new AbortController();
    const interval = this.options.progressIntervalMs ?? 150;
    let last = 0;
    let pending: { done: number; total: number | null; message: string | null } | null = null;
    let timer: NodeJS.Timeout | null = null;
    const flush = (): void => {
      timer = null;
      if (!pending) return;
      updateTaskProgress(this.db, task.id, pending);
      pending = null;
      last = Date.now();
      const row = getTask(this.db, task.id);
      if (row) this.events.emit('task.changed', row);
    };
    // A box, not a `let`: the work writes it through ctx, which TypeScript's narrowing cannot see.
    const concluded: { value: TaskConclusion | null } = { value: null };
    const ctx: TaskContext = {
      taskId: task.id,
      signal: controller.signal,
      conclude(value) {
        concluded.value = value;
      },
      progress(done, total = null, message = null) {
        pending = { done, total, message };
        const wait = interval - (Date.now() - last);
        if (wait <= 0) {
          // Best-effort here too: a failed write must not throw into the work that reported.
          try {
            flush();
          } catch {
            // `pending` is kept; the next report or the task's end writes it.
          }
        } else
          timer ??= setTimeout(() => {
            try {
              flush();
            } catch {
              // Thrown from a timer it would crash the process. Progress is best-effort: `pending`
              // is kept, and the next report or the task's end writes it.
            }
          }, wait);
      },
    };

    let settle!: (value: T) => void;
    let fail!: (error: unknown) => void;
    const result = new Promise<T>((resolve, reject) => {
      settle = resolve;
      fail = reject;
    });
    const done = (async (): Promise<Task> => {
      try {
        const value = await work(ctx);
        if (timer) clearTimeout(timer);
        flush();
        const ending: TaskEnding = controller.signal.aborted ? 'cancelled' : 'returned';
        finishTask(this.db, task.id, {
          ...deriveOutcome(ending, concluded.value?.parts),
          summary: taskSummary(ending, concluded.value, null),
          result: value ?? null,
        });
        settle(value);
      } catch (error) {
        if (timer) clearTimeout(timer);
        flush();
        const cancelled = controller.signal.aborted || error instanceof TaskCancelledError;
        const ending: TaskEnding = cancelled ? 'cancelled' : 'threw';
        const message = cancelled ? 'Cancelled by the user.' : errorMessage(error);
        finishTask(this.db, task.id, {
          ...deriveOutcome(ending, concluded.value?.parts),
          summary: taskSummary(ending, concluded.value, message),
          error: message,
        });
        fail(error);
      } finally {
        this.running.delete(task.id);
      }
      const final = getTask(this.db, task.id)!;
      this.events.emit('task.changed', final);
      return final;
    })();
    // The caller may ignore `result`; a rejection is already recorded in the task row.
    result.catch(() => undefined);
    // Recording the outcome can fail too (disk full, the write lock held by another process):
    // `result` must still settle, and `done` is awaited only when someone calls wait().
    done.catch(fail);
    this.running.set(task.id, { controller, done });
    return { task, result };
  }

  /** Asks a running task to stop. Returns false when it is not running in this process. */
  cancel(id: number): boolean {
    const entry = this.running.get(id);
    if (!entry) return false;
    entry.controller.abort(new TaskCancelledError());
    return true;
  }

  /** Resolves when the task has finished and its final state is committed. */
  async wait(id: number): Promise<Task | null> {
    const entry = this.running.get(id);
    if (entry) return entry.done;
    return getTask(this.db, id);
  }

  list(options: { active?: boolean } = {}): Task[] {
    return listTasks(this.db, options);
  }

  get activeCount(): number {
    return this.running.size;
  }

  /** Cancels everything and waits for it to settle (used when switching or closing a workspace). */
  async shutdown(): Promise<void> {
    const all = [...this.running.values()];
    for (const entry of all) entry.controller.abort(new TaskCancelledError());
    await Promise.allSettled(all.map((entry) => entry.done));
  }
}

export function throwIfCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw new TaskCancelledError();
}
