/**
 * What the Linux phases share while one host's step runs: the job, step and host, the session,
 * what the pre-check found, and what the install changed. The driver hands the same state to
 * every phase; each phase reads what the earlier ones left and writes what the later ones need.
 */
import type { Host, JobLogLine, JobStep, PatchJob, TargetPackage } from '../../api';
import type { buildSectionScript, CollectorResult, RemoteExec, splitSections } from '../../collectors';
import { appendJobLog, type StepUpdate } from '../../db';
import type { SshSession } from '../../remote';
import type { Clock } from '../../util';
import type { PatchPackageManager } from '../commands';
import type { StepFlow } from '../driver';
import { commitStep } from '../notify';
import type { PatchDeps, SessionOpener } from '../plan';

/** One named part of a batched script, and what it printed (the collectors' section format). */
export type ScriptSection = Parameters<typeof buildSectionScript>[0][number];
export type SectionOutput = ReturnType<typeof splitSections> extends Map<string, infer V> ? V : never;

export interface StepContext {
  deps: PatchDeps;
  job: PatchJob;
  step: JobStep;
  host: Host;
  pm: PatchPackageManager;
  signal: AbortSignal;
  open: SessionOpener;
  clock: Clock;
}

/**
 * What the after-install snapshot read: the installed versions of every package the install
 * touched (dpkg-query / rpm -q) and whether the reboot check gave a definite answer.
 */
export interface AfterInstall {
  after: Record<string, string>;
  /** The snapshot's reboot check answered "required" or "no" (not "unknown"). */
  rebootKnown: boolean;
}

export interface Checked {
  todo: TargetPackage[];
  before: Record<string, string>;
  rebootPending: boolean;
}

/**
 * A step's connection, SSH or WinRM: the shared session shape of src/remote (contract §6). An SSH
 * session names its endpoint by `hostKey`, a WinRM one by `identity` (certificate or NTLM names).
 */
export type StepSession = RemoteExec & {
  readonly isOpen: boolean;
  close(): void | Promise<void>;
} & (
    | { readonly identity: { type: string; fingerprint: string; publicKey: string | null } }
    | { readonly hostKey: { type: string; fingerprint: string; publicKey: string | null } }
  );

/** The fingerprint a session's endpoint presented (what a pin must match). */
export function sessionFingerprint(session: StepSession): string {
  return 'identity' in session ? session.identity.fingerprint : session.hostKey.fingerprint;
}

/** A session that runs PowerShell through stdin (WinRM); an SSH session has no such door. */
export function isWinrmSession(session: StepSession): boolean {
  return typeof (session as { runPowerShell?: unknown }).runPowerShell === 'function';
}

export interface StepState extends StepContext {
  session: StepSession | null;
  /** The session came from the plan's parked connection (sessions.ts). */
  reused: boolean;
  /** What the latest pre-check found. */
  checked: Checked | null;
  /** The host already rebooted once for a reboot pending before the install. */
  preRebooted: boolean;
  /** The versions to undo to (after an interrupted install, the ones on record from before it). */
  before: Record<string, string>;
  /** What the after-install snapshot read (the verification by versions compares with it). */
  afterInstall: AfterInstall | null;
  /** The sections that ran behind a successful detached install (the snapshot). */
  installOutput: Map<string, SectionOutput> | null;
  /** What the snapshot compares: the package names and the versions before the change. */
  snapshotOf: { names: string[]; before: Record<string, string> } | null;
  /** This step's updates are on the host: whatever the reboot does next, a re-audit follows. */
  installed: boolean;
  /** What the after-install snapshot said about a reboot. */
  rebootRequired: boolean;
  /** The host rebooted after the updates were installed. */
  rebooted: boolean;
  /** The latest verification audit's result. */
  verified: CollectorResult | null;
  /**
   * What this step did, for the verification's line, when that is not "every approved update
   * installed" (Windows: some or all no longer offered, or already installed); null otherwise.
   */
  summary: string | null;
}

