import { describe, expect, it } from 'vitest';
import { collect as aptCollect } from './apt/index';
import { collect as dnfCollect } from './dnf/index';
import { collect as macCollect } from './macos/index';
import { collect as pacmanCollect } from './pacman/index';
import { collect as zypperCollect } from './zypper/index';
import { CollectorError, type CollectOptions, type CollectorResult, type RemoteExec } from './types';

/**
 * A host whose account runs no shell for us (a forced command, `nologin`) answers every script
 * with its own text and no section marker. Every collector must say the same thing then: its
 * audit script did not run, with the host's words and exit code, as a command-failed error.
 */
describe('a framed audit script that did not run', () => {
  const nologin: RemoteExec = {
    run: () =>
      Promise.resolve({
        stdout: '',
        stderr: 'This account is currently not available.\x1b[31m\n',
        code: 1,
      }),
  };
  const collectors: [string, (exec: RemoteExec, options: CollectOptions) => Promise<CollectorResult>][] = [
    ['apt', aptCollect],
    ['dnf/yum', dnfCollect],
    ['softwareupdate', macCollect],
    ['pacman', pacmanCollect],
    ['zypper', zypperCollect],
  ];

  it.each(collectors)('%s says its audit script did not run', async (tool, collect) => {
    for (const refresh of [false, true]) {
      const error: unknown = await collect(nologin, { refresh }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(CollectorError);
      expect((error as Error).message).toBe(`The ${tool} audit script did not run on this host.`);
      expect(error).toMatchObject({
        kind: 'command-failed',
        // The host's words (control characters shown, not sent to a terminal) and its exit status.
        stderr: 'This account is currently not available.\\x1b[31m',
        command: 'sh',
        code: 1,
      });
    }
  });
});
