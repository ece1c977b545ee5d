/**
 * When a schedule runs: pure functions of a recurrence and an instant, so tests pass their own
 * clock. Every loop here is bounded by a small constant or by an explicit cap.
 */
import { isTimeZone, type Recurrence, type Weekday } from '../api';

export { isTimeZone };

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
export const WEEKDAYS: readonly Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    // Bounded: one entry per zone name that passed isTimeZone, and there are a few hundred.
    if (formatters.size < 1000) formatters.set(timeZone, f);
  }
  return f;
}

/** The wall-clock reading of instant `t` in `timeZone`, as if that reading were UTC (ms). */
function wallClock(t: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatterFor(timeZone).formatToParts(new Date(t)))
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
}

/**
 * The instant at which the clocks of `timeZone` show `wall` (a wall-clock reading as UTC ms).
 * Twice that day (autumn's repeated hour): the earlier one. Never (spring's skipped hour): the
 * instant the same distance past the gap, so 02:30 on a day that jumps from 02:00 to 03:00 is 03:30.
 */
export function instantOfWallClock(wall: number, timeZone: string): number {
  const offsetBefore = wallClock(wall - 12 * 60 * MINUTE, timeZone) - (wall - 12 * 60 * MINUTE);
  const offsetAfter = wallClock(wall + 12 * 60 * MINUTE, timeZone) - (wall + 12 * 60 * MINUTE);
  const candidates = [wall - offsetBefore, wall - offsetAfter]
    .filter((t) => wallClock(t, timeZone) === wall)
    .sort((a, b) => a - b);
  return candidates[0] ?? wall - offsetBefore;
}

function parseTime(at: string): { hour: number; minute: number } {
  const [h, m] = at.split(':');
  return { hour: Number(h), minute: Number(m) };
}

/**
 * The first occurrence strictly after `after` (ms). An interval schedule counts from `anchor`,
 * its previous due time (or when it was created): anchor + k × interval.
 */
export function nextOccurrence(recurrence: Recurrence, after: number, anchor: number = after): number {
  if (recurrence.every === 'interval') {
    const step = recurrence.minutes * MINUTE;
    if (anchor > after) return anchor;
    return anchor + (Math.floor((after - anchor) / step) + 1) * step;
  }
  const { hour, minute } = parseTime(recurrence.at);
  const days = new Set(recurrence.days ?? WEEKDAYS);
  const today = wallClock(after, recurrence.timeZone);
  const midnight = today - (today % DAY);
  // From yesterday (a zone behind UTC) to eight days on: a week always holds an allowed day.
  for (let d = -1; d <= 8; d++) {
    const dayStart = midnight + d * DAY;
    const weekday = WEEKDAYS[new Date(dayStart).getUTCDay()]!;
    if (!days.has(weekday)) continue;
    const t = instantOfWallClock(dayStart + hour * 60 * MINUTE + minute * MINUTE, recurrence.timeZone);
    if (t > after) return t;
  }
  throw new Error('no occurrence within nine days'); // unreachable: days has at least one weekday
}

/**
 * The occurrences in (`from`, `until`], given that `from` itself was due (and is counted): how many,
 * and the last one. Stops counting at `cap` so a schedule left for years costs bounded time.
 */
export function occurrencesSince(
  recurrence: Recurrence,
  from: number,
  until: number,
  cap = 10_000,
): { count: number; last: number; capped: boolean } {
  if (recurrence.every === 'interval') {
    const step = recurrence.minutes * MINUTE;
    const count = Math.floor((until - from) / step) + 1;
    return { count: Math.min(count, cap), last: from + (count - 1) * step, capped: count > cap };
  }
  let count = 1;
  let last = from;
  for (;;) {
    const next = nextOccurrence(recurrence, last);
    if (next > until) return { count, last, capped: false };
    if (count >= cap) return { count, last, capped: true };
    count++;
    last = next;
  }
}

const DAY_NAMES: Record<Weekday, string> = {
  mon: 'Mon',
  tue: 'Tue',
  wed: 'Wed',
  thu: 'Thu',
  fri: 'Fri',
  sat: 'Sat',
  sun: 'Sun',
};

/** "every day at 02:00 (Europe/Berlin)", "Mon, Wed at 22:30 (UTC)", "every 6 hours". */
export function describeRecurrence(recurrence: Recurrence): string {
  if (recurrence.every === 'interval') {
    const m = recurrence.minutes;
    if (m % 1440 === 0) return m === 1440 ? 'every day' : `every ${m / 1440} days`;
    if (m % 60 === 0) return m === 60 ? 'every hour' : `every ${m / 60} hours`;
    return `every ${m} minutes`;
  }
  const days = recurrence.days;
  const which =
    !days || days.length === 7
      ? 'every day'
      : WEEKDAYS.filter((d) => days.includes(d))
          .map((d) => DAY_NAMES[d])
          .join(', ');
  return `${which} at ${recurrence.at} (${recurrence.timeZone})`;
}

/** "2026-12-01 02:00 Europe/Berlin": an instant as the schedule's own clocks show it. */
export function formatInZone(t: number, timeZone = 'UTC'): string {
  const iso = new Date(wallClock(t, isTimeZone(timeZone) ? timeZone : 'UTC')).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} ${timeZone}`;
}