export function newStepState(ctx: StepContext): StepState {
  return {
    ...ctx,
    session: null,
    reused: false,
    checked: null,
    preRebooted: false,
    before: {},
    afterInstall: null,
    installOutput: null,
    snapshotOf: null,
    // Queued again in its reboot phase: the updates are installed.
    installed: ctx.step.phase === 'reboot',
    rebootRequired: false,
    rebooted: false,
    verified: null,
    summary: null,
  };
}

/**
 * Where the phases every platform's flow has lead: the pre-reboot back to the pre-check, the
 * reboot to the verification, the (shared) verification to its end or to a reboot it asks for.
 */
export const SHARED_NEXT = {
  'pre-reboot': { rebooted: 'precheck' },
  reboot: { rebooted: 'verify' },
  verify: {
    reboot: 'reboot',
    verified: { end: 'succeeded' },
    'reboot-pending': { end: 'reboot-pending' },
  },
} as const satisfies StepFlow<StepState>['next'];

/** A flow's `first`: a step queued again in its reboot phase (the updates are on) starts there. */
export const firstPhase = (state: StepState): 'reboot' | 'precheck' =>
  state.step.phase === 'reboot' ? 'reboot' : 'precheck';

/** A flow's `finish`, whatever the outcome: closes the step's session. */
export function finishStep(state: StepState): void {
  void state.session?.close();
}

/** Commits one transition of the step and tells the UI. */
export function transition(ctx: StepContext, patch: StepUpdate): void {
  commitStep(ctx.deps, ctx.step.id, patch);
}

/** One line of the job's log, written to job_log and sent as a `job.log` event. */
export function log(
  ctx: { deps: PatchDeps; job: PatchJob; step?: JobStep | null },
  stream: JobLogLine['stream'],
  text: string,
): void {
  const event = appendJobLog(ctx.deps.db, {
    jobId: ctx.job.id,
    stepId: ctx.step?.id ?? null,
    stream,
    text,
  });
  ctx.deps.events.emit('job.log', event);
}

export function sessionExec(session: StepSession, signal: AbortSignal): RemoteExec {
  const powershell = session.runPowerShell?.bind(session);
  return {
    run: (command, options) => session.run(command, { ...options, signal: options?.signal ?? signal }),
    ...(powershell
      ? {
          runPowerShell: (script: string, options?: Parameters<typeof powershell>[1]) =>
            powershell(script, { ...options, signal: options?.signal ?? signal }),
        }
      : {}),
  };
}

/** The session as SSH: the Linux phases stream install output, which only SSH sessions do. */
export function sshOf(session: StepSession): SshSession {
  if (isWinrmSession(session))
    throw new Error('the Linux step flow was handed a WinRM session: the driver chose the wrong flow');
  return session as SshSession;
}

/** The open session; a phase that needs one and finds none is a bug in the flow's table. */
export function sessionOf(state: StepState): SshSession {
  return sshOf(remoteSessionOf(state));
}

/** The open session of any transport (the Windows phases). */
export function remoteSessionOf(state: StepState): StepSession {
  if (!state.session) throw new Error('no session: the step flow ran a phase before connecting');
  return state.session;
}

/** The step entered its install phase in an earlier run (its `before` versions are recorded) but never recorded an outcome. */
export function interruptedInstall(step: Pick<JobStep, 'before' | 'after'>): boolean {
  return step.before !== null && Object.keys(step.before).length > 0 && step.after === null;
}

export function recordedVersions(versions: Record<string, string | null> | null): Record<string, string> {
  return Object.fromEntries(
    Object.entries(versions ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
}

/** Every package the approved dry run said would change (new dependencies and removals included). */
export function previewedNames(step: JobStep): string[] {
  const p = step.preview;
  return p ? [...p.upgrades, ...p.newPackages, ...p.removals].map((c) => c.name) : [];
}

export const CANCELLED_BEFORE_INSTALL = 'Cancelled before anything was installed.';
export const CANCELLED_AFTER_INSTALL =
  'Cancelled after the install finished; reboot and verification skipped.';
