/**
 * Patch benchmark on the lab: `patchdeck patch --packages acme-tool --yes` on N fresh hosts
 * (plan + dry run + approval + pre-checks + install + verification by installed versions, then the
 * audit that refreshes the findings) vs Ansible running the same install command
 * (`ansible all -f 20 -m raw -a '<the apt-get install Patchdeck runs>'`), alternating, fresh hosts
 * each time. Patchdeck's figure is the time from starting the CLI to the job's verdict committed
 * (every host verified); the whole CLI run, the findings' refresh included, is printed beside it.
 * Each host counts its apt-get runs (test/lab/apt-count.ts), for both sides.
 * Medians of wall time and of the controller's CPU (whole process tree), and the ratios.
 * Usage: npm run bench -- patch [--hosts=20] [--rounds=5] [--trace] [--cli=PATH] [--compare=PATH]
 * (--cli: measure another build's bundle instead of this one; --compare: also measure it, A/B, every round)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { labStatus, labUp, resetHost, type LabInventory } from '../test/lab';
import { aptGetRuns, countAptGet } from '../test/lab/apt-count';
import { assertLabRoute, enrolLab } from '../test/integration/support';
import { installCommand, installEnv } from '../src/patch';
import {
  auditOrThrow,
  bundledCli,
  FORKS,
  formatMs,
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

const PACKAGE = 'acme-tool';

/** `npm run bench` (no argument): the issue's size, 20 hosts, three rounds (about 1 min here). */
export const modest: string[][] = [['--hosts=20', '--rounds=3']];

/** Starts counting apt-get runs on every host (after the untimed audit: only the timed run counts). */
async function countRuns(lab: LabInventory): Promise<void> {
  for (const h of lab.hosts) await countAptGet(h.name);
}

/** apt-get runs per host since countRuns, by kind, averaged over the hosts. */
async function runsPerHost(lab: LabInventory): Promise<{ total: number; kinds: Record<string, number> }> {
  const kinds: Record<string, number> = {};
  let total = 0;
  for (const h of lab.hosts) {
    for (const line of await aptGetRuns(h.name)) {
      const kind = /(^| )-s( |$)/.test(line)
        ? /dist-upgrade/.test(line)
          ? 'audit simulation'
          : 'dry run'
        : /(^| )install( |$)/.test(line)
          ? 'install'
          : 'other';
      kinds[kind] = (kinds[kind] ?? 0) + 1;
      total++;
    }
  }
  const n = lab.hosts.length;
  return { total: total / n, kinds: Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, v / n])) };
}

const describeRuns = (r: { total: number; kinds: Record<string, number> }): string =>
  `${r.total.toFixed(r.total % 1 ? 2 : 0)} (${Object.entries(r.kinds)
    .map(([k, v]) => `${k} ${v.toFixed(v % 1 ? 2 : 0)}`)
    .join(', ')})`;

async function freshHosts(lab: LabInventory): Promise<void> {
  for (const h of lab.hosts) await resetHost(h.name);
}

/** Audits every host into the workspace (untimed: a patch plan starts from the newest audit). */
async function audit(ws: string, configDir: string, lab: LabInventory, enrol: boolean): Promise<void> {
  await withCore(ws, configDir, async (core) => {
    if (enrol) await enrolLab(core, lab);
    await auditOrThrow(core);
  });
}

/** CPU time (all cores, every process on the machine) spent so far, from /proc/stat (USER_HZ = 100). */
function machineCpuMs(): number {
  const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const busy = cpu.reduce((a, b) => a + b, 0) - (cpu[3] ?? 0) - (cpu[4] ?? 0);
  return busy * 10;
}

/** With --trace: per-phase medians/max over hosts from PATCHDECK_TRACE=1 lines (see src/patch/trace.ts). */
function traceSummary(stderr: string): string {
  const phases = new Map<string, number[]>();
  const marks: string[] = [];
  for (const line of stderr.split('\n')) {
    const m = /^\[trace\]\s+(\d+) (\S+) (\S+)(?: (\d+))?$/.exec(line);
    if (!m) continue;
    if (m[2] === 'cli') marks.push(`${m[3]}@${m[1]}`);
    if (m[4] === undefined) {
      if (m[2] !== 'cli') phases.set(`${m[3]}@t`, [...(phases.get(`${m[3]}@t`) ?? []), Number(m[1])]);
      continue;
    }
    phases.set(m[3]!, [...(phases.get(m[3]!) ?? []), Number(m[4])]);
  }
  const rows = [...phases].map(
    ([k, v]) =>
      `    ${k.padEnd(22)} n=${v.length} median ${median(v).toFixed(0)} ms  max ${Math.max(...v).toFixed(0)} ms`,
  );
  return [`    cli marks (ms since start): ${marks.join(' ')}`, ...rows].join('\n');
}

