import type { Database } from 'better-sqlite3';
import { IfMissed, Recurrence, ScheduleTarget, type ScheduleRun, type Weekday } from '../api';
import type { Task } from '../api';
import { getTask } from './tasks';
import { now } from './time';

/** A schedule as stored: what the API shows, minus the parts computed from runs and the clock. */
export interface ScheduleRecord {
  id: number;
  name: string;
  target: ScheduleTarget;
  recurrence: Recurrence;
  ifMissed: 'run-once' | 'skip';
  enabled: boolean;
  nextRunAt: string | null;
  createdAt: string;
  updatedAt: string;
}

type Row = Record<string, unknown>;

function parseJson(text: unknown): unknown {
  try {
    return JSON.parse(String(text));
  } catch {
    return null;
  }
}

function toSchedule(row: Row): ScheduleRecord {
  // Parsed again on the way out: a row written by a newer version or damaged by hand must not
  // reach the scheduler as something it would act on. Such a schedule reads as disabled.
  const target = ScheduleTarget.safeParse(parseJson(row.target));
  const recurrence = Recurrence.safeParse(parseJson(row.recurrence));
  const ok = target.success && recurrence.success;
  return {
    id: row.id as number,
    name: row.name as string,
    target: target.success ? target.data : { kind: 'audit', tag: '(unreadable schedule)' },
    recurrence: recurrence.success
      ? recurrence.data
      : { every: 'day', at: '00:00', days: ['mon' as Weekday], timeZone: 'UTC' },
    ifMissed: IfMissed.catch('skip').parse(row.if_missed),
    enabled: ok && row.enabled === 1,
    nextRunAt: ok ? ((row.next_run_at as string | null) ?? null) : null,
    createdAt: row.created_at as string,
    updatedAt: row.updated_at as string,
  };
}

export function listSchedules(db: Database): ScheduleRecord[] {
  return (db.prepare('SELECT * FROM schedules ORDER BY name COLLATE NOCASE, id').all() as Row[]).map(
    toSchedule,
  );
}

export function getSchedule(db: Database, id: number): ScheduleRecord | null {
  const row = db.prepare('SELECT * FROM schedules WHERE id = ?').get(id) as Row | undefined;
  return row ? toSchedule(row) : null;
}

export function getScheduleByName(db: Database, name: string): ScheduleRecord | null {
  const row = db.prepare('SELECT * FROM schedules WHERE name = ? COLLATE NOCASE').get(name) as
    Row | undefined;
  return row ? toSchedule(row) : null;
}

