import type { Core } from '../src/core';
import { CoreClient } from '../src/carrier';

/** How long quitting waits for running tasks to wind down before the process exits anyway. */
export const QUIT_GRACE_MS = 3000;

/**
 * Running tasks, read synchronously (a window 'close' handler must decide before it returns): the
 * core in its own process is counted from the task events main has seen.
 */
export function activeTaskCount(core: Core | CoreClient): number {
  if (core instanceof CoreClient) return core.activeTaskCount;
  try {
    return core.workspace ? core.workspace.tasks.list({ active: true }).length : 0;
  } catch {
    return 0;
  }
}

export interface QuitQuestion {
  message: string;
  detail: string;
}

/**
 * Closing the window while work runs: scans and audits simply stop, but a patch job's installs
 * carry on, detached, on their hosts, and the job is marked interrupted the next time the
 * workspace opens. Say so and let the admin choose. Resolves true when it is fine to quit.
 */
export async function confirmQuit(
  core: Core | CoreClient,
  ask: (question: QuitQuestion) => Promise<boolean>,
): Promise<boolean> {
  // Without a workspace the call fails, and nothing runs.
  const active = await core.call('tasks.list', { active: true }).catch(() => []);
  if (active.length === 0) return true;
  const patching = active.some((t) => t.kind === 'patch');
  const titles = active.slice(0, 5).map((t) => `• ${t.title}`);
  if (active.length > 5) titles.push(`• and ${active.length - 5} more`);
  return ask({
    message: `${active.length === 1 ? 'A task is' : `${active.length} tasks are`} still running. Quit anyway?`,
    detail: [
      ...titles,
      '',
      patching
        ? 'Installs already started keep running on their hosts (apt, dnf/yum and zypper run detached; on other package managers the install is cut off with the connection). The job shows as interrupted when Patchdeck opens again; Resume on the Patch jobs page re-audits those hosts and finishes what is missing.'
        : 'Scans and audits stop where they are; run them again later.',
    ].join('\n'),
  });
}
