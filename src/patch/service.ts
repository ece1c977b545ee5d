/**
 * The patch capability's doors for the core: plan (as a task), approve, start now / at a time /
 * in a window, cancel, resume, re-run failed hosts, and the scheduler that starts due jobs.
 */
import { JobOptions, type JobLogLine, type JobStep, type PatchJob } from '../api';
import { auditHost } from '../audit';
import { credentialForHost, getCredentialSummary } from '../credentials';
import {
  appendAuditLog,
  appendJobLog,
  getHost,
  getJob,
  insertJob,
  jobHandoff,
  listAudits,
  listFindings,
  listJobLog,
  listJobs,
  listSteps,
  now,
  readSettings,
  updateJob,
  updateStep,
} from '../db';
import type { TaskRunner } from '../tasks';
import { systemClock, type Clock } from '../util';
import { PatchdeckError, errorMessage } from '../util';
import { sanitizeText } from '../util';
import { isPatchable } from './commands';
import { refuseImportedJob } from './imported';
import { WINDOWS_PACKAGE_MANAGER } from './phases/windows';
import { createPlan, dryRunJob, planDigest, type PatchDeps, type PlanRequest } from './plan';
import { jobChanged } from './notify';
import { refreshFindings } from './refresh';
import { dryRunParts, jobStepParts } from './outcome';
import { interruptedInstall, runJob, stillPending } from './run';

export interface PatchService {
  deps: () => PatchDeps;
  tasks: () => TaskRunner;
  /** The clock of schedules, windows and every wait of a run (tests pass a ManualClock). */
  clock?: Clock;
}

const clockOf = (svc: PatchService): Clock => svc.clock ?? systemClock;

function requireJob(deps: PatchDeps, id: number): PatchJob {
  const job = getJob(deps.db, id);
  if (!job) throw new PatchdeckError('not-found', `Job ${id} does not exist.`);
  return job;
}

/**
 * A job handed to Ansible (src/handoff) runs there: Patchdeck never starts or resumes it, or the
 * same approved plan could be installed twice by two engines. Its steps come from the run's results.
 */
function refuseHandedOff(deps: PatchDeps, id: number): void {
  const handoff = jobHandoff(deps.db, id);
  if (!handoff) return;
  const engine = handoff.to === 'ansible' ? 'Ansible' : handoff.to;
  const when = handoff.at ? ` on ${handoff.at.slice(0, 16).replace('T', ' ')} UTC` : '';
  throw new PatchdeckError(
    'conflict',
    `Job ${id} was handed to ${engine}${when}; import its results with \`patchdeck import ansible-results\`.`,
  );
}

/** A job imported from another workspace's bundle is its record only (see ./imported). */
function refuseImported(deps: PatchDeps, id: number): void {
  refuseImportedJob(deps.db, id);
}

const changed = jobChanged;

/**
 * A job as the Jobs page and `jobs show` read it: the job, its steps and a page of its log
 * (lines after `log.afterId`, at most `log.limit`). A read of the workspace, nothing more.
 */
export function jobDetail(
  db: PatchDeps['db'],
  id: number,
  log: { afterId?: number; limit?: number } = {},
): { job: PatchJob; steps: JobStep[]; log: JobLogLine[] } {
  const job = getJob(db, id);
  if (!job) throw new PatchdeckError('not-found', `Job ${id} does not exist.`);
  return { job, steps: listSteps(db, id), log: listJobLog(db, id, log) };
}

/** What a plan may leave out: the workspace's reboot policy, 'continue' and 16 hosts at a time. */
export type PlanArgs = Omit<PlanRequest, 'rebootPolicy' | 'onFailure' | 'concurrency'> &
  Partial<Pick<PlanRequest, 'rebootPolicy' | 'onFailure' | 'concurrency'>>;

