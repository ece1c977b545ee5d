import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cutHost,
  execOnHost,
  fillDisk,
  labStatus,
  labUp,
  lockDpkg,
  resetHost,
  uncutHost,
  unfillDisk,
  unlockDpkg,
  type LabHost,
  type LabInventory,
} from '../lab';
import { aptGetRuns, countAptGet } from '../lab/apt-count';
import { describeAsRoot } from '../lab/testkit';
import { listAuditLog } from '../../src/db';
import type { JobStep } from '../../src/api/schemas';
import { createTestCore, enrolLab, waitForTask } from './support';

/**
 * Patches real lab hosts over real SSH with real apt/dpkg and checks the outcome against the lab's
 * ground truth and a fresh audit — never against what Patchdeck itself says it did.
 */
const ROOT = path.resolve(__dirname, '../..');
// 25 hosts: five "several" and five "security" hosts, the ten a security-only job patches at once
// (mixed: the zypper host is lab24, the dnf host lab25).
const LAB_SIZE = 25;

type Env = Awaited<ReturnType<typeof createTestCore>>;

async function auditAll(env: Env, hostIds: number[], options: { refresh?: boolean } = {}): Promise<void> {
  const { taskId } = await env.core.call('audits.start', { hostIds, ...options });
  const task = await waitForTask(env.core, taskId);
  expect(task.status).toBe('succeeded');
}

async function pendingOf(env: Env, hostId: number) {
  const page = await env.core.call('findings.query', { hostId, limit: 1000 });
  return page.rows
    .filter((f) => f.installedVersion !== null)
    .map((f) => f.package)
    .sort();
}

async function planAndRun(
  env: Env,
  args: Parameters<Env['core']['call']>[1] & object,
  options: { approve?: boolean } = {},
) {
  const { jobId, taskId } = await env.core.call('jobs.plan', args as never);
  await waitForTask(env.core, taskId);
  if (options.approve === false) return { jobId, detail: await env.core.call('jobs.get', { id: jobId }) };
  await env.core.call('jobs.approve', { id: jobId });
  const started = await env.core.call('jobs.start', { id: jobId });
  await waitForTask(env.core, started.taskId!);
  return { jobId, detail: await env.core.call('jobs.get', { id: jobId }) };
}

