import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execOnHost, labStatus, labUp, resetHost, uncutHost, type LabHost, type LabInventory } from '../lab';
import { readState } from '../lab/state';
import { describeAsRoot } from '../lab/testkit';
import { listAuditLog } from '../../src/db';
import type { JobStep, PatchJob } from '../../src/api/schemas';
import { createTestCore, enrolLab, waitForTask } from './support';

/**
 * Reboots under the README tour's default settings (reboot "if required") on every kind of lab
 * host, the "installed, reboot pending" outcome, Reboot now, a failed reboot and its re-run, and
 * reboots outside a patch job. Checked against each host's own reboot state through a fresh audit,
 * never against what Patchdeck says it did alone.
 */
// mixed, 7 hosts: lab01 several, lab02 security, lab03 patched, lab04 interrupted, lab05 reboot
// (a reboot pending, nothing else), lab06 zypper, lab07 dnf.
const LAB_SIZE = 7;
const CLI = path.resolve(__dirname, '../../src/cli/index.ts');

type Env = Awaited<ReturnType<typeof createTestCore>>;
type Detail = { job: PatchJob; steps: JobStep[]; log: { stepId: number | null; text: string }[] };

describeAsRoot('reboots', () => {
  let lab: LabInventory;
  let env: Env;
  let ids: Map<string, number>;
  const byProfile = (profile: string): LabHost => lab.hosts.find((h) => h.profile === profile)!;
  const idOf = (h: LabHost): number => ids.get(h.name)!;

  async function audit(hosts: LabHost[], refresh = false): Promise<void> {
    const { taskId } = await env.core.call('audits.start', { hostIds: hosts.map(idOf), refresh });
    expect((await waitForTask(env.core, taskId)).status).toBe('succeeded');
  }
  const newestAudit = async (h: LabHost) => (await env.core.call('audits.forHost', { hostId: idOf(h) }))[0]!;

  /** Waits until the job has ended (it may be scheduled first) and returns its detail. */
  async function settled(jobId: number, timeoutMs = 120_000): Promise<Detail> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const detail = await env.core.call('jobs.get', { id: jobId });
      if (!['draft', 'approved', 'scheduled', 'running'].includes(detail.job.status)) return detail;
      if (Date.now() > end) throw new Error(`job ${jobId} still ${detail.job.status}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async function patch(
    hosts: LabHost[],
    selection: { mode: 'security' } | { mode: 'packages'; packages: string[] },
    rebootPolicy?: 'never' | 'if-required',
  ): Promise<Detail> {
    const { jobId, taskId } = await env.core.call('jobs.plan', {
      hostIds: hosts.map(idOf),
      selection,
      ...(rebootPolicy ? { rebootPolicy } : {}),
      options: { rebootTimeoutSeconds: 60 },
    });
    await waitForTask(env.core, taskId);
    await env.core.call('jobs.approve', { id: jobId });
    await env.core.call('jobs.start', { id: jobId });
    return settled(jobId);
  }

  /** The CLI over the test's workspace and secrets key (its own process, as an admin runs it). */
  function patchdeck(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', CLI, '--workspace', path.join(env.dir, 'ws.sqlite'), ...args],
        { env: { ...process.env, PATCHDECK_CONFIG_DIR: path.join(env.dir, 'config'), NO_COLOR: '1' } },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  const stepOf = (d: Detail, h: LabHost): JobStep => d.steps.find((s) => s.hostName === h.name)!;
  const texts = (d: Detail, step: JobStep): string[] =>
    d.log.filter((e) => e.stepId === step.id).map((e) => e.text);
  const why = (d: Detail): string =>
    JSON.stringify(d.steps.map((s) => [s.hostName, s.status, s.errorKind, s.errorMessage]));

  beforeAll(async () => {
    lab = await labUp({ hosts: LAB_SIZE, profile: 'mixed' });
    for (const host of lab.hosts) await resetHost(host.name);
    lab = labStatus();
    env = await createTestCore();
    ids = await enrolLab(env.core, lab);
    // A fresh dnf or zypper host has no cached metadata: the first audit refreshes it.
    await audit(lab.hosts, true);
  }, 300_000);
  afterAll(async () => {
    await env?.close();
  });

  it('the tour: security only with the default reboot setting reboots the apt, dnf and zypper hosts and ends green', async () => {
    const hosts = [byProfile('several'), byProfile('security'), byProfile('zypper'), byProfile('dnf')];
    const settings = await env.core.call('settings.get', {});
    expect(settings.rebootPolicy).toBe('if-required');
    const d = await patch(hosts, { mode: 'security' });
    expect(d.job.status, why(d)).toBe('succeeded');
    for (const h of hosts) {
      const step = stepOf(d, h);
      expect(step.status, `${h.name}: ${step.errorKind}: ${step.errorMessage}`).toBe('succeeded');
      expect(
        texts(d, step).some((t) => /back after its reboot/.test(t)),
        h.name,
      ).toBe(true);
      const verify = await newestAudit(h);
      expect(verify.id).toBe(step.verifyAuditId);
      expect(verify.rebootRequired, h.name).toBe(false);
    }
  }, 300_000);

  it('reboot "never": installed, reboot pending, never succeeded; Reboot now reboots it and verifies', async () => {
    const h = byProfile('dnf');
    await resetHost(h.name);
    await audit([h], true);
    const d = await patch([h], { mode: 'packages', packages: ['acme-firmware'] }, 'never');
    const step = stepOf(d, h);
    expect(step.status, `${step.errorKind}: ${step.errorMessage}`).toBe('reboot-pending');
    expect(d.job.counts.succeeded ?? 0).toBe(0);
    expect(d.job.message).toMatch(/1 host\(s\) wait for a reboot/);
    expect((await newestAudit(h)).rebootRequired).toBe(true);

    const rebooting = await env.core.call('jobs.reboot', { id: d.job.id, hostIds: [idOf(h)] });
    expect(rebooting.status).toBe('running');
    const after = await settled(d.job.id);
    const again = stepOf(after, h);
    expect(again.status, `${again.errorKind}: ${again.errorMessage}`).toBe('succeeded');
    expect(after.job.status).toBe('succeeded');
    expect(texts(after, again).some((t) => /back after its reboot/.test(t))).toBe(true);
    const verify = await newestAudit(h);
    expect(verify.id).toBe(again.verifyAuditId);
    expect(verify.rebootRequired).toBe(false);
    const log = listAuditLog(env.core.requireWorkspace().db, { entityType: 'patch_job' });
    expect(log.some((e) => e.action === 'job.reboot' && e.entityId === String(d.job.id))).toBe(true);
  }, 300_000);

  it('a failed reboot is re-audited at once, and Re-run failed hosts reboots it instead of calling it done', async () => {
    const h = byProfile('several');
    await resetHost(h.name);
    await audit([h]);
    const before = await newestAudit(h);
    // The host's reboot goes missing: Patchdeck's reboot command finds none.
    await execOnHost(h.name, ['mv', '/usr/sbin/reboot', '/usr/sbin/reboot.off']);
    const d = await patch([h], { mode: 'packages', packages: ['acme-firmware'] }, 'if-required');
    const step = stepOf(d, h);
    expect(step.status).toBe('failed');
    expect(step.errorKind).toBe('reboot-failed');
    expect(step.phase).toBe('reboot');
    // The re-audit after the failed reboot: the dashboard's counts come from it.
    const reaudit = await newestAudit(h);
    expect(reaudit.id).not.toBe(before.id);
    expect(step.verifyAuditId).toBe(reaudit.id);
    expect(reaudit.status).toBe('succeeded');
    expect(reaudit.rebootRequired).toBe(true);
    expect(reaudit.updatesCount).toBe(before.updatesCount - 1);

    await execOnHost(h.name, ['mv', '/usr/sbin/reboot.off', '/usr/sbin/reboot']);
    await env.core.call('jobs.rerunFailed', { id: d.job.id });
    const after = await settled(d.job.id);
    const again = stepOf(after, h);
    expect(again.status, `${again.errorKind}: ${again.errorMessage}`).toBe('succeeded');
    expect(texts(after, again).filter((t) => /back after its reboot/.test(t))).toHaveLength(1);
    expect((await newestAudit(h)).rebootRequired).toBe(false);
  }, 300_000);

  /**
   * Patches `h` and pulls its cable the moment its verification starts, after the install: the
   * cut is made synchronously in the step's own event, so it lands before the verification asks
   * anything (the lab's cutHost, with the same `ip link`, is asynchronous). The step fails in its
   * verify phase with its updates installed.
   */
  async function patchCutAtVerify(
    h: LabHost,
    packages: string[],
    rebootPolicy: 'never' | 'if-required',
  ): Promise<Detail> {
    const veth = readState()!.hosts.find((r) => r.name === h.name)!.veth;
    const { jobId, taskId } = await env.core.call('jobs.plan', {
      hostIds: [idOf(h)],
      selection: { mode: 'packages', packages },
      rebootPolicy,
      options: { rebootTimeoutSeconds: 60 },
    });
    await waitForTask(env.core, taskId);
    await env.core.call('jobs.approve', { id: jobId });
    let cut = false;
    const off = env.core.events.subscribe((event, payload) => {
      const step = payload as JobStep;
      if (event === 'job.step' && !cut && step.hostName === h.name && step.phase === 'verify') {
        cut = true;
        execFileSync('ip', ['link', 'set', veth, 'down']);
      }
    });
    try {
      await env.core.call('jobs.start', { id: jobId });
      const d = await settled(jobId, 240_000);
      expect(cut).toBe(true);
      return d;
    } finally {
      off();
      await uncutHost(h.name);
    }
  }

  it('Re-run failed hosts after the host dropped off in its verification: a reboot the re-audit finds due follows the reboot policy, never "succeeded"', async () => {
    const h = byProfile('dnf');
    // "never": the update is in and the host needs a reboot it is not to get — reboot pending.
    await resetHost(h.name);
    await audit([h], true);
    const d = await patchCutAtVerify(h, ['acme-firmware'], 'never');
    const step = stepOf(d, h);
    expect(step.status, why(d)).toBe('failed');
    expect(step.phase).toBe('verify');
    await env.core.call('jobs.rerunFailed', { id: d.job.id });
    const after = await settled(d.job.id);
    const again = stepOf(after, h);
    expect(again.status, why(after)).toBe('reboot-pending');
    expect(after.job.status).toBe('succeeded');
    expect(after.job.message).toMatch(/1 host\(s\) wait for a reboot/);
    const reaudit = await newestAudit(h);
    expect(reaudit.id).toBe(again.verifyAuditId);
    expect(reaudit.rebootRequired).toBe(true);
    expect(texts(after, again).some((t) => /back after its reboot/.test(t))).toBe(false);

    // "if required": acme-lib needs no reboot, so the job verifies without one; once it has dropped
    // off, the host asks for one after all (its needs-restarting now lists acme-lib, installed
    // after boot). Re-run failed hosts reboots it and verifies, as a run does when its
    // verification finds a reboot due.
    await resetHost(h.name);
    await audit([h]);
    const d2 = await patchCutAtVerify(h, ['acme-lib'], 'if-required');
    const step2 = stepOf(d2, h);
    expect(step2.status, why(d2)).toBe('failed');
    expect(step2.phase).toBe('verify');
    expect(texts(d2, step2).some((t) => /back after its reboot/.test(t))).toBe(false);
    await execOnHost(h.name, ['sh', '-c', 'echo acme-lib >> /etc/dnf/plugins/needs-restarting.d/acme.conf']);
    await env.core.call('jobs.rerunFailed', { id: d2.job.id });
    const after2 = await settled(d2.job.id);
    const again2 = stepOf(after2, h);
    expect(again2.status, why(after2)).toBe('succeeded');
    expect(after2.job.status).toBe('succeeded');
    expect(texts(after2, again2).filter((t) => /back after its reboot/.test(t))).toHaveLength(1);
    const verify = await newestAudit(h);
    expect(verify.id).toBe(again2.verifyAuditId);
    expect(verify.rebootRequired).toBe(false);
    await resetHost(h.name);
  }, 600_000);

  it('Reboot now outside a patch job, now and at a time: a job of its own, in the audit log, re-audited', async () => {
    const h = byProfile('reboot');
    expect((await newestAudit(h)).rebootRequired).toBe(true);
    const job = await env.core.call('hosts.reboot', { hostIds: [idOf(h)] });
    expect(job.name).toBe(`Reboot ${h.name}`);
    const d = await settled(job.id);
    const step = stepOf(d, h);
    expect(step.status, `${step.errorKind}: ${step.errorMessage}`).toBe('succeeded');
    expect(d.job.status).toBe('succeeded');
    expect(texts(d, step).some((t) => /back after its reboot/.test(t))).toBe(true);
    // It installs nothing, and its log says what it does.
    expect(texts(d, step)).toContain(`${h.name}: rebooting the host, then re-auditing it`);
    expect(texts(d, step).some((t) => /updates are installed/.test(t))).toBe(false);
    const verify = await newestAudit(h);
    expect(verify.id).toBe(step.verifyAuditId);
    expect(verify.rebootRequired).toBe(false);
    const log = listAuditLog(env.core.requireWorkspace().db, { entityType: 'host' });
    expect(log.some((e) => e.action === 'host.reboot' && e.entityId === String(idOf(h)))).toBe(true);

    // The same from the CLI, in a process of its own over the same workspace.
    await resetHost(h.name);
    await audit([h]);
    expect((await newestAudit(h)).rebootRequired).toBe(true);
    const cli = await patchdeck('hosts', 'reboot', h.name, '--yes');
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/^Job \d+ succeeded/m);
    expect((await newestAudit(h)).rebootRequired).toBe(false);

    // At a time: the scheduler that runs maintenance windows starts it.
    await resetHost(h.name);
    await audit([h]);
    expect((await newestAudit(h)).rebootRequired).toBe(true);
    const at = new Date(Date.now() + 3000).toISOString();
    const later = await env.core.call('hosts.reboot', { hostIds: [idOf(h)], at });
    expect(later.status).toBe('scheduled');
    expect(later.scheduledAt).toBe(at);
    const done = await settled(later.id, 60_000);
    expect(done.job.status, why(done)).toBe('succeeded');
    expect(Date.parse(done.job.startedAt!)).toBeGreaterThanOrEqual(Date.parse(at));
    expect((await newestAudit(h)).rebootRequired).toBe(false);
  }, 300_000);
});
