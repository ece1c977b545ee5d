import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';

/**
 * Builds the bundled CLI now and returns its path, to be run directly: bin/patchdeck.mjs falls
 * back to transpiling src/ with tsx whenever a source file is newer than the bundle, which would
 * measure the transpiler instead of Patchdeck. A packaged Patchdeck runs this same bundle.
 */
export function bundledCli(): string {
  execFileSync(process.execPath, [path.resolve(import.meta.dirname, '../scripts/build-cli.mjs')], {
    stdio: 'ignore',
  });
  return path.resolve(import.meta.dirname, '../out/cli/patchdeck.mjs');
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Runs a command and measures its wall time and the CPU time of its whole process tree
 * (user + system of the process and every child it waited for), via GNU time's rusage.
 */
export function timeCommand(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<{ wallMs: number; cpuMs: number; stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('/usr/bin/time', ['-f', '\n__TIME__ %U %S', command, ...args], {
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      const match = /__TIME__ ([\d.]+) ([\d.]+)\s*$/.exec(stderr);
      if (!match) return reject(new Error(`no timing from /usr/bin/time: ${stderr.slice(-500)}`));
      resolve({
        wallMs,
        cpuMs: (Number(match[1]) + Number(match[2])) * 1000,
        stdout,
        stderr: stderr.slice(0, match.index),
        code,
      });
    });
  });
}

export function ratio(a: number, b: number): string {
  return (a / b).toFixed(2);
}

export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`;
}
