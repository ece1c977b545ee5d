/**
 * The Windows step flow with the driver, against a PC in memory (testing/fake-pc.ts) that answers
 * the flow's real scripts and runs the installer the schedule script carries. Every transition of
 * the table, the session dropping mid-install, the PC away for its restart, a failing update, a
 * resumed job, a cancel during the wait. No sleeping: the clock moves as soon as something waits.
 */
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { beforeEach, describe, expect, it } from 'vitest';
import { EventBus } from '../api/event-bus';
import { JobOptions, type JobStep, type PatchJob } from '../api/schemas';
import {
  createMemoryWorkspace,
  getHost,
  getJob,
  getStep,
  insertCredential,
  insertHost,
  insertJob,
  listJobLog,
  listSteps,
  updateJob,
  updateStep,
} from '../db';
import { RemoteError } from '../remote';
import { ManualClock, type ClockTimer } from '../util/clock';
import { driveStep } from './driver';
import { commitStep } from './notify';
import { newWindowsStepState, WINDOWS_STEP_FLOW } from './phases/windows';
import { selectWindowsTargets, windowsPreview } from './phases/windows/targets';
import { kbFinding, recordAudit, WINDOWS_11 } from '../db/testing/audits';
import { approveJob, createPlan, dryRunJob, type PatchDeps } from './plan';
import { rebootHosts, type PatchService } from './service';
import { FakePc } from './testing/fake-pc';

class HurryingClock extends ManualClock {
  override setTimeout(fn: () => void, ms: number): ClockTimer {
    const timer = super.setTimeout(fn, ms);
    queueMicrotask(() => this.advance(ms));
    return timer;
  }
}

const ID = '8f1c2d3e-4b5a-4c6d-8e7f-901234567890';
const ID2 = '0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d';

let db: Database;
let deps: PatchDeps;
let pc: FakePc;
let controller: AbortController;
let phases: string[];
const template = createMemoryWorkspace().serialize();

beforeEach(() => {
  db = new BetterSqlite3(template);
  db.pragma('foreign_keys = ON');
  const events = new EventBus();
  deps = { db, secrets: {} as PatchDeps['secrets'], actor: 'admin', events };
  pc = new FakePc();
  pc.pending = [
    {
      kb: 'KB5034441',
      updateId: ID,
      revision: 201,
      title: '2026-01 Cumulative Update',
      rebootRequired: true,
    },
  ];
  controller = new AbortController();
  phases = [];
  events.subscribe((event, payload) => {
    if (event !== 'job.step') return;
    const step = payload as JobStep;
    if (step.phase && phases.at(-1) !== step.phase) phases.push(step.phase);
  });
});

function makeStep(
  rebootPolicy: PatchJob['rebootPolicy'] = 'if-required',
  packages = [{ name: 'KB5034441', arch: null, from: null, to: `${ID}.201`, security: true }],
  edit?: (stepId: number) => void,
): { job: PatchJob; step: JobStep } {
  const hostId = insertHost(db, { name: 'win1', address: '127.0.0.1' }).id;
  const jobId = insertJob(db, {
    name: 'updates',
    selection: { mode: 'all' },
    rebootPolicy,
    onFailure: 'continue',
    concurrency: 1,
    options: JobOptions.parse({ windowsRestartDelaySeconds: 120 }),
    steps: [{ hostId, packageManager: 'windows-update', packages }],
  });
  updateJob(db, jobId, { status: 'running' });
  const stepId = listSteps(db, jobId)[0]!.id;
  edit?.(stepId);
  return { job: getJob(db, jobId)!, step: getStep(db, stepId)! };
}

async function drive(made: { job: PatchJob; step: JobStep }) {
  const { job, step } = made;
  const state = newWindowsStepState({
    deps,
    job,
    step,
    host: getHost(db, step.hostId)!,
    pm: 'windows-update' as never,
    signal: controller.signal,
    open: () => Promise.resolve(pc.open()),
    clock: new HurryingClock('2026-03-02T02:00:00Z'),
  });
  const status = await driveStep(WINDOWS_STEP_FLOW, state, {
    commit: (patch) => commitStep(deps, step.id, patch),
    signal: controller.signal,
    now: () => new Date().toISOString(),
  });
  const final = getStep(db, step.id)!;
  expect(final.status).toBe(status);
  return { status, step: final, log: listJobLog(db, job.id).map((e) => e.text) };
}

