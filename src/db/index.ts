export * from './workspace';
export * from './settings';
export * from './audit-log';
export * from './tasks';
export * from './hosts';
export { now } from './time';
export { LATEST_SCHEMA_VERSION } from './migrations';
export * from './credentials';
export * from './host-keys';
export * from './audits';
export * from './advisories';
export * from './intel';
export * from './exceptions';
export * from './scans';
export * from './patch-jobs';
export { cleanSiteName, readWorkspaceMeta, setSiteName, SITE_NAME_MAX } from './workspace-meta';
export type { WorkspaceMeta } from './workspace-meta';
export { backupDatabase, backupWorkspaceFile, restoreWorkspace } from './backup';
export { learnableName, nameRank } from './host-names';
export {
  deleteSchedule,
  getSchedule,
  getScheduleByName,
  getScheduleRun,
  insertSchedule,
  insertScheduleRun,
  latestScheduleRuns,
  listScheduleRuns,
  listSchedules,
  setNextRun,
  updateSchedule,
  updateScheduleRun,
} from './schedules';
export type { ScheduleRecord } from './schedules';
