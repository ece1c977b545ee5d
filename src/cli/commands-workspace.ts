import path from 'node:path';
import type { Command } from 'commander';
import { Core, defaultRecentFile } from '../core';
import { backupWorkspaceFile, readWorkspaceMeta, restoreWorkspace } from '../db';
import { createNodePlatform } from '../platform';
import { sanitizeText } from '../util';
import { withCore, type GlobalOptions } from './context';
import { formatTable, printJson } from './output';

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/**
 * `workspace backup [FILE]` and `workspace restore FILE`. Neither opens the workspace the way the
 * other commands do (no migration, no marking of running jobs as interrupted), so a backup is safe
 * while the app or another command works in the same workspace.
 */
export function registerWorkspaceBackupCommands(
  workspace: Command,
  globals: () => GlobalOptions,
  workspacePathOf: (options: GlobalOptions) => string,
): void {
  workspace
    .command('backup [file]')
    .description(
      'copy the workspace with SQLite’s online backup (safe while the app runs); default: a new file in the backups folder next to it',
    )
    .action(async (file: string | undefined) => {
      const source = workspacePathOf(globals());
      const info = await backupWorkspaceFile(source, file);
      if (globals().json) printJson({ workspace: source, ...info });
      else
        process.stdout.write(
          `Backed up ${source} to ${info.path} (schema ${info.schemaVersion}, ${mib(info.bytes)}, integrity check ok).\n`,
        );
    });
  workspace
    .command('restore <file>')
    .description(
      'replace the workspace with a backup (refused while another process has it open; the replaced file is kept as .before-restore-…)',
    )
    .action(async (file: string) => {
      const target = workspacePathOf(globals());
      const result = await restoreWorkspace(target, file);
      if (globals().json) printJson({ workspace: target, backup: file, ...result });
      else
        process.stdout.write(
          `Restored ${target} from ${file} (schema ${result.schemaVersion}).${result.previousCopy ? ` The replaced workspace is kept at ${result.previousCopy}.` : ''}\n`,
        );
    });
}

/**
 * `workspace list` (the recent list, with each workspace's site name) and `workspace site [NAME]`
 * (show or name the workspace's client site). Neither creates a workspace.
 */
export function registerWorkspaceClientCommands(
  workspace: Command,
  globals: () => GlobalOptions,
  workspacePathOf: (options: GlobalOptions) => string,
): void {
  workspace
    .command('list')
    .description('list the workspaces opened on this machine, newest first, with their site names')
    .action(async () => {
      const core = new Core({
        platform: createNodePlatform(),
        carrier: 'cli',
        recentFile: defaultRecentFile(),
      });
      const recent = await core.call('workspaces.recent');
      const selected = path.resolve(workspacePathOf(globals()));
      if (globals().json) {
        printJson(recent.map((r) => ({ ...r, selected: r.path === selected })));
        return;
      }
      if (recent.length === 0) {
        process.stdout.write(
          'No workspace has been opened on this machine yet. Create one with `patchdeck workspace init` or open one in the app.\n',
        );
        return;
      }
      const rows = recent.map((r) => [
        r.siteName || '(no site name)',
        r.path,
        r.lastOpenedAt.slice(0, 16).replace('T', ' '),
        [r.path === selected ? 'selected (--workspace)' : '', r.exists ? '' : 'missing']
          .filter(Boolean)
          .join(', '),
      ]);
      process.stdout.write(`${formatTable(['site', 'workspace', 'last opened (UTC)', 'note'], rows)}\n`);
    });
  workspace
    .command('site [name]')
    .description('show the client site name of the workspace, or set it (an empty name clears it)')
    .action(async (name: string | undefined) => {
      await withCore(
        globals(),
        async (core) => {
          const info = core.workspaceInfo();
          const siteName =
            name === undefined
              ? readWorkspaceMeta(core.requireWorkspace().db).siteName
              : (await core.call('workspaces.setSite', { siteName: name })).siteName;
          if (globals().json) printJson({ workspace: info.path, siteName });
          else if (name === undefined)
            process.stdout.write(
              siteName
                ? `${sanitizeText(siteName)}\n`
                : `The workspace ${info.path} has no site name yet. Name it with \`patchdeck workspace site "NAME"\`.\n`,
            );
          else
            process.stdout.write(
              siteName
                ? `The workspace ${info.path} is now the site “${sanitizeText(siteName)}”.\n`
                : `The site name of ${info.path} is cleared.\n`,
            );
        },
        { create: 'never' },
      );
    });
}
