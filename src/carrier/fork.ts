import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { channelToChild } from './channel';
import type { Channel } from './protocol';

export interface ForkedCore {
  channel: Channel;
  child: ChildProcess;
}

/**
 * Starts the core in a child process under Node and returns main's end of its channel. From the
 * TypeScript sources (tests, benchmarks) the child runs them through tsx, as bin/patchdeck.mjs
 * does; `entry` may name a bundled node-entry instead. The IPC channel uses Node's advanced
 * serialization, the structured clone an Electron MessagePort uses too (bytes stay bytes).
 */
export function forkNodeCore(
  options: { entry?: string; env?: NodeJS.ProcessEnv; execArgv?: string[] } = {},
): ForkedCore {
  const entry = options.entry ?? path.join(import.meta.dirname, '../core/host/node-entry.ts');
  const execArgv = options.execArgv ?? (entry.endsWith('.ts') ? ['--import', 'tsx'] : []);
  const child = fork(entry, [], {
    execArgv,
    env: options.env ?? process.env,
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return { channel: channelToChild(child), child };
}
