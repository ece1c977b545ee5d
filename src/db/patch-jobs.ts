import type { Database } from 'better-sqlite3';
import {
  JobOptions,
  type JobLogLine,
  type JobStep,
  type PatchJob,
  type PatchSelection,
  type StepPreview,
  type TargetPackage,
} from '../api';
import { now } from './time';

/**
 * Patch jobs, their per-host steps and their log. Every write here is one statement or one
 * transaction, so a crash between two writes leaves the last committed state — never half of one.
 */
type Row = Record<string, unknown>;

const json = <T>(text: unknown, fallback: T): T => {
  if (typeof text !== 'string' || text === '') return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
};

function toJob(row: Row, counts: Record<string, number>): PatchJob {
  return {
    id: row.id as number,
    name: row.name as string,
    status: row.status as PatchJob['status'],
    selection: json<PatchSelection>(row.selection, { mode: 'all' }),
    rebootPolicy: row.reboot_policy as PatchJob['rebootPolicy'],
    onFailure: row.on_failure as PatchJob['onFailure'],
    concurrency: row.concurrency as number,
    options: JobOptions.parse(json(row.options, {})),
    scheduledAt: (row.scheduled_at as string | null) ?? null,
    windowStart: (row.window_start as string | null) ?? null,
    windowEnd: (row.window_end as string | null) ?? null,
    approvedBy: (row.approved_by as string | null) ?? null,
    approvedAt: (row.approved_at as string | null) ?? null,
    taskId: (row.task_id as number | null) ?? null,
    message: (row.message as string | null) ?? null,
    createdAt: row.created_at as string,
    startedAt: (row.started_at as string | null) ?? null,
    finishedAt: (row.finished_at as string | null) ?? null,
    counts,
  };
}

/** `succeeded` with reboot_pending set is "installed, reboot pending" (migration 006). */
function stepStatus(row: Row): JobStep['status'] {
  return row.status === 'succeeded' && row.reboot_pending === 1
    ? 'reboot-pending'
    : (row.status as JobStep['status']);
}

function toStep(row: Row): JobStep {
  return {
    id: row.id as number,
    jobId: row.job_id as number,
    hostId: row.host_id as number,
    hostName: (row.host_name as string | undefined) ?? String(row.host_id),
    status: stepStatus(row),
    phase: (row.phase as string | null) ?? null,
    packageManager: (row.package_manager as string | null) ?? null,
    packages: json<TargetPackage[]>(row.packages, []),
    preview: json<StepPreview | null>(row.preview, null),
    before: json<Record<string, string | null> | null>(row.before_versions, null),
    after: json<Record<string, string | null> | null>(row.after_versions, null),
    undoRecipe: (row.undo_recipe as string | null) ?? null,
    errorKind: (row.error_kind as string | null) ?? null,
    errorMessage: (row.error_message as string | null) ?? null,
    verifyAuditId: (row.verify_audit_id as number | null) ?? null,
    startedAt: (row.started_at as string | null) ?? null,
    finishedAt: (row.finished_at as string | null) ?? null,
  };
}

function stepCounts(db: Database, jobId: number): Record<string, number> {
  const rows = db
    .prepare(
      `SELECT CASE WHEN status = 'succeeded' AND reboot_pending = 1 THEN 'reboot-pending' ELSE status END AS status,
              count(*) n FROM job_steps WHERE job_id = ? GROUP BY 1`,
    )
    .all(jobId) as { status: string; n: number }[];
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}

export interface NewJob {
  name: string;
  selection: PatchSelection;
  rebootPolicy: PatchJob['rebootPolicy'];
  onFailure: PatchJob['onFailure'];
  concurrency: number;
  options: JobOptions;
  steps: { hostId: number; packages: TargetPackage[]; packageManager: string | null }[];
}

