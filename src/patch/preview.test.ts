/**
 * Honest previews, end to end: a real Core over a real workspace file plans a security-only patch
 * of a zypper host played by a real SSH server on 127.0.0.1 (ssh2's), which answers the dry run
 * with what the lab's real zypper printed (test/fixtures/zypper/NOTES.md). The CLI runs as a real
 * process without a terminal. No approval is ever offered for a preview that lists no change, and
 * a draft nobody approved leaves no job behind.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TargetPackage } from '../api/schemas';
import { Core } from '../core';
import { listSteps, startAudit, trustHostKey, updateStep } from '../db';
import { OPENSUSE_LEAP_15, recordAudit, zypperUpdate } from '../db/testing/audits';
import { insertTestJob } from '../db/testing/jobs';
import { createNodePlatform } from '../platform';
import { reply, startFakeSshHost, type FakeSshHost } from '../remote/testing/ssh-host';

const FIXTURES = path.resolve(import.meta.dirname, '../../test/fixtures/zypper');
const CLI = path.resolve(import.meta.dirname, '../cli/index.ts');
const PASSPHRASE = 'preview-test-passphrase';

/** What the fake host's zypper prints for `install --dry-run`: a real capture. */
let dryRunOutput = '';
/** Every command line the host was asked to run. */
const commands: string[] = [];
/** The host (the plan parks its session for the run that usually follows; closing it ends that). */
let sshHost: FakeSshHost;

let port = 0;
let keyType = '';
let fingerprint = '';
let dir: string;

