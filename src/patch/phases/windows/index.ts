/**
 * The Windows step flow: the approved UpdateIDs are installed by a one-off scheduled task that runs
 * as SYSTEM on the PC (WUA's downloader and installer are denied to remote sessions), writes its
 * progress and a receipt into a folder only SYSTEM and Administrators can read, and removes itself.
 *
 *   precheck ──reboot-first──▶ pre-reboot ──rebooted──▶ precheck (once more)
 *   precheck ──checked──▶ schedule ──scheduled──▶ wait ──reboot──▶ reboot ──rebooted──▶ verify
 *   precheck ──scheduled──▶ wait (a resumed job whose task is still on the PC)
 *   precheck ──nothing──▶ verify          wait ──verify──▶ verify
 *   verify ──reboot──▶ reboot (the re-audit asks for one)   verify ──verified / reboot-pending──▶ end
 *
 * schedule and wait run under the install on record (what the jobs page and a resume see). The wait
 * survives the session dropping mid-install (a network-driver update) by reconnecting through the
 * same opener and polling again, bounded by the job's host timeout. The restart is Windows' own
 * (`shutdown.exe /r /t <delay> /c <message>`), so the signed-in user is warned and can save their
 * work; the delay is the job option `windowsRestartDelaySeconds` (default 300 s). Verification is
 * the ordinary re-audit (verify.ts), through the Windows collector.
 */
import { powershellEncodedCommand } from '../../../collectors';
import { RemoteError } from '../../../remote';
import { sanitizeText, sleep, timeoutSignal } from '../../../util';
import { StepFailure, type Phase, type StepFlow } from '../../driver';
import { takeSession } from '../../sessions';
import { traced } from '../../trace';
import {
  CANCELLED_AFTER_INSTALL,
  CANCELLED_BEFORE_INSTALL,
  finishStep,
  firstPhase,
  log,
  newStepState,
  remoteSessionOf,
  transition,
  type StepContext,
  type StepSession,
  SHARED_NEXT,
  type StepState,
} from '../context';
import { failStep } from '../failure';
import { verifyPhase } from '../verify';
import {
  parseReceipt,
  ReceiptError,
  receiptLines,
  receiptOutcome,
  undoRecipe,
  updateResult,
  type Receipt,
} from './receipt';
import {
  ABORT_RESTART_COMMAND,
  approvedUpdate,
  BOOT_MARK,
  bootScript,
  markedJson,
  POLL_MARK,
  pollScript,
  PRECHECK_MARK,
  precheckScript,
  restartCommand,
  restartMessage,
  scheduled,
  scheduleScript,
  taskNames,
  type ApprovedUpdate,
  type RestartReason,
  type TaskNames,
} from './task';

/** The package manager a Windows host's audit records; its steps walk WINDOWS_STEP_FLOW. */
export const WINDOWS_PACKAGE_MANAGER = 'windows-update';

/** How often the wait asks the PC for its receipt. */
export const WINDOWS_POLL_MS = 10_000;
/** A task that is no longer running and left no receipt, this many polls in a row, has failed. */
const GONE_POLLS = 3;
/** The task scheduler's SCHED_S_TASK_RUNNING (LastTaskResult while the task runs). */
const TASK_RUNNING = 0x41301;
/** What the wait's and the restart's commands run under: never cut by a cancel (the install goes on anyway). */
const NOT_CANCELLABLE: AbortSignal = new AbortController().signal;

export interface WindowsStepState extends StepState {
  names: TaskNames;
  /** The approved updates still to install (the pre-check drops those Windows lists as installed). */
  updates: ApprovedUpdate[];
  /** The PC's boot time (unix seconds) when last asked: a restart is seen by its change. */
  boot: number | null;
  receipt: Receipt | null;
  /** Approved updates the pre-check found installed already (not installed by this step). */
  alreadyInstalled: number;
}

export function newWindowsStepState(ctx: StepContext): WindowsStepState {
  return {
    ...newStepState(ctx),
    names: taskNames(ctx.job.id, ctx.step.id),
    updates: [],
    boot: null,
    receipt: null,
    alreadyInstalled: 0,
  };
}

