import type { Task, TaskOutcome, TaskStatus } from '../api';

/**
 * How a task's parts ended: the hosts of an audit, the hosts of a patch job. A task is one
 * piece of work for the admin, but what they need to know is how each part went.
 */
export interface TaskParts {
  /** What one part is, singular ("host"). */
  noun: string;
  total: number;
  succeeded: number;
  failed: number;
  /** Parts left out on purpose (offline-only hosts, steps not run): neither success nor failure. */
  skipped?: number;
  /** Parts in some other state worth naming ("1 reboot pending"), counted in none of the above. */
  other?: { label: string; count: number }[];
  /** Of `other`, parts whose work is done but waits for a reboot to take effect. */
  rebootPending?: number;
}

/** What the work says about itself before it returns or throws; the runner records it. */
export interface TaskConclusion {
  parts?: TaskParts;
  /** A human summary; when absent, one is written from `parts`. */
  summary?: string;
}

export type TaskEnding = 'returned' | 'threw' | 'cancelled';

/**
 * The status model. `status` stays the coarse, machine-checked state (a CHECK constraint in
 * SQLite); `outcome` says what the admin must hear:
 * - every part succeeded (or was skipped on purpose) → succeeded / succeeded;
 * - nothing failed, but some parts wait for a reboot to finish (patched under "never", or a
 *   reboot put off) → succeeded / reboot-pending: not a failure, and not "succeeded" either;
 * - some parts failed, some succeeded → failed / partly-failed. PDQ marks a deployment with any
 *   failed target as failed, Action1 says "completed with errors": anything that only checks
 *   `status` must see a failure, and the window still says how much went right;
 * - every part that ran failed, or the work itself threw → failed / failed;
 * - cancelled → cancelled / cancelled, whatever the parts did before.
 */
export function deriveOutcome(
  ending: TaskEnding,
  parts?: TaskParts,
): { status: Extract<TaskStatus, 'succeeded' | 'failed' | 'cancelled'>; outcome: TaskOutcome } {
  if (ending === 'cancelled') return { status: 'cancelled', outcome: 'cancelled' };
  if (ending === 'threw') return { status: 'failed', outcome: 'failed' };
  if (!parts || parts.failed === 0)
    return { status: 'succeeded', outcome: parts?.rebootPending ? 'reboot-pending' : 'succeeded' };
  if (parts.succeeded === 0) return { status: 'failed', outcome: 'failed' };
  return { status: 'failed', outcome: 'partly-failed' };
}

const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

/**
 * "6 of 8 hosts succeeded, 2 failed"; "0 of 8 hosts succeeded, 8 failed"; cancelled work says how
 * far it got: "cancelled after 3 of 8 hosts: 2 succeeded, 1 failed".
 */
export function summarizeParts(parts: TaskParts, ending: TaskEnding = 'returned'): string {
  const skipped = parts.skipped ?? 0;
  const tail: string[] = [];
  for (const o of parts.other ?? []) if (o.count > 0) tail.push(`${o.count} ${o.label}`);
  if (skipped > 0) tail.push(`${skipped} skipped`);
  if (ending === 'cancelled') {
    const settled = parts.succeeded + parts.failed;
    const done = [`${parts.succeeded} succeeded`, `${parts.failed} failed`, ...tail].join(', ');
    return `cancelled after ${settled} of ${plural(parts.total, parts.noun)}: ${done}`;
  }
  const head = `${parts.succeeded} of ${plural(parts.total, parts.noun)} succeeded`;
  return [head, ...(parts.failed > 0 ? [`${parts.failed} failed`] : []), ...tail].join(', ');
}

/** The summary recorded on a finished task: the work's own, else one written from its parts. */
export function taskSummary(
  ending: TaskEnding,
  conclusion: TaskConclusion | null,
  error: string | null,
): string {
  if (conclusion?.summary) return conclusion.summary;
  if (conclusion?.parts) {
    const text = summarizeParts(conclusion.parts, ending);
    return ending === 'threw' && error ? `${text}; then stopped: ${error}` : text;
  }
  if (ending === 'cancelled') return 'cancelled by the user';
  if (ending === 'threw') return error ?? 'failed';
  return 'done';
}

const OUTCOME_WORD: Record<TaskOutcome, string> = {
  succeeded: 'succeeded',
  'reboot-pending': 'installed, reboot pending',
  'partly-failed': 'partly failed',
  failed: 'failed',
  cancelled: 'cancelled',
  interrupted: 'interrupted',
};

export type Tone = 'ok' | 'danger' | 'warn' | 'neutral';

/**
 * How an outcome looks, for the window's colours and a notification's sound: only real success
 * is good news; patched hosts waiting for their reboot, a cancel or an interruption are worth a
 * look; anything in which a part failed is a failure.
 */
export function outcomeTone(task: Pick<Task, 'status' | 'outcome'>): Tone {
  const outcome = task.outcome ?? task.status;
  if (outcome === 'succeeded') return 'ok';
  if (outcome === 'failed' || outcome === 'partly-failed') return 'danger';
  if (outcome === 'cancelled' || outcome === 'interrupted' || outcome === 'reboot-pending') return 'warn';
  return 'neutral';
}

/** A finished task's outcome in a word ("partly failed"); older tasks say their status. */
export function outcomeWord(task: Pick<Task, 'status' | 'outcome'>): string {
  return task.outcome ? OUTCOME_WORD[task.outcome] : task.status;
}

/**
 * "failed: 0 of 8 hosts succeeded, 8 failed" — the word, then the parts (or the error). A summary
 * that starts with the word already ("cancelled after 3 of 8 hosts…") says it once. The window
 * (renderer/components/task-outcome.ts) shows exactly this.
 */
export function outcomeText(task: Pick<Task, 'status' | 'outcome' | 'summary' | 'error'>): string {
  const word = outcomeWord(task);
  const detail = task.summary ?? task.error;
  if (!detail || detail === word) return word;
  return detail.toLowerCase().startsWith(word) ? detail : `${word}: ${detail}`;
}

/**
 * A finished task in one line, the same words the window shows: "Audit 8 hosts — partly failed:
 * 6 of 8 hosts succeeded, 2 failed". The CLI's closing line and notifications use it, so each
 * says what the task says.
 */
export function describeTask(task: Pick<Task, 'title' | 'status' | 'outcome' | 'summary' | 'error'>): string {
  return `${task.title} — ${outcomeText(task)}`;
}
