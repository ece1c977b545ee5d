/**
 * Planning a patch job over a real in-memory workspace: which packages each host's newest
 * successful audit offers, the draft job and its settled steps, the dry run's output read into a
 * preview (real captures from the lab), and the approval with its digest.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../api/event-bus';
import type { TargetPackage } from '../api/schemas';
import { addCredential } from '../credentials';
import { createNodePlatform } from '../platform';
import { reply, startFakeSshHost, type FakeSshHost } from '../remote/testing/ssh-host';
import { closeParkedSessions } from './sessions';
import {
  createMemoryWorkspace,
  trustHostKey,
  failAudit,
  getJob,
  insertHost,
  listAuditLog,
  listSteps,
  startAudit,
  updateStep,
  type FindingInput,
} from '../db';
import { fixture } from '../collectors/testing/fixtures';
import { DEBIAN_12, OPENSUSE_LEAP_15, packageFinding, recordAudit } from '../db/testing/audits';
import {
  approveJob,
  approvedDigest,
  createPlan,
  dryRunFromOutput,
  dryRunJob,
  dryRunProblem,
  emptyPreviewMessage,
  listedChanges,
  planDigest,
  selectTargets,
  type PatchDeps,
} from './plan';

type Db = ReturnType<typeof createMemoryWorkspace>;

const finding = (
  pkg: string,
  from: string | null,
  to: string,
  extra: Partial<FindingInput> = {},
): FindingInput =>
  packageFinding({
    package: pkg,
    arch: 'all',
    installedVersion: from,
    availableVersion: to,
    repository: 'bookworm-security',
    ...extra,
  });

function audited(db: Db, name: string, packageManager: string | null, findings: FindingInput[]) {
  const host = insertHost(db, {
    name,
    address: `198.18.0.${10 + (db.prepare('SELECT count(*) n FROM hosts').pluck().get() as number)}`,
  });
  recordAudit(db, host.id, DEBIAN_12, packageManager, findings);
  return host;
}

/** The lab apt host's pending updates (test/fixtures/lab/NOTES.md). */
const aptFindings = (): FindingInput[] => [
  finding('acme-tool', '1.0-1', '1.0-1+deb12u1', { security: true }),
  finding('acme-firmware', '20230210-1', '20230210-1+deb12u1', { security: true }),
  finding('acme-lib', '2.0-1', '2.1-1'),
  finding('acme-held', '1.0-1', '1.2-1', { held: true, security: true }),
  finding('acme-plugins', null, '3.1-1'),
];

function deps(db: Db): PatchDeps & { emitted: string[] } {
  const events = new EventBus();
  const emitted: string[] = [];
  events.subscribe((event) => {
    emitted.push(event);
  });
  return { db, secrets: null as never, actor: 'alice', events, emitted };
}