/** A PowerShell script over the session: through stdin on WinRM, as -EncodedCommand over OpenSSH. */
export async function runPowerShell(
  session: StepSession,
  script: string,
  options: { timeoutMs: number; signal: AbortSignal },
): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return session.runPowerShell
    ? session.runPowerShell(script, options)
    : session.run(powershellEncodedCommand(script), options);
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function lastLines(text: string): string {
  return sanitizeText(text.trim().split('\n').slice(-3).join(' '), { maxLength: 300 });
}

/** The errors after which polling again cannot help: the endpoint or the credential is wrong. */
function fatalRemote(error: unknown): error is RemoteError {
  return (
    error instanceof RemoteError &&
    (error.kind === 'auth-failed' || error.kind === 'host-key-changed' || error.kind === 'host-key-unknown')
  );
}

async function readBoot(session: StepSession): Promise<number | null> {
  const r = await runPowerShell(session, bootScript(), { timeoutMs: 30_000, signal: NOT_CANCELLABLE });
  const boot = markedJson(r.stdout, BOOT_MARK);
  return typeof boot === 'number' && Number.isFinite(boot) ? boot : null;
}

/** Connects for a wait, bounded; null when the PC does not answer yet. Auth and trust errors end the step. */
async function tryOpen(state: WindowsStepState): Promise<StepSession | null> {
  try {
    return await state.open(state.host, timeoutSignal(state.clock, 20_000));
  } catch (error) {
    if (fatalRemote(error)) throw new StepFailure(error.kind, error.message);
    return null;
  }
}

/**
 * Windows' own restart: the signed-in user sees the message for the job's delay, then the PC
 * restarts; the wait ends when the PC answers with a new boot time. When the boot time before the
 * restart could not be read, the PC must first have been unreachable once (it went down), so the
 * old system answering before it restarts is not taken for the new one.
 */
export async function restartAndWait(
  state: WindowsStepState,
  session: StepSession,
  reason: RestartReason,
): Promise<StepSession> {
  const { clock } = state;
  const delay = state.job.options.windowsRestartDelaySeconds;
  state.boot ??= await readBoot(session);
  const before = state.boot;
  let wentAway = false;
  const issued = await session.run(restartCommand(delay, reason), {
    timeoutMs: 30_000,
    signal: NOT_CANCELLABLE,
  });
  if (issued.code !== 0)
    throw new StepFailure(
      'reboot-failed',
      `Windows refused the restart: ${lastLines(issued.stderr || issued.stdout) || `exit ${issued.code}`}.`,
    );
  log(
    state,
    'info',
    `restarting the PC with Windows' own restart; the signed-in user sees "${restartMessage(delay, reason)}" for ${delay} s`,
  );
  const warnedUntil = clock.now() + delay * 1000;
  const deadline = warnedUntil + state.job.options.rebootTimeoutSeconds * 1000;
  // The session stays open through the warning: a cancel then calls the restart off over it.
  if (delay === 0) void session.close();
  await sleep(clock, Math.max(1500, delay * 1000), state.signal);
  if (state.signal.aborted && clock.now() < warnedUntil) {
    const calledOff = await callRestartOff(state, session);
    log(
      state,
      'info',
      calledOff === true
        ? 'the restart was called off on the PC'
        : calledOff === false
          ? 'the PC could not be reached to call the restart off: it restarts as announced'
          : calledOff === NO_RESTART_PENDING
            ? 'Windows had no restart pending any more (it may have restarted already), so there was nothing to call off'
            : `Windows did not call the restart off (${calledOff}): it restarts as announced`,
    );
    throw new StepFailure(
      'cancelled',
      cancelledInWarning(
        reason,
        calledOff === true ? 'called-off' : calledOff === NO_RESTART_PENDING ? 'gone' : 'announced',
      ),
    );
  }
  void session.close();
  while (clock.now() < deadline) {
    if (state.signal.aborted)
      throw new StepFailure(
        'cancelled',
        'Cancelled while waiting for the PC to come back from its restart; not verified.',
      );
    const next = await tryOpen(state);
    if (next) {
      try {
        const boot = await readBoot(next);
        if (boot !== null && (before === null ? wentAway : boot !== before)) {
          state.boot = boot;
          log(state, 'info', 'the PC is back after its restart');
          return next;
        }
      } catch {
        // Still going down, or not quite up: ask again.
        wentAway = true;
      }
      void next.close();
    } else wentAway = true;
    await sleep(clock, 5000, state.signal);
  }
  throw new StepFailure(
    'reboot-timeout',
    `The PC did not come back within ${state.job.options.rebootTimeoutSeconds} s of its restart (after the ${delay} s warning).`,
  );
}