/** Creates a draft job with one queued step per host, in one transaction. */
export function insertJob(db: Database, job: NewJob): number {
  return db.transaction(() => {
    const id = Number(
      db
        .prepare(
          `INSERT INTO patch_jobs (name, status, selection, reboot_policy, on_failure, concurrency, options, created_at)
           VALUES (?, 'draft', ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          job.name,
          JSON.stringify(job.selection),
          job.rebootPolicy,
          job.onFailure,
          job.concurrency,
          JSON.stringify(job.options),
          now(),
        ).lastInsertRowid,
    );
    const insert = db.prepare(
      `INSERT INTO job_steps (job_id, host_id, status, phase, packages, package_manager) VALUES (?, ?, 'queued', 'planning', ?, ?)`,
    );
    for (const step of job.steps)
      insert.run(id, step.hostId, JSON.stringify(step.packages), step.packageManager);
    return id;
  })();
}

export function getJob(db: Database, id: number): PatchJob | null {
  const row = db.prepare('SELECT * FROM patch_jobs WHERE id = ?').get(id) as Row | undefined;
  return row ? toJob(row, stepCounts(db, id)) : null;
}

/**
 * Jobs, newest first: the status filter applies before the limit (limit 1 with a filter is the
 * newest job of that status), and the step counts come with the rows in the same query.
 */
export function listJobs(
  db: Database,
  options: { limit?: number; status?: PatchJob['status'][] } = {},
): PatchJob[] {
  const rows = db
    .prepare(
      `WITH jobs AS (
         SELECT * FROM patch_jobs
          WHERE @statuses IS NULL OR status IN (SELECT value FROM json_each(@statuses))
          ORDER BY id DESC LIMIT @limit
       ), counts AS (
         SELECT s.job_id,
                CASE WHEN s.status = 'succeeded' AND s.reboot_pending = 1 THEN 'reboot-pending' ELSE s.status END AS status,
                count(*) AS n
           FROM job_steps s JOIN jobs ON jobs.id = s.job_id
          GROUP BY 1, 2
       )
       SELECT jobs.*, json_group_object(counts.status, counts.n) FILTER (WHERE counts.status IS NOT NULL) AS step_counts
         FROM jobs LEFT JOIN counts ON counts.job_id = jobs.id
        GROUP BY jobs.id
        ORDER BY jobs.id DESC`,
    )
    .all({
      statuses: options.status ? JSON.stringify(options.status) : null,
      limit: options.limit ?? 200,
    }) as Row[];
  return rows.map((r) => toJob(r, json<Record<string, number>>(r.step_counts, {})));
}

export function listSteps(db: Database, jobId: number): JobStep[] {
  return (
    db
      .prepare(
        'SELECT s.*, h.name AS host_name FROM job_steps s JOIN hosts h ON h.id = s.host_id WHERE s.job_id = ? ORDER BY s.id',
      )
      .all(jobId) as Row[]
  ).map(toStep);
}

export function getStep(db: Database, stepId: number): JobStep | null {
  const row = db
    .prepare(
      'SELECT s.*, h.name AS host_name FROM job_steps s JOIN hosts h ON h.id = s.host_id WHERE s.id = ?',
    )
    .get(stepId) as Row | undefined;
  return row ? toStep(row) : null;
}

export type JobUpdate = Partial<{
  status: PatchJob['status'];
  message: string | null;
  scheduledAt: string | null;
  windowStart: string | null;
  windowEnd: string | null;
  approvedBy: string;
  approvedAt: string;
  taskId: number | null;
  startedAt: string | null;
  finishedAt: string | null;
  selection: PatchSelection;
}>;

const JOB_COLUMNS: Record<keyof JobUpdate, string> = {
  status: 'status',
  message: 'message',
  scheduledAt: 'scheduled_at',
  windowStart: 'window_start',
  windowEnd: 'window_end',
  approvedBy: 'approved_by',
  approvedAt: 'approved_at',
  taskId: 'task_id',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
  selection: 'selection',
};

export function updateJob(db: Database, id: number, patch: JobUpdate): void {
  const keys = Object.keys(patch) as (keyof JobUpdate)[];
  if (keys.length === 0) return;
  const values = keys.map((k) => (k === 'selection' ? JSON.stringify(patch[k]) : (patch[k] ?? null)));
  db.prepare(`UPDATE patch_jobs SET ${keys.map((k) => `${JOB_COLUMNS[k]} = ?`).join(', ')} WHERE id = ?`).run(
    ...values,
    id,
  );
}

export type StepUpdate = Partial<{
  status: JobStep['status'];
  phase: string | null;
  packageManager: string | null;
  packages: TargetPackage[];
  preview: StepPreview | null;
  before: Record<string, string | null> | null;
  after: Record<string, string | null> | null;
  undoRecipe: string | null;
  errorKind: string | null;
  errorMessage: string | null;
  verifyAuditId: number | null;
  startedAt: string | null;
  finishedAt: string | null;
}>;

const STEP_COLUMNS: Record<keyof StepUpdate, string> = {
  status: 'status',
  phase: 'phase',
  packageManager: 'package_manager',
  packages: 'packages',
  preview: 'preview',
  before: 'before_versions',
  after: 'after_versions',
  undoRecipe: 'undo_recipe',
  errorKind: 'error_kind',
  errorMessage: 'error_message',
  verifyAuditId: 'verify_audit_id',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
};
const JSON_STEP_KEYS = new Set<keyof StepUpdate>(['packages', 'preview', 'before', 'after']);

/**
 * Commits one step transition (a single UPDATE, so it is atomic and durable before we go on).
 * A status `reboot-pending` is stored as `succeeded` with reboot_pending set; any other status clears it.
 */
export function updateStep(db: Database, stepId: number, patch: StepUpdate): void {
  const keys = Object.keys(patch) as (keyof StepUpdate)[];
  if (keys.length === 0) return;
  const values = keys.map((k) => {
    const v = patch[k];
    if (k === 'status' && v === 'reboot-pending') return 'succeeded';
    if (JSON_STEP_KEYS.has(k)) return v === null || v === undefined ? null : JSON.stringify(v);
    return v ?? null;
  });
  const sets = keys.map((k) => `${STEP_COLUMNS[k]} = ?`);
  if (patch.status !== undefined) {
    sets.push('reboot_pending = ?');
    values.push(patch.status === 'reboot-pending' ? 1 : 0);
  }
  db.prepare(`UPDATE job_steps SET ${sets.join(', ')} WHERE id = ?`).run(...values, stepId);
}

export function appendJobLog(
  db: Database,
  event: { jobId: number; stepId: number | null; stream: JobLogLine['stream']; text: string },
): JobLogLine {
  const at = now();
  const id = Number(
    db
      .prepare('INSERT INTO job_log (job_id, step_id, at, stream, text) VALUES (?, ?, ?, ?, ?)')
      .run(event.jobId, event.stepId, at, event.stream, event.text).lastInsertRowid,
  );
  return { id, at, ...event };
}

export function listJobLog(
  db: Database,
  jobId: number,
  options: { afterId?: number; limit?: number; stepId?: number } = {},
): JobLogLine[] {
  const rows = db
    .prepare(
      `SELECT * FROM job_log WHERE job_id = @jobId AND id > @afterId AND (@stepId IS NULL OR step_id = @stepId) ORDER BY id LIMIT @limit`,
    )
    .all({
      jobId,
      afterId: options.afterId ?? 0,
      stepId: options.stepId ?? null,
      limit: options.limit ?? 5000,
    }) as Row[];
  return rows.map((r) => ({
    id: r.id as number,
    jobId: r.job_id as number,
    stepId: (r.step_id as number | null) ?? null,
    at: r.at as string,
    stream: r.stream as JobLogLine['stream'],
    text: r.text as string,
  }));
}

/** A job handed to another engine (issue 14: 'ansible'): Patchdeck no longer runs it itself. */
export interface JobHandoff {
  to: string;
  at: string;
}

/** Where the job was handed off to and when, or null when Patchdeck runs it itself. */
export function jobHandoff(db: Database, id: number): JobHandoff | null {
  const row = db.prepare('SELECT handed_off_to, handed_off_at FROM patch_jobs WHERE id = ?').get(id) as
    { handed_off_to: string | null; handed_off_at: string | null } | undefined;
  return row?.handed_off_to ? { to: row.handed_off_to, at: row.handed_off_at ?? '' } : null;
}

/** Records that the job was handed to `to` at `at` (one statement). */
export function markJobHandedOff(db: Database, id: number, to: string, at: string): void {
  db.prepare('UPDATE patch_jobs SET handed_off_to = ?, handed_off_at = ? WHERE id = ?').run(to, at, id);
}

/**
 * After a crash or forced quit: running jobs become interrupted, and so do their running steps,
 * which keep their phase as the last known state. Returns the ids of the jobs it touched.
 */
export function markInterruptedJobs(db: Database): number[] {
  return db.transaction(() => {
    const ids = (
      db.prepare(`SELECT id FROM patch_jobs WHERE status = 'running'`).all() as { id: number }[]
    ).map((r) => r.id);
    const at = now();
    for (const id of ids) {
      db.prepare(
        `UPDATE job_steps SET status = 'interrupted', finished_at = ?,
           error_kind = coalesce(error_kind, 'interrupted'),
           error_message = coalesce(error_message, 'Patchdeck stopped (crash or forced quit) while this host was in phase ' || coalesce(phase, '?') || '.')
         WHERE job_id = ? AND status = 'running'`,
      ).run(at, id);
      db.prepare(
        `UPDATE patch_jobs SET status = 'interrupted', finished_at = ?, message = ? WHERE id = ?`,
      ).run(
        at,
        'Interrupted: Patchdeck stopped while this job ran. Resume re-audits the hosts and finishes what is still missing.',
        id,
      );
      db.prepare(
        `INSERT INTO job_log (job_id, step_id, at, stream, text) VALUES (?, NULL, ?, 'error', ?)`,
      ).run(id, at, 'Job interrupted: Patchdeck stopped while it ran.');
    }
    return ids;
  })();
}

/**
 * Deletes a draft nobody approved, with its steps and log (cascade), and its finished dry-run task
 * (titled "Dry run for job N": job ids are reused, so it would name a later job). False when it is
 * not such a draft.
 */
export function deleteDraftJob(db: Database, id: number, planTaskId?: number): boolean {
  return db.transaction(() => {
    const deleted =
      db.prepare(`DELETE FROM patch_jobs WHERE id = ? AND status = 'draft' AND approved_at IS NULL`).run(id)
        .changes > 0;
    if (deleted && planTaskId !== undefined)
      db.prepare(
        `DELETE FROM tasks WHERE id = ? AND kind = 'patch-plan' AND status <> 'running' AND json_extract(params, '$.jobId') = ?`,
      ).run(planTaskId, id);
    return deleted;
  })();
}
