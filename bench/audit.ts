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
import { Core } from '../src/core';
import { createNodePlatform } from '../src/platform';
import { SshSession } from '../src/remote/ssh';
import { writeSettings } from '../src/db';
import { bundledCli, formatMs, median, ratio, timeCommand } from './util';

const FORKS = 20;

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
  const core = new Core({ platform: createNodePlatform({ configDir, useKeychain: false }), carrier: 'test' });
  await core.openWorkspace(ws, { create: 'if-missing' });
  try {
    const ids = await enrolLab(core, lab);
    writeSettings(core.requireWorkspace().db, { auditConcurrency: FORKS });
    const warm = await core.call('audits.start', { refresh: true });
    await waitForTask(core, warm.taskId);
    const failed = (await core.call('audits.latest', {})).filter((a) => a.status !== 'succeeded');
    if (failed.length)
      throw new Error(`warm-up audit failed on ${failed.length} hosts: ${failed[0]!.errorMessage}`);
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
  } finally {
    await core.closeWorkspace();
  }
}

export async function main(args: string[]): Promise<void> {
  const sizes = (args.find((a) => a.startsWith('--hosts='))?.split('=')[1] ?? '20,50').split(',').map(Number);
  const rounds = Number(args.find((a) => a.startsWith('--rounds='))?.split('=')[1] ?? 5);
  const cli = bundledCli();
  for (const size of sizes) {
    const lab = await labUp({ hosts: size, profile: 'clean' });
    assertLabRoute(lab);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-bench-audit-'));
    const { ws, configDir, lines } = await prepare(lab, dir);
    const env = { ...process.env, PATCHDECK_CONFIG_DIR: configDir };
    const inventory = path.join(dir, 'hosts.ini');
    const admin = lab.hosts[0]!.users.find((u) => u.sudo === 'nopasswd')!;
    fs.writeFileSync(
      inventory,
      `[lab]\n${lab.hosts.map((h) => `${h.name} ansible_host=${h.address}`).join('\n')}\n\n[lab:vars]\nansible_user=${admin.name}\nansible_ssh_private_key_file=${lab.keyFile}\nansible_ssh_common_args='-o UserKnownHostsFile=${lab.knownHostsFile} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes'\n`,
    );
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
      const controlDir = fs.mkdtempSync(path.join(dir, 'cp-'));
      const an = await timeCommand(
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
      if (an.code !== 0) throw new Error(`ansible failed in round ${round}: ${an.stdout.slice(0, 500)}`);
      const changed = (an.stdout.match(/\| CHANGED \| rc=0/g) ?? []).length;
      if (changed !== size) throw new Error(`ansible reached ${changed}/${size} hosts`);
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
