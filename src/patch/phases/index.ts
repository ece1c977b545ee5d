/**
 * The Linux step flow: which phases a host's step goes through, and where each outcome leads.
 *
 *   precheck ──reboot-first──▶ pre-reboot ──rebooted──▶ precheck (once more)
 *   precheck ──checked──▶ install ──installed──▶ snapshot ──reboot──▶ reboot ──rebooted──▶ verify
 *                         install/snapshot ──verify──▶ verify
 *   verify ──reboot──▶ reboot (the re-audit asks for one)   verify ──verified / reboot-pending──▶ end
 *
 * A step queued again in its reboot phase (Reboot now, a re-run of a failed reboot) starts at the
 * reboot. Another platform's flow (Windows: schedule a task, poll its receipt, survive a reboot)
 * is another table of its own phases, driven by the same driver.
 */
import type { StepFlow } from '../driver';
import { finishStep, firstPhase, log, SHARED_NEXT, type StepState } from './context';
import { failStep } from './failure';
import { installPhase } from './install';
import { precheckPhase } from './precheck';
import { preRebootPhase, rebootPhase } from './reboot';
import { snapshotPhase } from './snapshot';
import { verifyPhase } from './verify';

export const LINUX_STEP_FLOW: StepFlow<StepState> = {
  phases: {
    precheck: precheckPhase,
    'pre-reboot': preRebootPhase,
    install: installPhase,
    snapshot: snapshotPhase,
    reboot: rebootPhase,
    verify: verifyPhase,
  },
  next: {
    ...SHARED_NEXT,
    precheck: { 'reboot-first': 'pre-reboot', checked: 'install' },
    install: { installed: 'snapshot', reboot: 'reboot', verify: 'verify' },
    snapshot: { reboot: 'reboot', verify: 'verify' },
  },
  first: firstPhase,
  started(state) {
    const { step, host } = state;
    log(
      state,
      'info',
      step.phase === 'reboot'
        ? step.packages.length
          ? `${host.name}: the updates are installed; rebooting the host, then verifying`
          : // A reboot job of its own (hosts.reboot): nothing was installed by it.
            `${host.name}: rebooting the host, then re-auditing it`
        : `${host.name}: ${step.packages.map((p) => `${p.name} ${p.from ?? '∅'} → ${p.to}`).join(', ')}`,
    );
  },
  fail: failStep,
  finish: finishStep,
};

export { classifyInstallFailure, detachedInstallScript } from './install';
export { stillPending } from './verify';
export { interruptedInstall, newStepState, type StepContext, type StepState } from './context';
