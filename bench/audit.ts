/**
 * Audit benchmark on the lab: Patchdeck's `patchdeck audit` of N hosts (the CLI process: connect,
 * commands, parsing, storing) vs two baselines running the very same remote command line one
 * Patchdeck audit sends, on the same hosts, alternating per round:
 *   - `parallel-ssh -p 20` (Debian pssh, OpenSSH underneath, no Python on the hosts): the floor of
 *     "run these commands on N hosts", one fresh ssh process and connection per host;
 *   - `ansible all -f 20 -m raw -a '<the same line>'`.
 * At each size (20, 50, 200 hosts by default) it prints wall time per host; the rows say whether
 * 200 hosts cost no more per host than 50.
 * Usage: npm run bench -- audit [--hosts=20,50,200] [--rounds=3] [--baseline-rounds-large=1]
 *        [--ansible-max-hosts=N] (no Ansible baseline above N hosts)
 *        [--cpu-prof=DIR] (Patchdeck's CLI run under node --cpu-prof, profiles written to DIR)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { labUp, type LabInventory } from '../test/lab';
import { assertLabRoute, enrolLab, waitForTask } from '../test/integration/support';
import { SshSession } from '../src/remote/ssh';
import { writeSettings } from '../src/db';
import {
  auditOrThrow,
  bundledCli,
  FORKS,
  formatMs,
  intListOption,
  intOption,
  median,
  ratio,
  textOption,
  timeAnsibleRaw,
  timeCommand,
  withCore,
  writeAnsibleInventory,
} from './support';
import type { BenchRow } from './table';

/** What `npm run bench` (no argument) runs: the three sizes of the issue in one run, 3 rounds. */
export const modest: string[][] = [
  // Ansible at 200 hosts alone takes ~80 s a round here (and is informative): not in the modest run.
  ['--hosts=20,50,200', '--rounds=3', '--baseline-rounds-large=1', '--ansible-max-hosts=50'],
];

/**
 * Builds the workspace the CLI will use (lab enrolled, keys pinned by a warm-up audit) and
 * records the exact command lines one normal audit sends to a host.
 */
async function prepare(
  lab: LabInventory,
  dir: string,
): Promise<{ ws: string; configDir: string; lines: string[] }> {
  const configDir = path.join(dir, 'config');
  const ws = path.join(dir, 'ws.sqlite');
  return withCore(ws, configDir, async (core) => {
    const ids = await enrolLab(core, lab);
    writeSettings(core.requireWorkspace().db, { auditConcurrency: FORKS });
    await auditOrThrow(core, { refresh: true }, 'warm-up audit');
    const lines: string[] = [];
    const original = SshSession.prototype.run;
    SshSession.prototype.run = function (this: SshSession, command, options) {
      lines.push(this.commandLine(command, options ?? {}).line);
      return original.call(this, command, options);
    };
    try {
      const one = await core.call('audits.start', { hostIds: [ids.get(lab.hosts[0]!.name)!] });
      await waitForTask(core, one.taskId);
    } finally {
      SshSession.prototype.run = original;
    }
    return { ws, configDir, lines };
  });
}

/**
 * Times the floor baseline: `parallel-ssh -p FORKS` running `remote` on every host, as the lab's
 * admin with the lab's key, host keys checked strictly against the lab's known_hosts, each host's
 * stdout and stderr captured to files under `dir` (as Patchdeck captures them). pssh starts one
 * `ssh` per host (a fresh connection and key exchange each, no ControlMaster) and passes each
 * argument to ssh as is (no shell); -X gives ssh one argument each. Returns the timing and how
 * many hosts pssh reported as `[SUCCESS]` (exit status 0).
 */
export async function timePssh(
  lab: LabInventory,
  hosts: LabInventory['hosts'],
  remote: string,
  dir: string,
): Promise<Awaited<ReturnType<typeof timeCommand>> & { succeeded: number }> {
  const admin = lab.hosts[0]!.users.find((u) => u.sudo === 'nopasswd')!;
  const out = fs.mkdtempSync(path.join(dir, 'pssh-'));
  const hostsFile = path.join(out, 'hosts');
  fs.writeFileSync(hostsFile, hosts.map((h) => `${h.address}\n`).join(''));
  const sshOptions = [
    `UserKnownHostsFile=${lab.knownHostsFile}`,
    'StrictHostKeyChecking=yes',
    'IdentitiesOnly=yes',
    'BatchMode=yes',
    // Explicit, whatever ~/.ssh/config says: a fresh connection per host, like Patchdeck's.
    'ControlMaster=no',
    'ControlPath=none',
  ];
  const result = await timeCommand('parallel-ssh', [
    '-h',
    hostsFile,
    '-l',
    admin.name,
    '-p',
    String(FORKS),
    '-t',
    '300',
    '-o',
    path.join(out, 'stdout'),
    '-e',
    path.join(out, 'stderr'),
    '-X',
    '-i',
    '-X',
    lab.keyFile,
    ...sshOptions.flatMap((o) => ['-O', o]),
    remote,
  ]);
  const succeeded = (result.stdout.match(/^\[\d+\] [\d:]+ \[SUCCESS\] /gm) ?? []).length;
  const captured = hosts.filter((h) => {
    try {
      return fs.statSync(path.join(out, 'stdout', h.address)).size > 0;
    } catch {
      return false;
    }
  }).length;
  fs.rmSync(out, { recursive: true, force: true });
  return { ...result, succeeded: Math.min(succeeded, captured) };
}

