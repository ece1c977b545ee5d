/**
 * The step driver and the Linux flow's table, with a fake session instead of SSH: a small pacman
 * host in memory that answers the real scripts the phases send (sections, install, reboot, the
 * pacman collector's audit). Every transition of the table, a cancel arriving in each phase, and
 * the failure message of each phase, on a real in-memory workspace. No sleeping: the clock is a
 * manual one that moves as soon as something waits on it.
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
  insertHost,
  insertJob,
  listAudits,
  listFindings,
  listJobLog,
  listSteps,
  updateJob,
  updateStep,
} from '../db';
import { RemoteError, type RunOptions, type RunResult, type SshSession } from '../remote';
import { ManualClock, type ClockTimer } from '../util/clock';
import { REBOOT_COMMAND } from './commands';
import { driveStep, StepFailure, type StepFlow } from './driver';
import { commitStep } from './notify';
import { LINUX_STEP_FLOW, newStepState } from './phases';
import type { PatchDeps } from './plan';

/** A manual clock that moves to whatever is waited for, at once: waits cost no real time. */
class HurryingClock extends ManualClock {
  override setTimeout(fn: () => void, ms: number): ClockTimer {
    const timer = super.setTimeout(fn, ms);
    queueMicrotask(() => this.advance(ms));
    return timer;
  }
}

type Stage = 'connect' | 'precheck' | 'install' | 'snapshot' | 'reboot' | 'probe' | 'verify';

/** A pacman host: installed and offered versions, a reboot flag, boots that clear /run. */
class FakeHost {
  installed: Record<string, string> = { foo: '1.0-1', bar: '2.0-1' };
  offered: Record<string, string> = { foo: '1.1-1' };
  /** /var/run/reboot-required exists (what the pre-check and snapshot read). */
  rebootFlag = false;
  /** The running kernel's modules are gone (what the verification audit reads). */
  kernelMissing = false;
  /** What an install leaves behind. */
  installSetsRebootFlag = false;
  installSetsKernelMissing = false;
  installTakes = true;
  /** Commands end in RemoteError 'cancelled' when their signal aborted, as a real session's do. */
  honoursSignal = false;
  freeKb = 900_000;
  boots = 0;
  readonly seen: Stage[] = [];
  private markers = new Set<string>();
  /** Runs before the host answers a command of that stage; may throw or replace the answer. */
  before: Partial<Record<Stage, () => RunResult | void>> = {};

  open(): SshSession {
    this.hook('connect');
    return new FakeSession(this) as unknown as SshSession;
  }

  hook(stage: Stage): RunResult | void {
    this.seen.push(stage);
    return this.before[stage]?.();
  }

  answer(command: string, options: RunOptions | undefined): RunResult {
    const sections = /@@PATCHDECK:([0-9a-f]+):begin:/.exec(command);
    if (sections) return this.script(command, sections[1]!);
    if (command.startsWith('pacman -S --noconfirm')) {
      const replaced = this.hook('install');
      if (replaced) return replaced;
      const out = 'resolving dependencies...\nupgrading foo...\n';
      options?.onStdout?.(out);
      if (this.installTakes)
        for (const [name, version] of Object.entries(this.offered)) this.installed[name] = version;
      if (this.installSetsRebootFlag) this.rebootFlag = true;
      if (this.installSetsKernelMissing) this.kernelMissing = true;
      return { stdout: out, stderr: '', code: 0 };
    }
    if (command.startsWith(': > ')) {
      this.markers.add(command.slice(4));
      return { stdout: '', stderr: '', code: 0 };
    }
    if (command === REBOOT_COMMAND) {
      const replaced = this.hook('reboot');
      if (replaced) return replaced;
      this.boots++;
      this.markers.clear();
      this.rebootFlag = false;
      this.kernelMissing = false;
      return { stdout: 'reboot-issued\n', stderr: '', code: 0 };
    }
    if (command.startsWith('test -e ')) {
      this.hook('probe');
      const marker = command.slice('test -e '.length, command.indexOf(' &&'));
      return { stdout: this.markers.has(marker) ? 'same\n' : 'rebooted\n', stderr: '', code: 0 };
    }
    throw new Error(`the fake host does not know: ${command}`);
  }