export function planJob(svc: PatchService, args: PlanArgs): { jobId: number; taskId: number; hosts: number } {
  const deps = svc.deps();
  const { jobId, hosts } = createPlan(deps.db, {
    hostIds: args.hostIds,
    selection: args.selection,
    rebootPolicy: args.rebootPolicy ?? readSettings(deps.db).rebootPolicy,
    onFailure: args.onFailure ?? 'continue',
    concurrency: args.concurrency ?? 16,
    name: args.name,
    options: args.options,
  });
  const planning = listSteps(deps.db, jobId).filter((s) => s.phase === 'planning');
  const toDryRun = planning.length;
  // Windows Update has no dry run: a job of PCs only is planned from their audits, and says so.
  const windowsOnly = planning.length > 0 && planning.every((s) => s.packageManager === 'windows-update');
  const title = windowsOnly ? `Plan for job ${jobId}` : `Dry run for job ${jobId}`;
  const { task } = svc.tasks().start({ kind: 'patch-plan', title, params: { jobId } }, async (ctx) => {
    ctx.progress(0, toDryRun, null);
    await dryRunJob(deps, jobId, ctx.signal, (done, total) => ctx.progress(done, total, null));
    ctx.conclude({ parts: dryRunParts(listSteps(deps.db, jobId)) });
    changed(deps, jobId);
    return { jobId };
  });
  changed(deps, jobId);
  return { jobId, taskId: task.id, hosts: hosts.length };
}

/**
 * Starts the run as a task now. `resumed` says this run continues an approved job (resume or
 * re-run of failed hosts, whose steps were narrowed to approved targets still missing): it must
 * be passed explicitly, because the task marks the job `running` before the run reads it.
 */
function launch(svc: PatchService, jobId: number, resumed = false): PatchJob {
  const deps = svc.deps();
  const job = requireJob(deps, jobId);
  const steps = listSteps(deps.db, jobId).filter((s) => s.status === 'queued').length;
  const { task } = svc.tasks().start(
    { kind: 'patch', title: `Patch job #${jobId}: ${job.name}`, params: { jobId } },
    async (ctx) => {
      ctx.progress(0, steps, null);
      let final: PatchJob;
      try {
        final = await runJob(deps, jobId, {
          resumed,
          signal: ctx.signal,
          taskId: ctx.taskId,
          onProgress: (done, total) => ctx.progress(done, total, null),
          clock: clockOf(svc),
        });
      } catch (error) {
        // The run itself broke (not a host: those fail their own step): the job must not stay
        // "running". It is left as a crash leaves it, so Resume finishes its unfinished hosts.
        recordStopped(
          deps,
          jobId,
          'interrupted',
          `The run stopped: ${describeError(error)}. Resume re-audits the unfinished hosts and finishes what is still missing.`,
        );
        throw error;
      }
      // Every step's result and the job's verdict are committed: the full audit that refreshes
      // the findings of hosts verified by their installed versions follows, and changes neither.
      await refreshFindings(deps, svc.tasks(), final, ctx.signal).catch((error: unknown) =>
        appendJobLog(deps.db, {
          jobId,
          stepId: null,
          stream: 'error',
          text: `The findings' refresh broke: ${sanitizeText(errorMessage(error), { maxLength: 300 })}`,
        }),
      );
      const parts = jobStepParts(listSteps(deps.db, jobId));
      ctx.conclude({ parts });
      // The job's own verdict wins: a job that says failed is never a succeeded task.
      if (final.status === 'failed' && parts.failed === 0)
        throw new Error(final.message ?? `Job ${jobId} failed.`);
      return { jobId, status: final.status };
    },
    (taskId) => updateJob(deps.db, jobId, { taskId, status: 'running' }),
  );
  void task;
  return changed(deps, jobId);
}

