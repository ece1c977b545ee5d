import type { Task } from '../../src/api/schemas';

/**
 * How a finished task reads everywhere in the window (status bar, Hosts banner, notifications):
 * its outcome in a word, then the summary of its parts. `partly-failed` is a failure that says how
 * much went right; nothing in which a part failed reads as "succeeded".
 */
export type Tone = 'ok' | 'danger' | 'warn' | 'neutral';

const WORD: Record<NonNullable<Task['outcome']>, string> = {
  succeeded: 'succeeded',
  'reboot-pending': 'installed, reboot pending',
  'partly-failed': 'partly failed',
  failed: 'failed',
  cancelled: 'cancelled',
  interrupted: 'interrupted',
};

export function isFinished(task: Task): boolean {
  return task.status !== 'running' && task.status !== 'queued';
}

/** The outcome in a word; tasks from before outcomes were recorded fall back to their status. */
export function outcomeWord(task: Task): string {
  if (task.outcome) return WORD[task.outcome];
  return task.status;
}

export function outcomeTone(task: Task): Tone {
  const outcome = task.outcome ?? task.status;
  if (outcome === 'succeeded') return 'ok';
  if (outcome === 'failed' || outcome === 'partly-failed') return 'danger';
  if (outcome === 'cancelled' || outcome === 'interrupted' || outcome === 'reboot-pending') return 'warn';
  return 'neutral';
}

/** "failed: 0 of 8 hosts succeeded, 8 failed" — the word, then the parts (or the error). */
export function outcomeText(task: Task): string {
  const word = outcomeWord(task);
  const detail = task.summary ?? task.error;
  if (!detail || detail === word) return word;
  // A summary that starts with the word already ("cancelled after 3 of 8 hosts…") says it once.
  return detail.toLowerCase().startsWith(word) ? detail : `${word}: ${detail}`;
}