describe('the Windows flow', () => {
  it('precheck → schedule → wait → restart → verify: the task installs exactly the approved UpdateID', async () => {
    pc.pending.push({ kb: 'KB5035000', updateId: ID2, revision: 1, title: 'not approved' });
    const r = await drive(makeStep());
    expect(r.status).toBe('succeeded');
    expect(phases).toEqual(['precheck', 'install', 'reboot', 'verify', 'done']);
    // The installer names the approved UpdateID and revision, and no other.
    expect(pc.installers).toHaveLength(1);
    expect(pc.installers[0]).toContain(`@{id='${ID}';rev=201}`);
    expect(pc.installers[0]).not.toContain(ID2);
    expect(pc.installers[0]).toContain('Unregister-ScheduledTask');
    expect(pc.pending.map((u) => u.kb)).toEqual(['KB5035000']);
    expect(pc.tasks.size).toBe(0);
    // Windows' own restart, with the job's delay and a message for the signed-in user.
    expect(pc.shutdowns).toEqual([
      'shutdown.exe /r /t 120 /c "Patchdeck installed Windows updates on this PC. It restarts in 2 minutes: please save your work." /d p:2:17',
    ]);
    expect(r.step.before).toEqual({ KB5034441: null });
    expect(r.step.after).toEqual({ KB5034441: 'installed' });
    expect(r.step.undoRecipe).toBe('wusa /uninstall /kb:5034441 /quiet /norestart');
    expect(r.step.verifyAuditId).not.toBeNull();
    expect(r.log).toContain('KB5034441 installed; it needs a restart');
    expect(r.log).toContain('the PC is back after its restart');
    expect(r.log.at(-1)).toBe('verified by re-audit: 1 update(s) installed');
  });

  it('survives the session dropping mid-install: reconnects through the opener and polls again', async () => {
    pc.pollsBeforeReceipt = 4;
    pc.before.poll = (n) => {
      if (n === 2) {
        pc.away = 3; // the next three connects are refused, as while a network driver is replaced
        throw new RemoteError('unreachable', 'WIN1: the connection was reset.');
      }
    };
    const r = await drive(makeStep());
    expect(r.status).toBe('succeeded');
    expect(r.log.some((l) => l.startsWith('the connection to the PC dropped during the install'))).toBe(true);
    expect(r.log).toContain('reconnected to the PC; polling the task again');
    expect(pc.installers).toHaveLength(1);
  });

  it('a failing update ends the step failed with its HRESULT as a sentence', async () => {
    pc.pending[0]!.resultCode = 4;
    pc.pending[0]!.hresult = '0x80240022';
    const r = await drive(makeStep());
    expect(r.status).toBe('failed');
    expect(r.step.errorKind).toBe('install-failed');
    expect(r.step.errorMessage).toBe('KB5034441 failed: The operation failed for every update. (0x80240022)');
    expect(r.step.after).toEqual({ KB5034441: 'failed (0x80240022)' });
    expect(r.step.undoRecipe).toBeNull();
    expect(pc.shutdowns).toEqual([]);
    expect(r.log.some((l) => /succeeded|finished/.test(l))).toBe(false);
  });

  it('precheck → verify when Windows lists the KB as installed: no task is registered', async () => {
    pc.pending = [];
    pc.hotfixes = ['KB5034441'];
    const r = await drive(makeStep());
    expect(r.status).toBe('succeeded');
    expect(phases).toEqual(['precheck', 'verify', 'done']);
    expect(pc.seen).not.toContain('schedule');
    expect(r.log).toContain('every approved update is already installed; nothing to install');
    expect(r.log.at(-1)).toBe('verified by re-audit: nothing to install: 1 update(s) already installed');
    expect(r.log.some((l) => /[1-9] update\(s\) installed/.test(l))).toBe(false);
  });

  it('an update Windows no longer offers (superseded, 0x80240024) is not counted as installed', async () => {
    pc.pending = []; // not listed as installed either: the task finds it no longer offered
    const r = await drive(makeStep());
    expect(r.status).toBe('succeeded');
    expect(phases).toEqual(['precheck', 'install', 'verify', 'done']);
    expect(pc.shutdowns).toEqual([]);
    expect(r.step.undoRecipe).toBeNull();
    expect(r.log.at(-1)).toBe(
      'verified by re-audit: 0 update(s) installed, 1 no longer offered by Windows Update',
    );
    expect(r.log.some((l) => /[1-9] update\(s\) installed/.test(l))).toBe(false);
  });

  it('a receipt that says installed while the re-audit still lists the KB ends the step verify-failed', async () => {
    pc.pending[0]!.staysPending = true;
    const r = await drive(makeStep());
    expect(r.status).toBe('failed');
    expect(r.step.errorKind).toBe('verify-failed');
    expect(r.step.errorMessage).toBe(`Still pending after the install: KB5034441 (wanted ${ID}.201).`);
    expect(r.step.after).toEqual({ KB5034441: 'installed' });
    expect(r.step.verifyAuditId).not.toBeNull();
    expect(r.log.some((l) => /succeeded|finished|verified by re-audit/.test(l))).toBe(false);
  });

  it('precheck → pre-reboot → precheck when a restart was pending, under a policy that allows it', async () => {
    pc.rebootReasons = ['CBS RebootPending'];
    const r = await drive(makeStep());
    expect(r.status).toBe('succeeded');
    expect(phases).toEqual(['precheck', 'pre-reboot', 'precheck', 'install', 'reboot', 'verify', 'done']);
    expect(pc.shutdowns).toHaveLength(2);
    // The first restart clears the reboot pending before the install: nothing is installed yet.
    expect(pc.shutdowns[0]).toBe(
      'shutdown.exe /r /t 120 /c "Windows must finish installing earlier updates on this PC before Patchdeck can install new ones. It restarts in 2 minutes: please save your work." /d p:2:17',
    );
    expect(pc.shutdowns[1]).toBe(
      'shutdown.exe /r /t 120 /c "Patchdeck installed Windows updates on this PC. It restarts in 2 minutes: please save your work." /d p:2:17',
    );
  });

  it('with the boot time unknown before the restart, the old system answering is not taken for the PC back', async () => {
    pc.bootUnreadable = true; // the pre-check and the boot script print no boot time until the restart
    const oldBoot = pc.boot;
    const r = await drive(makeStep());
    // The first boot read after shutdown.exe still sees the old system (the restart has not happened);
    // only after the PC was away is a boot time accepted.
    expect(pc.boot).toBe(oldBoot + 3600);
    expect(r.status).toBe('succeeded');
    expect(r.log).toContain('the PC is back after its restart');
    const afterShutdown = pc.seen.slice(pc.seen.indexOf('shutdown'));
    expect(afterShutdown.filter((s) => s === 'boot').length).toBeGreaterThanOrEqual(3);
  });

  it('policy "never": installs, does not restart, ends reboot-pending', async () => {
    const r = await drive(makeStep('never'));
    expect(r.status).toBe('reboot-pending');
    expect(pc.shutdowns).toEqual([]);
    expect(r.log).toContain('Windows asks for a restart; reboot policy is "never"');
  });

  it('a resumed job whose task is still on the PC waits for its receipt and never registers it twice', async () => {
    const made = makeStep();
    const name = `Patchdeck-${made.job.id}-${made.step.id}`;
    pc.installers.push(`$want=@(@{id='${ID}';rev=201})`);
    pc.tasks.set(name, 'Running');
    const r = await drive(made);
    expect(r.status).toBe('succeeded');
    expect(pc.seen).not.toContain('schedule');
    expect(r.log).toContain(`the task ${name} of an earlier run is on the PC; reading its receipt`);
  });

  it('believes no receipt someone else left in a folder not locked to SYSTEM and Administrators: the task runs afresh', async () => {
    const made = makeStep();
    const dir = `C:\\ProgramData\\Patchdeck\\jobs\\${made.job.id}-${made.step.id}`;
    // A local user made the folder before Patchdeck did and wrote a receipt claiming success.
    pc.unlocked.add(dir);
    pc.files.set(
      `${dir}\\receipt.json`,
      JSON.stringify({
        version: 1,
        jobStep: `${made.job.id}-${made.step.id}`,
        rebootRequired: true,
        updates: [],
      }),
    );
    const r = await drive(made);
    expect(pc.seen).toContain('schedule');
    expect(pc.installers).toHaveLength(1);
    expect(r.log).toContain(
      `a receipt.json is in ${dir}, but the folder is not locked to SYSTEM and Administrators, so it may not be Patchdeck's: it is ignored, and the task makes the folder afresh`,
    );
    expect(r.log.some((l) => l.includes('of an earlier run is on the PC'))).toBe(false);
    expect(r.status).toBe('succeeded');
    expect(pc.pending).toEqual([]);
  });

  it('a cancel during the wait lets the install finish and records it; restart and verification are skipped', async () => {
    pc.before.poll = () => controller.abort();
    const r = await drive(makeStep());
    expect(r.status).toBe('cancelled');
    expect(r.step.errorMessage).toBe(
      'Cancelled after the install finished; reboot and verification skipped.',
    );
    expect(r.step.after).toEqual({ KB5034441: 'installed' });
    expect(pc.shutdowns).toEqual([]);
  });

  it('a cancel during the restart warning calls the restart off on the PC and ends the step cancelled', async () => {
    const oldBoot = pc.boot;
    pc.before.shutdown = () => controller.abort();
    const r = await drive(makeStep());
    expect(r.status).toBe('cancelled');
    expect(pc.shutdowns).toHaveLength(2);
    expect(pc.shutdowns[1]).toBe('shutdown.exe /a');
    expect(r.log).toContain('the restart was called off on the PC');
    expect(r.step.errorMessage).toBe(
      "Cancelled during Windows' restart warning: the restart was called off and the PC was not restarted; the updates are installed; not verified.",
    );
    expect(r.step.after).toEqual({ KB5034441: 'installed' });
    // The restart is off: nothing more was asked of the PC, its boot time is the old one.
    expect(pc.seen.at(-1)).toBe('abort');
    expect(pc.boot).toBe(oldBoot);
  });

  it('a cancel during the warning that finds no restart pending any more (1116) does not say it restarts as announced', async () => {
    pc.before.shutdown = () => controller.abort();
    let first = true;
    pc.before.abort = () => {
      // Someone (or the restart itself) ended the pending restart before Patchdeck's call arrived.
      if (first) {
        first = false;
        pc.command('shutdown.exe /a');
      }
    };
    const r = await drive(makeStep());
    expect(r.status).toBe('cancelled');
    expect(r.log).toContain(
      'Windows had no restart pending any more (it may have restarted already), so there was nothing to call off',
    );
    expect(r.step.errorMessage).toBe(
      "Cancelled during Windows' restart warning, but Windows had no restart pending any more (the PC may have restarted already); the updates are installed; not verified.",
    );
    expect(r.log.some((l) => l.includes('restarts as announced'))).toBe(false);
  });

  it('a cancel during the restart warning with the PC unreachable says it restarts as announced', async () => {
    pc.rebootReasons = ['CBS RebootPending'];
    pc.before.shutdown = () => controller.abort();
    pc.before.abort = () => {
      pc.away = 5;
      throw new RemoteError('unreachable', 'WIN1: the connection was reset.');
    };
    const r = await drive(makeStep());
    expect(r.status).toBe('cancelled');
    expect(phases).toEqual(['precheck', 'pre-reboot']);
    expect(r.log).toContain('the PC could not be reached to call the restart off: it restarts as announced');
    expect(r.step.errorMessage).toBe(
      "Cancelled during Windows' restart warning, but the restart could not be called off: the PC restarts as announced; nothing was installed; not verified.",
    );
    expect(pc.installers).toEqual([]);
    expect(r.log.some((l) => /called off on the PC|succeeded|finished/.test(l))).toBe(false);
  });

  it('a task that disappears without a receipt fails the step', async () => {
    pc.before.poll = () => {
      pc.tasks.clear();
    };
    const r = await drive(makeStep());
    expect(r.status).toBe('failed');
    expect(r.step.errorKind).toBe('task-failed');
    expect(r.step.errorMessage).toBe(
      'The install task is gone from the PC and left no receipt; what it installed is unknown. Re-audit the PC.',
    );
  });

  it('refuses a target without a valid UpdateID before anything runs on the PC', async () => {
    const r = await drive(
      makeStep('if-required', [
        { name: 'KB5034441', arch: null, from: null, to: "x'; Remove-Item C:\\", security: true },
      ]),
    );
    expect(r.status).toBe('failed');
    expect(r.step.errorKind).toBe('not-approved');
    expect(pc.seen).toEqual([]);
  });

  it('starts at the restart for a step queued again in its reboot phase', async () => {
    pc.pending = [];
    const r = await drive(
      makeStep('if-required', undefined, (id) => updateStep(db, id, { phase: 'reboot' })),
    );
    expect(r.status).toBe('succeeded');
    expect(phases).toEqual(['reboot', 'verify', 'done']);
    expect(pc.shutdowns).toHaveLength(1);
  });
});

