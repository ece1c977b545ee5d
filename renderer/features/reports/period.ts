/**
 * The Reports page's period presets. A report's period is whole days in UTC, `to` included (as
 * src/reports/types.ts resolves it), so the presets count days in UTC too: "this month" on the
 * 1st at 00:30 in Berlin is still last month's last day in UTC, and the report says so.
 */

export type PeriodPreset = 'last30' | 'thisMonth' | 'lastQuarter' | 'custom';

export const PRESET_LABELS: Record<PeriodPreset, string> = {
  last30: 'Last 30 days',
  thisMonth: 'This month',
  lastQuarter: 'Last quarter',
  custom: 'Chosen dates',
};

export interface Period {
  from: string;
  to: string;
}

const DAY_MS = 86_400_000;
const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** The dates a preset stands for on the UTC day of `nowMs`; null for custom (the admin's own dates). */
export function presetPeriod(preset: PeriodPreset, nowMs: number): Period | null {
  const now = new Date(nowMs);
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth();
  switch (preset) {
    case 'last30':
      // Thirty whole days, today the last of them.
      return { from: day(nowMs - 29 * DAY_MS), to: day(nowMs) };
    case 'thisMonth':
      return { from: day(Date.UTC(year, month, 1)), to: day(nowMs) };
    case 'lastQuarter': {
      // The calendar quarter before this one, whole: on 1 Dec, 1 Jul to 30 Sep.
      const firstMonth = Math.floor(month / 3) * 3 - 3;
      return {
        from: day(Date.UTC(year, firstMonth, 1)),
        to: day(Date.UTC(year, firstMonth + 3, 1) - DAY_MS),
      };
    }
    case 'custom':
      return null;
  }
}

const CALENDAR_DAY = /^\d{4}-\d{2}-\d{2}$/u;

/** What is wrong with a chosen period, in words; null when it can be asked for. */
export function periodProblem(period: Period): string | null {
  const valid = (d: string): boolean => {
    const ms = Date.parse(`${d}T00:00:00.000Z`);
    // 2026-02-30 parses in some engines as 2 March: only a day that reads back the same is a day.
    return CALENDAR_DAY.test(d) && Number.isFinite(ms) && day(ms) === d;
  };
  if (!valid(period.from)) return 'Choose the first day of the period.';
  if (!valid(period.to)) return 'Choose the last day of the period.';
  if (period.from > period.to) return `The period starts (${period.from}) after it ends (${period.to}).`;
  return null;
}
