import { spawn } from 'node:child_process';
import { Command, CommanderError, Option } from 'commander';
import { Core, defaultRecentFile } from '../core';
import { APP_VERSION } from '../core';
import { createNodePlatform } from '../platform';
import { startBrowserCarrier } from '../server';
import { errorMessage, isPatchdeckError } from '../util';
import { rendererBuildDir } from '../util';
import { registerAdvisoryCommands } from './commands-advisories';
import { registerAuditCommands } from './commands-audit';
import { registerDiscoverCommand } from './commands-discover';
import { registerFindingsCommand } from './commands-findings';
import { registerExceptionCommands } from './commands-exceptions';
import { registerPatchCommands } from './commands-patch';
import { registerWorkspaceBackupCommands, registerWorkspaceClientCommands } from './commands-workspace';
import { registerOfflineCommands } from './commands-offline';
import { registerScheduleCommands } from './commands-schedule';
import { registerReportCommands } from './commands-report';
import { registerBundleCommands } from './commands-bundle';
import { registerHandoffCommands } from './commands-handoff';
import { ensureRendererBuilt } from './renderer-build';
import { formatTable, printJson } from './output';
import { withCore, workspacePathOf, type GlobalOptions } from './context';

/**
 * `patchdeck` — the same services as the app, headless. Errors print one clear line to stderr
 * and exit non-zero; `--json` prints machine-readable results where that makes sense.
 */
export { withCore, workspacePathOf, type GlobalOptions } from './context';

/**
 * `url` lands in the opener's argv, which every local user can read (`ps`): it must hold a
 * single-use launch code that expires in seconds, never the token.
 */
function openInBrowser(url: string): void {
  const opener =
    process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer.exe' : 'xdg-open';
  spawn(opener, [url], { stdio: 'ignore', detached: true })
    .on('error', () => process.stderr.write('Could not open a browser; open the URL above yourself.\n'))
    .unref();
}

export function buildProgram(): Command {
  const program = new Command('patchdeck')
    .description('Discover, audit and patch the machines of a small office.')
    .version(APP_VERSION)
    .option('-w, --workspace <path>', 'workspace file (default: PATCHDECK_WORKSPACE or the user data folder)')
    .option('--json', 'print machine-readable JSON')
    .showHelpAfterError('(run `patchdeck --help` for usage)')
    .exitOverride();

  const globals = (): GlobalOptions => program.opts<GlobalOptions>();

  const workspace = program
    .command('workspace')
    .description('create, inspect, back up and restore workspaces');
  workspace
    .command('init')
    .description('create a new, empty workspace file')
    .action(async () => {
      const core = new Core({
        platform: createNodePlatform(),
        carrier: 'cli',
        recentFile: defaultRecentFile(),
      });
      try {
        const info = await core.openWorkspace(workspacePathOf(globals()), { create: 'always' });
        if (globals().json) printJson(info);
        else process.stdout.write(`Created workspace ${info.path} (schema ${info.schemaVersion}).\n`);
      } finally {
        await core.closeWorkspace();
      }
    });
  workspace
    .command('info')
    .description('show the workspace file, its schema version and what it holds')
    .action(async () => {
      await withCore(
        globals(),
        async (core) => {
          const info = core.workspaceInfo();
          const tasks = await core.call('tasks.list', {});
          if (globals().json) printJson({ ...info, tasks: tasks.length });
          else
            process.stdout.write(
              `${formatTable(['workspace', 'schema', 'hosts', 'tasks'], [[info.path, info.schemaVersion, info.hostCount, tasks.length]])}\n`,
            );
        },
        { create: 'never' },
      );
    });
  registerWorkspaceBackupCommands(workspace, globals, workspacePathOf);
  registerWorkspaceClientCommands(workspace, globals, workspacePathOf);

  program
    .command('serve')
    .description('run Patchdeck in a browser: HTTP + WebSocket on loopback with a per-launch token')
    .addOption(new Option('--host <address>', 'loopback address to listen on').default('127.0.0.1'))
    .addOption(new Option('--port <port>', 'port (default: random)').argParser((v) => Number.parseInt(v, 10)))
    .option('--open', 'open the default browser on the app')
    .option(
      '--static <dir>',
      'renderer build folder (default: a build of this checkout under out/renderer-builds, made first when missing or stale)',
    )
    .action(async (opts: { host: string; port?: number; open?: boolean; static?: string }) => {
      // From a source checkout, build the renderer when it is missing or older than its sources.
      // Each serve keeps the build it resolved here, whatever a later serve builds.
      const build =
        opts.static === undefined
          ? await ensureRendererBuilt({ log: (line) => process.stderr.write(line) })
          : null;
      const core = new Core({
        platform: createNodePlatform(),
        carrier: 'browser',
        recentFile: defaultRecentFile(),
        watchNetwork: true,
      });
      await core.openWorkspace(workspacePathOf(globals()), { create: 'if-missing' });
      const carrier = await startBrowserCarrier({
        core,
        host: opts.host,
        port: opts.port,
        staticDir: opts.static ?? build?.dir ?? rendererBuildDir(),
      });
      if (globals().json) printJson({ url: carrier.launchUrl, port: carrier.port });
      else {
        process.stdout.write(
          `Patchdeck is running. Open this URL (it holds this launch's token):\n${carrier.launchUrl}\n`,
        );
        process.stdout.write(`Workspace: ${core.workspaceInfo().path}\nPress Ctrl+C to stop.\n`);
      }
      if (opts.open) openInBrowser(carrier.createLaunchUrl());
      await new Promise<void>((resolve) => {
        const stop = (): void => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await carrier.close();
      build?.release();
      await core.closeWorkspace();
    });

  registerDiscoverCommand(program, globals, withCore);
  registerAuditCommands(program, globals, withCore);
  registerFindingsCommand(program, globals, withCore);
  registerExceptionCommands(program, globals, withCore);
  registerPatchCommands(program, globals, withCore);
  registerOfflineCommands(program, globals, withCore);
  registerScheduleCommands(program, globals, withCore);
  registerAdvisoryCommands(program, globals, withCore);
  registerReportCommands(program, globals, withCore);
  registerBundleCommands(program, globals, withCore);
  registerHandoffCommands(program, globals, withCore);
  return program;
}

export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    // A command may set a non-zero exit code without throwing (e.g. an audit with failed hosts).
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed help, version or its one-line usage error.
      return error.exitCode;
    }
    const message = isPatchdeckError(error) ? error.message : errorMessage(error);
    process.stderr.write(`patchdeck: ${message.split('\n')[0]}\n`);
    return isPatchdeckError(error) && error.code === 'bad-request' ? 2 : 1;
  }
}
