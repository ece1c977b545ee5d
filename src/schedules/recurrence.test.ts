import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Recurrence, ScheduleInput, ScheduleTarget } from '../api/schedule-schemas';
import {
  describeRecurrence,
  formatInZone,
  instantOfWallClock,
  isTimeZone,
  nextOccurrence,
  occurrencesSince,
} from './recurrence';

const at = (s: string) => Date.parse(s);
const iso = (t: number) => new Date(t).toISOString();
/** The zone's offset from UTC at t, in minutes, read through formatInZone. */
const offsetAt = (t: number, zone: string) =>
  (Date.parse(`${formatInZone(t, zone).slice(0, 16).replace(' ', 'T')}:00Z`) - (t - (t % 60_000))) / 60_000;
const daily = (time: string, timeZone: string, days?: string[]) =>
  Recurrence.parse({ every: 'day', at: time, timeZone, ...(days ? { days } : {}) });

describe('next run of a daily schedule', () => {
  it('is today at the time when that is still ahead, else tomorrow (UTC)', () => {
    const r = daily('02:00', 'UTC');
    expect(iso(nextOccurrence(r, at('2026-12-01T01:59:00Z')))).toBe('2026-12-01T02:00:00.000Z');
    expect(iso(nextOccurrence(r, at('2026-12-01T02:00:00Z')))).toBe('2026-12-02T02:00:00.000Z');
    expect(iso(nextOccurrence(r, at('2026-12-31T23:00:00Z')))).toBe('2027-01-01T02:00:00.000Z');
  });

  it("follows the zone's own clock, whichever side of UTC it is", () => {
    expect(iso(nextOccurrence(daily('02:00', 'Europe/Berlin'), at('2026-12-01T01:30:00Z')))).toBe(
      '2026-12-02T01:00:00.000Z',
    );
    expect(iso(nextOccurrence(daily('02:00', 'Europe/Berlin'), at('2026-12-01T00:59:00Z')))).toBe(
      '2026-12-01T01:00:00.000Z',
    );
    // Los Angeles is eight hours behind in winter: 22:00 there is 06:00 UTC the next day.
    expect(iso(nextOccurrence(daily('22:00', 'America/Los_Angeles'), at('2026-12-01T05:00:00Z')))).toBe(
      '2026-12-01T06:00:00.000Z',
    );
    // Kolkata is UTC+05:30: 23:30 there is 18:00 UTC.
    expect(iso(nextOccurrence(daily('23:30', 'Asia/Kolkata'), at('2026-12-01T17:00:00Z')))).toBe(
      '2026-12-01T18:00:00.000Z',
    );
    expect(iso(nextOccurrence(daily('23:30', 'Asia/Kolkata'), at('2026-12-01T18:00:00Z')))).toBe(
      '2026-12-02T18:00:00.000Z',
    );
  });

  it('runs only on the chosen weekdays', () => {
    // 2026-12-01 is a Tuesday.
    const r = daily('09:15', 'UTC', ['mon', 'fri']);
    expect(iso(nextOccurrence(r, at('2026-12-01T10:00:00Z')))).toBe('2026-12-04T09:15:00.000Z');
    expect(iso(nextOccurrence(r, at('2026-12-04T09:15:00Z')))).toBe('2026-12-07T09:15:00.000Z');
  });

  it('keeps local time across daylight-saving changes, and never runs twice in the repeated hour', () => {
    const r = daily('02:30', 'Europe/Berlin');
    // 2027-03-28: clocks jump from 02:00 to 03:00, so 02:30 does not exist; it runs at 03:30 local.
    expect(iso(nextOccurrence(r, at('2027-03-27T12:00:00Z')))).toBe('2027-03-28T01:30:00.000Z');
    expect(formatInZone(at('2027-03-28T01:30:00Z'), 'Europe/Berlin')).toBe('2027-03-28 03:30 Europe/Berlin');
    // 2026-10-25: 02:30 happens twice (CEST, then CET); it runs at the first, once.
    const first = nextOccurrence(r, at('2026-10-24T12:00:00Z'));
    expect(iso(first)).toBe('2026-10-25T00:30:00.000Z');
    expect(iso(nextOccurrence(r, first))).toBe('2026-10-26T01:30:00.000Z');
    // Summer: 02:30 CEST is 00:30 UTC.
    expect(iso(nextOccurrence(r, at('2026-07-01T00:00:00Z')))).toBe('2026-07-01T00:30:00.000Z');
  });

  it('is strictly later than the given instant and shows the chosen time, for any zone and time', () => {
    const zones = [
      'UTC',
      'Europe/Berlin',
      'America/New_York',
      'Australia/Lord_Howe',
      'Asia/Kathmandu',
      'Pacific/Apia',
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: 0, max: 59 }),
        fc.integer({ min: at('2020-01-01T00:00:00Z'), max: at('2035-01-01T00:00:00Z') }),
        (zone, h, m, t) => {
          const time = `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`;
          const next = nextOccurrence(daily(time, zone), t);
          expect(next).toBeGreaterThan(t);
          // Within a day and a bit (a skipped hour can push it past 24 h by the gap).
          expect(next - t).toBeLessThanOrEqual(25 * 3600_000);
          const shown = formatInZone(next, zone).slice(11, 16);
          // The chosen time, unless that time was skipped by a clock change just before.
          if (shown !== time) expect(offsetAt(next, zone)).not.toBe(offsetAt(next - 3 * 3600_000, zone));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('next run of an interval schedule', () => {
  const r = Recurrence.parse({ every: 'interval', minutes: 360 });
  it('counts from its anchor in whole steps', () => {
    const anchor = at('2026-12-01T00:00:00Z');
    expect(iso(nextOccurrence(r, anchor, anchor))).toBe('2026-12-01T06:00:00.000Z');
    expect(iso(nextOccurrence(r, at('2026-12-01T13:00:00Z'), anchor))).toBe('2026-12-01T18:00:00.000Z');
    expect(iso(nextOccurrence(r, at('2026-12-01T18:00:00Z'), anchor))).toBe('2026-12-02T00:00:00.000Z');
  });
});

describe('counting missed runs', () => {
  it('counts every occurrence from the first due one to now, and names the last', () => {
    const r = daily('02:00', 'UTC');
    const missed = occurrencesSince(r, at('2026-12-01T02:00:00Z'), at('2026-12-04T08:00:00Z'));
    expect(missed).toEqual({ count: 4, last: at('2026-12-04T02:00:00Z'), capped: false });
    expect(occurrencesSince(r, at('2026-12-01T02:00:00Z'), at('2026-12-01T02:00:00Z')).count).toBe(1);
  });
  it('stops at a cap, in bounded time, for a schedule left for years', () => {
    const r = Recurrence.parse({ every: 'interval', minutes: 15 });
    const years = occurrencesSince(r, at('2000-01-01T00:00:00Z'), at('2030-01-01T00:00:00Z'));
    expect(years.capped).toBe(true);
    expect(years.count).toBe(10_000);
    const d = occurrencesSince(
      daily('02:00', 'UTC'),
      at('2000-01-01T02:00:00Z'),
      at('2100-01-01T00:00:00Z'),
      500,
    );
    expect(d).toMatchObject({ count: 500, capped: true });
  });
});

describe('wall clock to instant', () => {
  it('is the inverse of the clock where the time exists once', () => {
    expect(iso(instantOfWallClock(Date.UTC(2026, 11, 1, 2, 0), 'Europe/Berlin'))).toBe(
      '2026-12-01T01:00:00.000Z',
    );
  });
});

describe('hostile schedule input is refused at the door', () => {
  it.each([
    [{ every: 'day', at: '24:00', timeZone: 'UTC' }],
    [{ every: 'day', at: '2:00', timeZone: 'UTC' }],
    [{ every: 'day', at: '02:00', timeZone: 'Mars/Olympus_Mons' }],
    [{ every: 'day', at: '02:00', timeZone: '../../etc/passwd' }],
    [{ every: 'day', at: '02:00', timeZone: 'UTC; rm -rf /' }],
    [{ every: 'day', at: '02:00', timeZone: 'x'.repeat(65) }],
    [{ every: 'day', at: '02:00', timeZone: 'UTC', days: [] }],
    [{ every: 'day', at: '02:00', timeZone: 'UTC', days: ['mon', 'mon'] }],
    [{ every: 'day', at: '02:00', timeZone: 'UTC', days: ['funday'] }],
    [{ every: 'day', at: '02:00', timeZone: 'UTC', extra: 1 }],
    [{ every: 'interval', minutes: 1 }],
    [{ every: 'interval', minutes: 0.5 }],
    [{ every: 'interval', minutes: 1e9 }],
    [{ every: 'interval', minutes: -60 }],
    [{ every: 'cron', spec: '* * * * *' }],
  ])('recurrence %j', (value) => {
    expect(Recurrence.safeParse(value).success).toBe(false);
  });
  it.each([
    [{ kind: 'discovery' }],
    [{ kind: 'discovery', networkId: 1, targets: '127.0.0.1' }],
    [{ kind: 'discovery', targets: '' }],
    [{ kind: 'discovery', targets: 'x'.repeat(100_001) }],
    [{ kind: 'discovery', targets: '127.0.0.1', force: true }],
    [{ kind: 'audit', tag: '' }],
    [{ kind: 'audit', tag: 't'.repeat(65) }],
    [{ kind: 'audit', hostIds: [1] }],
    [{ kind: 'patch' }],
  ])('target %j', (value) => {
    expect(ScheduleTarget.safeParse(value).success).toBe(false);
  });
  it.each([['line\nbreak'], ['bell\u0007'], ['right-to-left\u202e'], [' '], ['n'.repeat(65)]])(
    'schedule name %j',
    (name) => {
      const input = { name, target: { kind: 'audit' }, recurrence: { every: 'interval', minutes: 60 } };
      expect(ScheduleInput.safeParse(input).success).toBe(false);
    },
  );
  it('knows real zones and nothing else', () => {
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Europe/Atlantis')).toBe(false);
    expect(isTimeZone('')).toBe(false);
  });
});

describe('describing a recurrence', () => {
  it('reads as words', () => {
    expect(describeRecurrence(daily('02:00', 'Europe/Berlin'))).toBe('every day at 02:00 (Europe/Berlin)');
    expect(describeRecurrence(daily('22:30', 'UTC', ['wed', 'mon']))).toBe('Mon, Wed at 22:30 (UTC)');
    expect(describeRecurrence(Recurrence.parse({ every: 'interval', minutes: 360 }))).toBe('every 6 hours');
    expect(describeRecurrence(Recurrence.parse({ every: 'interval', minutes: 90 }))).toBe('every 90 minutes');
  });
});
