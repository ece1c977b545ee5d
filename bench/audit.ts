/**
 * Audit benchmark on the lab: Patchdeck's `patchdeck audit` of N hosts vs Ansible running the
 * very same remote commands (`ansible all -f 20 -m raw -a '<the commands one audit runs>'`).
 * Medians of wall time and of the controller's CPU (the whole process tree), and the ratios.
 * Usage: npm run bench -- audit [--hosts=20,50] [--rounds=5]
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
  timeAnsibleRaw,
  timeCommand,
  withCore,
  writeAnsibleInventory,
} from './support';

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

export async function main(args: string[]): Promise<void> {
  const sizes = intListOption(args, 'hosts', [20, 50]);
  const rounds = intOption(args, 'rounds', 5);
  const cli = bundledCli();
  for (const size of sizes) {
    const lab = await labUp({ hosts: size, profile: 'clean' });
    assertLabRoute(lab);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-bench-audit-'));
    const { ws, configDir, lines } = await prepare(lab, dir);
    const env = { ...process.env, PATCHDECK_CONFIG_DIR: configDir };
    const inventory = path.join(dir, 'hosts.ini');
    writeAnsibleInventory(lab, inventory);
    const remote = lines.join(' ; ');
    const results = {
      pd: { wall: [] as number[], cpu: [] as number[] },
      ansible: { wall: [] as number[], cpu: [] as number[] },
    };
    for (let round = 0; round < rounds; round++) {
      assertLabRoute(lab);
      const pd = await timeCommand(process.execPath, [cli, '-w', ws, '--json', 'audit'], { env });
      if (pd.code !== 0)
        throw new Error(`patchdeck audit failed in round ${round}: ${pd.stderr.slice(0, 300)}`);
      const audited = JSON.parse(pd.stdout) as { audit: { status: string } | null }[];
      if (audited.length !== size || audited.some((a) => a.audit?.status !== 'succeeded'))
        throw new Error('not every host audited');
      results.pd.wall.push(pd.wallMs);
      results.pd.cpu.push(pd.cpuMs);
      const an = await timeAnsibleRaw(inventory, remote, dir);
      if (an.code !== 0) throw new Error(`ansible failed in round ${round}: ${an.stdout.slice(0, 500)}`);
      if (an.changed !== size) throw new Error(`ansible reached ${an.changed}/${size} hosts`);
      results.ansible.wall.push(an.wallMs);
      results.ansible.cpu.push(an.cpuMs);
      assertLabRoute(lab);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    const m = (k: 'pd' | 'ansible', f: 'wall' | 'cpu') => median(results[k][f]);
    console.log(
      `\nAudit benchmark: ${size} lab hosts, ${rounds} rounds, medians (Patchdeck concurrency ${FORKS}, Ansible -f ${FORKS} -m raw)`,
    );
    console.log(`  remote commands per host: ${lines.length} (${remote.length} bytes)`);
    console.log(
      `  Ansible raw        wall ${formatMs(m('ansible', 'wall'))}  cpu ${formatMs(m('ansible', 'cpu'))}`,
    );
    console.log(`  patchdeck audit    wall ${formatMs(m('pd', 'wall'))}  cpu ${formatMs(m('pd', 'cpu'))}`);
    console.log(
      `  ratio wall ${ratio(m('pd', 'wall'), m('ansible', 'wall'))} (goal ≤ 0.70)   ratio cpu ${ratio(m('pd', 'cpu'), m('ansible', 'cpu'))} (goal ≤ 0.50)`,
    );
  }
}