export function startJob(
  svc: PatchService,
  id: number,
  schedule: { at?: string; window?: { start: string; end: string } },
): PatchJob {
  const deps = svc.deps();
  const job = requireJob(deps, id);
  refuseImported(deps, id);
  refuseHandedOff(deps, id);
  if (job.status !== 'approved')
    throw new PatchdeckError(
      'conflict',
      `Job ${id} is ${job.status}; only an approved job can start (approve its dry run first).`,
    );
  if (schedule.window) {
    const start = Date.parse(schedule.window.start);
    const end = Date.parse(schedule.window.end);
    if (!(end > start))
      throw new PatchdeckError('bad-request', 'The maintenance window must end after it starts.');
    if (end <= clockOf(svc).now())
      throw new PatchdeckError('bad-request', 'That maintenance window is already over.');
    updateJob(deps.db, id, {
      status: 'scheduled',
      windowStart: new Date(start).toISOString(),
      windowEnd: new Date(end).toISOString(),
      scheduledAt: new Date(start).toISOString(),
    });
  } else if (schedule.at && Date.parse(schedule.at) > clockOf(svc).now()) {
    updateJob(deps.db, id, {
      status: 'scheduled',
      scheduledAt: new Date(Date.parse(schedule.at)).toISOString(),
    });
  } else {
    return launch(svc, id);
  }
  appendAuditLog(deps.db, {
    actor: deps.actor,
    action: 'job.schedule',
    entityType: 'patch_job',
    entityId: id,
    details: schedule,
  });
  return changed(deps, id);
}

function auditCancel(deps: PatchDeps, id: number): void {
  appendAuditLog(deps.db, { actor: deps.actor, action: 'job.cancel', entityType: 'patch_job', entityId: id });
}

export function cancelJob(svc: PatchService, id: number): PatchJob {
  const deps = svc.deps();
  const job = requireJob(deps, id);
  if (job.status === 'running' && job.taskId && svc.tasks().cancel(job.taskId)) {
    auditCancel(deps, id);
    return changed(deps, id);
  }
  if (['draft', 'approved', 'scheduled', 'interrupted'].includes(job.status)) {
    deps.db.transaction(() => {
      for (const s of listSteps(deps.db, id))
        if (s.status === 'queued' || s.status === 'interrupted')
          updateStep(deps.db, s.id, {
            status: 'cancelled',
            errorKind: 'cancelled',
            errorMessage: 'The job was cancelled.',
            finishedAt: now(),
          });
      updateJob(deps.db, id, {
        status: 'cancelled',
        message: 'Cancelled by the operator.',
        finishedAt: now(),
      });
      auditCancel(deps, id);
    })();
    return changed(deps, id);
  }
  throw new PatchdeckError('conflict', `Job ${id} is ${job.status}; there is nothing to cancel.`);
}

/**
 * Resume (interrupted/queued hosts) or re-run failed hosts: re-audit each, keep only the approved
 * targets that are still missing, and run those. Nothing outside the approved plan is ever added.
 */