describe('Windows reboot jobs (hosts.reboot)', () => {
  const later = '2026-03-02T03:00:00.000Z';
  const svc = (): PatchService => ({
    deps: () => deps,
    tasks: () => {
      throw new Error('a scheduled reboot starts no task now');
    },
    clock: new ManualClock('2026-03-02T02:00:00Z'),
  });
  function windowsPc(kind: 'windows' | 'password'): number {
    const host = insertHost(db, { name: 'win1', address: '127.0.0.1' });
    recordAudit(db, host.id, WINDOWS_11, 'windows-update', []);
    insertCredential(db, {
      name: 'office',
      username: kind === 'windows' ? 'PATCHDECK\\alice' : 'ops',
      kind,
      scope: ['*'],
      secret: Buffer.from('sealed bytes'),
      passphrase: null,
      sudoPassword: null,
    });
    return host.id;
  }

  it("restarts a Windows PC with Windows' own restart and the job's delay, then re-audits it", async () => {
    pc.pending = [];
    const job = rebootHosts(svc(), { hostIds: [windowsPc('windows')], at: later });
    expect(job.status).toBe('scheduled');
    const step = listSteps(db, job.id)[0]!;
    expect(step).toMatchObject({ packageManager: 'windows-update', phase: 'reboot', packages: [] });
    updateJob(db, job.id, { status: 'running' });
    const r = await drive({ job: getJob(db, job.id)!, step });
    expect(r.status).toBe('succeeded');
    expect(phases).toEqual(['reboot', 'verify', 'done']);
    expect(pc.shutdowns).toEqual([
      'shutdown.exe /r /t 300 /c "Your administrator restarts this PC with Patchdeck. It restarts in 5 minutes: please save your work." /d p:2:17',
    ]);
    expect(r.log).toContain("win1: restarting the PC with Windows' own restart, then re-auditing it");
    expect(r.log).toContain('the PC is back after its restart');
    expect(r.log.at(-1)).toBe('re-audited: no reboot pending');
    expect(r.step.verifyAuditId).not.toBeNull();
    expect(pc.seen).not.toContain('schedule');
  });

  it('refuses a Windows PC whose credential logs in over SSH when the reboot is asked for', () => {
    const hostId = windowsPc('password');
    expect(() => rebootHosts(svc(), { hostIds: [hostId], at: later })).toThrow(
      'win1: a Windows PC is restarted over WinRM, with a Windows credential; the office credential logs in over SSH, and Patchdeck cannot restart Windows over OpenSSH yet.',
    );
    expect(listSteps(db, 1)).toEqual([]);
  });
});