beforeAll(async () => {
  sshHost = await startFakeSshHost((command, channel) => {
    commands.push(command);
    reply(channel, /zypper .*install --dry-run/.test(command) ? { stdout: dryRunOutput } : {});
  });
  ({ port, keyType, fingerprint } = sshHost);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-preview-'));
});
afterAll(async () => {
  await sshHost.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

let workspace = '';
let core: Core;
let hostId = 0;

function platform() {
  return createNodePlatform({
    configDir: path.join(dir, 'config'),
    useKeychain: false,
    passphrase: PASSPHRASE,
  });
}

/** A fresh workspace with one zypper host, its reviewed key, a credential and its newest audit. */
beforeEach(async () => {
  commands.length = 0;
  workspace = path.join(dir, `ws-${Date.now()}-${Math.random().toString(36).slice(2)}.sqlite`);
  core = new Core({ platform: platform(), carrier: 'test' });
  await core.openWorkspace(workspace, { create: 'always' });
  const host = await core.call('hosts.add', { name: 'suse01', address: '127.0.0.1', sshPort: port });
  hostId = host.id;
  const db = core.requireWorkspace().db;
  trustHostKey(db, { hostId, type: keyType, fingerprint, actor: 'test', reason: 'test' });
  await core.call('credentials.add', {
    name: 'office',
    username: 'admin',
    kind: 'password',
    secret: 'office-pw-7c1e',
    scope: ['*'],
  });
  recordAudit(db, hostId, OPENSUSE_LEAP_15, 'zypper', [
    zypperUpdate('acme-tool', '1.0-1.el9', '1.1-1.el9', true),
    zypperUpdate('acme-firmware', '20230210-1.el9', '20240210-1.el9', true),
    zypperUpdate('acme-daemon', '1:2.0-1.el9', '1:2.0-2.el9_3', true),
    zypperUpdate('acme-lib', '2.0-1.el9', '2.1-1.el9', false),
  ]);
});

async function planSecurity() {
  const plan = await core.call('jobs.plan', {
    hostIds: [hostId],
    selection: { mode: 'security' },
    rebootPolicy: 'never',
  });
  await core.requireWorkspace().tasks.wait(plan.taskId);
  return { plan, detail: await core.call('jobs.get', { id: plan.jobId }) };
}

describe('the dry run on a zypper host', () => {
  it('lists what the security-only job will change, with both versions, and can be approved', async () => {
    dryRunOutput = fs.readFileSync(path.join(FIXTURES, 'lab-host.dry-run-security.xml'), 'utf8');
    const { plan, detail } = await planSecurity();
    const [step] = detail.steps;
    expect(step!.status, step!.errorMessage ?? '').toBe('queued');
    expect(step!.preview!.upgrades).toEqual([
      { name: 'acme-daemon', arch: 'noarch', from: '1:2.0-1.el9', to: '1:2.0-2.el9_3' },
      { name: 'acme-firmware', arch: 'noarch', from: '20230210-1.el9', to: '20240210-1.el9' },
      { name: 'acme-tool', arch: 'noarch', from: '1.0-1.el9', to: '1.1-1.el9' },
    ]);
    expect(
      commands.some((c) => /zypper --non-interactive --no-refresh --xmlout install --dry-run/.test(c)),
    ).toBe(true);
    await expect(core.call('jobs.approve', { id: plan.jobId })).resolves.toMatchObject({
      status: 'approved',
    });
    await core.closeWorkspace();
  });

  it('a dry run that lists no change is a failed host with the reason, and approval is refused', async () => {
    // zypper's own answer when the targets are already installed: an empty install summary.
    dryRunOutput = fs.readFileSync(path.join(FIXTURES, 'lab-host.dry-run-installed.xml'), 'utf8');
    const { plan, detail } = await planSecurity();
    const [step] = detail.steps;
    expect(step!.status).toBe('failed');
    expect(step!.errorKind).toBe('dry-run-empty');
    expect(step!.errorMessage).toBe(
      'suse01: the dry run lists no change for the 3 updates planned here, so there is nothing to approve on this host. Audit it again: it may already be up to date.',
    );
    await expect(core.call('jobs.approve', { id: plan.jobId })).rejects.toThrow(/nothing to install/);
    await core.closeWorkspace();
  });

  it('approval is refused for a host to patch whose stored preview lists no change', async () => {
    const db = core.requireWorkspace().db;
    const target: TargetPackage = {
      name: 'acme-tool',
      arch: 'noarch',
      from: '1.0-1.el9',
      to: '1.1-1.el9',
      security: true,
    };
    const jobId = insertTestJob(db, [hostId], {
      name: 'draft',
      packageManager: 'zypper',
      packages: [target],
    });
    const [step] = listSteps(db, jobId);
    const empty = { command: 'zypper …', upgrades: [], newPackages: [], removals: [], skipped: [] };
    updateStep(db, step!.id, { phase: 'planned', preview: { ...empty, ranAt: new Date().toISOString() } });
    await expect(core.call('jobs.approve', { id: jobId })).rejects.toThrow(
      `Job ${jobId} cannot be approved: the dry run on suse01 lists no change, and an approval must say what will change.`,
    );
    expect((await core.call('jobs.get', { id: jobId })).job.status).toBe('draft');
    await core.closeWorkspace();
  });
});

describe('discarding a draft', () => {
  it('deletes the draft and its steps: no cancelled job stays in the history', async () => {
    dryRunOutput = fs.readFileSync(path.join(FIXTURES, 'lab-host.dry-run-security.xml'), 'utf8');
    const { plan } = await planSecurity();
    expect((await core.call('jobs.list', {})).map((j) => j.id)).toEqual([plan.jobId]);
    await expect(core.call('jobs.discard', { id: plan.jobId, planTaskId: plan.taskId })).resolves.toEqual({
      discarded: true,
    });
    expect(await core.call('jobs.list', {})).toEqual([]);
    expect(listSteps(core.requireWorkspace().db, plan.jobId)).toEqual([]);
    // Its dry-run task goes too: job ids are reused, and "Dry run for job N" would name a later job.
    expect((await core.call('tasks.list', {})).map((t) => t.id)).not.toContain(plan.taskId);
    await core.closeWorkspace();
  });

  it('refuses an approved job (that one is cancelled, and stays in the history)', async () => {
    dryRunOutput = fs.readFileSync(path.join(FIXTURES, 'lab-host.dry-run-security.xml'), 'utf8');
    const { plan } = await planSecurity();
    await core.call('jobs.approve', { id: plan.jobId });
    await expect(core.call('jobs.discard', { id: plan.jobId })).rejects.toThrow(
      /only a draft nobody approved can be discarded/,
    );
    expect((await core.call('jobs.list', {})).map((j) => j.status)).toEqual(['approved']);
    await core.closeWorkspace();
  });
});

function patchdeck(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, '--workspace', workspace, ...args], {
      env: {
        ...process.env,
        PATCHDECK_CONFIG_DIR: path.join(dir, 'config'),
        PATCHDECK_PASSPHRASE: PASSPHRASE,
      },
      // Pipes, not a terminal: what a script or CI job sees.
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end();
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('patchdeck patch without a terminal', () => {
  it('shows the dry run, then refuses without --yes (naming it), and leaves no job behind', async () => {
    await core.closeWorkspace();
    dryRunOutput = fs.readFileSync(path.join(FIXTURES, 'lab-host.dry-run-security.xml'), 'utf8');
    const r = await patchdeck('patch', 'suse01', '--security-only');
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).toMatch(/suse01 \(zypper\): will change/);
    expect(r.stderr).toContain('upgrade  acme-tool 1.0-1.el9 → 1.1-1.el9');
    expect(r.stderr).toContain('upgrade  acme-daemon 1:2.0-1.el9 → 1:2.0-2.el9_3');
    expect(r.stderr).toMatch(/Not approved: there is no terminal .* run the same command again with --yes/);
    // The dry run ran; nothing was installed.
    expect(commands.some((c) => /install --dry-run/.test(c))).toBe(true);
    expect(commands.some((c) => /zypper\b(?!.*--dry-run).*\binstall\b/.test(c))).toBe(false);
    const jobs = await patchdeck('--json', 'jobs', 'list');
    expect(JSON.parse(jobs.stdout)).toEqual([]);
  }, 60_000);

  it('with --yes, refuses a host whose dry run lists no change and installs nothing', async () => {
    await core.closeWorkspace();
    dryRunOutput = fs.readFileSync(path.join(FIXTURES, 'lab-host.dry-run-installed.xml'), 'utf8');
    const r = await patchdeck('patch', 'suse01', '--security-only', '--yes');
    expect(r.code, r.stderr).not.toBe(0);
    expect(r.stderr).toMatch(/suse01 \(zypper\): failed — suse01: the dry run lists no change/);
    expect(r.stderr).toMatch(/Nothing to patch: the dry run failed on 1 of 1 host/);
    expect(r.stdout).not.toMatch(/succeeded|finished/);
    expect(commands.some((c) => /zypper\b(?!.*--dry-run).*\binstall\b/.test(c))).toBe(false);
  }, 60_000);

  it('with no host named, leaves out the hosts with no successful audit and names them, instead of failing the dry run on them', async () => {
    const db = core.requireWorkspace().db;
    await core.call('hosts.add', { name: 'never01', address: '127.0.0.2' });
    const off = await core.call('hosts.add', { name: 'off01', address: '127.0.0.3' });
    const failed = startAudit(db, { hostId: off.id, taskId: null });
    db.prepare(`UPDATE audits SET status = 'failed', error_kind = 'unreachable' WHERE id = ?`).run(failed);
    await core.closeWorkspace();
    dryRunOutput = fs.readFileSync(path.join(FIXTURES, 'lab-host.dry-run-security.xml'), 'utf8');
    const r = await patchdeck('patch', '--security-only');
    expect(r.stderr).toContain('Left out never01: never audited; audit it, or name it to patch it anyway.');
    expect(r.stderr).toContain('Left out off01: its latest audit failed;');
    expect(r.stderr).toMatch(/suse01 \(zypper\): will change/);
    expect(r.stderr).not.toMatch(/^(never01|off01) \(/m);
    expect(r.stderr).toMatch(/Not approved: there is no terminal/);
  }, 60_000);
});