export async function continueJob(
  svc: PatchService,
  id: number,
  which: 'resume' | 'failed',
): Promise<PatchJob> {
  const deps = svc.deps();
  const job = requireJob(deps, id);
  refuseImported(deps, id);
  refuseHandedOff(deps, id);
  const allowed =
    which === 'resume'
      ? ['interrupted', 'failed', 'cancelled']
      : ['failed', 'succeeded', 'cancelled', 'interrupted'];
  if (!allowed.includes(job.status))
    throw new PatchdeckError(
      'conflict',
      `Job ${id} is ${job.status}; it cannot be ${which === 'resume' ? 'resumed' : 're-run'}.`,
    );
  if (!job.approvedAt) throw new PatchdeckError('conflict', `Job ${id} was never approved.`);
  const statuses = which === 'resume' ? ['interrupted', 'queued', 'running'] : ['failed'];
  const mine = listSteps(deps.db, id).filter((s) => statuses.includes(s.status));
  // A step stopped in its reboot phase has its updates installed (that phase comes after the
  // install): redo the reboot and the verification, not a re-audit that would call it done.
  const reboots = mine.filter((s) => s.phase === 'reboot');
  const steps = mine.filter((s) => s.phase !== 'reboot' && s.packages.length > 0 && s.preview?.command);
  for (const step of reboots) {
    updateStep(deps.db, step.id, { status: 'queued', errorKind: null, errorMessage: null, finishedAt: null });
    appendJobLog(deps.db, {
      jobId: id,
      stepId: step.id,
      stream: 'info',
      text: `${step.hostName}: the updates are installed and the reboot was not done; rebooting again`,
    });
  }
  if (steps.length === 0 && reboots.length === 0) {
    const all = listSteps(deps.db, id);
    // Stopped after its last host finished but before the job's own end was written: nothing is
    // left to run, so resuming settles the job from its steps instead of leaving it interrupted.
    if (
      which === 'resume' &&
      job.status === 'interrupted' &&
      !all.some((s) => ['queued', 'running', 'interrupted'].includes(s.status))
    ) {
      const failed = all.some((s) => s.status === 'failed');
      const message = 'Resumed: every host had finished before Patchdeck stopped; nothing was left to run.';
      updateJob(deps.db, id, { status: failed ? 'failed' : 'succeeded', message, finishedAt: now() });
      appendJobLog(deps.db, { jobId: id, stepId: null, stream: 'info', text: message });
      return changed(deps, id);
    }
    throw new PatchdeckError(
      'conflict',
      `Job ${id} has no ${which === 'resume' ? 'unfinished' : 'failed'} hosts to run.`,
    );
  }
  const credential = job.options.credentialId
    ? getCredentialSummary(deps.db, job.options.credentialId)
    : null;
  await Promise.all(
    steps.map(async (step) => {
      const host = getHost(deps.db, step.hostId)!;
      const outcome = await auditHost({ db: deps.db, secrets: deps.secrets, actor: deps.actor }, host, {
        credential,
        refresh: false,
        timeoutMs: 120_000,
      });
      let packages = step.packages;
      let note: string;
      if (outcome.status === 'succeeded' && outcome.auditId !== null) {
        const updates = listFindings(deps.db, outcome.auditId).map((f) => ({
          name: f.package,
          installedVersion: f.installedVersion,
        }));
        packages = stillPending(step.packages, updates);
        note = `re-audit: ${packages.length} of ${step.packages.length} approved update(s) still missing`;
      } else {
        note = `re-audit failed (${outcome.error ?? outcome.errorKind}); retrying every approved update`;
      }
      appendJobLog(deps.db, { jobId: id, stepId: step.id, stream: 'info', text: `${host.name}: ${note}` });
      if (packages.length === 0 && interruptedInstall(step)) {
        // Installed, but by an install whose outcome was never recorded: the run takes the
        // after-snapshot (versions, undo recipe) and applies the reboot policy; nothing is installed.
        updateStep(deps.db, step.id, {
          status: 'queued',
          errorKind: null,
          errorMessage: null,
          finishedAt: null,
        });
      } else if (packages.length === 0 && outcome.status === 'succeeded' && outcome.rebootRequired) {
        // Installed, and the host asks for a reboot it did not get (the step stopped in its
        // verification, or dropped off there): the job's reboot policy decides, as in a normal run.
        // if-required/always reboot it and verify again; never (or a reboot the job did not cause,
        // as nothing was installed by it) leaves it installed, reboot pending — never succeeded.
        const reboot = job.rebootPolicy !== 'never' && step.after !== null;
        updateStep(deps.db, step.id, {
          status: reboot ? 'queued' : 'reboot-pending',
          phase: reboot ? 'reboot' : 'done',
          verifyAuditId: outcome.auditId,
          errorKind: null,
          errorMessage: null,
          finishedAt: reboot ? null : now(),
        });
        appendJobLog(deps.db, {
          jobId: id,
          stepId: step.id,
          stream: 'info',
          text: reboot
            ? `${host.name}: the updates are installed and the host needs a reboot; reboot policy "${job.rebootPolicy}" allows it, so it reboots, then a re-audit verifies`
            : `${host.name}: the updates are installed; reboot pending (${job.rebootPolicy === 'never' ? 'reboot policy is "never"' : 'a reboot was already pending'})`,
        });
      } else if (packages.length === 0) {
        updateStep(deps.db, step.id, {
          status: 'succeeded',
          phase: 'done',
          verifyAuditId: outcome.auditId,
          errorKind: null,
          errorMessage: null,
          finishedAt: now(),
        });
      } else {
        // The original target list stays the approval; the step now carries only what is missing.
        updateStep(deps.db, step.id, {
          status: 'queued',
          packages,
          errorKind: null,
          errorMessage: null,
          finishedAt: null,
        });
      }
    }),
  );
  if (!listSteps(deps.db, id).some((s) => s.status === 'queued')) {
    const all = listSteps(deps.db, id);
    const failed = all.some((s) => s.status === 'failed' || s.status === 'interrupted');
    const waiting = all.filter((s) => s.status === 'reboot-pending').length;
    updateJob(deps.db, id, {
      status: failed ? 'failed' : 'succeeded',
      message: `Resumed: the re-audit found everything approved already installed.${waiting > 0 ? ` ${waiting} host(s) wait for a reboot to finish their updates.` : ''}`,
      finishedAt: now(),
    });
    return changed(deps, id);
  }
  return launch(svc, id, true);
}

