// Helpers shared by the lab's own tests: the root gate and an ssh client that checks host keys strictly.
import { describe, it } from 'vitest';
import { isRoot } from './index';
import { KNOWN_HOSTS_FILE, LAB_KEY_FILE } from './paths';
import { run, type RunResult } from './sh';

/**
 * describe() that needs root. Without root: in CI (CI=true) the suite fails, because a lab
 * suite that silently skips would hide that nothing was tested; elsewhere it skips and says why.
 */
export function describeAsRoot(name: string, body: () => void): void {
  if (isRoot()) {
    describe(name, body);
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('runs as root', () => {
        throw new Error('the lab suite needs root (network namespaces, mounts); CI must run it as root');
      });
    });
    return;
  }
  console.warn(`skipping "${name}": the lab needs root (run: sudo npx vitest run --project lab test/lab)`);
  describe.skip(name, body);
}

export interface SshOptions {
  user?: string;
  knownHosts?: string;
  timeoutSec?: number;
  /** What the remote command reads on its standard input (nothing unless told). */
  input?: string;
  /** Kill ssh after this long (no limit unless told). */
  timeoutMs?: number;
}

/** ssh to a lab host with the lab key and StrictHostKeyChecking=yes; never throws on exit codes. */
export function ssh(address: string, command: string, opts: SshOptions = {}): Promise<RunResult> {
  return run(
    'ssh',
    [
      '-i',
      LAB_KEY_FILE,
      '-o',
      `UserKnownHostsFile=${opts.knownHosts ?? KNOWN_HOSTS_FILE}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      `ConnectTimeout=${opts.timeoutSec ?? 5}`,
      '-o',
      'LogLevel=ERROR',
      `${opts.user ?? 'admin'}@${address}`,
      command,
    ],
    {
      okCodes: Array.from({ length: 256 }, (_, i) => i),
      env: { ...process.env, LC_ALL: 'C' },
      input: opts.input,
      timeoutMs: opts.timeoutMs,
    },
  );
}

export interface AptSimulation {
  upgrades: { name: string; installed: string; available: string; label: string; suite: string }[];
  newInstalls: string[];
  keptBack: string[];
}

/** Parse `apt-get -s dist-upgrade` (LC_ALL=C). */
export function parseAptSimulation(text: string): AptSimulation {
  const upgrades: AptSimulation['upgrades'] = [];
  const newInstalls: string[] = [];
  for (const line of text.split('\n')) {
    const m = line.match(/^Inst (\S+) (?:\[(\S+)\] )?\((\S+) ([^:]+):[^/]+\/(\S+) \[/);
    if (!m) continue;
    const [, name, installed, available, label, suite] = m as unknown as [
      string,
      string,
      string | undefined,
      string,
      string,
      string,
    ];
    if (installed) upgrades.push({ name, installed, available, label, suite });
    else newInstalls.push(name);
  }
  const kept = text.match(/The following packages have been kept back:\n((?: +\S.*\n)+)/);
  const keptBack = kept ? (kept[1] as string).trim().split(/\s+/) : [];
  return { upgrades, newInstalls, keptBack };
}
