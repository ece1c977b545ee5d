/**
 * What the benchmarks share: the bundled CLI, timing of a process tree, medians and ratios,
 * option parsing, the Ansible baseline on the lab, and a Core on a benchmark's workspace.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Core } from '../src/core';
import type { CallArgs } from '../src/api/contract';
import { createNodePlatform } from '../src/platform';
import type { LabInventory } from '../test/lab';
import { waitForTask } from '../test/integration/support';

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

/** `--name=N` as a positive integer, or `fallback` when it is not given. */
export function intOption(args: readonly string[], name: string, fallback: number): number {
  const raw = args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} takes a positive integer`);
  return n;
}

/** `--name=N,M,…` as positive integers, or `fallback` when it is not given. */
export function intListOption(args: readonly string[], name: string, fallback: number[]): number[] {
  const raw = textOption(args, name);
  if (raw === undefined) return fallback;
  return raw.split(',').map((n) => intOption([`--${name}=${n}`], name, 0));
}

/** `--name=TEXT`, or undefined when it is not given. */
export function textOption(args: readonly string[], name: string): string | undefined {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

/** How many hosts the Ansible baseline works on at once (and Patchdeck, to compare like with like). */
export const FORKS = 20;

/**
 * Writes an Ansible inventory of the lab's hosts: the first host's passwordless-sudo account, the
 * lab's key and known_hosts, host keys checked strictly (as Patchdeck checks them).
 */
export function writeAnsibleInventory(lab: LabInventory, file: string): void {
  const admin = lab.hosts[0]!.users.find((u) => u.sudo === 'nopasswd')!;
  fs.writeFileSync(
    file,
    `[lab]\n${lab.hosts.map((h) => `${h.name} ansible_host=${h.address}`).join('\n')}\n\n[lab:vars]\nansible_user=${admin.name}\nansible_ssh_private_key_file=${lab.keyFile}\nansible_ssh_common_args='-o UserKnownHostsFile=${lab.knownHostsFile} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes'\n`,
  );
}

/**
 * Times the baseline: `ansible all -m raw -a <remote>` on every host of `inventory`, FORKS at a
 * time, its SSH control sockets and temp files in a fresh folder under `dir`. Returns the timing
 * and how many hosts answered `CHANGED | rc=0`.
 */
export async function timeAnsibleRaw(
  inventory: string,
  remote: string,
  dir: string,
): Promise<Awaited<ReturnType<typeof timeCommand>> & { changed: number }> {
  const controlDir = fs.mkdtempSync(path.join(dir, 'cp-'));
  const result = await timeCommand(
    'ansible',
    ['all', '-i', inventory, '-f', String(FORKS), '-m', 'raw', '-a', remote],
    {
      env: {
        ...process.env,
        ANSIBLE_SSH_CONTROL_PATH_DIR: controlDir,
        ANSIBLE_HOST_KEY_CHECKING: 'True',
        ANSIBLE_STDOUT_CALLBACK: 'minimal',
        ANSIBLE_LOCAL_TEMP: controlDir,
      },
    },
  );
  return { ...result, changed: (result.stdout.match(/\| CHANGED \| rc=0/g) ?? []).length };
}

/** Opens the benchmark's workspace (created if missing) in an in-process Core, runs `work`, closes it. */
export async function withCore<T>(
  ws: string,
  configDir: string,
  work: (core: Core) => Promise<T>,
): Promise<T> {
  const core = new Core({ platform: createNodePlatform({ configDir, useKeychain: false }), carrier: 'test' });
  await core.openWorkspace(ws, { create: 'if-missing' });
  try {
    return await work(core);
  } finally {
    await core.closeWorkspace();
  }
}

/** Audits the hosts `args` names (all by default) and throws when any host's newest audit failed. */
export async function auditOrThrow(
  core: Core,
  args: CallArgs<'audits.start'> = {},
  what = 'audit',
): Promise<void> {
  const { taskId } = await core.call('audits.start', args);
  await waitForTask(core, taskId);
  const failed = (await core.call('audits.latest', {})).filter((a) => a.status !== 'succeeded');
  if (failed.length) throw new Error(`${what} failed on ${failed.length} hosts: ${failed[0]!.errorMessage}`);
}
