import type { Command } from 'commander';
import { backupWorkspaceFile, restoreWorkspace } from '../db';
import type { GlobalOptions } from './context';
import { printJson } from './output';

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
