/**
 * Test support for the hand-off: a real SSH host key blob (ed25519, SSH wire format) with its
 * fingerprint, ansible's own commands run on the generated files (no network), and a results file
 * shaped as ansible-playbook's `json` callback writes it.
 */
import { execFile } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { promisify } from 'node:util';
import { it } from 'vitest';

export function ed25519HostKey(): { type: string; publicKey: string; fingerprint: string } {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const withLength = (b: Buffer): Buffer => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(b.length, 0);
    return Buffer.concat([length, b]);
  };
  const blob = Buffer.concat([withLength(Buffer.from('ssh-ed25519')), withLength(raw)]);
  return {
    type: 'ssh-ed25519',
    publicKey: blob.toString('base64'),
    fingerprint: `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`,
  };
}

const run = promisify(execFile);

/** Runs an ansible command line tool; rejects with its output when it fails. */
export async function ansibleTool(
  tool: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<{ stdout: string; stderr: string }> {
  return run(tool, args, {
    cwd: options.cwd,
    env: {
      ...process.env,
      ANSIBLE_LOCAL_TEMP: `${options.cwd}/.ansible-tmp`,
      ANSIBLE_HOME: `${options.cwd}/.ansible-home`,
      ANSIBLE_NOCOLOR: '1',
      ...options.env,
    },
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
  }).catch((error: Error & { stdout?: string; stderr?: string }) => {
    throw new Error(`${error.message}\n${error.stdout ?? ''}\n${error.stderr ?? ''}`.slice(0, 4000));
  });
}

/** Whether ansible-playbook is installed here. */
export async function hasAnsible(): Promise<boolean> {
  try {
    await run('ansible-playbook', ['--version'], { timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * it() for tests that need Ansible: without it, CI fails (a suite that silently skips would hide
 * that nothing was tested); elsewhere the test says why and is skipped.
 */
export function itWithAnsible(name: string, body: () => Promise<void>, timeout = 120_000): void {
  it(
    name,
    async (ctx) => {
      if (!(await hasAnsible())) {
        if (process.env.CI === 'true')
          throw new Error('ansible-playbook is not installed; CI must install it');
        ctx.skip();
      }
      await body();
    },
    timeout,
  );
}

export interface FakeTaskResult {
  phase: string;
  /** Per inventory name. */
  hosts: Record<string, Record<string, unknown>>;
}

/** A results document as the json callback writes it. */
export function resultsDocument(playName: string, tasks: FakeTaskResult[]): string {
  return JSON.stringify(
    {
      custom_stats: {},
      global_custom_stats: {},
      plays: [
        {
          play: {
            duration: { start: '2026-12-01T10:00:00.000000Z', end: '2026-12-01T10:05:00.000000Z' },
            id: 'x',
            name: playName,
          },
          tasks: tasks.map((t, i) => ({
            hosts: t.hosts,
            task: {
              duration: {
                start: `2026-12-01T10:0${i}:00.000000Z`,
                end: `2026-12-01T10:0${i}:30.000000Z`,
              },
              id: String(i),
              name: `patchdeck:${t.phase} (test)`,
            },
          })),
        },
      ],
      stats: {},
    },
    null,
    1,
  );
}
