/**
 * What a stopped step records: its failure in the words of the phase it stopped in (or its
 * cancellation). After an install, a failed reboot is followed by a re-audit over a new
 * connection, so the host's record says what it runs now.
 */
import type { StepPhase } from '../../api';
import { classifyAuditError } from '../../audit';
import { RemoteError } from '../../remote';
import { errorMessage } from '../../util';
import { StepFailure, type FailurePatch } from '../driver';
import { log, type StepState } from './context';
import { reauditAfterReboot } from './verify';

/** Phases before anything on the host changed: a connection lost there is an ordinary audit error. */
const READ_ONLY: readonly (StepPhase | null)[] = [null, 'precheck', 'pre-reboot'];

export async function failStep(
  state: StepState,
  error: unknown,
  phase: StepPhase | null,
): Promise<FailurePatch> {
  const ctx = state;
  const cancelled = ctx.signal.aborted && (!(error instanceof StepFailure) || error.kind === 'cancelled');
  const failure =
    error instanceof StepFailure
      ? error
      : error instanceof RemoteError && error.kind === 'unreachable' && !READ_ONLY.includes(phase)
        ? new StepFailure(
            'unreachable',
            ctx.step.packages.length === 0
              ? // A reboot job of its own installs nothing.
                `${ctx.host.name} dropped off during ${phase}; nothing was installed — re-run it once the host answers.`
              : `${ctx.host.name} dropped off during ${phase}; the install may be partly done — resume re-audits it and finishes what is missing.`,
          )
        : error instanceof RemoteError && error.kind === 'output-too-large' && !READ_ONLY.includes(phase)
          ? new StepFailure(
              'output-too-large',
              `${error.message} This happened during ${phase}: the install may be partly done — resume re-audits the host and finishes what is missing.`,
            )
          : (() => {
              const c = classifyAuditError(error);
              return new StepFailure(c.kind, c.message || errorMessage(error));
            })();
  log(ctx, cancelled ? 'info' : 'error', `${ctx.host.name}: ${failure.message}`);
  const verifyAuditId =
    !cancelled && state.installed && phase === 'reboot' ? await reauditAfterReboot(ctx) : null;
  return {
    status: cancelled ? 'cancelled' : 'failed',
    errorKind: cancelled ? 'cancelled' : failure.kind,
    errorMessage: failure.message,
    ...(verifyAuditId !== null ? { verifyAuditId } : {}),
  };
}
