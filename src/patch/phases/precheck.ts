/**
 * The pre-check phase: free disk, pending reboot, installed versions and the run-time dry run in
 * one round-trip, on the plan's parked connection when there is one. It decides whether the host
 * reboots first (a reboot already pending, and a policy that allows it). The dry run runs again
 * only when the host's package-state fingerprint moved since the approved one (or there is none):
 * equal prints mean the solver reads what it read when the preview was approved.
 */
import { randomBytes } from 'node:crypto';
import type { TargetPackage } from '../../api';
import { buildSectionScript, splitSections, type RemoteExec } from '../../collectors';
import { RemoteError } from '../../remote';
import {
  assertSafeTargets,
  dryRunCommand,
  parseFingerprint,
  parseVersionQuery,
  rebootRequiredCommand,
  stateFingerprintCommand,
  versionQueryCommand,
} from '../commands';
import { StepFailure, type Phase } from '../driver';
import { changeKeys } from '../dry-run';
import { dryRunFromOutput, dryRunOnSession, dryRunProblem } from '../plan';
import { takeSession } from '../sessions';
import { traced } from '../trace';
import {
  CANCELLED_BEFORE_INSTALL,
  interruptedInstall,
  log,
  recordedVersions,
  sessionOf,
  type Checked,
  type StepContext,
  type StepState,
} from './context';

/** What the pre-check's dry-run section prints instead of a dry run when the fingerprint held. */
const UNCHANGED = 'pd-package-state-unchanged';

/**
 * The dry run is over every target; when some target turns out to be installed already (a resumed
 * job), the dry run is repeated for exactly what is left, so the check always covers the very
 * package set that will be installed.
 */
export async function precheck(
  ctx: StepContext,
  session: RemoteExec,
  targets: TargetPackage[],
): Promise<Checked> {
  const nonce = randomBytes(8).toString('hex');
  const approved = ctx.step.preview;
  const names = [
    ...new Set([
      ...targets.map((t) => t.name),
      ...(approved
        ? [...approved.newPackages, ...approved.removals, ...approved.upgrades].map((c) => c.name)
        : []),
    ]),
  ];
  const query = versionQueryCommand(ctx.pm, names);
  assertSafeTargets(ctx.pm, targets);
  const dryRun = dryRunCommand(ctx.pm, targets);
  // The approved dry run's fingerprint (64 hex digits, checked: it is pasted into the script). The
  // host prints its fingerprint now and runs the dry run only when the two differ.
  const approvedPrint = approved?.fingerprint ? parseFingerprint(approved.fingerprint) : null;
  const print = approvedPrint ? stateFingerprintCommand(ctx.pm) : null;
  const sections = [
    { name: 'disk', command: "df -Pk / /var /tmp 2>/dev/null | awk 'NR>1 {print $4}'" },
    { name: 'reboot', command: rebootRequiredCommand(ctx.pm) },
    ...(query ? [{ name: 'before', command: query }] : []),
    ...(print && approvedPrint
      ? [
          { name: 'fingerprint', command: `pd_fp=$(${print}); printf '%s\n' "$pd_fp"` },
          {
            name: 'dryrun',
            command: `if [ "$pd_fp" = '${approvedPrint}' ]; then echo ${UNCHANGED}; else ${dryRun.command}; fi`,
          },
        ]
      : [{ name: 'dryrun', command: dryRun.command }]),
  ];
  const raw = await traced(ctx.host.name, 'run.precheck', () =>
    session.run(buildSectionScript(sections, nonce), {
      // dnf/yum/zypper dry runs need root; the other sections answer the same either way.
      sudo: dryRun.sudo,
      timeoutMs: 120_000,
      signal: ctx.signal,
    }),
  );
  const out = splitSections(raw.stdout, raw.stderr, nonce);
  const freeKb = (out.get('disk')?.stdout ?? '')
    .split('\n')
    .map((l) => Number.parseInt(l.trim(), 10))
    .filter((n) => Number.isFinite(n));
  const minFreeMb = freeKb.length ? Math.floor(Math.min(...freeKb) / 1024) : null;
  if (minFreeMb !== null && minFreeMb < ctx.job.options.minFreeMb) {
    throw new StepFailure(
      'disk-full',
      `Only ${minFreeMb} MB free on ${ctx.host.name} (the job needs at least ${ctx.job.options.minFreeMb} MB); nothing was installed.`,
    );
  }
  log(
    ctx,
    'info',
    `pre-check: ${minFreeMb ?? '?'} MB free; reboot pending before install: ${(out.get('reboot')?.stdout ?? '?').trim()}`,
  );
  const before = parseVersionQuery(out.get('before')?.stdout ?? '');
  const rebootPending = (out.get('reboot')?.stdout ?? '').trim() === 'required';
  // The dry run again, right before installing: it must stay inside what was approved.
  const todo = targets.filter((t) => before[t.name] !== t.to);
  if (todo.length === 0) return { todo, before, rebootPending };
  const batched = out.get('dryrun');
  const skipped = batched?.code === 0 && batched.stdout.trim() === UNCHANGED;
  if (
    skipped &&
    approvedPrint &&
    parseFingerprint(out.get('fingerprint')?.stdout ?? '') === approvedPrint &&
    todo.length === targets.length
  ) {
    // Nothing the solver reads moved since the approved dry run: it would answer the same.
    log(
      ctx,
      'info',
      `pre-check: package state unchanged since the approved dry run (fingerprint ${approvedPrint.slice(0, 12)}…); the approved preview stands`,
    );
    return { todo, before, rebootPending };
  }
  if (approvedPrint && !skipped)
    log(ctx, 'info', 'pre-check: package state moved since the approved dry run; dry run again');
  const dry =
    todo.length === targets.length && batched && batched.code !== null && !skipped
      ? dryRunFromOutput(ctx.pm, todo, batched)
      : await traced(ctx.host.name, 'run.dryrun-again', () =>
          dryRunOnSession(session, ctx.pm, todo, ctx.signal),
        );
  const problem = dryRunProblem(ctx.pm, dry);
  if (problem)
    throw new StepFailure(
      /lock/i.test(problem) ? 'package-manager-locked' : 'dry-run-failed',
      `The dry run before installing failed: ${problem}`,
    );
  if (approved && approved.command) {
    const allowed = changeKeys(approved);
    const extra = [...changeKeys(dry.changes)].filter((k) => !allowed.has(k));
    if (extra.length) {
      throw new StepFailure(
        'not-approved',
        `Installing now would change what was not approved (${extra.slice(0, 10).join(', ')}); nothing was installed. Plan and approve again.`,
      );
    }
  }
  return { todo, before, rebootPending };
}

