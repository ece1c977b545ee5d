/**
 * Recurring discovery and audits. One pass (`scheduleTick`) runs inside the scheduler that
 * starts patch windows, so they run wherever that runs: the app and `patchdeck serve`, not a
 * short-lived CLI command. The clock is a parameter, so tests pass their own.
 *
 * A run that fell while no such Patchdeck was running is never silently dropped nor silently run
 * late: it is recorded as missed (how many, first and last), and — for `ifMissed: 'run-once'`,
 * the default — made up once at the next start, marked late. (PDQ runs schedules from a
 * background service that starts with the machine, and PDQ Connect catches up scans that went
 * stale while a device was off; Patchdeck has no background service, so it catches up once at
 * start. Patch jobs are different: a missed maintenance window is never run late.)
 */
import type { Database } from 'better-sqlite3';
import type { ScheduleRun } from '../api';
import {
  getScheduleRun,
  insertScheduleRun,
  latestScheduleRuns,
  listSchedules,
  setNextRun,
  updateScheduleRun,
  type ScheduleRecord,
} from '../db';
import { PatchdeckError } from '../util';
import { formatInZone, nextOccurrence, occurrencesSince } from './recurrence';

/** Later than this after its time, a run counts as missed (the same grace patch windows get). */
export const SCHEDULE_GRACE_MS = 5 * 60_000;

export interface ScheduleDeps {
  db: Database;
  /**
   * Starts the schedule's work as an ordinary task (a scan or an audit) and returns its id. A run
   * that cannot start (no host carries the tag, the network was removed) is a failed task too, so
   * that its outcome and notice come from the task layer like any other: `started` says which.
   */
  launch(schedule: ScheduleRecord, note: string | null): Promise<{ taskId: number; started: boolean }>;
  /**
   * Records runs missed and not made up as a failed task of their own, so the task list, status
   * bar and notices say it like any other failure (a made-up run carries "late" in its title).
   */
  reportMissed(schedule: ScheduleRecord, message: string): Promise<number>;
  /** True while that task is still running in this process. */
  isRunning(taskId: number): boolean;
  /** Tells the UI the schedules changed. */
  changed(ids: number[]): void;
}

const iso = (t: number): string => new Date(t).toISOString();

function zoneOf(schedule: ScheduleRecord): string {
  return schedule.recurrence.every === 'day' ? schedule.recurrence.timeZone : 'UTC';
}

/** The first due time of a schedule saved (or re-enabled) at `nowMs`. */
export function firstDueTime(schedule: Pick<ScheduleRecord, 'recurrence'>, nowMs: number): number {
  return nextOccurrence(schedule.recurrence, nowMs, nowMs);
}

/** The previous run of this schedule still going, if any. */
function stillRunning(deps: ScheduleDeps, scheduleId: number): ScheduleRun | null {
  const { lastRun } = latestScheduleRuns(deps.db, scheduleId);
  return lastRun?.taskId && deps.isRunning(lastRun.taskId) ? lastRun : null;
}

