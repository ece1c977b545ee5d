import type { JobStep } from '../api';
import type { TaskParts } from '../tasks';

/**
 * How a patch job's hosts went, for its task's outcome and summary: a step succeeds only as
 * `succeeded`; a failed or interrupted step failed; a skipped or cancelled one was not run. Any
 * other state a step ends in (a later "installed, reboot pending") is named, never counted as
 * success.
 */
const STATUS_LABEL: Record<string, string> = { 'reboot-pending': 'installed, reboot pending' };

export function jobStepParts(steps: readonly Pick<JobStep, 'status'>[]): TaskParts {
  const count = (...statuses: string[]): number => steps.filter((s) => statuses.includes(s.status)).length;
  const known = new Set(['succeeded', 'failed', 'interrupted', 'skipped', 'cancelled']);
  const other = new Map<string, number>();
  for (const s of steps) if (!known.has(s.status)) other.set(s.status, (other.get(s.status) ?? 0) + 1);
  return {
    noun: 'host',
    total: steps.length,
    succeeded: count('succeeded'),
    failed: count('failed', 'interrupted'),
    skipped: count('skipped', 'cancelled'),
    rebootPending: count('reboot-pending'),
    other: [...other].map(([status, n]) => ({
      label: STATUS_LABEL[status] ?? status.replace(/-/g, ' '),
      count: n,
    })),
  };
}

/** A dry run's hosts: ready to approve (queued) or failed; anything else was left out. */
export function dryRunParts(steps: readonly Pick<JobStep, 'status'>[]): TaskParts {
  const ready = steps.filter((s) => s.status === 'queued').length;
  const failed = steps.filter((s) => s.status === 'failed').length;
  return {
    noun: 'host',
    total: steps.length,
    succeeded: ready,
    failed,
    skipped: steps.length - ready - failed,
  };
}