describe('Windows plans', () => {
  const finding = (pkg: string, details?: unknown) => ({
    package: pkg,
    security: true,
    availableVersion: 'title',
    details,
  });

  it('targets KBs by UpdateID (and revision); a KB without an UpdateID on record is left out with why', () => {
    const { packages, skipped } = selectWindowsTargets(
      [
        finding('KB5034441', { updateId: ID.toUpperCase(), revision: 201 }),
        finding('KB5035000', { updateId: null }),
        finding('Defender definitions', { updateId: ID2 }),
      ],
      { mode: 'all' },
    );
    expect(packages).toEqual([
      { name: 'KB5034441', arch: null, from: null, to: `${ID}.201`, security: true },
    ]);
    expect(skipped.map((s) => s.name)).toEqual(['KB5035000', 'Defender definitions']);
    const preview = windowsPreview(packages, skipped, '2026-03-02T02:00:00Z');
    expect(preview.upgrades).toEqual([{ name: 'KB5034441', arch: null, from: null, to: `${ID}.201` }]);
    expect(preview.command).toContain('wusa /uninstall /kb:5034441 /quiet /norestart');
  });

  it('plans KB steps from the latest audit, previews them without a dry run, and approves them', async () => {
    const hostId = insertHost(db, { name: 'win1', address: '127.0.0.1' }).id;
    const details = {
      updateId: ID,
      revision: 201,
      sizeBytes: null,
      releasedAt: null,
      rebootBehavior: 'always',
      categories: ['Security Updates'],
      updateType: 'software',
    };
    recordAudit(db, hostId, WINDOWS_11, 'windows-update', [
      kbFinding('KB5034441', details),
      kbFinding('KB5035000', null),
    ]);
    const { jobId } = createPlan(db, {
      hostIds: [hostId],
      selection: { mode: 'all' },
      rebootPolicy: 'if-required',
      onFailure: 'continue',
      concurrency: 1,
    });
    await dryRunJob(deps, jobId, controller.signal);
    const step = listSteps(db, jobId)[0]!;
    expect(step.status).toBe('queued');
    expect(step.packageManager).toBe('windows-update');
    expect(step.packages).toEqual([
      { name: 'KB5034441', arch: null, from: null, to: `${ID}.201`, security: true },
    ]);
    expect(step.preview?.upgrades).toEqual([{ name: 'KB5034441', arch: null, from: null, to: `${ID}.201` }]);
    expect(step.preview?.skipped).toEqual([
      { name: 'KB5035000', reason: 'no UpdateID on record: audit the PC again, then plan again' },
    ]);
    expect(approveJob(deps, jobId).status).toBe('approved');
  });

  it('settles a PC whose credential logs in over SSH at planning, before anything restarts it', async () => {
    const host = insertHost(db, { name: 'win2', address: '127.0.0.1' });
    recordAudit(db, host.id, WINDOWS_11, 'windows-update', [
      kbFinding('KB5034441', { updateId: ID, revision: 201 }),
    ]);
    insertCredential(db, {
      name: 'ops',
      username: 'ops',
      kind: 'password',
      scope: ['*'],
      secret: Buffer.from('sealed bytes'),
      passphrase: null,
      sudoPassword: null,
    });
    const { jobId } = createPlan(db, {
      hostIds: [host.id],
      selection: { mode: 'all' },
      rebootPolicy: 'if-required',
      onFailure: 'continue',
      concurrency: 1,
    });
    await dryRunJob(deps, jobId, controller.signal);
    const step = listSteps(db, jobId)[0]!;
    expect(step).toMatchObject({ status: 'failed', errorKind: 'unsupported' });
    expect(step.errorMessage).toBe(
      'win2: Windows updates are installed over WinRM, with a Windows credential; the ops credential logs in over SSH, and Patchdeck cannot patch Windows over OpenSSH yet.',
    );
  });
});
