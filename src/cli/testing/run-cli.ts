/**
 * Test support: the real CLI in its own process, from the sources (through tsx), with pipes for
 * stdin, stdout and stderr — what a script or a CI job sees. One helper for every CLI test, so
 * they all start the CLI the same way.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

/** The CLI's entry point in the sources. */
export const CLI_ENTRY = path.resolve(import.meta.dirname, '../index.ts');

export interface ProcessResult {
  /** The exit status; -1 when the process was ended by a signal. */
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** PATCHDECK_CONFIG_DIR: where the CLI keeps its settings and its secret store. */
  configDir: string;
  /** The workspace file, passed as `--workspace FILE` before the arguments. */
  workspace?: string;
  /** More environment (e.g. PATCHDECK_PASSPHRASE) over this process's own. */
  env?: Record<string, string>;
  /** Written to the CLI's stdin, which is then closed; without it stdin is /dev/null. */
  input?: string;
}

/** The argv (after node itself) that starts the CLI from the sources with `args`. */
export function cliArgv(args: readonly string[], workspace?: string): string[] {
  return [
    '--import',
    'tsx',
    CLI_ENTRY,
    ...(workspace === undefined ? [] : ['--workspace', workspace]),
    ...args,
  ];
}

/**
 * The environment the CLI runs in: this process's, its config folder (also its data folder, so
 * that the recent workspaces list a command writes is the test's own, never the user's), then `extra`.
 */
export function cliEnv(configDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, PATCHDECK_CONFIG_DIR: configDir, PATCHDECK_DATA_DIR: configDir, ...extra };
}

/** Runs `patchdeck args…` and resolves once it has exited and its output is read to the end. */
export function runCli(args: readonly string[], options: CliOptions): Promise<ProcessResult> {
  return runProcess(process.execPath, cliArgv(args, options.workspace), {
    env: cliEnv(options.configDir, options.env),
    ...(options.input === undefined ? {} : { input: options.input }),
  });
}

/** Runs any program (e.g. `script` giving the CLI a terminal) the same way. */
export function runProcess(
  file: string,
  argv: readonly string[],
  options: { env: NodeJS.ProcessEnv; input?: string },
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, {
      env: options.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (options.input !== undefined) child.stdin!.end(options.input);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
