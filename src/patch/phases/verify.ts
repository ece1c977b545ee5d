/**
 * The verify phase. After an install on apt with no reboot since, the step is
 * verified by the installed versions the after-install snapshot read (every approved target at its
 * approved version); the full audit that refreshes the host's findings follows the job. Otherwise
 * (after a reboot, other package managers, Windows, a reboot check that could not tell) it is a
 * re-audit over the open session, recorded as an audit of the host, that must list none of the
 * approved targets as still pending; it may send the host to its reboot when the re-audit, not the
 * after-install check, says one is needed.
 */
import type { TargetPackage } from '../../api';
import { classifyAuditError, toFindings, toWindowsFacts } from '../../audit';
import { collectorFor, windows, type CollectorResult } from '../../collectors';
import { completeAudit, failAudit, listAudits, startAudit } from '../../db';
import { enrichAfterAudit } from '../../intel';
import { errorMessage } from '../../util';
import { sanitizeText } from '../../util';
import { timeoutSignal } from '../../util';
import { StepFailure, type Phase } from '../driver';
import { traceMark, traced } from '../trace';
import {
  CANCELLED_AFTER_INSTALL,
  log,
  sessionExec,
  remoteSessionOf,
  transition,
  type StepSession,
  type StepContext,
  type StepState,
} from './context';

/** What the verification's commands run under: read-only, bounded by their own timeouts. */
const NOT_CANCELLABLE: AbortSignal = new AbortController().signal;

/**
 * Package managers whose after-install snapshot reads what their audit would: the installed
 * versions (dpkg-query) and the same reboot check (/var/run/reboot-required). Their step is
 * verified by those versions, and the full audit that refreshes the host's findings follows the
 * job (src/patch/refresh.ts). dnf, yum and zypper keep the re-audit: their audit's reboot answer
 * (needs-restarting, zypper needs-rebooting) can differ from the snapshot's after a host drops
 * off, and the re-run of a host that dropped off in its verification relies on it.
 */
const VERIFIED_BY_VERSIONS: readonly string[] = ['apt'];

/**
 * Re-audits over the open session and records it as an audit of the host (verification).
 * `signal` cuts the audit's commands; the verify phase passes one no cancel reaches (see below).
 */
export async function verifyByAudit(
  ctx: StepContext,
  session: StepSession,
  signal: AbortSignal = ctx.signal,
): Promise<{ auditId: number; result: CollectorResult }> {
  const { db } = ctx.deps;
  const previous = listAudits(db, ctx.host.id, 20).find((a) => a.status === 'succeeded') ?? null;
  const auditId = startAudit(db, { hostId: ctx.host.id, taskId: ctx.job.taskId, source: 'patch-verify' });
  const started = ctx.clock.now();
  try {
    const result = await collectorFor(ctx.pm).collect(sessionExec(session, signal), {
      refresh: false,
      timeoutMs: 120_000,
    });
    // A Windows result names the PC's OS itself (build and UBR move with a cumulative update),
    // and its facts (WSUS policy, installed hotfixes) belong with this newest audit.
    const os = windows.isWindowsResult(result) ? result.os : null;
    completeAudit(db, auditId, {
      osId: os?.id ?? previous?.osId ?? null,
      osName: os?.name ?? previous?.osName ?? null,
      osVersion: os?.versionId ?? previous?.osVersion ?? null,
      kernel: os?.kernel ?? previous?.kernel ?? null,
      packageManager: result.packageManager,
      metadataAgeSeconds: result.metadataAgeSeconds,
      rebootRequired: result.rebootRequired,
      warnings: result.warnings,
      durationMs: ctx.clock.now() - started,
      findings: toFindings(result),
      windows: toWindowsFacts(result),
      // The installed set too: unfixed CVEs are listed against each host's newest audit.
      ...(result.installed ? { installed: result.installed } : {}),
    });
    // Judged like any audit (CVEs, tier, due date), or the patched host's remaining updates would
    // have no tier until the next advisory import.
    enrichAfterAudit(db, auditId, ctx.clock);
    return { auditId, result };
  } catch (error) {
    const c = classifyAuditError(error);
    failAudit(db, auditId, {
      kind: c.kind,
      message: c.message,
      stderr: c.stderr,
      durationMs: ctx.clock.now() - started,
    });
    throw new StepFailure('verify-failed', `Verification audit failed: ${c.message}`);
  }
}

/** Targets the verification audit still lists as pending (not at the approved version). */
export function stillPending(
  targets: readonly TargetPackage[],
  updates: readonly { name: string; installedVersion: string | null }[],
): TargetPackage[] {
  return targets.filter((t) => updates.some((u) => u.name === t.name && u.installedVersion !== t.to));
}

/**
 * The updates are installed but the reboot failed: a re-audit over a new connection records what
 * the host runs now (the dashboard's counts come from it), or records that it could not be reached.
 */