async function launchRun(deps: ScheduleDeps, schedule: ScheduleRecord, runId: number): Promise<void> {
  const run = getScheduleRun(deps.db, runId)!;
  try {
    const { taskId, started } = await deps.launch(schedule, run.message);
    updateScheduleRun(deps.db, runId, started ? { taskId } : { taskId, status: 'failed' });
  } catch (error) {
    // launch() turns refusals into failed tasks; this is what is left (the workspace closed).
    updateScheduleRun(deps.db, runId, {
      status: 'failed',
      message: `Could not start: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
  deps.changed([schedule.id]);
}

export interface TickResult {
  /** Runs started (on time or late), by run id. */
  started: number[];
  /** Missed-run reports written, by run id. */
  missed: number[];
  /** Runs skipped because the previous one was still going. */
  skipped: number[];
  /** Settles when every run started by this pass has its task (tests await it). */
  launched: Promise<void>;
}

/** One pass over the schedules at `nowMs`: start what is due, report what was missed. */
export function scheduleTick(deps: ScheduleDeps, nowMs: number): TickResult {
  const started: number[] = [];
  const missed: number[] = [];
  const skipped: number[] = [];
  const launches: Promise<void>[] = [];
  const touched: number[] = [];
  for (const schedule of listSchedules(deps.db)) {
    if (!schedule.enabled) continue;
    const due = Date.parse(schedule.nextRunAt ?? '');
    if (!Number.isFinite(due)) {
      // Enabled but never given a time (a damaged row, or a clock that jumped): give it one.
      setNextRun(deps.db, schedule.id, iso(firstDueTime(schedule, nowMs)));
      continue;
    }
    if (nowMs < due) continue;
    const zone = zoneOf(schedule);
    const occurrences = occurrencesSince(schedule.recurrence, due, nowMs);
    const lastDue = occurrences.last;
    // The newest occurrence may still be within its grace; only the ones before it were missed.
    const onTime = nowMs - lastDue <= SCHEDULE_GRACE_MS;
    const missedCount = onTime ? occurrences.count - 1 : occurrences.count;
    const next = nextOccurrence(schedule.recurrence, nowMs, lastDue);
    let toStart: { status: 'started' | 'late'; dueAt: number; message: string | null } | null = null;
    let unmadeUp: { runId: number; message: string } | null = null;
    deps.db.transaction(() => {
      // Moved on first, in the same transaction as the run rows: the next pass never sees it due again.
      setNextRun(deps.db, schedule.id, iso(next));
      if (missedCount > 0) {
        const lastMissed = onTime ? occurrencesSince(schedule.recurrence, due, lastDue - 1).last : lastDue;
        const runs = `${occurrences.capped ? 'more than ' : ''}${missedCount} run${missedCount === 1 ? '' : 's'}`;
        const span =
          missedCount === 1
            ? `due ${formatInZone(due, zone)}`
            : `due from ${formatInZone(due, zone)} to ${formatInZone(lastMissed, zone)}`;
        const then = onTime
          ? 'The run due now starts on time.'
          : schedule.ifMissed === 'run-once'
            ? 'Running it once now, late.'
            : `Not run late (this schedule skips missed runs); next run ${formatInZone(next, zone)}.`;
        const message = `Missed ${runs} ${span} while Patchdeck was not running. ${then}`;
        const runId = insertScheduleRun(deps.db, {
          scheduleId: schedule.id,
          dueAt: iso(due),
          status: 'missed',
          trigger: 'schedule',
          missedCount,
          lastMissedAt: iso(lastMissed),
          message,
        });
        missed.push(runId);
        if (!onTime && schedule.ifMissed === 'skip') unmadeUp = { runId, message };
        if (!onTime && schedule.ifMissed === 'run-once')
          toStart = {
            status: 'late',
            dueAt: lastMissed,
            message: `Late: made up at start-up for the run due ${formatInZone(lastMissed, zone)}.`,
          };
      }
      if (onTime) toStart = { status: 'started', dueAt: lastDue, message: null };
      touched.push(schedule.id);
    })();
    if (unmadeUp) {
      const { runId, message } = unmadeUp as { runId: number; message: string };
      launches.push(
        deps
          .reportMissed(schedule, message)
          .then((taskId) => updateScheduleRun(deps.db, runId, { taskId }))
          .catch(() => undefined),
      );
    }
    if (!toStart) continue;
    const planned = toStart as { status: 'started' | 'late'; dueAt: number; message: string | null };
    const previous = stillRunning(deps, schedule.id);
    if (previous) {
      skipped.push(
        insertScheduleRun(deps.db, {
          scheduleId: schedule.id,
          dueAt: iso(planned.dueAt),
          status: 'skipped',
          trigger: 'schedule',
          message: `Skipped: the previous run (task ${previous.taskId}) was still running.`,
        }),
      );
      continue;
    }
    const runId = insertScheduleRun(deps.db, {
      scheduleId: schedule.id,
      dueAt: iso(planned.dueAt),
      startedAt: iso(nowMs),
      status: planned.status,
      trigger: 'schedule',
      message: planned.message,
    });
    started.push(runId);
    launches.push(launchRun(deps, schedule, runId));
  }
  if (touched.length) deps.changed(touched);
  return { started, missed, skipped, launched: Promise.all(launches).then(() => undefined) };
}

/** "Run now": an extra run that leaves the schedule's times as they are. */
export async function runScheduleNow(
  deps: ScheduleDeps,
  schedule: ScheduleRecord,
  nowMs: number,
): Promise<ScheduleRun> {
  const previous = stillRunning(deps, schedule.id);
  if (previous)
    throw new PatchdeckError(
      'conflict',
      `"${schedule.name}" is still running (task ${previous.taskId}); wait for it or cancel it first.`,
    );
  const runId = insertScheduleRun(deps.db, {
    scheduleId: schedule.id,
    dueAt: iso(nowMs),
    startedAt: iso(nowMs),
    status: 'started',
    trigger: 'manual',
  });
  await launchRun(deps, schedule, runId);
  return getScheduleRun(deps.db, runId)!;
}

/**
 * A run that fell due with no scheduler running (only short-lived CLI commands opened the
 * workspace since): when it was due, so lists can say so before the next start reports it.
 */
export function overdueSince(schedule: ScheduleRecord, nowMs: number): string | null {
  if (!schedule.enabled || !schedule.nextRunAt) return null;
  const due = Date.parse(schedule.nextRunAt);
  return Number.isFinite(due) && nowMs - due > SCHEDULE_GRACE_MS ? schedule.nextRunAt : null;
}