const NO_RESTART_PENDING = 'no restart pending';

/**
 * `shutdown.exe /a` during the warning, best effort and bounded: over the step's session, or over a
 * fresh one when that one dropped. true: called off; false: the PC could not be reached; a string:
 * what Windows answered instead (no restart pending any more, or a refusal).
 */
async function callRestartOff(state: WindowsStepState, session: StepSession): Promise<true | false | string> {
  const attempt = async (s: StepSession): Promise<true | string> => {
    const r = await s.run(ABORT_RESTART_COMMAND, { timeoutMs: 15_000, signal: NOT_CANCELLABLE });
    if (r.code === 0) return true;
    // 1116 (ERROR_NO_SHUTDOWN_IN_PROGRESS): nothing to call off any more.
    if (r.code === 1116) return NO_RESTART_PENDING;
    return lastLines(r.stderr || r.stdout) || `exit ${r.code ?? 'unknown'}`;
  };
  try {
    return await attempt(session);
  } catch {
    // The session dropped during the warning: one fresh connection, bounded by tryOpen.
  } finally {
    void session.close();
  }
  let fresh: StepSession | null = null;
  try {
    fresh = await tryOpen(state);
    return fresh ? await attempt(fresh) : false;
  } catch {
    return false;
  } finally {
    void fresh?.close();
  }
}

/** The cancelled step's message when the cancel came during Windows' restart warning. */
function cancelledInWarning(reason: RestartReason, outcome: 'called-off' | 'gone' | 'announced'): string {
  const tail =
    reason === 'pending'
      ? '; nothing was installed'
      : reason === 'installed'
        ? '; the updates are installed'
        : '';
  return outcome === 'called-off'
    ? `Cancelled during Windows' restart warning: the restart was called off and the PC was not restarted${tail}; not verified.`
    : outcome === 'gone'
      ? `Cancelled during Windows' restart warning, but Windows had no restart pending any more (the PC may have restarted already)${tail}; not verified.`
      : `Cancelled during Windows' restart warning, but the restart could not be called off: the PC restarts as announced${tail}; not verified.`;
}

interface Prechecked {
  freeMb: number | null;
  rebootReasons: string[];
  installed: string[];
  task: string | null;
  receipt: boolean;
  /** A receipt in a folder not locked to SYSTEM and Administrators: not Patchdeck's to believe. */
  foreignReceipt: boolean;
  boot: number | null;
}

function parsePrecheck(stdout: string): Prechecked | null {
  const data = markedJson(stdout, PRECHECK_MARK);
  if (!isRecord(data)) return null;
  const list = (v: unknown): string[] =>
    (Array.isArray(v) ? v : typeof v === 'string' ? [v] : [])
      .filter((x): x is string => typeof x === 'string')
      .slice(0, 100)
      .map((x) => sanitizeText(x, { maxLength: 60 }));
  return {
    freeMb: typeof data.freeMb === 'number' && Number.isFinite(data.freeMb) ? data.freeMb : null,
    rebootReasons: list(data.rebootReasons),
    installed: list(data.installed).map((k) => k.toUpperCase()),
    task: typeof data.task === 'string' ? sanitizeText(data.task, { maxLength: 20 }) : null,
    receipt: data.receipt === true,
    foreignReceipt: data.foreignReceipt === true,
    boot: typeof data.boot === 'number' && Number.isFinite(data.boot) ? data.boot : null,
  };
}