export async function reauditAfterReboot(ctx: StepContext): Promise<number | null> {
  let session: StepSession | null = null;
  try {
    session = await ctx.open(ctx.host, AbortSignal.any([ctx.signal, timeoutSignal(ctx.clock, 20_000)]));
    const { auditId, result } = await verifyByAudit(ctx, session);
    log(
      ctx,
      'info',
      `re-audited after the failed reboot: ${stillPending(ctx.step.packages, result.updates).length} of ${ctx.step.packages.length} update(s) still pending${result.rebootRequired ? '; the host still needs a reboot' : ''}`,
    );
    return auditId;
  } catch (error) {
    log(
      ctx,
      'error',
      `the re-audit after the failed reboot failed too: ${sanitizeText(errorMessage(error), { maxLength: 300 })}`,
    );
    return null;
  } finally {
    void session?.close();
  }
}

export const verifyPhase: Phase<StepState> = {
  // Once the host came back from a reboot it is verified whatever a cancel says (the reboot
  // happened; the re-audit records what it runs now). Without a reboot, a cancel that came after
  // the install skips the verification, as the policy's reboot is skipped.
  cancelled: (state) => (state.rebooted ? null : CANCELLED_AFTER_INSTALL),
  async run(state) {
    const { step } = state;
    const snapshot = state.afterInstall;
    if (
      snapshot &&
      snapshot.rebootKnown &&
      state.installed &&
      !state.rebooted &&
      VERIFIED_BY_VERSIONS.includes(state.pm)
    )
      return verifyByVersions(state, snapshot.after);
    const session = remoteSessionOf(state);
    // A verification that started runs to its end: a cancel arriving during it must not make a
    // read-only re-audit look like a failed host ("Verification audit failed: Cancelled.").
    const { auditId, result } = await traced(state.host.name, 'run.verify', () =>
      verifyByAudit(state, session, NOT_CANCELLABLE),
    );
    state.verified = result;
    transition(state, { verifyAuditId: auditId });
    const policy = state.job.rebootPolicy;
    if (result.rebootRequired && state.installed && !state.rebooted && policy !== 'never') {
      // The after-install check could not tell (no needs-restarting, say); the re-audit can.
      const asks = windows.isWindowsResult(result) ? 'the PC needs a restart' : 'the host needs a reboot';
      log(state, 'info', `the re-audit says ${asks}; reboot policy "${policy}" allows it`);
      return 'reboot';
    }
    const pending = stillPending(step.packages, result.updates);
    if (pending.length)
      throw new StepFailure(
        'verify-failed',
        `Still pending after the install: ${pending.map((p) => `${p.name} (wanted ${p.to})`).join(', ')}.`,
      );
    // The count is the step's own unless it did otherwise (state.summary: Windows' receipt).
    const done = step.packages.length
      ? `verified by re-audit: ${state.summary ?? `${step.packages.length} update(s) installed`}`
      : 're-audited';
    if (result.rebootRequired) {
      const why = state.rebooted
        ? 'it still asks for one after its reboot'
        : !state.installed
          ? 'a reboot was already pending'
          : policy === 'never'
            ? 'reboot policy is "never"'
            : 'it was not rebooted';
      log(state, 'info', `${done}; reboot pending (${why})`);
      traceMark(state.host.name, 'run.done');
      return 'reboot-pending';
    }
    log(state, 'info', step.packages.length ? done : 're-audited: no reboot pending');
    traceMark(state.host.name, 'run.done');
    return 'verified';
  },
};

/**
 * The verification without a re-audit: every approved target must be installed at exactly its
 * approved version, as the after-install snapshot read it on the host (dpkg-query / rpm -q), and
 * the snapshot's reboot check says whether the host waits for a reboot (the policy already sent a
 * host that may reboot to its reboot). The host's findings are refreshed by a full audit after the
 * job; this step's result does not depend on it.
 */
function verifyByVersions(state: StepState, after: Record<string, string>): 'verified' | 'reboot-pending' {
  const { step } = state;
  const pending = step.packages.filter((t) => after[t.name] !== t.to);
  if (pending.length)
    throw new StepFailure(
      'verify-failed',
      `Still pending after the install: ${pending
        .map((p) => `${p.name} (wanted ${p.to}, installed ${after[p.name] ?? 'none'})`)
        .join(', ')}.`,
    );
  const done = `verified by installed versions (dpkg-query): ${step.packages.length} update(s) installed at the approved versions`;
  traceMark(state.host.name, 'run.done');
  if (state.rebootRequired) {
    const why = state.job.rebootPolicy === 'never' ? 'reboot policy is "never"' : 'it was not rebooted';
    log(state, 'info', `${done}; reboot pending (${why})`);
    return 'reboot-pending';
  }
  log(state, 'info', done);
  return 'verified';
}