/**
 * First pass: connect (or take the plan's connection) and check. A reboot already pending (an
 * earlier kernel or library update): when the job's reboot policy allows rebooting, the host
 * reboots first so the install lands on the system that will run, then the pre-checks run
 * again. Once only: a host that still wants a reboot is logged.
 */
export const precheckPhase: Phase<StepState> = {
  cancelled: () => CANCELLED_BEFORE_INSTALL,
  async run(state) {
    const { step } = state;
    let checked: Checked;
    if (state.preRebooted) {
      checked = await precheck(state, sessionOf(state), step.packages);
      if (checked.rebootPending)
        log(state, 'info', 'the host still reports a pending reboot after rebooting');
    } else {
      // The plan's connection when this process planned the host moments ago (sessions.ts), else a new one.
      const reused = takeSession(state.deps.db, state.host, state.job.options.credentialId ?? null);
      state.reused = reused !== null;
      state.session =
        reused ?? (await traced(state.host.name, 'run.connect', () => state.open(state.host, state.signal)));
      try {
        checked = await precheck(state, state.session, step.packages);
      } catch (error) {
        // A parked connection that died quietly: the pre-check is read-only, so connect and ask again.
        if (!state.reused || !(error instanceof RemoteError) || error.kind !== 'unreachable') throw error;
        void state.session.close();
        state.session = await traced(state.host.name, 'run.reconnect', () =>
          state.open(state.host, state.signal),
        );
        checked = await precheck(state, state.session, step.packages);
      }
    }
    state.checked = checked;
    // After an interrupted install, the versions on record from before it are the ones to undo to.
    state.before = interruptedInstall(step)
      ? { ...checked.before, ...recordedVersions(step.before) }
      : checked.before;
    if (!state.preRebooted && checked.rebootPending && checked.todo.length > 0) {
      if (state.job.rebootPolicy !== 'never') {
        log(
          state,
          'info',
          `a reboot was already pending before the install; reboot policy "${state.job.rebootPolicy}" allows it, so the host reboots first`,
        );
        return 'reboot-first';
      }
      log(
        state,
        'info',
        'a reboot was already pending before the install; reboot policy is "never", so the install goes ahead without it',
      );
    }
    return 'checked';
  },
};
