/**
 * The scheduler's pass over a real SQLite workspace with a clock the test holds: runs due on
 * time start, runs that fell while Patchdeck was closed are reported (and made up once, or not),
 * a run still going is not doubled. The work itself is a real task row the injected launch writes.
 */
import type { Database } from 'better-sqlite3';
import { beforeEach, describe, expect, it } from 'vitest';
import { Recurrence } from '../api/schedule-schemas';
import { createMemoryWorkspace, finishTask, insertTask } from '../db';
import {
  getSchedule,
  insertSchedule,
  listScheduleRuns,
  RUNS_KEPT,
  type ScheduleRecord,
} from '../db/schedules';
import { overdueSince, runScheduleNow, scheduleTick, type ScheduleDeps } from './service';

const at = (s: string) => Date.parse(s);
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

let db: Database;
let launched: { schedule: string; note: string | null; taskId: number }[];
let running: Set<number>;
let refuse: string | null;
let reported: string[];
let deps: ScheduleDeps;

beforeEach(() => {
  db = createMemoryWorkspace();
  launched = [];
  running = new Set();
  refuse = null;
  reported = [];
  deps = {
    db,
    isRunning: (id) => running.has(id),
    changed: () => undefined,
    reportMissed(schedule, message) {
      const task = insertTask(db, { kind: schedule.target.kind, title: `${schedule.name}: missed` });
      finishTask(db, task.id, { status: 'failed', error: message });
      reported.push(message);
      return Promise.resolve(task.id);
    },
    launch(schedule, note) {
      const task = insertTask(db, { kind: schedule.target.kind, title: schedule.name });
      if (refuse) {
        finishTask(db, task.id, { status: 'failed', error: refuse });
        return Promise.resolve({ taskId: task.id, started: false });
      }
      running.add(task.id);
      launched.push({ schedule: schedule.name, note, taskId: task.id });
      return Promise.resolve({ taskId: task.id, started: true });
    },
  };
});

const nightly = (overrides: Partial<ScheduleRecord> = {}): ScheduleRecord =>
  insertSchedule(db, {
    name: 'nightly audit',
    target: { kind: 'audit', tag: 'office' },
    recurrence: Recurrence.parse({ every: 'day', at: '02:00', timeZone: 'UTC' }),
    ifMissed: 'run-once',
    enabled: true,
    nextRunAt: '2026-12-01T02:00:00.000Z',
    ...overrides,
  });

async function tick(nowMs: number) {
  const result = scheduleTick(deps, nowMs);
  await result.launched;
  return result;
}

describe('a schedule that falls due while Patchdeck runs', () => {
  it('does nothing before its time', async () => {
    const s = nightly();
    expect(await tick(at('2026-12-01T01:59:59Z'))).toMatchObject({ started: [], missed: [] });
    expect(launched).toEqual([]);
    expect(getSchedule(db, s.id)!.nextRunAt).toBe('2026-12-01T02:00:00.000Z');
  });

  it('starts once at its time, as a task, and moves on to the next day', async () => {
    const s = nightly();
    const first = await tick(at('2026-12-01T02:00:04Z'));
    expect(first.started).toHaveLength(1);
    expect(first.missed).toEqual([]);
    // The next pass, seconds later, does not start it again.
    expect((await tick(at('2026-12-01T02:00:09Z'))).started).toEqual([]);
    expect(launched).toHaveLength(1);
    expect(getSchedule(db, s.id)!.nextRunAt).toBe('2026-12-02T02:00:00.000Z');
    const [run] = listScheduleRuns(db, s.id);
    expect(run).toMatchObject({
      status: 'started',
      trigger: 'schedule',
      dueAt: '2026-12-01T02:00:00.000Z',
      startedAt: '2026-12-01T02:00:04.000Z',
      taskId: launched[0]!.taskId,
      missedCount: 0,
    });
    expect(run!.task).toMatchObject({ id: launched[0]!.taskId, kind: 'audit' });
  });

  it('a run that cannot start is recorded as failed, with its failed task', async () => {
    const s = nightly();
    refuse = 'No inventory host carries the tag "office".';
    await tick(at('2026-12-01T02:00:01Z'));
    const [run] = listScheduleRuns(db, s.id);
    expect(run).toMatchObject({ status: 'failed' });
    expect(run!.task).toMatchObject({ status: 'failed', error: refuse });
  });

  it('skips a run while the previous one is still going, and says so', async () => {
    const s = nightly({ recurrence: Recurrence.parse({ every: 'interval', minutes: 15 }) });
    await tick(at('2026-12-01T02:00:00Z'));
    await tick(at('2026-12-01T02:15:00Z'));
    expect(launched).toHaveLength(1);
    const [skipped] = listScheduleRuns(db, s.id);
    expect(skipped).toMatchObject({ status: 'skipped', dueAt: '2026-12-01T02:15:00.000Z', taskId: null });
    expect(skipped!.message).toBe(
      `Skipped: the previous run (task ${launched[0]!.taskId}) was still running.`,
    );
    // Once it finished, the next one runs.
    running.clear();
    await tick(at('2026-12-01T02:30:00Z'));
    expect(launched).toHaveLength(2);
    await expect(runScheduleNow(deps, getSchedule(db, s.id)!, at('2026-12-01T02:31:00Z'))).rejects.toThrow(
      /still running/,
    );
  });

  it('leaves a disabled schedule alone', async () => {
    nightly({ enabled: false });
    expect((await tick(at('2026-12-05T00:00:00Z'))).missed).toEqual([]);
    expect(launched).toEqual([]);
  });
});