describe('selectTargets', () => {
  it('takes security updates only, skips held packages with the reason, never targets a new dependency', () => {
    const db = createMemoryWorkspace();
    const host = audited(db, 'deb01', 'apt', aptFindings());
    const plan = selectTargets(db, host, { mode: 'security' });
    expect(plan.problem).toBeNull();
    expect(plan.packageManager).toBe('apt');
    expect(plan.packages).toEqual([
      { name: 'acme-firmware', arch: 'all', from: '20230210-1', to: '20230210-1+deb12u1', security: true },
      { name: 'acme-tool', arch: 'all', from: '1.0-1', to: '1.0-1+deb12u1', security: true },
    ]);
    expect(plan.skipped).toEqual([
      { name: 'acme-held', reason: 'held (apt-mark hold / versionlock): left as it is' },
    ]);
    const all = selectTargets(db, host, { mode: 'all' });
    expect(all.packages.map((p) => p.name)).toEqual(['acme-firmware', 'acme-tool', 'acme-lib']);
    expect(all.packages.find((p) => p.name === 'acme-lib')).toMatchObject({ security: false, to: '2.1-1' });
  });

  it('takes the named packages only, and says which named ones are not pending here', () => {
    const db = createMemoryWorkspace();
    const host = audited(db, 'deb01', 'apt', aptFindings());
    const plan = selectTargets(db, host, {
      mode: 'packages',
      packages: ['acme-lib', 'acme-held', 'nothing-here'],
    });
    expect(plan.packages.map((p) => p.name)).toEqual(['acme-lib']);
    expect(plan.skipped).toEqual([
      { name: 'acme-held', reason: 'held (apt-mark hold / versionlock): left as it is' },
      { name: 'nothing-here', reason: 'not a pending update on this host' },
    ]);
  });

  it('refuses unsafe package names from an audit, shown sanitised', () => {
    const db = createMemoryWorkspace();
    const host = audited(db, 'deb01', 'apt', [
      finding('-oAPT::Evil=1', '1', '2'),
      finding('ok-pkg', '1', '2'),
      finding(`bad\u001b[31m;${'x'.repeat(200)}`, '1', '2'),
    ]);
    const plan = selectTargets(db, host, { mode: 'all' });
    expect(plan.packages.map((p) => p.name)).toEqual(['ok-pkg']);
    expect(plan.skipped.map((s) => s.reason)).toEqual([
      'refused: unsafe package name',
      'refused: unsafe package name',
    ]);
    expect(plan.skipped.map((s) => s.name)).toContain('-oAPT::Evil=1');
    for (const s of plan.skipped) {
      // eslint-disable-next-line no-control-regex -- asserting that no control character survives
      expect(s.name).not.toMatch(/[\u0000-\u001f]/);
      expect(s.name.length).toBeLessThanOrEqual(80);
    }
  });

  it('uses the newest successful audit, and says why a host cannot be planned', () => {
    const db = createMemoryWorkspace();
    const host = audited(db, 'deb01', 'apt', [finding('acme-tool', '1', '2')]);
    failAudit(db, startAudit(db, { hostId: host.id, taskId: null }), {
      kind: 'timeout',
      message: 'timed out',
      durationMs: 1,
    });
    expect(selectTargets(db, host, { mode: 'all' }).packages.map((p) => p.name)).toEqual(['acme-tool']);
    const fresh = insertHost(db, { name: 'new01' });
    expect(selectTargets(db, fresh, { mode: 'all' })).toEqual({
      host: fresh,
      packageManager: null,
      packages: [],
      skipped: [],
      problem: { kind: 'no-audit', message: 'new01 has no successful audit yet; audit it first.' },
    });
    const win = audited(db, 'win01', 'winget', [finding('app', '1', '2')]);
    expect(selectTargets(db, win, { mode: 'all' })).toMatchObject({
      packageManager: 'winget',
      packages: [],
      problem: { kind: 'unsupported', message: 'Patchdeck cannot patch winget yet.' },
    });
    const unknown = audited(db, 'odd01', null, []);
    expect(selectTargets(db, unknown, { mode: 'all' }).problem).toEqual({
      kind: 'unsupported',
      message: 'Patchdeck cannot patch this package manager yet.',
    });
  });
});

