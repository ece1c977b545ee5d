import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execOnHost, labStatus, labUp, resetHost, startHost, type LabInventory } from '../lab';
import { describeAsRoot } from '../lab/testkit';
import { assertLabRoute, createTestCore, enrolLab, waitForTask } from './support';

/**
 * Found by the crash loop (bench/crash-loop.ts): a CLI patch process killed while the install ran.
 * The install is detached on the host, so it finishes without Patchdeck; before this fix, resume's
 * re-audit saw nothing left to install and marked the step succeeded with no after-versions, no
 * undo recipe, and no reboot although the policy asked for one. Checked against dpkg on the host.
 */
const ROOT = path.resolve(__dirname, '../..');

describeAsRoot('resume after a SIGKILL during the install', () => {
  let lab: LabInventory;
  let env: Awaited<ReturnType<typeof createTestCore>>;

  beforeAll(async () => {
    lab = await labUp({ hosts: 2, profile: 'security' });
    lab = labStatus();
    assertLabRoute(lab);
  });
  afterAll(async () => {
    await env?.close();
  });

  it('records the before/after versions and undo recipe of the install that finished alone, and reboots as the policy says', async () => {
    const host = lab.hosts[0]!;
    await resetHost(host.name);
    // The lab has no `reboot`: this one powers the namespace host off; the loop below powers it on.
    await execOnHost(host.name, [
      'sh',
      '-c',
      "printf '#!/bin/sh\\nkill -TERM 1\\n' > /usr/sbin/reboot && chmod 755 /usr/sbin/reboot",
    ]);
    let supervising = true;
    const supervisor = (async () => {
      while (supervising) {
        if (labStatus().hosts.find((h) => h.name === host.name)?.state === 'stopped')
          await startHost(host.name).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    try {
      env = await createTestCore();
      const ids = await enrolLab(env.core, lab, [host]);
      const { taskId } = await env.core.call('audits.start', {});
      expect((await waitForTask(env.core, taskId)).status).toBe('succeeded');
      const ws = env.core.requireWorkspace().path;
      await env.core.closeWorkspace();

      const child = spawn(
        process.execPath,
        [
          path.join(ROOT, 'bin/patchdeck.mjs'),
          '-w',
          ws,
          'patch',
          host.name,
          '--packages',
          'acme-tool,acme-firmware',
          '--reboot',
          'if-required',
          '--yes',
        ],
        { env: { ...process.env, PATCHDECK_CONFIG_DIR: path.join(env.dir, 'config'), NO_COLOR: '1' } },
      );
      let seen = '';
      let killed = false;
      const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
      child.stderr.on('data', (d: Buffer) => {
        seen += d.toString();
        if (!killed && /Unpacking/.test(seen)) {
          killed = true;
          child.kill('SIGKILL');
        }
      });
      await exited;
      expect(killed, seen).toBe(true);

      // The detached install carries on without Patchdeck; wait for dpkg to finish.
      const dpkg = async () =>
        (
          await execOnHost(host.name, [
            'dpkg-query',
            '-W',
            '-f',
            '${Package}=${Version} ${db:Status-Abbrev}\\n',
            'acme-tool',
            'acme-firmware',
          ])
        ).stdout
          .trim()
          .split('\n')
          .map((l) => l.trimEnd())
          .sort();
      for (let i = 0; i < 600; i++) {
        const r = await execOnHost(host.name, ['sh', '-c', 'cat /proc/[0-9]*/comm 2>/dev/null'], [0, 1]);
        if (!/^(apt-get|dpkg)$/m.test(r.stdout)) break;
        await new Promise((r2) => setTimeout(r2, 100));
      }
      const tool = host.pending.find((p) => p.name === 'acme-tool')!;
      const firmware = host.pending.find((p) => p.name === 'acme-firmware')!;
      expect(await dpkg()).toEqual([
        `acme-firmware=${firmware.available} ii`,
        `acme-tool=${tool.available} ii`,
      ]);

      await env.core.openWorkspace(ws);
      const [job] = await env.core.call('jobs.list', {});
      expect(job!.status).toBe('interrupted');
      const resumed = await env.core.call('jobs.resume', { id: job!.id });
      if (resumed.taskId) await waitForTask(env.core, resumed.taskId);
      const detail = await env.core.call('jobs.get', { id: job!.id });
      expect(detail.job.status, JSON.stringify(detail.steps.map((s) => s.errorMessage))).toBe('succeeded');
      const step = detail.steps.find((s) => s.hostId === ids.get(host.name))!;
      expect(step.status).toBe('succeeded');
      // What the workspace records is what dpkg says, before and after.
      expect(step.before).toMatchObject({ 'acme-tool': tool.installed, 'acme-firmware': firmware.installed });
      expect(step.after).toMatchObject({ 'acme-tool': tool.available, 'acme-firmware': firmware.available });
      expect(step.undoRecipe).toContain(`acme-tool=${tool.installed}`);
      expect(step.undoRecipe).toContain(`acme-firmware=${firmware.installed}`);
      // acme-firmware asks for a reboot and the policy is if-required: the host was rebooted.
      const texts = detail.log.map((e) => e.text);
      expect(texts).toContain('the host is back after its reboot');
      expect(
        (await execOnHost(host.name, ['sh', '-c', 'test -e /run/reboot-required && echo yes || echo no']))
          .stdout,
      ).toBe('no\n');
      expect(await dpkg()).toEqual([
        `acme-firmware=${firmware.available} ii`,
        `acme-tool=${tool.available} ii`,
      ]);
    } finally {
      supervising = false;
      await supervisor;
    }
  });
});
