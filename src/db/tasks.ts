import type { Database } from 'better-sqlite3';
import type { Task } from '../api';
import { now } from './time';

type TaskRow = Record<string, unknown>;

function toTask(row: TaskRow): Task {
  return {
    id: row.id as number,
    kind: row.kind as string,
    title: row.title as string,
    status: row.status as Task['status'],
    progressDone: row.progress_done as number,
    progressTotal: (row.progress_total as number | null) ?? null,
    message: (row.message as string | null) ?? null,
    error: (row.error as string | null) ?? null,
    outcome: (row.outcome as Task['outcome'] | null) ?? null,
    summary: (row.summary as string | null) ?? null,
    createdAt: row.created_at as string,
    startedAt: (row.started_at as string | null) ?? null,
    finishedAt: (row.finished_at as string | null) ?? null,
  };
}

export function insertTask(db: Database, task: { kind: string; title: string; params?: unknown }): Task {
  const at = now();
  const id = db
    .prepare(
      `INSERT INTO tasks (kind, title, status, params, created_at, started_at) VALUES (?, ?, 'running', ?, ?, ?)`,
    )
    .run(task.kind, task.title, JSON.stringify(task.params ?? null), at, at).lastInsertRowid;
  return getTask(db, Number(id))!;
}

export function getTask(db: Database, id: number): Task | null {
  const row = db.prepare('SELECT * FROM tasks WHERE id = ?').get(id) as TaskRow | undefined;
  return row ? toTask(row) : null;
}

export function listTasks(db: Database, options: { active?: boolean; limit?: number } = {}): Task[] {
  const rows = db
    .prepare(
      `SELECT * FROM tasks WHERE (@active = 0 OR status IN ('queued','running')) ORDER BY id DESC LIMIT @limit`,
    )
    .all({ active: options.active ? 1 : 0, limit: options.limit ?? 100 }) as TaskRow[];
  return rows.map(toTask);
}

export function updateTaskProgress(
  db: Database,
  id: number,
  progress: { done: number; total: number | null; message: string | null },
): void {
  db.prepare(
    `UPDATE tasks SET progress_done = ?, progress_total = ?, message = ? WHERE id = ? AND status = 'running'`,
  ).run(progress.done, progress.total, progress.message, id);
}

export function finishTask(
  db: Database,
  id: number,
  outcome: {
    status: 'succeeded' | 'failed' | 'cancelled';
    /** What the admin must hear; defaults to the status. */
    outcome?: NonNullable<Task['outcome']>;
    summary?: string | null;
    error?: string | null;
    result?: unknown;
  },
): void {
  db.prepare(
    `UPDATE tasks SET status = ?, outcome = ?, summary = ?, error = ?, result = ?, finished_at = ? WHERE id = ?`,
  ).run(
    outcome.status,
    outcome.outcome ?? outcome.status,
    outcome.summary ?? null,
    outcome.error ?? null,
    outcome.result === undefined ? null : JSON.stringify(outcome.result),
    now(),
    id,
  );
}

/**
 * A task still marked running when the app starts was cut short by a crash or forced quit:
 * say so honestly instead of pretending it is still going.
 */
export function markInterruptedTasks(db: Database): number {
  return db
    .prepare(
      `UPDATE tasks SET status = 'interrupted', outcome = 'interrupted', finished_at = ?,
         error = COALESCE(error, 'Patchdeck stopped while this task was running.'),
         summary = COALESCE(summary, 'interrupted: Patchdeck stopped while this task was running')
       WHERE status IN ('queued','running')`,
    )
    .run(now()).changes;
}
