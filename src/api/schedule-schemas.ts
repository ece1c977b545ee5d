import { z } from 'zod';
import { Id, IsoTime, Task } from './schemas';

/**
 * Recurring discovery and audits (issue 10, "Recurring work"). Every field is checked here, at
 * the API's door: names, tags, target specs and time zones come from people and imported files.
 */

/** True for a time zone name this runtime knows ("Europe/Berlin", "UTC"). */
export function isTimeZone(name: string): boolean {
  if (name.length === 0 || name.length > 64 || !/^[A-Za-z0-9_+\-/]+$/.test(name)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export const Weekday = z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);
export type Weekday = z.infer<typeof Weekday>;

export const TimeZone = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .refine(isTimeZone, { message: 'not a time zone this machine knows (e.g. Europe/Berlin, UTC)' });

export const Recurrence = z.discriminatedUnion('every', [
  /** At a wall-clock time in a time zone, every day or on the chosen weekdays. */
  z
    .object({
      every: z.literal('day'),
      at: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { message: 'a time as HH:MM, 00:00 to 23:59' }),
      days: z
        .array(Weekday)
        .min(1)
        .max(7)
        .refine((d) => new Set(d).size === d.length, { message: 'a weekday is listed twice' })
        .optional(),
      timeZone: TimeZone,
    })
    .strict(),
  /** Every N minutes, counted from when the schedule was saved: 15 minutes to 31 days. */
  z
    .object({
      every: z.literal('interval'),
      minutes: z
        .number()
        .int()
        .min(15)
        .max(31 * 1440),
    })
    .strict(),
]);
export type Recurrence = z.infer<typeof Recurrence>;

export const ScheduleTarget = z.discriminatedUnion('kind', [
  /** The whole inventory, or the inventory hosts carrying `tag`. */
  z
    .object({
      kind: z.literal('audit'),
      tag: z
        .string()
        .trim()
        .min(1)
        .max(64)
        .regex(/^[^\p{Cc}\p{Cf}]*$/u, { message: 'printable characters only' })
        .optional(),
      credentialId: Id.optional(),
      refresh: z.boolean().optional(),
    })
    .strict(),
  /** A saved network, or targets typed here; the admin always names the range. */
  z
    .object({
      kind: z.literal('discovery'),
      networkId: Id.optional(),
      targets: z.string().trim().min(1).max(100_000).optional(),
      exclude: z.string().max(100_000).optional(),
      ports: z.string().max(2000).optional(),
      /** Needed for more than a /22, as for a scan started by hand. Above a /16 is never scheduled. */
      confirm: z.boolean().optional(),
      addToInventory: z.boolean().optional(),
    })
    .strict()
    .refine((t) => (t.networkId === undefined) !== (t.targets === undefined), {
      message: 'give exactly one of networkId or targets',
    }),
]);
export type ScheduleTarget = z.infer<typeof ScheduleTarget>;

/**
 * What happens to a run that fell while Patchdeck was not running: it is always reported;
 * `run-once` then runs it once at the next start (audits and scans change nothing on hosts),
 * `skip` waits for the next regular time.
 */
export const IfMissed = z.enum(['run-once', 'skip']);

/** Shown in task titles, lists and notices: printable text only (no control or format characters). */
const ScheduleName = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[^\p{Cc}\p{Cf}]*$/u, { message: 'printable characters only' });

export const ScheduleInput = z
  .object({
    name: ScheduleName,
    target: ScheduleTarget,
    recurrence: Recurrence,
    ifMissed: IfMissed.default('run-once'),
    enabled: z.boolean().default(true),
  })
  .strict();

export const SchedulePatch = z
  .object({
    name: ScheduleName,
    target: ScheduleTarget,
    recurrence: Recurrence,
    ifMissed: IfMissed,
    enabled: z.boolean(),
  })
  .partial()
  .strict();

export const ScheduleRunStatus = z.enum(['started', 'late', 'missed', 'skipped', 'failed']);

export const ScheduleRun = z.object({
  id: Id,
  scheduleId: Id,
  /** The time the run was due (for a missed run: the first one missed). */
  dueAt: IsoTime,
  startedAt: IsoTime.nullable(),
  /**
   * started: on time; late: a missed run made up at the next start; missed: runs that fell while
   * Patchdeck was not running (`missedCount` of them, up to `lastMissedAt`); skipped: the previous
   * run was still going; failed: the run could not start (its task says why).
   */
  status: ScheduleRunStatus,
  trigger: z.enum(['schedule', 'manual']),
  missedCount: z.number().int().nonnegative(),
  lastMissedAt: IsoTime.nullable(),
  message: z.string().nullable(),
  taskId: Id.nullable(),
  /** The run's task (its outcome is the task's), when it has one. */
  task: Task.nullable(),
});
export type ScheduleRun = z.infer<typeof ScheduleRun>;

export const Schedule = z.object({
  id: Id,
  name: z.string(),
  target: ScheduleTarget,
  recurrence: Recurrence,
  /** "every day at 02:00 (Europe/Berlin)" */
  when: z.string(),
  /** "inventory hosts tagged office", "network office-lan (198.18.0.0/24)" */
  what: z.string(),
  ifMissed: IfMissed,
  enabled: z.boolean(),
  nextRunAt: IsoTime.nullable(),
  /**
   * A run fell due while no Patchdeck that runs schedules was open (only a short-lived CLI, or
   * nothing): the time it was due. The app or `patchdeck serve` reports it when it next starts.
   */
  overdueSince: IsoTime.nullable(),
  lastRun: ScheduleRun.nullable(),
  /** The newest missed-run report, if any (it stays visible after later runs). */
  lastMissed: ScheduleRun.nullable(),
  createdAt: IsoTime,
  updatedAt: IsoTime,
});
export type Schedule = z.infer<typeof Schedule>;
