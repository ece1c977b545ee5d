/**
 * The one place a patch job or step tells the UI it changed: `job.changed` plus the list's
 * `entity.changed` for a job, `job.step` for a step. Every writer in src/patch goes through here,
 * so the job list, job page and wizard never see one kind of change announced two different ways.
 */
import type { Database } from 'better-sqlite3';
import type { EventBus } from '../api';
import type { JobStep, PatchJob } from '../api';
import { getJob, getStep, updateStep, type StepUpdate } from '../db';

interface Notifier {
  db: Database;
  events: EventBus;
}

/** Announces the job as it is now on record, and returns it. */
export function jobChanged(deps: Notifier, jobId: number): PatchJob {
  const job = getJob(deps.db, jobId)!;
  deps.events.emit('job.changed', job);
  deps.events.emit('entity.changed', { entity: 'jobs', ids: [jobId] });
  return job;
}

/** Announces a job that no longer exists (a discarded draft): the lists drop it. */
export function jobRemoved(deps: Notifier, jobId: number): void {
  deps.events.emit('entity.changed', { entity: 'jobs', ids: [jobId] });
}

/** Announces the step as it is now on record, and returns it. */
export function stepChanged(deps: Notifier, stepId: number): JobStep {
  const step = getStep(deps.db, stepId)!;
  deps.events.emit('job.step', step);
  return step;
}

/** Commits one step transition (one UPDATE) and announces it. */
export function commitStep(deps: Notifier, stepId: number, patch: StepUpdate): JobStep {
  updateStep(deps.db, stepId, patch);
  return stepChanged(deps, stepId);
}