export function insertSchedule(
  db: Database,
  input: Omit<ScheduleRecord, 'id' | 'createdAt' | 'updatedAt'>,
): ScheduleRecord {
  const at = now();
  const id = db
    .prepare(
      `INSERT INTO schedules (name, kind, target, recurrence, if_missed, enabled, next_run_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      input.name,
      input.target.kind,
      JSON.stringify(input.target),
      JSON.stringify(input.recurrence),
      input.ifMissed,
      input.enabled ? 1 : 0,
      input.nextRunAt,
      at,
      at,
    ).lastInsertRowid;
  return getSchedule(db, Number(id))!;
}

export function updateSchedule(
  db: Database,
  id: number,
  patch: Partial<Omit<ScheduleRecord, 'id' | 'createdAt' | 'updatedAt'>>,
): ScheduleRecord | null {
  const sets: string[] = [];
  const values: unknown[] = [];
  const set = (column: string, value: unknown): void => {
    sets.push(`${column} = ?`);
    values.push(value);
  };
  if (patch.name !== undefined) set('name', patch.name);
  if (patch.target !== undefined) {
    set('kind', patch.target.kind);
    set('target', JSON.stringify(patch.target));
  }
  if (patch.recurrence !== undefined) set('recurrence', JSON.stringify(patch.recurrence));
  if (patch.ifMissed !== undefined) set('if_missed', patch.ifMissed);
  if (patch.enabled !== undefined) set('enabled', patch.enabled ? 1 : 0);
  if (patch.nextRunAt !== undefined) set('next_run_at', patch.nextRunAt);
  sets.push('updated_at = ?');
  values.push(now());
  const changes = db
    .prepare(`UPDATE schedules SET ${sets.join(', ')} WHERE id = ?`)
    .run(...values, id).changes;
  return changes ? getSchedule(db, id) : null;
}

/** Moves the due time on without touching updated_at (the scheduler's own bookkeeping). */
export function setNextRun(db: Database, id: number, nextRunAt: string | null): void {
  db.prepare('UPDATE schedules SET next_run_at = ? WHERE id = ?').run(nextRunAt, id);
}

export function deleteSchedule(db: Database, id: number): boolean {
  return db.prepare('DELETE FROM schedules WHERE id = ?').run(id).changes > 0;
}

function toRun(db: Database, row: Row): ScheduleRun {
  const taskId = (row.task_id as number | null) ?? null;
  const task: Task | null = taskId === null ? null : getTask(db, taskId);
  return {
    id: row.id as number,
    scheduleId: row.schedule_id as number,
    dueAt: row.due_at as string,
    startedAt: (row.started_at as string | null) ?? null,
    status: row.status as ScheduleRun['status'],
    trigger: row.trigger as ScheduleRun['trigger'],
    missedCount: row.missed_count as number,
    lastMissedAt: (row.last_missed_at as string | null) ?? null,
    message: (row.message as string | null) ?? null,
    taskId,
    task,
  };
}

/** Runs kept per schedule: an every-15-minutes schedule would otherwise add 35,000 rows a year. */
export const RUNS_KEPT = 500;

export function insertScheduleRun(
  db: Database,
  run: {
    scheduleId: number;
    dueAt: string;
    status: ScheduleRun['status'];
    trigger: ScheduleRun['trigger'];
    startedAt?: string | null;
    missedCount?: number;
    lastMissedAt?: string | null;
    message?: string | null;
    taskId?: number | null;
  },
): number {
  db.prepare(
    `DELETE FROM schedule_runs WHERE schedule_id = @id AND id <= (
       SELECT id FROM schedule_runs WHERE schedule_id = @id ORDER BY id DESC LIMIT 1 OFFSET @keep)`,
  ).run({ id: run.scheduleId, keep: RUNS_KEPT - 1 });
  return Number(
    db
      .prepare(
        `INSERT INTO schedule_runs (schedule_id, due_at, started_at, status, trigger, missed_count, last_missed_at, message, task_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        run.scheduleId,
        run.dueAt,
        run.startedAt ?? null,
        run.status,
        run.trigger,
        run.missedCount ?? 0,
        run.lastMissedAt ?? null,
        run.message ?? null,
        run.taskId ?? null,
      ).lastInsertRowid,
  );
}

export function updateScheduleRun(
  db: Database,
  id: number,
  patch: { taskId?: number | null; status?: ScheduleRun['status']; message?: string | null },
): void {
  const current = db.prepare('SELECT * FROM schedule_runs WHERE id = ?').get(id) as Row | undefined;
  if (!current) return;
  db.prepare('UPDATE schedule_runs SET task_id = ?, status = ?, message = ? WHERE id = ?').run(
    patch.taskId === undefined ? current.task_id : patch.taskId,
    patch.status ?? current.status,
    patch.message === undefined ? current.message : patch.message,
    id,
  );
}

export function getScheduleRun(db: Database, id: number): ScheduleRun | null {
  const row = db.prepare('SELECT * FROM schedule_runs WHERE id = ?').get(id) as Row | undefined;
  return row ? toRun(db, row) : null;
}

export function listScheduleRuns(db: Database, scheduleId: number, limit = 50): ScheduleRun[] {
  return (
    db
      .prepare('SELECT * FROM schedule_runs WHERE schedule_id = ? ORDER BY id DESC LIMIT ?')
      .all(scheduleId, limit) as Row[]
  ).map((row) => toRun(db, row));
}

/** The newest run that did or tried work (not a missed-run report), and the newest missed report. */
export function latestScheduleRuns(
  db: Database,
  scheduleId: number,
): { lastRun: ScheduleRun | null; lastMissed: ScheduleRun | null } {
  const run = db
    .prepare(
      `SELECT * FROM schedule_runs WHERE schedule_id = ? AND status <> 'missed' ORDER BY id DESC LIMIT 1`,
    )
    .get(scheduleId) as Row | undefined;
  const missed = db
    .prepare(
      `SELECT * FROM schedule_runs WHERE schedule_id = ? AND status = 'missed' ORDER BY id DESC LIMIT 1`,
    )
    .get(scheduleId) as Row | undefined;
  return { lastRun: run ? toRun(db, run) : null, lastMissed: missed ? toRun(db, missed) : null };
}