describe('createPlan', () => {
  const request = { rebootPolicy: 'if-required' as const, onFailure: 'continue' as const, concurrency: 2 };

  it('drafts one step per host and settles the hosts with nothing to do, with the reason', () => {
    const db = createMemoryWorkspace();
    const deb = audited(db, 'deb01', 'apt', aptFindings());
    const clean = audited(db, 'deb02', 'apt', [finding('acme-lib', '2.0-1', '2.1-1')]);
    const heldOnly = audited(db, 'deb03', 'apt', [
      finding('acme-held', '1', '2', { held: true, security: true }),
    ]);
    const never = insertHost(db, { name: 'new01' });
    const { jobId, hosts } = createPlan(db, {
      ...request,
      hostIds: [deb.id, clean.id, heldOnly.id, never.id],
      selection: { mode: 'security' },
    });
    expect(hosts.map((h) => h.name)).toEqual(['deb01', 'deb02', 'deb03', 'new01']);
    const job = getJob(db, jobId)!;
    expect(job).toMatchObject({
      name: 'Patch 4 hosts: security updates',
      status: 'draft',
      rebootPolicy: 'if-required',
      onFailure: 'continue',
      concurrency: 2,
      options: { lockWaitSeconds: 60, credentialId: null },
    });
    const steps = Object.fromEntries(listSteps(db, jobId).map((s) => [s.hostName, s]));
    expect(steps.deb01).toMatchObject({ status: 'queued', phase: 'planning', packageManager: 'apt' });
    expect(steps.deb01!.packages.map((p) => p.name)).toEqual(['acme-firmware', 'acme-tool']);
    expect(steps.deb01!.preview).toMatchObject({
      command: '',
      ranAt: '',
      skipped: [expect.objectContaining({ name: 'acme-held' })],
    });
    expect(steps.deb02).toMatchObject({
      status: 'skipped',
      phase: 'planned',
      errorMessage: 'Nothing to patch.',
    });
    expect(steps.deb02!.preview!.ranAt).not.toBe('');
    expect(steps.deb03).toMatchObject({
      status: 'skipped',
      phase: 'planned',
      errorMessage: 'Nothing to patch (see skipped updates).',
    });
    expect(steps.new01).toMatchObject({
      status: 'failed',
      phase: 'planned',
      errorKind: 'no-audit',
      errorMessage: 'new01 has no successful audit yet; audit it first.',
    });
  });

  it('names the job after its one host or its packages, and takes a given name and options', () => {
    const db = createMemoryWorkspace();
    const deb = audited(db, 'deb01', 'apt', aptFindings());
    const one = createPlan(db, { ...request, hostIds: [deb.id], selection: { mode: 'all' } });
    expect(getJob(db, one.jobId)!.name).toBe('Patch deb01: all updates');
    const named = createPlan(db, {
      ...request,
      hostIds: [deb.id],
      selection: { mode: 'packages', packages: ['acme-lib', 'acme-tool'] },
    });
    expect(getJob(db, named.jobId)!.name).toBe('Patch deb01: acme-lib, acme-tool');
    const given = createPlan(db, {
      ...request,
      hostIds: [deb.id],
      selection: { mode: 'all' },
      name: 'Tuesday',
      options: { lockWaitSeconds: 5 },
    });
    expect(getJob(db, given.jobId)).toMatchObject({ name: 'Tuesday', options: { lockWaitSeconds: 5 } });
    // Without host ids: every inventory host.
    audited(db, 'deb02', 'apt', []);
    expect(createPlan(db, { ...request, selection: { mode: 'all' } }).hosts.map((h) => h.name)).toEqual([
      'deb01',
      'deb02',
    ]);
  });

  it('refuses a plan that names no package, an unsafe one, a missing host, or none pending anywhere', () => {
    const db = createMemoryWorkspace();
    const deb = audited(db, 'deb01', 'apt', aptFindings());
    const plan =
      (selection: Parameters<typeof createPlan>[1]['selection'], hostIds = [deb.id]) =>
      () =>
        createPlan(db, { ...request, hostIds, selection });
    expect(plan({ mode: 'packages', packages: [] })).toThrow(
      expect.objectContaining({
        code: 'bad-request',
        message: 'Name at least one package to patch.',
      }) as Error,
    );
    expect(plan({ mode: 'packages' })).toThrow(/Name at least one package/);
    expect(plan({ mode: 'packages', packages: ['acme-lib', 'x;reboot'] })).toThrow(
      expect.objectContaining({
        code: 'bad-request',
        message: 'Refusing the package name "x;reboot": not a valid package name.',
      }) as Error,
    );
    expect(plan({ mode: 'all' }, [deb.id, 4242])).toThrow(
      expect.objectContaining({ code: 'not-found', message: 'Host 4242 does not exist.' }) as Error,
    );
    expect(plan({ mode: 'packages', packages: ['acme-lib', 'ghost', 'phantom'] })).toThrow(
      expect.objectContaining({
        code: 'bad-request',
        message:
          'Not a pending update on any selected host: ghost, phantom. Audit the hosts again if they changed.',
      }) as Error,
    );
    // A held package is pending, just left alone: not "missing".
    expect(plan({ mode: 'packages', packages: ['acme-held'] })).not.toThrow();
    const empty = createMemoryWorkspace();
    expect(() => createPlan(empty, { ...request, selection: { mode: 'all' } })).toThrow(
      expect.objectContaining({ code: 'bad-request', message: 'There are no hosts to patch.' }) as Error,
    );
  });
});