/** Reachable, enough space, not installed already, no earlier task of this step, pending reboot. */
const precheckPhase: Phase<WindowsStepState> = {
  cancelled: () => CANCELLED_BEFORE_INSTALL,
  async run(state) {
    const approved = state.step.packages.map(approvedUpdate);
    if (!state.session) {
      const reused = takeSession(state.deps.db, state.host, state.job.options.credentialId ?? null);
      state.reused = reused !== null;
      state.session =
        reused ?? (await traced(state.host.name, 'run.connect', () => state.open(state.host, state.signal)));
    }
    const session = state.session;
    const raw = await traced(state.host.name, 'run.precheck', () =>
      runPowerShell(
        session,
        precheckScript(
          state.names,
          approved.map((u) => u.kb),
        ),
        { timeoutMs: 120_000, signal: state.signal },
      ),
    );
    const out = parsePrecheck(raw.stdout);
    if (!out)
      throw new StepFailure(
        'precheck-failed',
        `The pre-check printed no result${raw.stderr.trim() ? `: ${lastLines(raw.stderr)}` : ''}; nothing was installed.`,
      );
    state.boot = out.boot;
    if (out.freeMb !== null && out.freeMb < state.job.options.minFreeMb)
      throw new StepFailure(
        'disk-full',
        `Only ${out.freeMb} MB free on the system drive of ${state.host.name} (the job needs at least ${state.job.options.minFreeMb} MB); nothing was installed.`,
      );
    log(
      state,
      'info',
      `pre-check: ${out.freeMb ?? '?'} MB free on the system drive; restart pending before install: ${out.rebootReasons.length ? out.rebootReasons.join(', ') : 'no'}`,
    );
    if (out.foreignReceipt && out.task === null)
      log(
        state,
        'info',
        `a receipt.json is in ${state.names.folder}, but the folder is not locked to SYSTEM and Administrators, so it may not be Patchdeck's: it is ignored, and the task makes the folder afresh`,
      );
    if (out.task !== null || out.receipt) {
      // A resumed job: this step's task ran (or runs) already; never register it twice.
      state.updates = approved;
      log(
        state,
        'info',
        `the task ${state.names.taskName} of an earlier run is on the PC; reading its receipt`,
      );
      return 'scheduled';
    }
    const installed = new Set(out.installed);
    state.updates = approved.filter((u) => !installed.has(u.kb.toUpperCase()));
    state.alreadyInstalled = approved.length - state.updates.length;
    if (state.updates.length === 0) {
      state.summary = `nothing to install: ${approved.length} update(s) already installed`;
      log(state, 'info', 'every approved update is already installed; nothing to install');
      return 'nothing';
    }
    if (approved.length > state.updates.length)
      log(
        state,
        'info',
        `already installed: ${approved
          .filter((u) => installed.has(u.kb.toUpperCase()))
          .map((u) => u.kb)
          .join(', ')}`,
      );
    if (!state.preRebooted && out.rebootReasons.length > 0) {
      if (state.job.rebootPolicy !== 'never') {
        log(
          state,
          'info',
          `a restart was already pending before the install; reboot policy "${state.job.rebootPolicy}" allows it, so the PC restarts first`,
        );
        return 'reboot-first';
      }
      log(
        state,
        'info',
        'a restart was already pending before the install; reboot policy is "never", so the install goes ahead without it',
      );
    }
    return 'checked';
  },
};

const preRebootPhase: Phase<WindowsStepState> = {
  cancelled: () => CANCELLED_BEFORE_INSTALL,
  async run(state) {
    state.session = await restartAndWait(state, remoteSessionOf(state), 'pending');
    state.preRebooted = true;
    return 'rebooted';
  },
};

/** Registers and starts the task; the install is on record from here on. */
const schedulePhase: Phase<WindowsStepState> = {
  enter: (state) => ({
    phase: 'install',
    before: Object.fromEntries(state.updates.map((u) => [u.kb, null])),
  }),
  cancelled: () => CANCELLED_BEFORE_INSTALL,
  async run(state) {
    const session = remoteSessionOf(state);
    const raw = await traced(state.host.name, 'run.schedule', () =>
      runPowerShell(session, scheduleScript(state.names, state.updates), {
        timeoutMs: 120_000,
        signal: NOT_CANCELLABLE,
      }),
    );
    if (!scheduled(raw.stdout, state.names))
      throw new StepFailure(
        'schedule-failed',
        `The install task could not be registered on the PC${raw.stderr.trim() ? `: ${lastLines(raw.stderr)}` : ` (exit ${raw.code ?? 'unknown'})`}; nothing was installed.`,
      );
    log(
      state,
      'info',
      `registered the one-off SYSTEM task ${state.names.taskName}; it installs ${state.updates.map((u) => u.kb).join(', ')} and writes its receipt to ${state.names.folder}`,
    );
    return 'scheduled';
  },
};

