import { Core, defaultRecentFile } from '../core';
import { createNodePlatform } from '../platform';
import { defaultWorkspacePath } from '../util';

/**
 * What every command gets from the program: its global options and a core over the workspace.
 * Commands import these from here, not from main.ts, which imports the commands.
 */
export interface GlobalOptions {
  workspace?: string;
  json?: boolean;
}

export function workspacePathOf(options: GlobalOptions): string {
  return options.workspace ?? defaultWorkspacePath();
}

/** Runs `work` with a core over the workspace of `options`, closed afterwards whatever happens. */
export async function withCore<T>(
  options: GlobalOptions,
  work: (core: Core) => Promise<T>,
  open: { create?: 'never' | 'if-missing' } = { create: 'if-missing' },
): Promise<T> {
  const core = new Core({ platform: createNodePlatform(), carrier: 'cli', recentFile: defaultRecentFile() });
  try {
    await core.openWorkspace(workspacePathOf(options), open);
    return await work(core);
  } finally {
    await core.closeWorkspace();
  }
}

/** `withCore` as commands receive it (they always open or create the workspace). */
export type WithCore = <T>(options: GlobalOptions, work: (core: Core) => Promise<T>) => Promise<T>;