interface SizeResult {
  size: number;
  rounds: number;
  baselineRounds: number;
  commands: number;
  bytes: number;
  pd: { wall: number; cpu: number };
  pssh: { wall: number; cpu: number };
  /** Null when Ansible was not run at this size (--ansible-max-hosts). */
  ansible: { wall: number; cpu: number } | null;
}

async function measureSize(
  lab: LabInventory,
  size: number,
  rounds: number,
  baselineRounds: number,
  withAnsible: boolean,
  cli: string,
  cpuProf: string | undefined,
): Promise<SizeResult> {
  const subset: LabInventory = { ...lab, hosts: lab.hosts.slice(0, size) };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-bench-audit-'));
  try {
    const { ws, configDir, lines } = await prepare(subset, dir);
    const env = { ...process.env, PATCHDECK_CONFIG_DIR: configDir };
    const inventory = path.join(dir, 'hosts.ini');
    writeAnsibleInventory(subset, inventory);
    const remote = lines.join(' ; ');
    const samples = {
      pd: { wall: [] as number[], cpu: [] as number[] },
      pssh: { wall: [] as number[], cpu: [] as number[] },
      ansible: { wall: [] as number[], cpu: [] as number[] },
    };
    const profArgs = cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : [];
    for (let round = 0; round < rounds; round++) {
      assertLabRoute(subset);
      if (round < baselineRounds) {
        const ps = await timePssh(subset, subset.hosts, remote, dir);
        if (ps.succeeded !== size)
          throw new Error(
            `parallel-ssh succeeded on ${ps.succeeded}/${size} hosts in round ${round}: ${ps.stdout.slice(0, 500)}`,
          );
        samples.pssh.wall.push(ps.wallMs);
        samples.pssh.cpu.push(ps.cpuMs);
      }
      const pd = await timeCommand(process.execPath, [...profArgs, cli, '-w', ws, '--json', 'audit'], {
        env,
      });
      if (pd.code !== 0)
        throw new Error(`patchdeck audit failed in round ${round}: ${pd.stderr.slice(0, 300)}`);
      const audited = JSON.parse(pd.stdout) as { audit: { status: string } | null }[];
      if (audited.length !== size || audited.some((a) => a.audit?.status !== 'succeeded'))
        throw new Error(`not every host audited in round ${round}`);
      samples.pd.wall.push(pd.wallMs);
      samples.pd.cpu.push(pd.cpuMs);
      if (round < baselineRounds && withAnsible) {
        const an = await timeAnsibleRaw(inventory, remote, dir);
        if (an.code !== 0) throw new Error(`ansible failed in round ${round}: ${an.stdout.slice(0, 500)}`);
        if (an.changed !== size) throw new Error(`ansible reached ${an.changed}/${size} hosts`);
        samples.ansible.wall.push(an.wallMs);
        samples.ansible.cpu.push(an.cpuMs);
      }
      assertLabRoute(subset);
    }
    const m = (k: keyof typeof samples) => ({ wall: median(samples[k].wall), cpu: median(samples[k].cpu) });
    return {
      size,
      rounds,
      baselineRounds,
      commands: lines.length,
      bytes: remote.length,
      pd: m('pd'),
      pssh: m('pssh'),
      ansible: samples.ansible.wall.length ? m('ansible') : null,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function printSize(r: SizeResult): void {
  const per = (ms: number) => formatMs(ms / r.size);
  const line = (name: string, v: { wall: number; cpu: number }) =>
    console.log(
      `  ${name.padEnd(22)} wall ${formatMs(v.wall).padStart(8)}  per host ${per(v.wall).padStart(7)}  cpu ${formatMs(v.cpu)}`,
    );
  console.log(
    `\nAudit benchmark: ${r.size} lab hosts, medians of ${r.rounds} rounds (baselines: ${r.baselineRounds}), ${FORKS} at a time on every side`,
  );
  console.log(`  remote command line per host: ${r.commands} commands joined by ' ; ' (${r.bytes} bytes)`);
  line(`parallel-ssh -p ${FORKS}`, r.pssh);
  if (r.ansible) line(`Ansible raw -f ${FORKS}`, r.ansible);
  else console.log(`  Ansible raw -f ${FORKS}      not run at this size (--ansible-max-hosts)`);
  line('patchdeck audit', r.pd);
  console.log(
    `  ratio wall: ÷ pssh ${ratio(r.pd.wall, r.pssh.wall)} (goal ≤ 1.1 at 20 hosts)` +
      (r.ansible ? `   ÷ Ansible ${ratio(r.pd.wall, r.ansible.wall)} (goal ≤ 0.70 at 20 hosts)` : ''),
  );
}

export async function main(args: string[]): Promise<BenchRow[]> {
  const sizes = intListOption(args, 'hosts', [20, 50, 200]);
  const rounds = intOption(args, 'rounds', 3);
  // The goals are at 20 hosts; above 20 the baselines (informative there) run this many rounds.
  const largeBaselineRounds = Math.min(rounds, intOption(args, 'baseline-rounds-large', 1));
  const ansibleMax = intOption(args, 'ansible-max-hosts', Number.MAX_SAFE_INTEGER);
  const cpuProf = textOption(args, 'cpu-prof');
  if (cpuProf) fs.mkdirSync(cpuProf, { recursive: true });
  const cli = bundledCli();
  // One lab of the largest size; a smaller size audits its first N hosts (same hosts every round).
  const lab = await labUp({ hosts: Math.max(...sizes), profile: 'clean' });
  assertLabRoute(lab);
  console.log(
    'Each side opens one fresh SSH connection per host (full key exchange and public-key login each time):\n' +
      '  parallel-ssh runs one OpenSSH client process per host, ControlMaster off, the whole command line in one exec;\n' +
      '  Ansible raw runs OpenSSH per host (its ControlPersist socket is new each run: one connection per host);\n' +
      "  patchdeck audit is one Node process with ssh2, one connection per host, the audit's commands as exec channels\n" +
      '  on it, then parses the output and stores the findings in SQLite (included in its wall time).',
  );
  const results: SizeResult[] = [];
  for (const size of sizes) {
    const r = await measureSize(
      lab,
      size,
      rounds,
      size > 20 ? largeBaselineRounds : rounds,
      size <= ansibleMax,
      cli,
      cpuProf,
    );
    printSize(r);
    results.push(r);
  }
  const rows: BenchRow[] = [];
  for (const r of results) {
    const note = `${r.rounds} rounds (baselines ${r.baselineRounds}), medians, ${FORKS} at a time`;
    const goals = r.size === 20;
    rows.push({
      benchmark: `audit ${r.size} hosts, wall (CLI, parsing and storing included)`,
      baseline: `parallel-ssh -p ${FORKS}, same commands: ${formatMs(r.pssh.wall)}`,
      patchdeck: formatMs(r.pd.wall),
      ratio: r.pd.wall / r.pssh.wall,
      goal: goals ? { of: 'ratio', max: 1.1 } : null,
      note,
    });
    if (r.ansible || goals)
      rows.push({
        benchmark: `audit ${r.size} hosts, wall`,
        baseline: r.ansible
          ? `Ansible raw -f ${FORKS}, same commands: ${formatMs(r.ansible.wall)}`
          : `Ansible raw -f ${FORKS}: not run (--ansible-max-hosts)`,
        patchdeck: formatMs(r.pd.wall),
        ...(r.ansible ? { ratio: r.pd.wall / r.ansible.wall } : {}),
        goal: goals ? { of: 'ratio', max: 0.7 } : null,
        note,
      });
  }
  const at = (n: number) => results.find((r) => r.size === n);
  const base = at(50);
  if (base) {
    const per = (r: SizeResult) => r.pd.wall / r.size;
    for (const [n, goal] of [
      [200, { of: 'ratio', max: 1.1 }],
      [20, null],
    ] as const) {
      const r = at(n);
      if (!r) continue;
      rows.push({
        benchmark: `audit wall per host, ${n} ÷ 50 hosts`,
        baseline: `50 hosts: ${formatMs(per(base))} per host`,
        patchdeck: `${n} hosts: ${formatMs(per(r))} per host`,
        ratio: per(r) / per(base),
        goal,
        note: `patchdeck audit's wall ÷ hosts, ${FORKS} at a time`,
      });
    }
  }
  return rows;
}
