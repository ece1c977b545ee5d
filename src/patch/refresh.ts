/**
 * After a job's run: the full audit that refreshes the findings of the hosts whose step was
 * verified by installed versions (src/patch/phases/verify.ts), started through the audit
 * capability as a task of its own. It runs off the steps' critical path: every step's result and
 * the job's verdict are committed before it starts, and nothing it finds changes them. Its outcome
 * is written to the job's log, and a host's refreshing audit becomes its step's verify audit (the
 * audit that shows the host after its step) when it, too, lists none of the targets as pending.
 */
import type { PatchJob } from '../api';
import { startAudits } from '../audit';
import { getHost, listAudits, listFindings, listSteps } from '../db';
import type { TaskRunner } from '../tasks';
import { errorMessage, sanitizeText } from '../util';
import { commitStep } from './notify';
import { log } from './phases/context';
import { stillPending } from './phases/verify';
import type { PatchDeps } from './plan';

/** Steps whose host changed and that no audit has recorded since (verified by versions). */
export function stepsToRefresh(deps: PatchDeps, jobId: number) {
  return listSteps(deps.db, jobId).filter(
    (s) => s.after !== null && s.verifyAuditId === null && s.packageManager !== 'windows-update',
  );
}

/**
 * Audits those hosts as one task and waits for it; `signal` (the job's run) cancels it. Returns
 * the audit task's id, or null when there was nothing to refresh or it could not start.
 */
export async function refreshFindings(
  deps: PatchDeps,
  tasks: TaskRunner,
  job: PatchJob,
  signal: AbortSignal,
): Promise<number | null> {
  const steps = stepsToRefresh(deps, job.id);
  if (steps.length === 0 || signal.aborted) return null;
  const hostIds = [...new Set(steps.map((s) => s.hostId))];
  let taskId: number;
  try {
    ({ taskId } = startAudits(
      { db: deps.db, tasks, events: deps.events, secrets: deps.secrets },
      {
        hostIds,
        ...(job.options.credentialId ? { credentialId: job.options.credentialId } : {}),
        refresh: false,
      },
    ));
  } catch (error) {
    log(
      { deps, job },
      'error',
      `The audit that refreshes the findings of ${hostIds.length} host(s) could not start: ${sanitizeText(errorMessage(error), { maxLength: 300 })}. Each host's step result above stands; audit them to refresh their findings.`,
    );
    return null;
  }
  log(
    { deps, job },
    'info',
    `Refreshing the findings of ${hostIds.length} host(s) with a full audit (task #${taskId}); each host's verified result above stands whatever it finds.`,
  );
  const cancel = (): void => void tasks.cancel(taskId);
  signal.addEventListener('abort', cancel, { once: true });
  try {
    await tasks.wait(taskId);
  } finally {
    signal.removeEventListener('abort', cancel);
  }
  let refreshed = 0;
  for (const step of steps) {
    const audit = listAudits(deps.db, step.hostId, 10).find((a) => a.taskId === taskId);
    const name = getHost(deps.db, step.hostId)?.name ?? `host ${step.hostId}`;
    if (audit?.status === 'succeeded') {
      // Linked only when it agrees that the targets are gone (what the Jobs page says of it).
      const left = stillPending(
        step.packages,
        listFindings(deps.db, audit.id).map((f) => ({
          name: f.package,
          installedVersion: f.installedVersion,
        })),
      );
      if (left.length === 0) {
        commitStep(deps, step.id, { verifyAuditId: audit.id });
        refreshed++;
        continue;
      }
      log(
        { deps, job, step },
        'error',
        `${name}: the audit refreshing its findings still lists ${left.map((p) => p.name).join(', ')} as pending, although the step read the approved versions installed; audit the host again and compare.`,
      );
      continue;
    }
    const why = audit
      ? `${audit.status}${audit.errorMessage ? `: ${sanitizeText(audit.errorMessage, { maxLength: 300 })}` : ''}`
      : 'did not run';
    log(
      { deps, job, step },
      'error',
      `${name}: the audit refreshing its findings ${why}; its step stays ${step.status} (verified by installed versions). Audit the host again to refresh its findings.`,
    );
  }
  log(
    { deps, job },
    refreshed === steps.length ? 'info' : 'error',
    `Findings refreshed on ${refreshed} of ${steps.length} host(s).`,
  );
  return taskId;
}
