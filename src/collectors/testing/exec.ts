/**
 * Test and capture helpers: a RemoteExec that runs commands on this machine through /bin/sh
 * (used only to capture real outputs of real tools), and one that replays recorded runs.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { RemoteExec, RemoteExecOptions, RemoteExecResult } from '../types';

export interface RecordedRun {
  /** What the collector asked to run (the framed script, with the nonce of the recording). */
  command: string;
  sudo: boolean;
  stdout: string;
  stderr: string;
  code: number | null;
}

export interface Recording {
  /** Where the recording came from: tool versions, host, date. */
  provenance: string;
  runs: RecordedRun[];
}

/** Runs commands locally with `sh -c`; `env` adds variables (e.g. APT_CONFIG for a throwaway apt root). */
export function localShellExec(extraEnv: Record<string, string> = {}, log?: RecordedRun[]): RemoteExec {
  return {
    run(command: string, options: RemoteExecOptions = {}): Promise<RemoteExecResult> {
      return new Promise((resolve, reject) => {
        const child = spawn('/bin/sh', ['-c', command], {
          env: { ...process.env, ...extraEnv, ...options.env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
        child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        child.on('error', reject);
        child.on('close', (code) => {
          log?.push({ command, sudo: options.sudo ?? false, stdout, stderr, code });
          resolve({ stdout, stderr, code });
        });
      });
    },
  };
}

const NONCE = /@@PATCHDECK:([0-9a-f]{8,32}):/;

/**
 * Replays recorded runs in order. Each recorded run's nonce is swapped for the nonce of the
 * command being asked, so the collector's section splitter sees exactly what the host printed.
 * The commands themselves are returned for assertions.
 */
export function replayExec(
  runs: readonly RecordedRun[],
): RemoteExec & { asked: { command: string; options: RemoteExecOptions }[] } {
  const asked: { command: string; options: RemoteExecOptions }[] = [];
  let index = 0;
  return {
    asked,
    run(command: string, options: RemoteExecOptions = {}): Promise<RemoteExecResult> {
      asked.push({ command, options });
      const run = runs[index++];
      if (!run) return Promise.reject(new Error(`replay: no recorded run for command #${index}`));
      const newNonce = NONCE.exec(command)?.[1];
      const oldNonce = NONCE.exec(run.command)?.[1];
      const swap = (text: string): string =>
        newNonce && oldNonce ? text.split(oldNonce).join(newNonce) : text;
      return Promise.resolve({ stdout: swap(run.stdout), stderr: swap(run.stderr), code: run.code });
    },
  };
}

export function loadRecording(path: string): Recording {
  return JSON.parse(readFileSync(path, 'utf8')) as Recording;
}

/** Builds the stdout/stderr a section script would have printed from per-section captures. */
export function framedOutput(
  nonce: string,
  sections: readonly { name: string; stdout: string; stderr?: string; code: number | null }[],
): { stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  for (const s of sections) {
    const begin = `\n@@PATCHDECK:${nonce}:begin:${s.name}\n`;
    stdout += begin + s.stdout;
    stderr += begin + (s.stderr ?? '');
    if (s.code !== null) {
      const end = `\n@@PATCHDECK:${nonce}:end:${s.name}:${s.code}\n`;
      stdout += end;
      stderr += end;
    }
  }
  return { stdout, stderr };
}

/** A RemoteExec that answers every framed script from per-section captures (files or text). */
export function sectionExec(
  sectionsFor: (
    command: string,
  ) => readonly { name: string; stdout: string; stderr?: string; code: number | null }[],
): RemoteExec & { asked: { command: string; options: RemoteExecOptions }[] } {
  const asked: { command: string; options: RemoteExecOptions }[] = [];
  return {
    asked,
    run(command: string, options: RemoteExecOptions = {}): Promise<RemoteExecResult> {
      asked.push({ command, options });
      const nonce = NONCE.exec(command)?.[1] ?? '00000000';
      return Promise.resolve({ ...framedOutput(nonce, sectionsFor(command)), code: 0 });
    },
  };
}
