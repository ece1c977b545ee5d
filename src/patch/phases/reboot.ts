/**
 * The reboot phases: `pre-reboot` (a reboot already pending before the install, when the policy
 * allows it) and `reboot` (after the install, as the policy asks, or when the re-audit asks for
 * one). Both issue the reboot and wait for the host to come back on the step's clock.
 */
import { randomBytes } from 'node:crypto';
import { RemoteError, shellQuote, type SshSession } from '../../remote';
import { sleep, timeoutSignal } from '../../util';
import { sanitizeText } from '../../util';
import { REBOOT_COMMAND } from '../commands';
import { StepFailure, type Phase } from '../driver';
import { traced } from '../trace';
import {
  CANCELLED_AFTER_INSTALL,
  CANCELLED_BEFORE_INSTALL,
  log,
  sessionOf,
  sshOf,
  type StepContext,
  type StepState,
} from './context';

/** Issues the reboot and waits for the host to come back (a marker in /run tells a real restart apart). */
export async function rebootAndWait(ctx: StepContext, session: SshSession): Promise<SshSession> {
  const { clock } = ctx;
  const marker = `/run/patchdeck-boot-${randomBytes(6).toString('hex')}`;
  await session.run(`: > ${shellQuote(marker)}`, { sudo: true, timeoutMs: 30_000 });
  log(ctx, 'info', 'rebooting the host');
  const issued = await session.run(REBOOT_COMMAND, { sudo: true, timeoutMs: 30_000 });
  if (issued.code !== 0)
    throw new StepFailure(
      'reboot-failed',
      `The host could not be rebooted: ${sanitizeText(issued.stderr.trim(), { maxLength: 200 }) || `exit ${issued.code}`}.`,
    );
  session.close();
  const deadline = clock.now() + ctx.job.options.rebootTimeoutSeconds * 1000;
  await sleep(clock, 1500, ctx.signal);
  while (clock.now() < deadline) {
    if (ctx.signal.aborted)
      throw new StepFailure(
        'cancelled',
        'Cancelled while waiting for the host to come back from its reboot; not verified.',
      );
    let next: SshSession | null = null;
    try {
      next = sshOf(await ctx.open(ctx.host, AbortSignal.any([ctx.signal, timeoutSignal(clock, 10_000)])));
      const probe = await next.run(`test -e ${shellQuote(marker)} && echo same || echo rebooted`, {
        timeoutMs: 10_000,
      });
      if (probe.stdout.trim() === 'rebooted') {
        log(ctx, 'info', 'the host is back after its reboot');
        return next;
      }
      next.close();
    } catch (error) {
      next?.close();
      if (error instanceof RemoteError && (error.kind === 'host-key-changed' || error.kind === 'auth-failed'))
        throw new StepFailure(error.kind, error.message);
    }
    await sleep(clock, 1000, ctx.signal);
  }
  throw new StepFailure(
    'reboot-timeout',
    `The host did not come back within ${ctx.job.options.rebootTimeoutSeconds} s of its reboot.`,
  );
}

/** A reboot pending before the install, done first so that the install lands on the system that will run. */
export const preRebootPhase: Phase<StepState> = {
  cancelled: () => CANCELLED_BEFORE_INSTALL,
  async run(state) {
    state.session = await rebootAndWait(state, sessionOf(state));
    state.preRebooted = true;
    return 'rebooted';
  },
};

export const rebootPhase: Phase<StepState> = {
  // A cancel refuses every reboot not yet issued. (Before the split, the reboot the re-audit asks
  // for went ahead after a cancel and was then not waited for: the host went down unwatched after
  // the operator said stop. The policy's reboot was refused on cancel then too.)
  cancelled: (state) =>
    state.verified
      ? 'Cancelled before the reboot the re-audit asked for; not rebooted, not verified again.'
      : state.step.phase === 'reboot'
        ? state.step.packages.length
          ? 'Cancelled before the reboot; the updates are installed, the host was not rebooted.'
          : 'Cancelled before the host was rebooted.'
        : CANCELLED_AFTER_INSTALL,
  async run(state) {
    // What the snapshot read is stale once the host reboots: the re-audit after it verifies.
    state.afterInstall = null;
    // Queued again in its reboot phase (Reboot now, a re-run of a failed reboot): no session yet.
    state.session ??= await traced(state.host.name, 'run.connect', () =>
      state.open(state.host, state.signal),
    );
    state.session = await rebootAndWait(state, sshOf(state.session));
    state.rebooted = true;
    return 'rebooted';
  },
};