describeAsRoot('patching lab hosts', () => {
  let lab: LabInventory;
  let env: Env;
  let ids: Map<string, number>;
  const byProfile = (profile: string): LabHost[] => lab.hosts.filter((h) => h.profile === profile);

  beforeAll(async () => {
    lab = await labUp({ hosts: LAB_SIZE, profile: 'mixed' });
    for (const host of lab.hosts) await resetHost(host.name);
    lab = labStatus();
    env = await createTestCore();
    ids = await enrolLab(env.core, lab);
    // The first audit refreshes metadata: a dnf host without cached metadata cannot be audited
    // offline, and an audit with a failed host is a failed task.
    await auditAll(env, [...ids.values()], { refresh: true });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('security-only patching of 10 hosts installs exactly the security updates, leaves the held one and reports it', async () => {
    const hosts = [...byProfile('several'), ...byProfile('security')];
    expect(hosts.length).toBe(10);
    const { detail } = await planAndRun(env, {
      hostIds: hosts.map((h) => ids.get(h.name)!),
      selection: { mode: 'security' },
      rebootPolicy: 'never',
    });
    expect(
      detail.job.status,
      JSON.stringify(
        detail.steps
          .filter((s) => s.status !== 'succeeded')
          .map((s) => [s.hostName, s.errorKind, s.errorMessage]),
      ),
    ).toBe('succeeded');
    expect(detail.job.approvedBy).toBe('admin');
    await auditAll(
      env,
      hosts.map((h) => ids.get(h.name)!),
    );
    for (const host of hosts) {
      const step = detail.steps.find((s) => s.hostName === host.name)!;
      const expectedTargets = host.pending
        .filter((p) => p.security && !p.held)
        .map((p) => p.name)
        .sort();
      // acme-firmware asks for a reboot and the policy is "never": installed, reboot pending.
      expect(step.status, `${host.name}: ${step.errorMessage}`).toBe('reboot-pending');
      expect(step.packages.map((p) => p.name).sort()).toEqual(expectedTargets);
      // Nothing else changed: a re-audit shows exactly the non-security updates and the held one still pending.
      const stillPending = host.pending
        .filter((p) => !p.security || p.held)
        .map((p) => p.name)
        .sort();
      expect(await pendingOf(env, ids.get(host.name)!), host.name).toEqual(stillPending);
      const heldPending = host.pending.filter((p) => p.held).map((p) => p.name);
      expect(step.preview!.skipped.map((s) => s.name).sort()).toEqual(heldPending.sort());
      for (const t of expectedTargets)
        expect(step.after![t]).toBe(host.pending.find((p) => p.name === t)!.available);
      expect(step.undoRecipe).toMatch(/^sudo apt-get install --allow-downgrades /);
    }
    const approval = listAuditLog(env.core.requireWorkspace().db, { entityType: 'patch_job' }).find(
      (e) => e.action === 'job.approve' && e.entityId === String(detail.job.id),
    );
    expect(approval?.actor).toBe('admin');
    expect(detail.log.some((e) => e.stream === 'stdout' && /Unpacking acme-tool/.test(e.text))).toBe(true);
  });

  it('the pre-check dry-runs again only when the package state moved; verified by installed versions, then the findings are refreshed', async () => {
    const [same, moved] = byProfile('security');
    for (const h of [same!, moved!]) await resetHost(h.name);
    const hostIds = [same!, moved!].map((h) => ids.get(h.name)!);
    await auditAll(env, hostIds);
    for (const h of [same!, moved!]) await countAptGet(h.name);
    const { jobId, taskId } = await env.core.call('jobs.plan', {
      hostIds,
      selection: { mode: 'packages', packages: ['acme-tool'] },
      rebootPolicy: 'never',
    });
    await waitForTask(env.core, taskId);
    const planned = await env.core.call('jobs.get', { id: jobId });
    for (const s of planned.steps) expect(s.preview!.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    await env.core.call('jobs.approve', { id: jobId });
    // After the approval, someone changes apt's configuration on one host: its solver may answer
    // otherwise now, so that host's pre-check must ask apt again.
    await execOnHost(moved!.name, [
      '/bin/sh',
      '-c',
      'echo \'APT::Get::Show-Versions "false";\' > /etc/apt/apt.conf.d/99lab-moved',
    ]);
    const started = await env.core.call('jobs.start', { id: jobId });
    const runTask = await waitForTask(env.core, started.taskId!);
    expect(runTask.status).toBe('succeeded');
    const detail = await env.core.call('jobs.get', { id: jobId, logLimit: 5000 });
    expect(detail.job.status).toBe('succeeded');
    const logOf = (name: string) =>
      detail.log
        .filter((e) => e.stepId === detail.steps.find((s) => s.hostName === name)!.id)
        .map((e) => e.text);
    expect(logOf(same!.name).some((t) => /package state unchanged since the approved dry run/.test(t))).toBe(
      true,
    );
    expect(
      logOf(moved!.name).some((t) => /package state moved since the approved dry run; dry run again/.test(t)),
    ).toBe(true);
    for (const h of [same!, moved!]) {
      const step = detail.steps.find((s) => s.hostName === h.name)!;
      expect(step.status, step.errorMessage ?? '').toBe('succeeded');
      expect(logOf(h.name)).toContain(
        'verified by installed versions (dpkg-query): 1 update(s) installed at the approved versions',
      );
      // The refresh that followed the job is the step's audit, and it no longer lists acme-tool.
      const audit = env.core
        .requireWorkspace()
        .db.prepare('SELECT status, task_id AS taskId FROM audits WHERE id = ?')
        .get(step.verifyAuditId) as { status: string; taskId: number };
      expect(audit.status).toBe('succeeded');
      expect(audit.taskId).not.toBe(started.taskId);
      expect(await pendingOf(env, ids.get(h.name)!)).not.toContain('acme-tool');
      // What ran apt-get on the host: the plan's dry run, the pre-check's only where the state
      // moved, the install, and the refreshing audit's simulation.
      const runs = await aptGetRuns(h.name);
      expect(runs.filter((r) => /^-s -q install --only-upgrade acme-tool=/.test(r))).toHaveLength(
        h === moved ? 2 : 1,
      );
      expect(runs.filter((r) => /-s dist-upgrade/.test(r))).toHaveLength(1);
      expect(runs.filter((r) => !/(^| )-s /.test(r))).toHaveLength(1);
      expect(runs).toHaveLength(h === moved ? 4 : 3);
    }
    expect(detail.log.some((e) => e.text === 'Findings refreshed on 2 of 2 host(s).')).toBe(true);
  });

  it('patches the dnf host: security only, with epochs, verified by re-audit, with a dnf undo recipe', async () => {
    const host = byProfile('dnf')[0]!;
    await resetHost(host.name);
    // A fresh dnf host has no cached metadata: the first audit refreshes it (dnf makecache).
    await auditAll(env, [ids.get(host.name)!], { refresh: true });
    const { detail } = await planAndRun(env, {
      hostIds: [ids.get(host.name)!],
      selection: { mode: 'security' },
      rebootPolicy: 'never',
    });
    const step = detail.steps[0]!;
    // acme-firmware (RLSA-2026:0003) wants a reboot, which "never" leaves pending: not succeeded.
    expect(step.status, `${step.errorKind}: ${step.errorMessage}`).toBe('reboot-pending');
    const targets = host.pending
      .filter((p) => p.security)
      .map((p) => p.name)
      .sort();
    expect(step.packages.map((p) => p.name).sort()).toEqual(targets);
    for (const t of targets) expect(step.after![t]).toBe(host.pending.find((p) => p.name === t)!.available);
    await auditAll(env, [ids.get(host.name)!]);
    expect(await pendingOf(env, ids.get(host.name)!)).toEqual(
      host.pending
        .filter((p) => !p.security)
        .map((p) => p.name)
        .sort(),
    );
    // What rpm itself says, not what Patchdeck recorded.
    const rpm = await execOnHost(host.name, [
      'rpm',
      '-q',
      '--qf',
      '%{NAME} %|EPOCH?{%{EPOCH}:}|%{VERSION}-%{RELEASE}\\n',
      ...targets,
    ]);
    for (const t of targets)
      expect(rpm.stdout).toContain(`${t} ${host.pending.find((p) => p.name === t)!.available}`);
    expect(step.undoRecipe).toMatch(/dnf (history undo|downgrade)/);
  });

  it('patches the zypper host: security only, with epochs, verified by re-audit and rpm -q', async () => {
    const host = byProfile('zypper')[0]!;
    const id = ids.get(host.name)!;
    await resetHost(host.name);
    await auditAll(env, [id], { refresh: true });
    // The dry run, read from the host's real zypper, lists every security update with both
    // versions before anyone approves (it once said "will change" over an empty table).
    const planned = await planAndRun(
      env,
      { hostIds: [id], selection: { mode: 'security' }, rebootPolicy: 'never' },
      { approve: false },
    );
    const previewed = planned.detail.steps[0]!;
    expect(previewed.status, `${previewed.errorKind}: ${previewed.errorMessage}`).toBe('queued');
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
    expect(
      previewed.preview!.upgrades.map((c) => ({ name: c.name, from: c.from, to: c.to })).sort(byName),
    ).toEqual(
      host.pending
        .filter((p) => p.security)
        .map((p) => ({ name: p.name, from: p.installed, to: p.available }))
        .sort(byName),
    );
    await env.core.call('jobs.approve', { id: planned.jobId });
    const started = await env.core.call('jobs.start', { id: planned.jobId });
    await waitForTask(env.core, started.taskId!);
    const detail = await env.core.call('jobs.get', { id: planned.jobId });
    const step = detail.steps[0]!;
    // acme-firmware's patch suggests a reboot (zypper needs-rebooting says so), and the policy is
    // "never": installed, reboot pending.
    expect(step.status, `${step.errorKind}: ${step.errorMessage}`).toBe('reboot-pending');
    const targets = host.pending
      .filter((p) => p.security)
      .map((p) => p.name)
      .sort();
    expect(targets.length).toBeGreaterThan(1);
    expect(step.packages.map((p) => p.name).sort()).toEqual(targets);
    for (const t of targets) expect(step.after![t]).toBe(host.pending.find((p) => p.name === t)!.available);
    // The re-audit: only the non-security updates are left, each carrying the patch that ships it
    // (a patch is never a finding of its own beside its packages).
    await auditAll(env, [id]);
    expect(await pendingOf(env, id)).toEqual(
      host.pending
        .filter((p) => !p.security)
        .map((p) => p.name)
        .sort(),
    );
    const page = await env.core.call('findings.query', { hostId: id, limit: 1000 });
    expect(page.rows.filter((f) => f.kind === 'patch')).toEqual([]);
    expect(
      [...new Set(page.rows.flatMap((f) => f.advisories).filter((a) => !a.startsWith('CVE-')))].sort(),
    ).toEqual(
      host.patches
        .filter((p) => !p.security)
        .map((p) => p.id)
        .sort(),
    );
    // What rpm itself says, not what Patchdeck recorded.
    const rpm = await execOnHost(host.name, [
      'rpm',
      '-q',
      '--qf',
      '%{NAME} %|EPOCH?{%{EPOCH}:}|%{VERSION}-%{RELEASE}\\n',
      ...host.pending.map((p) => p.name),
    ]);
    for (const p of host.pending)
      expect(rpm.stdout).toContain(`${p.name} ${p.security ? p.available : p.installed}\n`);
    await resetHost(host.name);
  });

  it('a failing postinst fails only that host, with its log; a new dependency is previewed and installed', async () => {
    const flaky = byProfile('several')[0]!;
    await resetHost(flaky.name);
    const agent = byProfile('several')[1]!;
    await resetHost(agent.name);
    await auditAll(env, [ids.get(flaky.name)!, ids.get(agent.name)!]);
    const a = await planAndRun(env, {
      hostIds: [ids.get(flaky.name)!],
      selection: { mode: 'packages', packages: ['acme-flaky'] },
      rebootPolicy: 'never',
    });
    const b = await planAndRun(env, {
      hostIds: [ids.get(agent.name)!],
      selection: { mode: 'packages', packages: ['acme-agent'] },
      rebootPolicy: 'never',
    });
    const failed = a.detail.steps[0]!;
    expect(failed.status).toBe('failed');
    expect(failed.errorKind).toBe('package-script-failed');
    expect(failed.errorMessage).toMatch(/acme-flaky/);
    expect(
      a.detail.log.filter((e) => e.stepId === failed.id).some((e) => /post-installation script/.test(e.text)),
    ).toBe(true);
    const ok = b.detail.steps[0]!;
    expect(ok.status, ok.errorMessage ?? '').toBe('succeeded');
    expect(ok.preview!.newPackages.map((p) => p.name)).toEqual(['acme-agent-plugins']);
    expect(ok.after!['acme-agent-plugins']).toBe('3.1-1');
    expect(ok.undoRecipe).toContain('acme-agent-plugins-');
  });

  it('a locked dpkg is waited for, then fails clearly; a full disk fails the pre-check; the other hosts carry on', async () => {
    const [locked, full, fine] = byProfile('security');
    for (const h of [locked!, full!, fine!]) await resetHost(h.name);
    await auditAll(
      env,
      [locked!, full!, fine!].map((h) => ids.get(h.name)!),
    );
    await lockDpkg(locked!.name);
    await fillDisk(full!.name);
    try {
      const t0 = Date.now();
      const { detail } = await planAndRun(env, {
        hostIds: [locked!, full!, fine!].map((h) => ids.get(h.name)!),
        selection: { mode: 'security' },
        rebootPolicy: 'never',
        options: { lockWaitSeconds: 4 },
      });
      const step = (h: LabHost): JobStep => detail.steps.find((s) => s.hostName === h.name)!;
      expect(step(locked!).errorKind).toBe('package-manager-locked');
      expect(step(locked!).errorMessage).toMatch(/locked for 4 s.*unattended-upgr/);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(4000);
      expect(step(full!).errorKind).toBe('disk-full');
      expect(step(fine!).status).toBe('reboot-pending'); // acme-firmware, reboot "never"
      expect(detail.job.status).toBe('failed');
    } finally {
      await unlockDpkg(locked!.name);
      await unfillDisk(full!.name);
    }
  });

  it('a wrong sudo password and a package outside the approved plan are refused per host, before anything runs', async () => {
    const host = byProfile('security')[3]!;
    await resetHost(host.name);
    await auditAll(env, [ids.get(host.name)!]);
    await expect(
      env.core.call('jobs.plan', {
        hostIds: [ids.get(host.name)!],
        selection: { mode: 'packages', packages: ['acme-tool;reboot'] },
      }),
    ).rejects.toThrow(/not a valid package name/);
    await expect(
      env.core.call('jobs.plan', {
        hostIds: [ids.get(host.name)!],
        selection: { mode: 'packages', packages: ['acme-agent'] },
      }),
    ).rejects.toThrow(/Not a pending update/);

    // Tampering with the approved plan in the database is caught before any host is touched.
    const { jobId, taskId } = await env.core.call('jobs.plan', {
      hostIds: [ids.get(host.name)!],
      selection: { mode: 'security' },
      rebootPolicy: 'never',
    });
    await waitForTask(env.core, taskId);
    await env.core.call('jobs.approve', { id: jobId });
    const db = env.core.requireWorkspace().db;
    db.prepare(
      `UPDATE job_steps SET packages = json_insert(packages, '$[#]', json('{"name":"acme-base","arch":"all","from":"1.0-1","to":"1.0-1","security":false}')) WHERE job_id = ?`,
    ).run(jobId);
    const started = await env.core.call('jobs.start', { id: jobId });
    await waitForTask(env.core, started.taskId!);
    const refused = await env.core.call('jobs.get', { id: jobId });
    expect(refused.job.status).toBe('failed');
    expect(refused.job.message).toMatch(/differs from what was approved/);
    expect(refused.steps[0]!.status).toBe('queued');
    expect(refused.steps[0]!.startedAt).toBeNull();

    const operator = host.users.find((u) => u.sudo === 'password')!;
    const bad = await env.core.call('credentials.add', {
      name: 'wrong-sudo',
      username: operator.name,
      kind: 'password',
      secret: operator.password!,
      sudoPassword: 'not-it',
      scope: [],
    });
    const { detail } = await planAndRun(env, {
      hostIds: [ids.get(host.name)!],
      selection: { mode: 'security' },
      rebootPolicy: 'never',
      options: { credentialId: bad.id },
    });
    expect(detail.steps[0]!.status).toBe('failed');
    expect(detail.steps[0]!.errorKind).toBe('sudo');
    expect(detail.steps[0]!.errorMessage).toMatch(/wrong sudo password/);
    expect(JSON.stringify(detail)).not.toContain('not-it');
  });

  it('a host cut off mid-install ends failed/unreachable while the other host finishes', async () => {
    const [cut, other] = byProfile('several').slice(2, 4);
    for (const h of [cut!, other!]) await resetHost(h.name);
    await auditAll(
      env,
      [cut!, other!].map((h) => ids.get(h.name)!),
    );
    const { jobId, taskId } = await env.core.call('jobs.plan', {
      hostIds: [cut!, other!].map((h) => ids.get(h.name)!),
      selection: { mode: 'security' },
      rebootPolicy: 'never',
      options: { lockWaitSeconds: 120 },
    });
    await waitForTask(env.core, taskId);
    await env.core.call('jobs.approve', { id: jobId });
    // dpkg's lock held on the host keeps its install waiting, so the cut certainly lands mid-install
    // however fast the machine is.
    await lockDpkg(cut!.name);
    let didCut = false;
    const off = env.core.events.subscribe((event, payload) => {
      if (
        event === 'job.step' &&
        !didCut &&
        (payload as JobStep).hostName === cut!.name &&
        (payload as JobStep).phase === 'install'
      ) {
        didCut = true;
        void cutHost(cut!.name);
      }
    });
    try {
      const started = await env.core.call('jobs.start', { id: jobId });
      await waitForTask(env.core, started.taskId!);
    } finally {
      off();
      await uncutHost(cut!.name);
      await unlockDpkg(cut!.name);
    }
    const detail = await env.core.call('jobs.get', { id: jobId });
    const step = detail.steps.find((s) => s.hostName === cut!.name)!;
    expect(didCut).toBe(true);
    expect(step.status).toBe('failed');
    expect(['unreachable', 'timeout']).toContain(step.errorKind);
    expect(step.errorMessage).toMatch(/dropped off during install|did not finish/);
    // acme-firmware is among its security updates, and the policy is "never".
    expect(detail.steps.find((s) => s.hostName === other!.name)!.status).toBe('reboot-pending');
  });

  it('reboot policy: never leaves the reboot pending; if-required reboots, waits for the host and verifies', async () => {
    const [never, ifRequired] = [byProfile('several')[0]!, byProfile('several')[1]!];
    for (const h of [never, ifRequired]) await resetHost(h.name);
    await auditAll(
      env,
      [never, ifRequired].map((h) => ids.get(h.name)!),
    );
    {
      const a = await planAndRun(env, {
        hostIds: [ids.get(never.name)!],
        selection: { mode: 'packages', packages: ['acme-firmware'] },
        rebootPolicy: 'never',
      });
      expect(a.detail.steps[0]!.status).toBe('reboot-pending');
      expect(a.detail.log.some((e) => /needs a reboot.*"never"/.test(e.text))).toBe(true);
      const afterNever = (await env.core.call('audits.forHost', { hostId: ids.get(never.name)! }))[0]!;
      expect(afterNever.rebootRequired).toBe(true);

      const b = await planAndRun(env, {
        hostIds: [ids.get(ifRequired.name)!],
        selection: { mode: 'packages', packages: ['acme-firmware'] },
        rebootPolicy: 'if-required',
        options: { rebootTimeoutSeconds: 60 },
      });
      const step = b.detail.steps[0]!;
      expect(step.status, step.errorMessage ?? '').toBe('succeeded');
      expect(b.detail.log.some((e) => /back after its reboot/.test(e.text))).toBe(true);
      const verify = (await env.core.call('audits.forHost', { hostId: ids.get(ifRequired.name)! }))[0]!;
      expect(verify.id).toBe(step.verifyAuditId);
      expect(verify.rebootRequired).toBe(false);
    }
  });

  it('a reboot already pending before the install: if-required reboots first, then installs and verifies; never goes ahead without it', async () => {
    const host = byProfile('several')[4]!;
    const id = ids.get(host.name)!;
    await resetHost(host.name);
    await auditAll(env, [id]);
    {
      // acme-firmware's postinst leaves /run/reboot-required behind: the pending reboot.
      const first = await planAndRun(env, {
        hostIds: [id],
        selection: { mode: 'packages', packages: ['acme-firmware'] },
        rebootPolicy: 'never',
      });
      expect(first.detail.steps[0]!.status).toBe('reboot-pending');
      const never = await planAndRun(env, {
        hostIds: [id],
        selection: { mode: 'packages', packages: ['acme-lib'] },
        rebootPolicy: 'never',
      });
      // Installed; the host still waits for the reboot it already needed.
      expect(never.detail.steps[0]!.status).toBe('reboot-pending');
      expect(
        never.detail.log.some((e) => /already pending.*"never", so the install goes ahead/.test(e.text)),
      ).toBe(true);
      expect(never.detail.log.some((e) => /rebooting the host/.test(e.text))).toBe(false);

      const b = await planAndRun(env, {
        hostIds: [id],
        selection: { mode: 'packages', packages: ['acme-tool'] },
        rebootPolicy: 'if-required',
        options: { rebootTimeoutSeconds: 60 },
      });
      const step = b.detail.steps[0]!;
      expect(step.status, step.errorMessage ?? '').toBe('succeeded');
      const texts = b.detail.log.filter((e) => e.stepId === step.id).map((e) => e.text);
      const rebootAt = texts.findIndex((t) => /already pending.*the host reboots first/.test(t));
      const backAt = texts.findIndex((t) => /back after its reboot/.test(t));
      const installAt = texts.findIndex((t) => /^\$ apt-get/.test(t));
      expect(rebootAt).toBeGreaterThanOrEqual(0);
      expect(backAt).toBeGreaterThan(rebootAt);
      expect(installAt).toBeGreaterThan(backAt);
      // acme-tool needs no reboot of its own: one reboot in all, and none left pending.
      expect(texts.filter((t) => /rebooting the host/.test(t))).toHaveLength(1);
      const verify = (await env.core.call('audits.forHost', { hostId: id }))[0]!;
      expect(verify.id).toBe(step.verifyAuditId);
      expect(verify.rebootRequired).toBe(false);
      expect(step.after!['acme-tool']).toBe(host.pending.find((p) => p.name === 'acme-tool')!.available);
    }
  });

  describe('SIGKILL of a CLI patch process', () => {
    const cliEnv = { ...process.env, PATCHDECK_PASSPHRASE: 'lab-test-passphrase', NO_COLOR: '1' };
    const cli = (ws: string, args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [path.join(ROOT, 'bin/patchdeck.mjs'), '-w', ws, ...args], {
          env: cliEnv,
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });

    for (const moment of [
      { at: /dry run:/ },
      { at: /pre-check:/ },
      { at: /\$ apt-get/ },
      { at: /Unpacking/ },
      { at: /Setting up/ },
    ]) {
      it(`at "${moment.at.source}": integrity ok, nothing left running, resume finishes`, async () => {
        const host = byProfile('several')[2]!;
        await resetHost(host.name);
        const dir = fs.mkdtempSync('/tmp/pd-kill-');
        const ws = path.join(dir, 'ws.sqlite');
        expect((await cli(ws, ['hosts', 'add', host.name, '--address', host.address])).code).toBe(0);
        expect(
          (
            await cli(ws, [
              'credential',
              'add',
              '--name',
              'lab',
              '--user',
              'admin',
              '--key',
              lab.keyFile,
              '--hosts',
              '*',
              // A key-only credential: it may pin the lab host's key on first use.
              '--trust-on-first-use',
            ])
          ).code,
        ).toBe(0);
        expect((await cli(ws, ['audit', host.name])).code).toBe(0);
        const child = spawn(
          process.execPath,
          [
            path.join(ROOT, 'bin/patchdeck.mjs'),
            '-w',
            ws,
            'patch',
            host.name,
            '--security-only',
            '--reboot',
            'never',
            '--yes',
          ],
          { env: cliEnv },
        );
        let seen = '';
        let killed = false;
        const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
        child.stderr.on('data', (d: Buffer) => {
          seen += d.toString();
          if (!killed && moment.at.test(seen)) {
            killed = true;
            child.kill('SIGKILL');
          }
        });
        await exited;
        expect(killed, seen).toBe(true);

        const raw = new BetterSqlite3(ws);
        expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
        raw.close();
        const listed = await cli(ws, ['--json', 'jobs', 'list']);
        const jobs = JSON.parse(listed.stdout) as { id: number; status: string; approvedAt: string | null }[];
        expect(jobs.filter((j) => j.status === 'running')).toEqual([]);
        const job = jobs[0]!;
        if (job.status === 'interrupted') {
          const resumed = await cli(ws, ['--json', 'jobs', 'resume', String(job.id)]);
          const detail = JSON.parse(resumed.stdout) as { job: { status: string } };
          expect(detail.job.status, resumed.stderr).toBe('succeeded');
        } else {
          // Killed before the approval was committed: nothing ran; a fresh run does the work.
          expect(['draft', 'approved']).toContain(job.status);
          const again = await cli(ws, ['patch', host.name, '--security-only', '--reboot', 'never', '--yes']);
          expect(again.code, again.stderr).toBe(0);
        }
        await auditAll(env, [ids.get(host.name)!]);
        const remaining = await pendingOf(env, ids.get(host.name)!);
        expect(remaining).toEqual(
          host.pending
            .filter((p) => !p.security || p.held)
            .map((p) => p.name)
            .sort(),
        );
        fs.rmSync(dir, { recursive: true, force: true });
      });
    }
  });
});