const STAGES: Record<string, string> = {
  searching: 'the task is searching Windows Update',
  downloading: 'the task is downloading the updates',
  installing: 'the task is installing the updates',
  done: 'the task wrote its receipt',
};

/** Polls for the receipt until it is there, reconnecting whenever the PC drops the session. */
async function waitForReceipt(state: WindowsStepState): Promise<Receipt> {
  const { clock } = state;
  const limit = state.job.options.hostTimeoutSeconds;
  const deadline = clock.now() + limit * 1000;
  let stage: string | null = null;
  let gone = 0;
  let away = false;
  while (clock.now() < deadline) {
    if (!state.session?.isOpen) {
      if (state.session) void state.session.close();
      state.session = await tryOpen(state);
      if (state.session && away) {
        log(state, 'info', 'reconnected to the PC; polling the task again');
        away = false;
      }
    }
    const session = state.session;
    if (session) {
      let raw: { stdout: string; stderr: string; code: number | null } | null = null;
      try {
        raw = await runPowerShell(session, pollScript(state.names), {
          timeoutMs: 60_000,
          signal: NOT_CANCELLABLE,
        });
      } catch (error) {
        if (fatalRemote(error)) throw new StepFailure(error.kind, error.message);
        void session.close();
        state.session = null;
        if (!away)
          log(
            state,
            'info',
            `the connection to the PC dropped during the install (${sanitizeText(error instanceof Error ? error.message : String(error), { maxLength: 200 })}); a network driver update can do that: reconnecting`,
          );
        away = true;
      }
      const data = raw ? markedJson(raw.stdout, POLL_MARK) : null;
      if (isRecord(data)) {
        if (typeof data.progress === 'string') {
          const p = markedProgress(data.progress, state.names.jobStep);
          if (p && p !== stage && STAGES[p]) {
            stage = p;
            log(state, 'info', STAGES[p]);
          }
        }
        if (typeof data.receipt === 'string') return parseReceipt(data.receipt, state.names.jobStep);
        const running = data.task === 'Running' || data.lastResult === TASK_RUNNING;
        gone = running || data.task === 'Queued' ? 0 : gone + 1;
        if (gone >= GONE_POLLS) {
          const last =
            typeof data.lastResult === 'number'
              ? `0x${(data.lastResult >>> 0).toString(16).toUpperCase().padStart(8, '0')}`
              : null;
          throw new StepFailure(
            'task-failed',
            data.task === null
              ? `The install task is gone from the PC and left no receipt; what it installed is unknown. Re-audit the PC.`
              : `The install task stopped without writing its receipt${last ? ` (last result ${last})` : ''}; see Task Scheduler (\\Patchdeck\\${state.names.taskName}) on the PC.`,
          );
        }
      } else if (raw) {
        throw new StepFailure(
          'task-failed',
          `Polling the install task printed no result${raw.stderr.trim() ? `: ${lastLines(raw.stderr)}` : ''}.`,
        );
      }
    }
    await sleep(clock, WINDOWS_POLL_MS);
  }
  throw new StepFailure(
    'install-timeout',
    `The install task wrote no receipt within ${limit} s; it may still be running on the PC. Resume the job later: it reads the receipt then.`,
  );
}

function markedProgress(text: string, jobStep: string): string | null {
  if (text.length > 4096) return null;
  try {
    const p = JSON.parse(text.replace(/^\uFEFF/, '')) as unknown;
    return isRecord(p) && p.jobStep === jobStep && typeof p.stage === 'string' ? p.stage : null;
  } catch {
    return null;
  }
}

