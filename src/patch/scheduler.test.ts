/**
 * The scheduler's rules on a real in-memory workspace and a real task runner, with a clock the
 * test moves: a maintenance window opens, a window or start time passes while Patchdeck is not
 * running, recurring schedules fall due or are missed, and a job whose start throws is recorded
 * as failed instead of waiting forever, its hosts left for Resume.
 */
import type { Database } from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Recurrence } from '../api/schedule-schemas';
import { getJob, insertTask, listJobLog, listSteps, updateJob } from '../db';
import { insertSchedule, listScheduleRuns } from '../db/schedules';
import { scheduleTick, type ScheduleDeps } from '../schedules';
import type { TaskRunner } from '../tasks';
import { ManualClock } from '../util/clock';
import { continueJob, MISSED_GRACE_MS, startJob, startScheduler, type PatchService } from './service';
import { insertApprovedJob, memoryPatchService } from './testing/jobs';

const MIN = 60_000;

let db: Database;
let tasks: TaskRunner;
let clock: ManualClock;
let svc: PatchService;
let stop: (() => void) | null;

beforeEach(() => {
  clock = new ManualClock('2026-03-02T01:00:00Z');
  // No host of these jobs is ever connected to, so no secret is ever read.
  ({ db, tasks, svc } = memoryPatchService(clock));
  stop = null;
});

afterEach(async () => {
  stop?.();
  await tasks.shutdown();
  db.close();
});

/**
 * An approved job; `hosts` queued steps (the jobs that start here have none, so nothing connects).
 * `withUpdate`: each step carries an update and its approved dry run, as a planned job's do.
 */
const approvedJob = (hosts = 0, withUpdate = false): number => insertApprovedJob(db, hosts, withUpdate);

const statusOf = (id: number) => getJob(db, id)!.status;

async function settled(id: number) {
  const taskId = getJob(db, id)!.taskId;
  expect(taskId).not.toBeNull();
  await tasks.wait(taskId!);
  return getJob(db, id)!;
}

describe('maintenance windows on the clock', () => {
  it('starts the job when its window opens, not a tick before', async () => {
    const id = approvedJob();
    startJob(svc, id, { window: { start: '2026-03-02T02:00:00Z', end: '2026-03-02T03:00:00Z' } });
    expect(statusOf(id)).toBe('scheduled');
    clock.set('2026-03-02T01:59:30Z');
    stop = startScheduler(svc, { intervalMs: 5000 });
    clock.set('2026-03-02T01:59:55Z');
    expect(statusOf(id)).toBe('scheduled');
    clock.advance(5000);
    expect(statusOf(id)).not.toBe('scheduled');
    const job = await settled(id);
    expect(job.status).toBe('succeeded');
    expect(job.startedAt).not.toBeNull();
  });

  it('marks a window that passed while Patchdeck was not running as missed, never run late', () => {
    const id = approvedJob(2);
    startJob(svc, id, { window: { start: '2026-03-02T02:00:00Z', end: '2026-03-02T03:00:00Z' } });
    clock.set('2026-03-02T03:00:00Z'); // Patchdeck was closed the whole window
    stop = startScheduler(svc, { intervalMs: 5000 });
    const job = getJob(db, id)!;
    expect(job.status).toBe('failed');
    expect(job.taskId).toBeNull();
    expect(job.message).toBe(
      'Missed its maintenance window (2026-03-02T02:00:00.000Z – 2026-03-02T03:00:00.000Z) while Patchdeck was not running; it was not run late. Schedule it again.',
    );
    expect(listSteps(db, id).map((s) => [s.status, s.errorKind])).toEqual([
      ['skipped', 'missed-window'],
      ['skipped', 'missed-window'],
    ]);
  });

  it('gives a start time five minutes of grace, then calls it missed', async () => {
    const late = approvedJob();
    const missed = approvedJob();
    startJob(svc, late, { at: '2026-03-02T01:30:00Z' });
    startJob(svc, missed, { at: '2026-03-02T01:29:59Z' });
    clock.set(Date.parse('2026-03-02T01:30:00Z') + MISSED_GRACE_MS - 1000);
    stop = startScheduler(svc, { intervalMs: 5000 });
    expect(statusOf(missed)).toBe('failed');
    expect(getJob(db, missed)!.message).toMatch(/^Missed its start time \(2026-03-02T01:29:59.000Z\)/);
    expect((await settled(late)).status).toBe('succeeded');
  });

  it('stops ticking when stopped, leaving no timer behind', () => {
    const id = approvedJob();
    startJob(svc, id, { at: '2026-03-02T02:00:00Z' });
    stop = startScheduler(svc, { intervalMs: 5000 });
    expect(clock.pending).toBe(1);
    stop();
    stop = null;
    expect(clock.pending).toBe(0);
    clock.set('2026-03-02T02:00:00Z');
    expect(statusOf(id)).toBe('scheduled');
  });
});