describe('dry-run output into a preview (real lab captures)', () => {
  const aptTargets: TargetPackage[] = [
    { name: 'acme-firmware', arch: 'all', from: '20230210-1', to: '20230210-1+deb12u1', security: true },
    { name: 'acme-tool', arch: 'all', from: '1.0-1', to: '1.0-1+deb12u1', security: true },
  ];

  it('reads apt -s output into upgrades, with the command that produced it', () => {
    const out = dryRunFromOutput('apt', aptTargets, {
      stdout: fixture('lab/apt-security-dist-upgrade-simulate.txt'),
      stderr: '',
      code: 0,
    });
    expect(out.command).toBe(
      'apt-get -s -q install --only-upgrade acme-firmware=20230210-1+deb12u1 acme-tool=1.0-1+deb12u1',
    );
    expect(out.code).toBe(0);
    expect(out.changes.upgrades.map((u) => [u.name, u.from, u.to])).toEqual([
      ['acme-firmware', '20230210-1', '20230210-1+deb12u1'],
      ['acme-tool', '1.0-1', '1.0-1+deb12u1'],
    ]);
    expect(listedChanges(out.changes)).toBe(2);
    expect(dryRunProblem('apt', out)).toBeNull();
  });

  it('reads the zypper XML summary, and a zypper that found no provider as a failed dry run', () => {
    const targets: TargetPackage[] = [
      { name: 'acme-tool', arch: 'noarch', from: '1.0-1.el9', to: '1.1-1.el9', security: true },
    ];
    const ok = dryRunFromOutput('zypper', targets, {
      stdout: fixture('zypper/lab-host.dry-run-security.xml'),
      stderr: '',
      code: 0,
    });
    expect(listedChanges(ok.changes)).toBe(3);
    expect(dryRunProblem('zypper', ok)).toBeNull();
    const none = dryRunFromOutput('zypper', targets, {
      stdout: fixture('zypper/lab-host.dry-run-no-provider.xml'),
      stderr: '',
      code: 104,
    });
    expect(dryRunProblem('zypper', none)).toBe("No provider of 'acme-tool=9.9-1' found.");
  });

  it('takes dnf --assumeno exit 1 as the normal end, other exits as a failure in words', () => {
    const base = { changes: { upgrades: [], newPackages: [], removals: [], errors: [] }, command: 'x' };
    expect(dryRunProblem('dnf', { ...base, code: 1, stderr: 'Operation aborted.\n' })).toBeNull();
    expect(dryRunProblem('yum', { ...base, code: 1, stderr: 'Exiting on user command\n' })).toBeNull();
    expect(dryRunProblem('dnf', { ...base, code: 1, stderr: '' })).toBeNull();
    expect(dryRunProblem('apt', { ...base, code: 1, stderr: 'one\ntwo\nthree\nfour\n' })).toBe(
      'the dry run exited with 1: two three four',
    );
    expect(dryRunProblem('dnf', { ...base, code: 2, stderr: 'Error: bad\n' })).toBe(
      'the dry run exited with 2: Error: bad',
    );
    expect(dryRunProblem('apk', { ...base, code: null, stderr: '' })).toBe(
      'the dry run exited with a signal: ',
    );
    expect(
      dryRunProblem('apt', {
        ...base,
        code: 100,
        changes: { ...base.changes, errors: ['e1', 'e2', 'e3', 'e4', 'e5', 'e6'] },
        stderr: '',
      }),
    ).toBe('e1; e2; e3; e4; e5');
    expect(dryRunProblem('zypper', { ...base, code: 0, stderr: 'Operation aborted' })).toBeNull();
  });

  it('counts every listed change and says why an empty preview cannot be approved', () => {
    const change = { name: 'a', arch: null, from: '1', to: '2' };
    expect(listedChanges({ upgrades: [change], newPackages: [change, change], removals: [change] })).toBe(4);
    expect(emptyPreviewMessage('deb01', 'apt', 1)).toBe(
      'deb01: the dry run lists no change for the update planned here, so there is nothing to approve on this host. Audit it again: it may already be up to date.',
    );
    expect(emptyPreviewMessage('deb01', 'apt', 3)).toContain('for the 3 updates planned here');
    expect(emptyPreviewMessage('mac01', 'softwareupdate', 2)).toBe(
      "mac01: Patchdeck cannot read softwareupdate's dry run yet, so it cannot show what would change here; nothing on this host can be approved.",
    );
  });
});

