export {
  SCHEDULE_GRACE_MS,
  firstDueTime,
  overdueSince,
  runScheduleNow,
  scheduleTick,
  type ScheduleDeps,
  type TickResult,
} from './service';
export { describeRecurrence, formatInZone, isTimeZone, nextOccurrence, occurrencesSince } from './recurrence';
export {
  scheduleDeps,
  scheduleTickOf,
  listScheduleViews,
  createSchedule,
  changeSchedule,
  removeSchedule,
  runScheduleByHand,
  listRunsOf,
  type ScheduleHost,
} from './workspace';