describe('runs missed while Patchdeck was closed', () => {
  it('are reported with how many and when, then made up once, marked late', async () => {
    const s = nightly();
    // Closed from before the 1st at 02:00 until the 4th at 08:00: the 1st, 2nd, 3rd and 4th were missed.
    const result = await tick(at('2026-12-04T08:00:00Z'));
    expect(result.missed).toHaveLength(1);
    expect(result.started).toHaveLength(1);
    const [late, missed] = listScheduleRuns(db, s.id);
    expect(missed).toMatchObject({
      status: 'missed',
      missedCount: 4,
      dueAt: '2026-12-01T02:00:00.000Z',
      lastMissedAt: '2026-12-04T02:00:00.000Z',
      taskId: null,
    });
    expect(missed!.message).toBe(
      'Missed 4 runs due from 2026-12-01 02:00 UTC to 2026-12-04 02:00 UTC while Patchdeck was not running. Running it once now, late.',
    );
    expect(late).toMatchObject({
      status: 'late',
      dueAt: '2026-12-04T02:00:00.000Z',
      taskId: launched[0]!.taskId,
    });
    expect(late!.message).toBe('Late: made up at start-up for the run due 2026-12-04 02:00 UTC.');
    expect(launched).toEqual([expect.objectContaining({ note: late!.message })]);
    expect(reported).toEqual([]);
    expect(getSchedule(db, s.id)!.nextRunAt).toBe('2026-12-05T02:00:00.000Z');
    // Reported once, not again on the next pass.
    expect(await tick(at('2026-12-04T08:00:05Z'))).toMatchObject({ started: [], missed: [] });
  });

  it('with "skip", are reported and not run late', async () => {
    const s = nightly({ ifMissed: 'skip' });
    await tick(at('2026-12-01T09:00:00Z'));
    expect(launched).toEqual([]);
    const runs = listScheduleRuns(db, s.id);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.message).toBe(
      'Missed 1 run due 2026-12-01 02:00 UTC while Patchdeck was not running. Not run late (this schedule skips missed runs); next run 2026-12-02 02:00 UTC.',
    );
    // Not made up, so it is a failure of its own in the task list, not only a line here.
    expect(reported).toEqual([runs[0]!.message]);
    expect(runs[0]!.task).toMatchObject({ status: 'failed', error: runs[0]!.message });
  });

  it('when the newest was due moments ago, only the older ones are missed and it runs on time', async () => {
    const s = nightly();
    await tick(at('2026-12-03T02:02:00Z'));
    const [onTime, missed] = listScheduleRuns(db, s.id);
    expect(missed).toMatchObject({
      status: 'missed',
      missedCount: 2,
      lastMissedAt: '2026-12-02T02:00:00.000Z',
    });
    expect(missed!.message).toMatch(/The run due now starts on time\.$/);
    expect(onTime).toMatchObject({ status: 'started', dueAt: '2026-12-03T02:00:00.000Z' });
    expect(launched).toHaveLength(1);
  });

  it('are reported in the zone the schedule keeps time in', async () => {
    const s = nightly({
      recurrence: Recurrence.parse({ every: 'day', at: '02:00', timeZone: 'Europe/Berlin' }),
      nextRunAt: '2026-12-01T01:00:00.000Z',
      ifMissed: 'skip',
    });
    await tick(at('2026-12-01T12:00:00Z'));
    expect(listScheduleRuns(db, s.id)[0]!.message).toMatch(
      /^Missed 1 run due 2026-12-01 02:00 Europe\/Berlin /,
    );
    expect(getSchedule(db, s.id)!.nextRunAt).toBe('2026-12-02T01:00:00.000Z');
  });

  it('an interval schedule left for a year counts its misses in bounded time and keeps its rhythm', async () => {
    const s = nightly({ recurrence: Recurrence.parse({ every: 'interval', minutes: 15 }), ifMissed: 'skip' });
    const t = at('2026-12-01T02:00:00Z') + 365 * DAY + 7 * MIN;
    await tick(t);
    const [missed] = listScheduleRuns(db, s.id);
    expect(missed!.message).toMatch(/^Missed more than 10000 runs /);
    expect(getSchedule(db, s.id)!.nextRunAt).toBe(new Date(t + 8 * MIN).toISOString());
  });

  it('keeps the newest runs of a schedule, not every one since it was made', async () => {
    const s = nightly({ recurrence: Recurrence.parse({ every: 'interval', minutes: 15 }) });
    let t = at('2026-12-01T02:00:00Z');
    for (let i = 0; i < RUNS_KEPT + 20; i++, t += 15 * MIN) {
      await tick(t);
      running.clear();
    }
    const runs = listScheduleRuns(db, s.id, 1000);
    expect(runs).toHaveLength(RUNS_KEPT);
    expect(runs[0]!.dueAt).toBe(new Date(t - 15 * MIN).toISOString());
  });

  it('a list read before any scheduler started says the run is overdue', () => {
    const s = nightly();
    expect(overdueSince(s, at('2026-12-01T02:04:00Z'))).toBeNull();
    expect(overdueSince(s, at('2026-12-01T02:06:00Z'))).toBe('2026-12-01T02:00:00.000Z');
    expect(overdueSince({ ...s, enabled: false }, at('2026-12-09T00:00:00Z'))).toBeNull();
  });
});