const REBOOTABLE: readonly PatchJob['status'][] = ['succeeded', 'failed', 'cancelled', 'interrupted'];

/**
 * Reboot now: the job's hosts whose updates are installed but wait for a reboot (or whose reboot
 * failed) reboot, and a re-audit verifies each. `hostIds` narrows it to some of them.
 */
export function rebootJobHosts(svc: PatchService, id: number, hostIds?: number[]): PatchJob {
  const deps = svc.deps();
  const job = requireJob(deps, id);
  refuseImported(deps, id);
  if (!REBOOTABLE.includes(job.status))
    throw new PatchdeckError(
      'conflict',
      `Job ${id} is ${job.status}; its hosts can be rebooted once it has ended.`,
    );
  const waiting = listSteps(deps.db, id).filter(
    (s) => s.status === 'reboot-pending' || (s.status === 'failed' && s.phase === 'reboot'),
  );
  const unknown = (hostIds ?? []).filter((h) => !waiting.some((s) => s.hostId === h));
  if (unknown.length)
    throw new PatchdeckError(
      'conflict',
      `Job ${id}: host ${unknown.join(', ')} does not wait for a reboot in this job.`,
    );
  const steps = hostIds?.length ? waiting.filter((s) => hostIds.includes(s.hostId)) : waiting;
  if (steps.length === 0) throw new PatchdeckError('conflict', `Job ${id} has no host waiting for a reboot.`);
  deps.db.transaction(() => {
    for (const step of steps) {
      updateStep(deps.db, step.id, {
        status: 'queued',
        phase: 'reboot',
        errorKind: null,
        errorMessage: null,
        finishedAt: null,
      });
      appendJobLog(deps.db, {
        jobId: id,
        stepId: step.id,
        stream: 'info',
        text: `${step.hostName}: reboot asked for by ${deps.actor}`,
      });
    }
    appendAuditLog(deps.db, {
      actor: deps.actor,
      action: 'job.reboot',
      entityType: 'patch_job',
      entityId: id,
      details: { hosts: steps.map((s) => s.hostName) },
    });
  })();
  return launch(svc, id, true);
}

/**
 * Reboot hosts outside a patch job, now or at a time: a job of its own (reboot, then a re-audit
 * per host), approved by the request itself, run or scheduled like any patch job, so the task
 * list, the Jobs page, the audit log and the scheduler's missed-window rule all apply to it.
 */