describe('approveJob', () => {
  const request = { rebootPolicy: 'never' as const, onFailure: 'stop' as const, concurrency: 1 };
  const preview = (upgrades: { name: string; from: string; to: string }[]) => ({
    command: 'apt-get -s …',
    upgrades: upgrades.map((u) => ({ ...u, arch: 'all' })),
    newPackages: [{ name: 'acme-plugins', arch: 'all', from: null, to: '3.1-1' }],
    removals: [{ name: 'old-lib', arch: 'all', from: '1', to: null }],
    skipped: [],
    ranAt: '2026-12-01T00:00:00.000Z',
  });

  function planned() {
    const db = createMemoryWorkspace();
    const deb = audited(db, 'deb01', 'apt', aptFindings());
    const clean = audited(db, 'deb02', 'apt', []);
    const { jobId } = createPlan(db, {
      ...request,
      hostIds: [deb.id, clean.id],
      selection: { mode: 'security' },
    });
    const step = listSteps(db, jobId).find((s) => s.hostId === deb.id)!;
    return { db, jobId, step };
  }

  it('records who approved exactly which plan, with its digest, and announces it', () => {
    const { db, jobId, step } = planned();
    updateStep(db, step.id, {
      phase: 'planned',
      preview: preview([{ name: 'acme-tool', from: '1.0-1', to: '1.0-1+deb12u1' }]),
    });
    const d = deps(db);
    const digest = planDigest(db, jobId);
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    const job = approveJob(d, jobId);
    expect(job).toMatchObject({ status: 'approved', approvedBy: 'alice' });
    expect(job.approvedAt).not.toBeNull();
    expect(d.emitted).toEqual(['job.changed']);
    expect(approvedDigest(db, jobId)).toBe(digest);
    const entry = listAuditLog(db, { entityType: 'patch_job', limit: 10 }).find(
      (e) => e.action === 'job.approve',
    )!;
    expect(entry).toMatchObject({ actor: 'alice', entityId: String(jobId) });
    expect(entry.details).toEqual({
      digest,
      rebootPolicy: 'never',
      hosts: [
        {
          host: 'deb01',
          install: ['acme-firmware=20230210-1+deb12u1', 'acme-tool=1.0-1+deb12u1'],
          newPackages: ['acme-plugins=3.1-1'],
          removals: ['old-lib'],
        },
      ],
    });
    expect(() => approveJob(d, jobId)).toThrow(
      expect.objectContaining({
        code: 'conflict',
        message: `Job ${jobId} is approved; only a draft can be approved.`,
      }) as Error,
    );
    expect(approvedDigest(db, jobId + 1)).toBeNull();
  });

  it('gives a different digest when the previewed changes differ', () => {
    const a = planned();
    updateStep(a.db, a.step.id, {
      phase: 'planned',
      preview: preview([{ name: 'acme-tool', from: '1', to: '2' }]),
    });
    const b = planned();
    updateStep(b.db, b.step.id, {
      phase: 'planned',
      preview: preview([{ name: 'acme-tool', from: '1', to: '3' }]),
    });
    const c = planned();
    updateStep(c.db, c.step.id, {
      phase: 'planned',
      preview: preview([{ name: 'acme-tool', from: '1', to: '2' }]),
    });
    expect(planDigest(a.db, a.jobId)).not.toBe(planDigest(b.db, b.jobId));
    expect(planDigest(a.db, a.jobId)).toBe(planDigest(c.db, c.jobId));
  });

  it('refuses what cannot be approved: unknown job, dry runs still running, nothing to install, an empty preview', () => {
    const { db, jobId, step } = planned();
    const d = deps(db);
    expect(() => approveJob(d, 999)).toThrow(
      expect.objectContaining({ code: 'not-found', message: 'Job 999 does not exist.' }) as Error,
    );
    expect(() => approveJob(d, jobId)).toThrow(
      expect.objectContaining({
        code: 'conflict',
        message: `Job ${jobId}: the dry runs have not finished yet.`,
      }) as Error,
    );
    updateStep(db, step.id, { phase: 'planned' });
    expect(() => approveJob(d, jobId)).toThrow(
      expect.objectContaining({
        code: 'conflict',
        message: `Job ${jobId} cannot be approved: the dry run on deb01 lists no change, and an approval must say what will change.`,
      }) as Error,
    );
    updateStep(db, step.id, { status: 'failed' });
    expect(() => approveJob(d, jobId)).toThrow(
      expect.objectContaining({
        code: 'conflict',
        message: `Job ${jobId} has nothing to install on any host (see each host's reason).`,
      }) as Error,
    );
    expect(d.emitted).toEqual([]);
    expect(getJob(db, jobId)!.status).toBe('draft');
  });
});