export async function main(args: string[]): Promise<BenchRow[]> {
  const size = intOption(args, 'hosts', 20);
  const rounds = intOption(args, 'rounds', 5);
  const trace = args.includes('--trace');
  // The bundled CLI (see bundledCli). --cli=PATH measures another build of the CLI (e.g. an older
  // commit's bundle) on the same lab.
  const otherCli = textOption(args, 'cli');
  const cli = otherCli ? path.resolve(otherCli) : bundledCli();
  let lab = await labUp({ hosts: size, profile: 'security' });
  assertLabRoute(lab);
  lab = labStatus();
  const pending = lab.hosts[0]!.pending.find((p) => p.name === PACKAGE)!;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-bench-patch-'));
  const configDir = path.join(dir, 'config');
  const ws = path.join(dir, 'ws.sqlite');
  const env = {
    ...process.env,
    PATCHDECK_CONFIG_DIR: configDir,
    ...(trace ? { PATCHDECK_TRACE: '1' } : {}),
  };
  const inventory = path.join(dir, 'hosts.ini');
  writeAnsibleInventory(lab, inventory);
  // Exactly the install Patchdeck runs (same options, same env), wrapped in sudo like Patchdeck's session does.
  const install = installCommand(
    'apt',
    [{ name: PACKAGE, arch: 'all', from: pending.installed, to: pending.available, security: true }],
    { lockWaitSeconds: 60 },
  );
  const envWords = Object.entries(installEnv('apt'))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const remote = `sudo -n env LC_ALL=C ${envWords} ${install}`;
  const results = {
    pd: { wall: [] as number[], cpu: [] as number[], verdict: [] as number[] },
    ansible: { wall: [] as number[], cpu: [] as number[] },
  };
  let pdRuns: { total: number; kinds: Record<string, number> } | null = null;
  let ansibleRuns: { total: number; kinds: Record<string, number> } | null = null;
  let verifiedHosts = 0;
  // --compare=PATH: every round also patches fresh hosts with another build (order alternating), for an A/B on the same lab.
  const compare = textOption(args, 'compare');
  const other = { wall: [] as number[], cpu: [] as number[] };
  const runPatchdeck = async (
    which: string,
    round: number,
  ): Promise<{ wallMs: number; cpuMs: number; verdictMs: number }> => {
    await freshHosts(lab);
    await audit(ws, configDir, lab, round === 0 && which === cli);
    if (which === cli) await countRuns(lab);
    assertLabRoute(lab);
    const cpu0 = machineCpuMs();
    const startedAt = Date.now();
    const pd = await timeCommand(
      process.execPath,
      [
        which,
        '-w',
        ws,
        '--json',
        'patch',
        '--packages',
        PACKAGE,
        '--reboot',
        'never',
        '--concurrency',
        String(FORKS),
        '--yes',
      ],
      { env },
    );
    if (pd.code !== 0)
      throw new Error(
        `patchdeck patch failed in round ${round}: ${pd.stderr.slice(0, 500)} ${pd.stdout.slice(0, 500)}`,
      );
    const detail = JSON.parse(pd.stdout) as {
      job: { status: string; finishedAt: string | null };
      steps: { status: string; verifyAuditId: number | null }[];
    };
    if (
      detail.job.status !== 'succeeded' ||
      detail.steps.length !== size ||
      detail.steps.some((s) => s.status !== 'succeeded' || !s.verifyAuditId)
    ) {
      throw new Error(`patchdeck did not patch, verify and refresh every host in round ${round}`);
    }
    verifiedHosts += detail.steps.length;
    if (which === cli) pdRuns = await runsPerHost(lab);
    // The job's verdict (every host verified) is committed at finishedAt; the CLI then waits for
    // the audit that refreshes the findings, which the whole run's wall includes.
    const verdictMs = Date.parse(detail.job.finishedAt ?? '') - startedAt;
    if (!Number.isFinite(verdictMs)) throw new Error(`the job has no finish time in round ${round}`);
    if (trace)
      console.log(
        `  round ${round}: ${which === cli ? 'patchdeck' : 'compared build'} wall ${pd.wallMs.toFixed(0)} ms cpu ${pd.cpuMs.toFixed(0)} ms, whole machine busy ${(machineCpuMs() - cpu0).toFixed(0)} ms\n${traceSummary(pd.stderr)}`,
      );
    return { ...pd, verdictMs };
  };
  for (let round = 0; round < rounds; round++) {
    if (compare && round % 2 === 1) {
      const o = await runPatchdeck(path.resolve(compare), round);
      other.wall.push(o.wallMs);
      other.cpu.push(o.cpuMs);
    }
    const pd = await runPatchdeck(cli, round);
    results.pd.wall.push(pd.wallMs);
    results.pd.cpu.push(pd.cpuMs);
    results.pd.verdict.push(pd.verdictMs);
    if (compare && round % 2 === 0) {
      const o = await runPatchdeck(path.resolve(compare), round);
      other.wall.push(o.wallMs);
      other.cpu.push(o.cpuMs);
    }

    await freshHosts(lab);
    await countRuns(lab);
    assertLabRoute(lab);
    const acpu0 = machineCpuMs();
    const an = await timeAnsibleRaw(inventory, remote, dir);
    ansibleRuns = await runsPerHost(lab);
    if (an.code !== 0 || an.changed !== size)
      throw new Error(
        `ansible patched ${an.changed}/${size} hosts in round ${round}: ${an.stdout.slice(0, 500)}`,
      );
    if (trace)
      console.log(
        `  round ${round}: ansible wall ${an.wallMs.toFixed(0)} ms cpu ${an.cpuMs.toFixed(0)} ms, whole machine busy ${(machineCpuMs() - acpu0).toFixed(0)} ms`,
      );
    results.ansible.wall.push(an.wallMs);
    results.ansible.cpu.push(an.cpuMs);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  const m = (k: 'pd' | 'ansible', f: 'wall' | 'cpu') => median(results[k][f]);
  const verdict = median(results.pd.verdict);
  const ansibleWall = m('ansible', 'wall');
  const runsLine = `apt-get runs per host: Patchdeck ${pdRuns ? describeRuns(pdRuns) : '?'}, Ansible ${ansibleRuns ? describeRuns(ansibleRuns) : '?'}`;
  console.log(
    `\nPatch benchmark: ${PACKAGE} ${pending.installed} → ${pending.available} on ${size} fresh lab hosts, ${rounds} rounds, medians`,
  );
  console.log(
    `  Ansible raw (install only, -f ${FORKS})                          wall ${formatMs(ansibleWall)}  cpu ${formatMs(m('ansible', 'cpu'))}`,
  );
  console.log(
    `  patchdeck patch, start → job verdict (plan+dry run+install+verify) wall ${formatMs(verdict)}`,
  );
  console.log(
    `  patchdeck patch, whole CLI run (+ the findings' refresh audit)     wall ${formatMs(m('pd', 'wall'))}  cpu ${formatMs(m('pd', 'cpu'))}`,
  );
  console.log(
    `  verified by installed versions, then refreshed by an audit: ${verifiedHosts}/${size * rounds * (compare ? 2 : 1)} host runs`,
  );
  console.log(`  ratio wall to the verdict ${ratio(verdict, ansibleWall)} (goal ≤ 0.80)   ${runsLine}`);
  console.log(
    `  ratio whole run ${ratio(m('pd', 'wall'), ansibleWall)}   ratio cpu ${ratio(m('pd', 'cpu'), m('ansible', 'cpu'))} (goal ≤ 0.50)`,
  );
  if (compare)
    console.log(
      `  compared build ${compare}: wall ${formatMs(median(other.wall))}  cpu ${formatMs(median(other.cpu))}  ratio wall ${ratio(median(other.wall), ansibleWall)}  (this build / compared: wall ${ratio(m('pd', 'wall'), median(other.wall))}, cpu ${ratio(m('pd', 'cpu'), median(other.cpu))}); raw ${other.wall.map((x) => x.toFixed(0)).join(',')} ms`,
    );
  console.log(
    `  raw: patchdeck verdict ${results.pd.verdict.map((x) => x.toFixed(0)).join(',')} ms, whole run ${results.pd.wall.map((x) => x.toFixed(0)).join(',')} ms; ansible wall ${results.ansible.wall.map((x) => x.toFixed(0)).join(',')} ms`,
  );
  const baseline = `Ansible raw \`apt-get install\` -f ${FORKS}: ${formatMs(ansibleWall)}`;
  const note = `${size} fresh hosts, ${rounds} rounds, medians; ${runsLine}`;
  return [
    {
      benchmark: `patch 1 package on ${size} hosts, wall to the verified verdict`,
      baseline,
      patchdeck: `${formatMs(verdict)} (plan, dry run, install, verification)`,
      ratio: verdict / ansibleWall,
      goal: { of: 'ratio', max: 0.8 },
      note,
    },
    {
      benchmark: `patch ${size} hosts, apt-get runs per host`,
      baseline: `Ansible ${ansibleRuns ? describeRuns(ansibleRuns) : '?'}`,
      patchdeck: pdRuns ? describeRuns(pdRuns) : '?',
      goal: null,
    },
    {
      benchmark: `patch ${size} hosts, whole CLI run incl. the findings' refresh audit`,
      baseline,
      patchdeck: formatMs(m('pd', 'wall')),
      ratio: m('pd', 'wall') / ansibleWall,
      goal: null,
    },
    {
      benchmark: `patch ${size} hosts, controller CPU`,
      baseline: `Ansible raw: ${formatMs(m('ansible', 'cpu'))}`,
      patchdeck: formatMs(m('pd', 'cpu')),
      ratio: m('pd', 'cpu') / m('ansible', 'cpu'),
      goal: { of: 'ratio', max: 0.5 },
    },
  ];
}