  private script(command: string, nonce: string): RunResult {
    const names = [
      ...new Set([...command.matchAll(/@@PATCHDECK:[0-9a-f]+:begin:([a-z0-9-]+)'/g)].map((m) => m[1]!)),
    ];
    const stage: Stage = names.includes('dryrun')
      ? 'precheck'
      : names.includes('tool')
        ? 'verify'
        : 'snapshot';
    const replaced = this.hook(stage);
    if (replaced) return replaced;
    const versions = Object.entries(this.installed)
      .map(([n, v]) => `${n} ${v} ii`)
      .join('\n');
    const body: Record<string, string> = {
      disk: `${this.freeKb}\n${this.freeKb}\n${this.freeKb}`,
      reboot:
        stage === 'verify'
          ? this.kernelMissing
            ? 'running-kernel-missing'
            : 'running-kernel-installed'
          : this.rebootFlag
            ? 'required'
            : 'unknown',
      before: versions,
      after: versions,
      dryrun: Object.entries(this.offered)
        .map(([n, v]) => `${n} ${v}`)
        .join('\n'),
      tool: 'pacman',
      updates: Object.entries(this.offered)
        .filter(([n, v]) => this.installed[n] !== v)
        .map(([n, v]) => `${n} ${this.installed[n]} -> ${v}`)
        .join('\n'),
      age: '1772409600\n1772409600',
    };
    let stdout = '';
    let stderr = '';
    for (const name of names) {
      const begin = `@@PATCHDECK:${nonce}:begin:${name}`;
      const end = `@@PATCHDECK:${nonce}:end:${name}:0`;
      stdout += `\n${begin}\n${body[name] ?? ''}\n${end}\n`;
      stderr += `\n${begin}\n\n${end}\n`;
    }
    return { stdout, stderr, code: 0 };
  }
}

class FakeSession {
  isOpen = true;
  constructor(private readonly host: FakeHost) {}
  run(command: string, options?: RunOptions): Promise<RunResult> {
    if (!this.isOpen) return Promise.reject(new RemoteError('unreachable', 'web01: the session was closed.'));
    try {
      const result = this.host.answer(command, options);
      if (this.host.honoursSignal && options?.signal?.aborted)
        return Promise.reject(new RemoteError('cancelled', 'Cancelled.'));
      return Promise.resolve(result);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }
  close(): void {
    this.isOpen = false;
  }
}

let db: Database;
let events: EventBus;
let deps: PatchDeps;
let host: FakeHost;
let controller: AbortController;
let phases: string[];

/** Migrated once; each test opens its own copy (a migration run per test would cost more than the tests). */
const template = createMemoryWorkspace().serialize();

beforeEach(() => {
  db = new BetterSqlite3(template);
  db.pragma('foreign_keys = ON');
  events = new EventBus();
  deps = { db, secrets: {} as PatchDeps['secrets'], actor: 'admin', events };
  host = new FakeHost();
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
  edit?: (stepId: number) => void,
): { job: PatchJob; step: JobStep } {
  const hostId = insertHost(db, { name: 'web01', address: '127.0.0.1' }).id;
  const jobId = insertJob(db, {
    name: 'updates',
    selection: { mode: 'all' },
    rebootPolicy,
    onFailure: 'continue',
    concurrency: 1,
    options: JobOptions.parse({}),
    steps: [
      {
        hostId,
        packageManager: 'pacman',
        packages: [{ name: 'foo', arch: null, from: '1.0-1', to: '1.1-1', security: true }],
      },
    ],
  });
  updateJob(db, jobId, { status: 'running' });
  const stepId = listSteps(db, jobId)[0]!.id;
  edit?.(stepId);
  return { job: getJob(db, jobId)!, step: getStep(db, stepId)! };
}

async function drive(made: { job: PatchJob; step: JobStep }, flow = LINUX_STEP_FLOW) {
  const { job, step } = made;
  const state = newStepState({
    deps,
    job,
    step,
    host: getHost(db, step.hostId)!,
    pm: 'pacman',
    signal: controller.signal,
    open: () => Promise.resolve(host.open()),
    clock: new HurryingClock('2026-03-02T02:00:00Z'),
  });
  const status = await driveStep(flow, state, {
    commit: (patch) => commitStep(deps, step.id, patch),
    signal: controller.signal,
    now: () => new Date().toISOString(),
  });
  const final = getStep(db, step.id)!;
  expect(final.status).toBe(status);
  return { status, step: final, log: listJobLog(db, job.id).map((e) => e.text) };
}

const abortOn = (stage: Stage) => {
  const earlier = host.before[stage];
  host.before[stage] = () => {
    controller.abort();
    return earlier?.();
  };
};

describe('every transition of the Linux flow', () => {
  it('precheck → install → snapshot → verify → succeeded', async () => {
    const r = await drive(makeStep());
    expect(r.status).toBe('succeeded');
    expect(phases).toEqual(['precheck', 'install', 'verify', 'done']);
    expect(host.seen).toEqual(['connect', 'precheck', 'install', 'snapshot', 'verify']);
    expect(r.step.before).toEqual({ foo: '1.0-1', bar: '2.0-1' });
    expect(r.step.after).toEqual({ foo: '1.1-1', bar: '2.0-1' });
    expect(r.step.undoRecipe).toContain('foo');
    expect(r.step.verifyAuditId).toBe(listAudits(db, r.step.hostId, 5)[0]!.id);
    expect(r.log.at(-1)).toBe('verified by re-audit: 1 update(s) installed');
  });

  it('judges the verifying audit like any audit: what is still pending keeps its first sighting', async () => {
    host.offered = { foo: '1.1-1', bar: '2.1-1' };
    const answer = host.answer.bind(host);
    host.answer = (command, options) => {
      if (!command.startsWith('pacman -S --noconfirm')) return answer(command, options);
      host.installed.foo = '1.1-1'; // only the approved package; bar stays pending
      return { stdout: 'upgrading foo...\n', stderr: '', code: 0 };
    };
    const r = await drive(makeStep());
    expect(r.status).toBe('succeeded');
    const pending = listFindings(db, r.step.verifyAuditId!);
    expect(pending.map((f) => f.package)).toEqual(['bar']);
    expect(pending[0]!.firstSeenAt).not.toBeNull();
  });

  it('snapshot → reboot → verify when the install asks for a reboot and the policy allows it', async () => {
    host.installSetsRebootFlag = true;
    const r = await drive(makeStep('if-required'));
    expect(r.status).toBe('succeeded');
    expect(phases).toEqual(['precheck', 'install', 'reboot', 'verify', 'done']);
    expect(host.boots).toBe(1);
    expect(r.log).toContain('the host is back after its reboot');
  });

  it('precheck → pre-reboot → precheck again when a reboot was pending before the install', async () => {
    host.rebootFlag = true;
    const r = await drive(makeStep('if-required'));
    expect(r.status).toBe('succeeded');
    expect(phases).toEqual(['precheck', 'pre-reboot', 'precheck', 'install', 'verify', 'done']);
    expect(host.seen.filter((s) => s === 'precheck')).toHaveLength(2);
  });

  it('installs without the pending reboot under policy "never", and ends reboot-pending', async () => {
    host.rebootFlag = true;
    host.installSetsKernelMissing = true;
    const r = await drive(makeStep('never'));
    expect(r.status).toBe('reboot-pending');
    expect(phases).toEqual(['precheck', 'install', 'verify', 'done']);
    expect(host.boots).toBe(0);
    expect(r.log.at(-1)).toBe(
      'verified by re-audit: 1 update(s) installed; reboot pending (reboot policy is "never")',
    );
  });

  it('verify → reboot → verify when only the re-audit sees that a reboot is needed', async () => {
    host.installSetsKernelMissing = true;
    const r = await drive(makeStep('if-required'));
    expect(r.status).toBe('succeeded');
    expect(phases).toEqual(['precheck', 'install', 'verify', 'reboot', 'verify', 'done']);
    expect(host.seen.filter((s) => s === 'verify')).toHaveLength(2);
  });

  it('precheck → verify with nothing to install (the install is never on record)', async () => {
    host.installed.foo = '1.1-1';
    const r = await drive(makeStep());
    expect(r.status).toBe('succeeded');
    expect(phases).toEqual(['precheck', 'verify', 'done']);
    expect(host.seen).not.toContain('install');
    expect(r.log).toContain('every target is already at its approved version; nothing to install');
  });

  it('precheck → snapshot after an interrupted install that finished on the host', async () => {
    host.installed.foo = '1.1-1';
    const r = await drive(makeStep('never', (id) => updateStep(db, id, { before: { foo: '1.0-1' } })));
    expect(r.status).toBe('succeeded');
    expect(phases).toEqual(['precheck', 'verify', 'done']);
    expect(host.seen).toEqual(['connect', 'precheck', 'snapshot', 'verify']);
    expect(r.step.after).toEqual({ foo: '1.1-1', bar: '2.0-1' });
    expect(r.log).toContain('the interrupted install had finished on the host; recording what it changed');
  });

  it('starts at the reboot for a step queued again in its reboot phase', async () => {
    host.installed.foo = '1.1-1';
    const r = await drive(makeStep('if-required', (id) => updateStep(db, id, { phase: 'reboot' })));
    expect(r.status).toBe('succeeded');
    expect(phases).toEqual(['reboot', 'verify', 'done']);
    expect(host.seen).toEqual(['connect', 'reboot', 'connect', 'probe', 'verify']);
    expect(r.log[0]).toBe('web01: the updates are installed; rebooting the host, then verifying');
  });
});

describe('a cancel arriving in each phase', () => {
  it('precheck: nothing is installed', async () => {
    abortOn('precheck');
    const r = await drive(makeStep());
    expect([r.status, r.step.errorKind, r.step.errorMessage]).toEqual([
      'cancelled',
      'cancelled',
      'Cancelled before anything was installed.',
    ]);
    expect(r.step.phase).toBe('precheck');
    expect(r.step.before).toBeNull();
    expect(host.installed.foo).toBe('1.0-1');
  });

  it('pre-reboot: the wait for the host ends, nothing is installed', async () => {
    host.rebootFlag = true;
    abortOn('reboot');
    const r = await drive(makeStep());
    expect(r.status).toBe('cancelled');
    expect(r.step.errorMessage).toBe(
      'Cancelled while waiting for the host to come back from its reboot; not verified.',
    );
    expect(r.step.phase).toBe('pre-reboot');
    expect(host.seen).not.toContain('install');
  });

  it('install: the install runs to its end and is recorded; reboot and verification are skipped', async () => {
    host.installSetsRebootFlag = true;
    abortOn('install');
    const r = await drive(makeStep());
    expect(r.status).toBe('cancelled');
    expect(r.step.errorMessage).toBe(
      'Cancelled after the install finished; reboot and verification skipped.',
    );
    expect(r.step.after).toEqual({ foo: '1.1-1', bar: '2.0-1' });
    expect(host.seen).toEqual(['connect', 'precheck', 'install', 'snapshot']);
  });

  it('snapshot: what the install changed is still recorded', async () => {
    abortOn('snapshot');
    const r = await drive(makeStep());
    expect(r.status).toBe('cancelled');
    expect(r.step.errorMessage).toBe(
      'Cancelled after the install finished; reboot and verification skipped.',
    );
    expect(r.step.undoRecipe).toContain('foo');
    expect(host.seen).not.toContain('verify');
  });

  it('reboot: the host reboots, the wait for it ends, nothing is verified', async () => {
    host.installSetsRebootFlag = true;
    abortOn('reboot');
    const r = await drive(makeStep());
    expect(r.status).toBe('cancelled');
    expect(r.step.errorMessage).toBe(
      'Cancelled while waiting for the host to come back from its reboot; not verified.',
    );
    expect(r.step.phase).toBe('reboot');
    expect(host.seen).not.toContain('verify');
  });

  it('reboot: a cancel after the host came back still verifies it, as the old run did', async () => {
    host.installSetsRebootFlag = true;
    abortOn('probe');
    const r = await drive(makeStep());
    expect(r.status).toBe('succeeded');
    expect(phases).toEqual(['precheck', 'install', 'reboot', 'verify', 'done']);
    expect(host.seen.at(-1)).toBe('verify');
    expect(r.step.verifyAuditId).toBe(listAudits(db, r.step.hostId, 5)[0]!.id);
  });

  it('reboot now: a cancel after the host came back still re-audits it', async () => {
    host.installed.foo = '1.1-1';
    abortOn('probe');
    const r = await drive(makeStep('always', (id) => updateStep(db, id, { phase: 'reboot' })));
    expect(r.status).toBe('succeeded');
    expect(host.seen).toEqual(['connect', 'reboot', 'connect', 'probe', 'verify']);
    expect(r.step.verifyAuditId).not.toBeNull();
  });

  it('verify: a cancel during the re-audit lets it finish instead of failing the host', async () => {
    host.honoursSignal = true;
    abortOn('verify');
    const r = await drive(makeStep());
    expect([r.status, r.step.errorKind]).toEqual(['succeeded', null]);
    expect(listAudits(db, r.step.hostId, 5)[0]!.status).toBe('succeeded');
  });

  it('pre-reboot: a cancel after the host came back installs nothing', async () => {
    host.rebootFlag = true;
    abortOn('probe');
    const r = await drive(makeStep());
    expect([r.status, r.step.errorMessage]).toEqual([
      'cancelled',
      'Cancelled before anything was installed.',
    ]);
    expect(host.seen).not.toContain('install');
    expect(host.installed.foo).toBe('1.0-1');
  });

  // Deliberately not the old run's behaviour, which issued this reboot after the cancel and then
  // stopped waiting for the host at once (see rebootPhase in phases/reboot.ts).
  it('verify: the reboot the re-audit asks for is not done', async () => {
    host.installSetsKernelMissing = true;
    abortOn('verify');
    const r = await drive(makeStep());
    expect(r.status).toBe('cancelled');
    expect(r.step.errorMessage).toBe(
      'Cancelled before the reboot the re-audit asked for; not rebooted, not verified again.',
    );
    expect(host.boots).toBe(0);
  });

  it('before the first phase: the step never connects', async () => {
    controller.abort();
    const r = await drive(makeStep());
    expect(r.status).toBe('cancelled');
    expect(r.step.errorMessage).toBe('Cancelled before anything was installed.');
    expect(host.seen).toEqual([]);
  });
});

describe('the failure message of each phase', () => {
  const lost = () => {
    throw new RemoteError('unreachable', 'web01: the SSH connection was lost (reset).');
  };

  it('precheck: a host that cannot be reached is an ordinary audit error', async () => {
    host.before.connect = lost;
    const r = await drive(makeStep());
    expect([r.status, r.step.errorKind, r.step.errorMessage]).toEqual([
      'failed',
      'unreachable',
      'web01: the SSH connection was lost (reset).',
    ]);
    expect(r.log.at(-1)).toBe('web01: web01: the SSH connection was lost (reset).');
  });

  it('precheck: too little free disk', async () => {
    host.freeKb = 50_000;
    const r = await drive(makeStep());
    expect([r.step.phase, r.step.errorKind, r.step.errorMessage]).toEqual([
      'precheck',
      'disk-full',
      'Only 48 MB free on web01 (the job needs at least 100 MB); nothing was installed.',
    ]);
  });

  it('install: the package manager fails', async () => {
    host.before.install = () => ({
      stdout: '',
      stderr:
        'error: failed to commit transaction (conflicting files)\nErrors occurred, no packages were upgraded.\n',
      code: 1,
    });
    const r = await drive(makeStep());
    expect([r.status, r.step.errorKind, r.step.errorMessage]).toEqual([
      'failed',
      'install-failed',
      'The pacman install exited with 1: Errors occurred, no packages were upgraded..',
    ]);
    expect(r.step.phase).toBe('install');
  });

  it('install: the host drops off', async () => {
    host.before.install = lost;
    const r = await drive(makeStep());
    expect([r.step.errorKind, r.step.errorMessage]).toEqual([
      'unreachable',
      'web01 dropped off during install; the install may be partly done — resume re-audits it and finishes what is missing.',
    ]);
  });

  it('snapshot: the host drops off (the snapshot runs under the install on record)', async () => {
    host.before.snapshot = lost;
    const r = await drive(makeStep());
    expect(r.step.errorMessage).toBe(
      'web01 dropped off during install; the install may be partly done — resume re-audits it and finishes what is missing.',
    );
  });

  it('reboot: the host refuses to reboot; a re-audit records what it runs', async () => {
    host.installSetsRebootFlag = true;
    host.before.reboot = () => ({ stdout: '', stderr: 'no reboot command on this host\n', code: 127 });
    const r = await drive(makeStep());
    expect([r.step.errorKind, r.step.errorMessage]).toEqual([
      'reboot-failed',
      'The host could not be rebooted: no reboot command on this host.',
    ]);
    expect(r.step.verifyAuditId).not.toBeNull();
    expect(
      r.log.some((l) => l.startsWith('re-audited after the failed reboot: 0 of 1 update(s) still pending')),
    ).toBe(true);
  });

  it('reboot: the host does not come back in time', async () => {
    host.installSetsRebootFlag = true;
    host.before.reboot = () => {
      host.before.connect = lost;
    };
    const r = await drive(makeStep());
    expect([r.step.errorKind, r.step.errorMessage]).toEqual([
      'reboot-timeout',
      'The host did not come back within 600 s of its reboot.',
    ]);
  });

  it('pre-reboot: a host that cannot reboot fails before anything is installed', async () => {
    host.rebootFlag = true;
    host.before.reboot = () => ({ stdout: '', stderr: 'no reboot command on this host\n', code: 127 });
    const r = await drive(makeStep());
    expect([r.step.phase, r.step.errorKind]).toEqual(['pre-reboot', 'reboot-failed']);
    expect(r.step.verifyAuditId).toBeNull();
    expect(host.seen).not.toContain('install');
  });

  it('verify: an update still pending after the install', async () => {
    host.installTakes = false;
    const r = await drive(makeStep());
    expect([r.step.phase, r.step.errorKind, r.step.errorMessage]).toEqual([
      'verify',
      'verify-failed',
      'Still pending after the install: foo (wanted 1.1-1).',
    ]);
  });

  it('verify: the verification audit itself fails', async () => {
    host.before.verify = () => ({ stdout: '', stderr: 'sh: pacman: not found\n', code: 127 });
    const r = await drive(makeStep());
    expect([r.step.errorKind, r.step.errorMessage]).toEqual([
      'verify-failed',
      'Verification audit failed: The pacman audit script did not run on this host.',
    ]);
  });
});

describe('the driver itself', () => {
  type Toy = { ran: string[]; outcome: Record<string, string>; throwIn?: string };
  const toy = (extra: Partial<StepFlow<Toy>> = {}): StepFlow<Toy> => ({
    phases: Object.fromEntries(
      (['precheck', 'install', 'verify'] as const).map((name) => [
        name,
        {
          cancelled: () => `cancelled before ${name}`,
          run: (s: Toy) => {
            s.ran.push(name);
            if (s.throwIn === name) throw new StepFailure('boom', `${name} broke`);
            return Promise.resolve(s.outcome[name] ?? 'ok');
          },
        },
      ]),
    ),
    next: {
      precheck: { ok: 'install' },
      install: { ok: 'verify', again: 'precheck' },
      verify: { ok: { end: 'succeeded' } },
    },
    first: () => 'precheck',
    fail: (_s, error, phase) =>
      Promise.resolve({
        status: 'failed',
        errorKind: error instanceof StepFailure ? error.kind : 'bug',
        errorMessage: `${phase}: ${error instanceof Error ? error.message : String(error)}`,
      }),
    ...extra,
  });

  async function run(flow: StepFlow<Toy>, state: Toy) {
    const commits: object[] = [];
    const status = await driveStep(flow, state, {
      commit: (p) => commits.push(p),
      signal: controller.signal,
      now: () => 'T',
    });
    return { status, commits };
  }

  it('commits each transition before its phase runs, and the end', async () => {
    const { status, commits } = await run(toy(), { ran: [], outcome: {} });
    expect(status).toBe('succeeded');
    expect(commits).toEqual([
      {
        status: 'running',
        startedAt: 'T',
        finishedAt: null,
        errorKind: null,
        errorMessage: null,
        phase: 'precheck',
      },
      { phase: 'install' },
      { phase: 'verify' },
      { status: 'succeeded', phase: 'done', finishedAt: 'T' },
    ]);
  });

  it('hands a phase failure to the flow with the last phase on record', async () => {
    const { status, commits } = await run(toy(), { ran: [], outcome: {}, throwIn: 'install' });
    expect(status).toBe('failed');
    expect(commits.at(-1)).toEqual({
      status: 'failed',
      errorKind: 'boom',
      errorMessage: 'install: install broke',
      finishedAt: 'T',
    });
  });

  it('fails the step on an outcome the table does not know, and on a table that never ends', async () => {
    const unknown = await run(toy(), { ran: [], outcome: { install: 'sideways' } });
    expect(unknown.commits.at(-1)).toMatchObject({
      errorMessage: 'install: the step flow has no way out of install on "sideways"',
    });
    const loop = await run(toy(), { ran: [], outcome: { install: 'again' } });
    expect(loop.status).toBe('failed');
    expect(loop.commits.at(-1)).toMatchObject({
      errorMessage: expect.stringMatching(/did not end within 100 phases$/),
    });
  });
});
