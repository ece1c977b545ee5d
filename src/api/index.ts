export * from './contract';
export * from './router';
export { EventBus } from './event-bus';
export * as schemas from './schemas';
export { adviceContextOf, cliAdvice, fingerprintIn } from './advice';
export {
  IfMissed,
  Recurrence,
  Schedule,
  ScheduleRun,
  ScheduleTarget,
  Weekday,
  isTimeZone,
} from './schedule-schemas';
export {
  AppNotification,
  Audit,
  DEFAULT_SETTINGS,
  Finding,
  Host,
  HostNameSource,
  HostUpdate,
  JobLogLine,
  JobOptions,
  JobStep,
  PackageChange,
  PatchJob,
  PatchSelection,
  Settings,
  StepPhase,
  StepPreview,
  TargetPackage,
  Task,
  TaskOutcome,
  TaskStatus,
  WindowsAuditFacts,
  WindowsUpdateDetails,
  WorkspaceInfo,
} from './schemas';
export * from './intel-schemas';
export * from './portable-schemas';
