/** Patching: plan → dry run → approve → schedule → run (pre-check, install, reboot, verify) → undo recipe. */
export {
  approveJob,
  createPlan,
  dryRunJob,
  planDigest,
  selectTargets,
  type PatchDeps,
  type PlanRequest,
} from './plan';
export { discardJob } from './discard';
export { runJob, classifyInstallFailure, detachedInstallScript, stillPending, StepFailure } from './run';
export {
  planJob,
  jobDetail,
  startJob,
  cancelJob,
  continueJob,
  rebootJobHosts,
  rebootHosts,
  schedulerTick,
  startScheduler,
  MISSED_GRACE_MS,
  type PatchService,
  type PlanArgs,
} from './service';
export {
  dryRunCommand,
  installCommand,
  installEnv,
  undoRecipe,
  packageSpec,
  isSafePackageName,
  isSafeVersion,
  assertSafeTargets,
  versionQueryCommand,
  parseVersionQuery,
  rebootRequiredCommand,
  REBOOT_COMMAND,
  UnsafePackageError,
  type PatchPackageManager,
} from './commands';
export { parseAptDryRun, parseDnfDryRun, parseDryRun, type DryRunChanges } from './dry-run';
export { listedChanges } from './plan';
export { closeParkedSessions } from './sessions';
export { traceMark } from './trace';