export function rebootHosts(svc: PatchService, request: { hostIds: number[]; at?: string }): PatchJob {
  const deps = svc.deps();
  const { db } = deps;
  if (request.hostIds.length === 0)
    throw new PatchdeckError('bad-request', 'Name at least one host to reboot.');
  const hosts = [...new Set(request.hostIds)].map((id) => {
    const host = getHost(db, id);
    if (!host) throw new PatchdeckError('not-found', `Host ${id} does not exist.`);
    return host;
  });
  const steps = hosts.map((host) => {
    const audit = listAudits(db, host.id, 20).find((a) => a.status === 'succeeded');
    const windows = audit?.packageManager === WINDOWS_PACKAGE_MANAGER;
    if (!audit || (!windows && !isPatchable(audit.packageManager)))
      throw new PatchdeckError(
        'conflict',
        `${host.name} has no successful audit of a supported system yet; audit it first.`,
      );
    if (windows) {
      // Windows' own restart (with its warning) runs over WinRM, which takes a Windows credential.
      const credential = credentialForHost(db, host);
      if (credential?.kind !== 'windows')
        throw new PatchdeckError(
          'conflict',
          credential
            ? `${host.name}: a Windows PC is restarted over WinRM, with a Windows credential; the ${credential.name} credential logs in over SSH, and Patchdeck cannot restart Windows over OpenSSH yet.`
            : `${host.name}: a Windows PC is restarted over WinRM, with a Windows credential, and no credential is chosen for it or covers it.`,
        );
    }
    return { hostId: host.id, packages: [], packageManager: audit.packageManager };
  });
  if (request.at !== undefined && !Number.isFinite(Date.parse(request.at)))
    throw new PatchdeckError('bad-request', `Not a time: ${request.at}.`);
  const jobId = db.transaction(() => {
    const id = insertJob(db, {
      name: `Reboot ${hosts.length === 1 ? hosts[0]!.name : `${hosts.length} hosts`}`,
      selection: { mode: 'packages', packages: [] },
      rebootPolicy: 'always',
      onFailure: 'continue',
      concurrency: 8,
      options: JobOptions.parse({}),
      steps,
    });
    for (const step of listSteps(db, id)) updateStep(db, step.id, { phase: 'reboot' });
    updateJob(db, id, { status: 'approved', approvedBy: deps.actor, approvedAt: now() });
    appendAuditLog(db, {
      actor: deps.actor,
      action: 'job.approve',
      entityType: 'patch_job',
      entityId: id,
      details: { digest: planDigest(db, id), reboot: true, hosts: hosts.map((h) => ({ host: h.name })) },
    });
    for (const host of hosts)
      appendAuditLog(db, {
        actor: deps.actor,
        action: 'host.reboot',
        entityType: 'host',
        entityId: host.id,
        details: { jobId: id, at: request.at ?? null },
      });
    return id;
  })();
  return startJob(svc, jobId, { at: request.at });
}

/** Grace after a scheduled time: later than this, the job counts as missed instead of running late. */
export const MISSED_GRACE_MS = 5 * 60_000;

/**
 * One scheduler pass: due jobs start, jobs whose window (or time) passed while Patchdeck was not
 * running are marked failed with a clear "missed" message — never run late.
 */