describe("dryRunJob over a real SSH server on 127.0.0.1 (ssh2) answering with the lab zypper host's captures", () => {
  const FIXTURES = path.resolve(import.meta.dirname, '../../test/fixtures/zypper');
  const commands: string[] = [];
  let sshHost: FakeSshHost;
  let port = 0;
  let keyType = '';
  let fingerprint = '';
  let dir = '';

  beforeAll(async () => {
    sshHost = await startFakeSshHost((command, channel) => {
      commands.push(command);
      // Which real capture the host prints depends on the version asked for.
      let file = 'lab-host.dry-run-security.xml';
      let code = 0;
      if (command.includes('acme-tool=9.9-1')) [file, code] = ['lab-host.dry-run-no-provider.xml', 104];
      else if (command.includes('acme-tool=1.0-1.el9')) file = 'lab-host.dry-run-installed.xml';
      reply(
        channel,
        /zypper .*install --dry-run/.test(command)
          ? { stdout: fs.readFileSync(path.join(FIXTURES, file)), code }
          : { code },
      );
    });
    ({ port, keyType, fingerprint } = sshHost);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-plan-'));
  });
  afterAll(async () => {
    await sshHost.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const pending = (name: string, from: string, to: string) =>
    finding(name, from, to, { arch: 'noarch', repository: 'repo-update', security: true });

  async function office() {
    const db = createMemoryWorkspace();
    const platform = createNodePlatform({
      configDir: dir,
      useKeychain: false,
      passphrase: 'plan-test-passphrase',
    });
    await addCredential(db, platform.secrets, {
      name: 'office',
      username: 'admin',
      kind: 'password',
      secret: 'office-pw-3f9a',
      scope: ['*'],
    });
    const host = (name: string, findings: FindingInput[], trusted = true) => {
      const h = insertHost(db, { name, address: '127.0.0.1', sshPort: port });
      if (trusted)
        trustHostKey(db, { hostId: h.id, type: keyType, fingerprint, actor: 'test', reason: 'test' });
      recordAudit(db, h.id, OPENSUSE_LEAP_15, 'zypper', findings);
      return h;
    };
    const hosts = [
      host('suse01', [
        pending('acme-tool', '1.0-1.el9', '1.1-1.el9'),
        pending('acme-firmware', '20230210-1.el9', '20240210-1.el9'),
        pending('acme-daemon', '1:2.0-1.el9', '1:2.0-2.el9_3'),
      ]),
      host('suse02', [pending('acme-tool', '1.0-1.el9', '9.9-1')]),
      host('suse03', [pending('acme-tool', '0.9-1.el9', '1.0-1.el9')]),
      host('suse04', [pending('acme-tool', '1.0-1.el9', '1.1-1.el9')], false),
    ];
    const events = new EventBus();
    const steps: string[] = [];
    events.subscribe((event, payload) => {
      if (event === 'job.step') steps.push((payload as { hostName: string }).hostName);
    });
    const d: PatchDeps = { db, secrets: platform.secrets, actor: 'alice', events };
    const { jobId } = createPlan(db, {
      hostIds: hosts.map((h) => h.id),
      selection: { mode: 'security' },
      rebootPolicy: 'never',
      onFailure: 'continue',
      concurrency: 2,
    });
    return { db, d, jobId, steps };
  }

  it("stores each host's preview, or why it cannot be approved, and announces every host", async () => {
    const { db, d, jobId, steps } = await office();
    const progress: string[] = [];
    try {
      await dryRunJob(d, jobId, new AbortController().signal, (done, total) =>
        progress.push(`${done}/${total}`),
      );
    } finally {
      closeParkedSessions(db);
    }
    expect(progress).toEqual(['1/4', '2/4', '3/4', '4/4']);
    expect(steps.sort()).toEqual(['suse01', 'suse02', 'suse03', 'suse04']);
    const byHost = Object.fromEntries(listSteps(db, jobId).map((s) => [s.hostName, s]));
    expect(byHost.suse01).toMatchObject({ status: 'queued', phase: 'planned', errorKind: null });
    expect(byHost.suse01!.preview!.command).toBe(
      'zypper --non-interactive --no-refresh --xmlout install --dry-run --no-recommends acme-daemon=1:2.0-2.el9_3 acme-firmware=20240210-1.el9 acme-tool=1.1-1.el9',
    );
    expect(byHost.suse01!.preview!.upgrades.map((u) => `${u.name} ${u.from} → ${u.to}`)).toEqual([
      'acme-daemon 1:2.0-1.el9 → 1:2.0-2.el9_3',
      'acme-firmware 20230210-1.el9 → 20240210-1.el9',
      'acme-tool 1.0-1.el9 → 1.1-1.el9',
    ]);
    expect(byHost.suse01!.preview!.ranAt).not.toBe('');
    expect(byHost.suse02).toMatchObject({
      status: 'failed',
      phase: 'planned',
      errorKind: 'dry-run-failed',
      errorMessage: "suse02: No provider of 'acme-tool=9.9-1' found.",
    });
    expect(byHost.suse03).toMatchObject({
      status: 'failed',
      phase: 'planned',
      errorKind: 'dry-run-empty',
      errorMessage: emptyPreviewMessage('suse03', 'zypper', 1),
    });
    expect(byHost.suse04).toMatchObject({ status: 'failed', phase: 'planned' });
    expect(byHost.suse04!.errorKind).toMatch(/host-key/);
    // Only the reachable, trusted hosts were asked, each once, and only to dry-run.
    expect(commands.filter((c) => c.includes('--dry-run'))).toHaveLength(3);
    // A job whose only queued step has a preview can now be approved.
    expect(approveJob(d, jobId).status).toBe('approved');
  });

  it('marks every host cancelled when the dry run is cancelled before it starts', async () => {
    const { db, d, jobId, steps } = await office();
    const before = commands.length;
    const abort = new AbortController();
    abort.abort();
    await dryRunJob(d, jobId, abort.signal);
    expect(listSteps(db, jobId).map((s) => [s.status, s.phase, s.errorKind, s.errorMessage])).toEqual(
      Array.from({ length: 4 }, () => ['cancelled', 'planned', 'cancelled', 'Cancelled.']),
    );
    expect(steps).toHaveLength(4);
    expect(commands.length).toBe(before);
  });
});
