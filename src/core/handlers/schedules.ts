import type { Handlers } from '../../api';
import {
  changeSchedule,
  createSchedule,
  listRunsOf,
  listScheduleViews,
  removeSchedule,
  runScheduleByHand,
  type ScheduleHost,
} from '../../schedules';

type ScheduleHandlers = Pick<
  Handlers,
  | 'schedules.list'
  | 'schedules.create'
  | 'schedules.update'
  | 'schedules.remove'
  | 'schedules.runNow'
  | 'schedules.runs'
>;

/** Schedule calls onto the schedules capability (src/schedules/workspace.ts). */
export function scheduleHandlers(core: ScheduleHost): ScheduleHandlers {
  const db = () => core.requireWorkspace().db;
  return {
    'schedules.list': () => listScheduleViews(core),
    'schedules.create': (parsed) => createSchedule(core, parsed),
    'schedules.update': (args) => changeSchedule(core, args),
    'schedules.remove': ({ id }) => removeSchedule(core, id),
    'schedules.runNow': ({ id }) => runScheduleByHand(core, id),
    'schedules.runs': (args) => listRunsOf(db(), args),
  };
}
