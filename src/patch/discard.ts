/**
 * Discarding a draft: a plan nobody approved changed nothing on any host, so it leaves no job in
 * the history. The draft exists only to hold the per-host dry runs the operator reviews (the
 * approval's digest is computed from them), which is why it is created before the approval and
 * deleted, not cancelled, when the operator walks away.
 */
import type { PatchJob } from '../api';
import { deleteDraftJob, getJob, getTask } from '../db';
import { PatchdeckError } from '../util';
import { jobRemoved } from './notify';
import type { PatchService } from './service';

export async function discardJob(
  svc: PatchService,
  id: number,
  planTaskId?: number,
): Promise<{ discarded: boolean }> {
  const deps = svc.deps();
  const job: PatchJob | null = getJob(deps.db, id);
  if (!job) return { discarded: false };
  if (job.status !== 'draft' || job.approvedAt)
    throw new PatchdeckError(
      'conflict',
      `Job ${id} is ${job.status}; only a draft nobody approved can be discarded (cancel it instead).`,
    );
  // A dry run still writing the draft's steps is stopped first, and waited for, so nothing writes
  // to the job after it is gone.
  if (planTaskId !== undefined && getTask(deps.db, planTaskId)?.kind === 'patch-plan') {
    svc.tasks().cancel(planTaskId);
    await svc.tasks().wait(planTaskId);
  }
  const discarded = deleteDraftJob(deps.db, id, planTaskId);
  if (discarded) {
    jobRemoved(deps, id);
    if (planTaskId !== undefined) deps.events.emit('entity.changed', { entity: 'tasks', ids: [planTaskId] });
  }
  return { discarded };
}
