/**
 * Running an approved patch job: each host is one step, walked through its phases by the driver
 * (driver.ts, phases/), `concurrency` hosts at a time (pool.ts). Every transition is committed to
 * SQLite before the next remote action, so a crash leaves each host's last known phase on record.
 *
 * Cancel never kills an install half way: the current command finishes, the rest is skipped.
 */
import type { JobStep, PatchJob } from '../api';
import { appendAuditLog, getHost, getJob, listSteps, now, updateJob, type StepUpdate } from '../db';
import { systemClock, type Clock } from '../util';
import type { PatchPackageManager } from './commands';
import { driveStep } from './driver';
import { commitStep, jobChanged } from './notify';
import { LINUX_STEP_FLOW, newStepState } from './phases';
import { newWindowsStepState, WINDOWS_PACKAGE_MANAGER, WINDOWS_STEP_FLOW } from './phases/windows';
import { log } from './phases/context';
import { approvedDigest, planDigest, sessionOpener, type PatchDeps } from './plan';
import { runPool } from './pool';

export { StepFailure } from './driver';
export { classifyInstallFailure, detachedInstallScript, interruptedInstall, stillPending } from './phases';

/** Runs every queued step of an approved (or resumed) job. Returns the job's final state. */
export async function runJob(
  deps: PatchDeps,
  jobId: number,
  options: {
    signal: AbortSignal;
    taskId: number | null;
    /** A resume or re-run of an approved job (its steps narrowed to approved targets still missing). */
    resumed?: boolean;
    onProgress?: (done: number, total: number) => void;
    /** The clock of the maintenance window and every wait and timeout of the run. */
    clock?: Clock;
  },
): Promise<PatchJob> {
  const { db } = deps;
  const job = getJob(db, jobId);
  if (!job) throw new Error(`job ${jobId} vanished`);
  const clock = options.clock ?? systemClock;
  const emitJob = (): PatchJob => jobChanged(deps, jobId);
  const recorded = approvedDigest(db, jobId);
  const steps = listSteps(db, jobId).filter((s) => s.status === 'queued');
  const resumed =
    options.resumed === true ||
    job.status === 'interrupted' ||
    job.status === 'failed' ||
    job.status === 'cancelled';
  // The plan must be the one approved: no host, package or previewed change may have been added since.
  if (!resumed && recorded !== planDigest(db, jobId)) {
    updateJob(db, jobId, {
      status: 'failed',
      message: 'Refused: the plan differs from what was approved. Plan and approve again.',
      finishedAt: now(),
    });
    log({ deps, job }, 'error', 'Refused: the plan differs from what was approved; nothing was run.');
    return emitJob();
  }
  updateJob(db, jobId, {
    status: 'running',
    taskId: options.taskId,
    startedAt: job.startedAt ?? now(),
    finishedAt: null,
    message: null,
  });
  appendAuditLog(db, {
    actor: deps.actor,
    action: resumed ? 'job.resume' : 'job.start',
    entityType: 'patch_job',
    entityId: jobId,
    details: { hosts: steps.length },
  });
  log(
    { deps, job },
    'info',
    `${resumed ? 'Resuming' : 'Starting'} ${job.name}: ${steps.length} host(s), reboot ${job.rebootPolicy}, on failure ${job.onFailure}`,
  );
  const running = emitJob();
  const open = sessionOpener(deps, job.options);
  let done = 0;
  let stop = false;
  await runPool(steps, job.concurrency, async (step) => {
    const host = getHost(db, step.hostId)!;
    const skip = (status: JobStep['status'], kind: string, message: string): void => {
      commitStep(deps, step.id, { status, errorKind: kind, errorMessage: message, finishedAt: now() });
    };
    if (options.signal.aborted) skip('cancelled', 'cancelled', 'Cancelled before this host started.');
    else if (stop) skip('skipped', 'stopped', 'Skipped: another host failed and the job stops on failure.');
    else if (running.windowEnd && clock.now() >= Date.parse(running.windowEnd))
      skip(
        'skipped',
        'window-closed',
        `Skipped: the maintenance window ended at ${running.windowEnd} before this host started.`,
      );
    else {
      const ctx = {
        deps,
        job: running,
        step,
        host,
        pm: step.packageManager as PatchPackageManager,
        signal: options.signal,
        open,
        clock,
      };
      const io = {
        commit: (patch: StepUpdate) => commitStep(deps, step.id, patch),
        signal: options.signal,
        now,
      };
      // A Windows host (audited through Windows Update, over WinRM or OpenSSH) installs its KBs
      // through the SYSTEM task's flow; every other host walks the Linux flow.
      const status =
        step.packageManager === WINDOWS_PACKAGE_MANAGER
          ? await driveStep(WINDOWS_STEP_FLOW, newWindowsStepState(ctx), io)
          : await driveStep(LINUX_STEP_FLOW, newStepState(ctx), io);
      if (status === 'failed' && job.onFailure === 'stop') stop = true;
    }
    options.onProgress?.(++done, steps.length);
  });
  const final = listSteps(db, jobId);
  const failed = final.filter((s) => s.status === 'failed' || s.status === 'interrupted').length;
  const status: PatchJob['status'] = options.signal.aborted
    ? 'cancelled'
    : failed > 0
      ? 'failed'
      : 'succeeded';
  const waiting = final.filter((s) => s.status === 'reboot-pending').length;
  const rebootNote = waiting > 0 ? ` ${waiting} host(s) wait for a reboot to finish their updates.` : '';
  const message =
    status === 'cancelled'
      ? 'Cancelled by the operator; running commands were allowed to finish.'
      : failed > 0
        ? `${failed} host(s) failed; see each host's error and log.${rebootNote}`
        : rebootNote.trim() || null;
  updateJob(db, jobId, { status, message, finishedAt: now() });
  log(
    { deps, job },
    status === 'succeeded' ? 'info' : 'error',
    `Job ${status}${message ? `: ${message}` : ''}`,
  );
  return emitJob();
}