export function schedulerTick(
  svc: PatchService,
  options: { start: boolean },
): { started: number[]; missed: number[]; failed: number[] } {
  const deps = svc.deps();
  const started: number[] = [];
  const missed: number[] = [];
  const failed: number[] = [];
  const t = clockOf(svc).now();
  for (const job of listJobs(deps.db, { status: ['scheduled'], limit: 10_000 })) {
    const start = Date.parse(job.windowStart ?? job.scheduledAt ?? '');
    const end = job.windowEnd ? Date.parse(job.windowEnd) : start + MISSED_GRACE_MS;
    if (!Number.isFinite(start) || t < start) continue;
    if (t >= end) {
      const what = job.windowEnd
        ? `its maintenance window (${job.windowStart} – ${job.windowEnd})`
        : `its start time (${job.scheduledAt})`;
      const message = `Missed ${what} while Patchdeck was not running; it was not run late. Schedule it again.`;
      deps.db.transaction(() => {
        updateJob(deps.db, job.id, { status: 'failed', message, finishedAt: now() });
        for (const s of listSteps(deps.db, job.id))
          if (s.status === 'queued')
            updateStep(deps.db, s.id, {
              status: 'skipped',
              errorKind: 'missed-window',
              errorMessage: message,
              finishedAt: now(),
            });
        appendJobLog(deps.db, { jobId: job.id, stepId: null, stream: 'error', text: message });
        appendAuditLog(deps.db, {
          actor: 'patchdeck',
          action: 'job.missed',
          entityType: 'patch_job',
          entityId: job.id,
          details: { windowStart: job.windowStart, windowEnd: job.windowEnd, scheduledAt: job.scheduledAt },
        });
      })();
      changed(deps, job.id);
      missed.push(job.id);
      continue;
    }
    if (options.start) {
      try {
        updateJob(deps.db, job.id, { status: 'approved' });
        launch(svc, job.id);
        started.push(job.id);
      } catch (error) {
        // Never silent: a job whose start throws would otherwise sit "approved" and never run.
        recordStopped(
          deps,
          job.id,
          'failed',
          `Could not start at its scheduled time: ${describeError(error)}. Nothing was run; Resume it to run its hosts.`,
        );
        failed.push(job.id);
      }
    }
  }
  return { started, missed, failed };
}

const describeError = (error: unknown): string =>
  sanitizeText(errorMessage(error), { maxLength: 300 }).replace(/[.\s]+$/, '');

/**
 * Records on the job, with the reason, that it could not start or its run broke off. Its hosts
 * stay resumable: queued ones are left queued, and one that was running becomes interrupted in
 * the phase it reached (as after a crash), which is what Resume takes up.
 */
function recordStopped(
  deps: PatchDeps,
  jobId: number,
  status: Extract<PatchJob['status'], 'failed' | 'interrupted'>,
  message: string,
): void {
  try {
    if (!getJob(deps.db, jobId)) return;
    deps.db.transaction(() => {
      updateJob(deps.db, jobId, { status, message, finishedAt: now() });
      for (const s of listSteps(deps.db, jobId))
        if (s.status === 'running')
          updateStep(deps.db, s.id, {
            status: 'interrupted',
            errorKind: 'interrupted',
            errorMessage: `The run stopped while this host was in phase ${s.phase ?? '?'}.`,
            finishedAt: now(),
          });
      appendJobLog(deps.db, { jobId, stepId: null, stream: 'error', text: message });
    })();
    changed(deps, jobId);
  } catch {
    // The workspace itself is gone (closed between ticks): nothing is left to record it in.
  }
}

/** Checks every few seconds; the timer does not keep the process alive. */
export function startScheduler(
  svc: PatchService,
  options: {
    intervalMs?: number;
    start?: boolean;
    /** More due work on the same clock (recurring discovery and audits); only where `start` holds. */
    alsoTick?: (nowMs: number) => void;
  } = {},
): () => void {
  const clock = clockOf(svc);
  const tick = (): void => {
    try {
      schedulerTick(svc, { start: options.start ?? true });
    } catch {
      // A closed workspace between ticks (a job's own failure is recorded on the job, above):
      // the next open starts a new scheduler.
    }
    if (options.start ?? true)
      try {
        options.alsoTick?.(clock.now());
      } catch {
        // As above; one kind of due work failing never stops the other.
      }
  };
  tick();
  const timer = clock.setInterval(tick, options.intervalMs ?? 5000);
  timer.unref?.();
  return () => clock.clearInterval(timer);
}