/** Waits for the receipt (a cancel does not stop an install under way), records it, decides the restart. */
const waitPhase: Phase<WindowsStepState> = {
  enter: () => null,
  cancelled: () => null,
  async run(state) {
    let receipt: Receipt;
    try {
      receipt = await traced(state.host.name, 'run.wait', () => waitForReceipt(state));
    } catch (error) {
      if (error instanceof ReceiptError) throw new StepFailure('task-failed', error.message);
      throw error;
    }
    state.receipt = receipt;
    const outcome = receiptOutcome(
      receipt,
      state.updates.map((u) => u.updateId),
    );
    for (const line of receiptLines(receipt)) log(state, 'info', line);
    const after: Record<string, string> = {};
    for (const u of state.updates) {
      const r = receipt.updates.find((x) => x.updateId === u.updateId);
      after[u.kb] = !r
        ? 'not in the receipt'
        : updateResult(r) === 'failed'
          ? `failed (${r.hresult})`
          : updateResult(r);
    }
    transition(state, { after, undoRecipe: undoRecipe(outcome.installed) });
    state.installed = outcome.installed.length > 0;
    state.summary = installSummary(state, outcome.installed.length, outcome.notOffered.length);
    state.rebootRequired = outcome.rebootRequired;
    if (outcome.failure) throw new StepFailure('install-failed', outcome.failure);
    const policy = state.job.rebootPolicy;
    if (state.installed && (policy === 'always' || (policy === 'if-required' && outcome.rebootRequired))) {
      log(
        state,
        'info',
        outcome.rebootRequired
          ? `Windows asks for a restart; reboot policy "${policy}" allows it`
          : 'reboot policy "always": restarting the PC',
      );
      return 'reboot';
    }
    if (outcome.rebootRequired) log(state, 'info', 'Windows asks for a restart; reboot policy is "never"');
    return 'verify';
  },
};

/** The truthful count for the verification's line; null when every approved update was installed here. */
function installSummary(state: WindowsStepState, installed: number, notOffered: number): string | null {
  if (installed === state.step.packages.length) return null;
  const parts = [`${installed} update(s) installed`];
  if (notOffered) parts.push(`${notOffered} no longer offered by Windows Update`);
  if (state.alreadyInstalled) parts.push(`${state.alreadyInstalled} already installed`);
  return parts.join(', ');
}

const rebootPhase: Phase<WindowsStepState> = {
  cancelled: (state) =>
    state.verified
      ? 'Cancelled before the restart the re-audit asked for; not restarted, not verified again.'
      : state.step.phase === 'reboot'
        ? state.step.packages.length
          ? 'Cancelled before the restart; the updates are installed, the PC was not restarted.'
          : 'Cancelled before the PC was restarted.'
        : CANCELLED_AFTER_INSTALL,
  async run(state) {
    state.session ??= await traced(state.host.name, 'run.connect', () =>
      state.open(state.host, state.signal),
    );
    // A reboot job of its own (hosts.reboot) installed nothing: its message says so.
    state.session = await restartAndWait(
      state,
      state.session,
      state.step.packages.length ? 'installed' : 'requested',
    );
    state.rebooted = true;
    return 'rebooted';
  },
};

export const WINDOWS_STEP_FLOW: StepFlow<WindowsStepState> = {
  phases: {
    precheck: precheckPhase,
    'pre-reboot': preRebootPhase,
    schedule: schedulePhase,
    wait: waitPhase,
    reboot: rebootPhase,
    verify: verifyPhase,
  },
  next: {
    ...SHARED_NEXT,
    precheck: { 'reboot-first': 'pre-reboot', checked: 'schedule', scheduled: 'wait', nothing: 'verify' },
    schedule: { scheduled: 'wait' },
    wait: { reboot: 'reboot', verify: 'verify' },
  },
  first: firstPhase,
  started(state) {
    const { step, host } = state;
    log(
      state,
      'info',
      step.phase !== 'reboot'
        ? `${host.name}: ${step.packages.map((p) => p.name).join(', ')} through a one-off SYSTEM task`
        : step.packages.length
          ? `${host.name}: the updates are installed; restarting the PC, then verifying`
          : `${host.name}: restarting the PC with Windows' own restart, then re-auditing it`,
    );
  },
  fail: failStep,
  finish: finishStep,
};

export { hresultSentence, parseReceipt, receiptOutcome, updateLabel } from './receipt';