describe('a job whose start throws', () => {
  it('is recorded as failed with the reason, its hosts left queued, instead of never running', () => {
    // Real time here: the due time is a minute ago on the clock Patchdeck runs on.
    clock = new ManualClock(Date.now());
    svc = { ...svc, clock };
    const id = approvedJob(1);
    updateJob(db, id, { status: 'scheduled', scheduledAt: new Date(clock.now() - MIN).toISOString() });
    // The task row cannot be written (what a full disk or a locked database does to the insert).
    db.exec(
      `CREATE TEMP TRIGGER no_tasks BEFORE INSERT ON tasks BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`,
    );
    stop = startScheduler(svc, { intervalMs: 5000 });
    const job = getJob(db, id)!;
    expect(job.status).toBe('failed');
    expect(job.message).toBe(
      'Could not start at its scheduled time: database or disk is full. Nothing was run; Resume it to run its hosts.',
    );
    expect(job.finishedAt).not.toBeNull();
    expect(listSteps(db, id).map((s) => [s.status, s.errorKind])).toEqual([['queued', null]]);
    expect(listJobLog(db, id).map((e) => [e.stream, e.text])).toContainEqual(['error', job.message]);
  });
});

describe('a job whose start throws, resumed', () => {
  it('runs its hosts when Resumed, as its message says', async () => {
    clock = new ManualClock(Date.now());
    svc = { ...svc, clock };
    const id = approvedJob(1, true);
    updateJob(db, id, { status: 'scheduled', scheduledAt: new Date(clock.now() - MIN).toISOString() });
    db.exec(
      `CREATE TEMP TRIGGER no_tasks BEFORE INSERT ON tasks BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END`,
    );
    stop = startScheduler(svc, { intervalMs: 5000 });
    expect(statusOf(id)).toBe('failed');
    db.exec('DROP TRIGGER no_tasks'); // the disk has room again
    expect((await continueJob(svc, id, 'resume')).status).toBe('running');
    const job = await settled(id);
    // The host has no credential, so its step ends there: what matters is that it ran at all.
    expect(listSteps(db, id).map((s) => [s.status, s.errorKind])).toEqual([['failed', 'no-credential']]);
    expect(job.status).toBe('failed');
    expect(job.message).toBe("1 host(s) failed; see each host's error and log.");
    expect(listJobLog(db, id).map((e) => e.text)).toContainEqual(
      expect.stringMatching(/^Resuming security updates: 1 host\(s\)/),
    );
  });
});

describe('recurring schedules on the scheduler clock', () => {
  function scheduleDeps(launched: string[]): ScheduleDeps {
    return {
      db,
      isRunning: () => false,
      changed: () => undefined,
      reportMissed: (schedule) =>
        Promise.resolve(insertTask(db, { kind: 'audit', title: `${schedule.name}: missed` }).id),
      launch: (schedule, note) => {
        launched.push(`${schedule.name}${note ? ` (${note})` : ''}`);
        return Promise.resolve({
          taskId: insertTask(db, { kind: 'audit', title: schedule.name }).id,
          started: true,
        });
      },
    };
  }

  it('runs a schedule when it falls due and reports the runs missed while closed', () => {
    const launched: string[] = [];
    const alsoTick = (nowMs: number) => void scheduleTick(scheduleDeps(launched), nowMs);
    const schedule = insertSchedule(db, {
      name: 'nightly audit',
      target: { kind: 'audit', tag: 'office' },
      recurrence: Recurrence.parse({ every: 'day', at: '02:00', timeZone: 'UTC' }),
      ifMissed: 'run-once',
      enabled: true,
      nextRunAt: '2026-03-02T02:00:00.000Z',
    });
    clock.set('2026-03-02T01:59:30Z');
    stop = startScheduler(svc, { intervalMs: 5000, alsoTick });
    clock.set('2026-03-02T01:59:59Z');
    expect(launched).toEqual([]);
    clock.set('2026-03-02T02:00:04Z');
    expect(launched).toEqual(['nightly audit']);
    stop();
    // Closed for three nights; the next start reports them and makes one up, late.
    clock.set('2026-03-05T09:00:00Z');
    stop = startScheduler(svc, { intervalMs: 5000, alsoTick });
    expect(launched).toHaveLength(2);
    expect(launched[1]).toMatch(/^nightly audit \(Late: made up at start-up/);
    const runs = listScheduleRuns(db, schedule.id);
    expect(runs.map((r) => r.status).sort()).toEqual(['late', 'missed', 'started']);
    expect(runs.find((r) => r.status === 'missed')!.missedCount).toBe(3);
  });
});
