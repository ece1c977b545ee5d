import type { Host, JobStep, PatchJob } from '../../../../src/api/schemas';
import { formatTime } from '../../../components/format';
import { isWindowsHost } from '../../hosts/windows-host';
import { DEFAULT_RESTART_DELAY_SECONDS, isWindowsStep } from './windows';
import type { Choices, Draft, RunOptions, Schedule, WizardData } from './types';

/**
 * Everything the wizard shows that follows from its state is computed here, from the state, and
 * never stored beside it. Selectors that return a new array or object take the pieces they need
 * (components select those pieces from the store, which keeps re-renders narrow).
 */

const NO_STEPS: JobStep[] = [];

export function isOpen(s: WizardData): boolean {
  return s.flow.step !== 'closed';
}

/** The draft whose dry run is on screen, if the current step has one. */
export function currentDraft(s: WizardData): Draft | null {
  return 'draft' in s.flow ? s.flow.draft : null;
}

export function draftSteps(s: WizardData): JobStep[] {
  return currentDraft(s)?.steps ?? NO_STEPS;
}

export function draftJob(s: WizardData): PatchJob | null {
  return currentDraft(s)?.job ?? null;
}

/** The job's selection as the plan call takes it. */
export function jobSelection(choices: Choices): { mode: Choices['mode']; packages?: string[] } {
  return choices.mode === 'packages'
    ? { mode: choices.mode, packages: choices.chosenPackages }
    : { mode: choices.mode };
}

export function isSelected(s: WizardData, hostId: number): boolean {
  return s.choices.hostIds.includes(hostId);
}

/** Hosts whose newest audit succeeded: "select every audited host" picks these. */
export function auditedHosts(s: Pick<WizardData, 'hosts' | 'audits'>): Host[] {
  return s.hosts.filter((h) => s.audits[h.id]?.status === 'succeeded');
}

/** What the newest audits of the selected hosts found, added up. */
export function selectedTotals(s: WizardData): { updates: number; security: number } {
  let updates = 0;
  let security = 0;
  for (const h of s.hosts) {
    if (!s.choices.hostIds.includes(h.id)) continue;
    updates += s.audits[h.id]?.updatesCount ?? 0;
    security += s.audits[h.id]?.securityCount ?? 0;
  }
  return { updates, security };
}

export function canReview(s: WizardData): boolean {
  const { hostIds, mode, chosenPackages } = s.choices;
  return hostIds.length > 0 && (mode !== 'packages' || chosenPackages.length > 0) && !s.busy;
}

/** Selected hosts that are Windows PCs (their restart is Windows' own, with a notice and a delay). */
export function selectedWindowsHosts(s: Pick<WizardData, 'hosts' | 'audits' | 'choices'>): Host[] {
  return s.hosts.filter((h) => s.choices.hostIds.includes(h.id) && isWindowsHost(h, s.audits[h.id]));
}

/**
 * What the review step is: a dry run on each host, or, when every selected host is a Windows PC
 * (Windows Update has no dry run), the plan built from their audits.
 */
export function reviewLabel(
  s: Pick<WizardData, 'hosts' | 'audits' | 'choices'>,
): 'Review dry run' | 'Review plan' {
  const selected = s.choices.hostIds.length;
  return selected > 0 && selectedWindowsHosts(s).length === selected ? 'Review plan' : 'Review dry run';
}

/** Selected hosts whose newest audit says a reboot is already pending. */
export function hostsWaitingForReboot(s: Pick<WizardData, 'hosts' | 'audits' | 'choices'>): Host[] {
  return s.hosts.filter((h) => s.choices.hostIds.includes(h.id) && s.audits[h.id]?.rebootRequired);
}

/** The run options differ from the draft's, so confirming plans again (and compares the dry run). */
export function needsReplan(job: PatchJob | null, options: RunOptions): boolean {
  return (
    job !== null &&
    (job.rebootPolicy !== options.rebootPolicy ||
      job.onFailure !== options.onFailure ||
      (job.options.windowsRestartDelaySeconds ?? DEFAULT_RESTART_DELAY_SECONDS) !==
        options.windowsRestartDelaySeconds)
  );
}

export function dryRunDone(steps: JobStep[]): boolean {
  return steps.length > 0 && steps.every((s) => s.phase !== 'planning');
}

/** How many changes a host's dry run lists; a host to patch whose preview lists none cannot be approved. */
export function listedChanges(step: JobStep): number {
  const p = step.preview;
  return p ? p.upgrades.length + p.newPackages.length + p.removals.length : 0;
}

/** Hosts that would be patched although their dry run does not say what would change. */
export function unlistedHosts(steps: JobStep[]): JobStep[] {
  return steps.filter((s) => s.status === 'queued' && s.phase !== 'planning' && listedChanges(s) === 0);
}

/** The review step's progress line and whether it may go on. */
export function dryRunProgress(steps: JobStep[]): {
  done: number;
  finished: boolean;
  ready: JobStep[];
  unlisted: JobStep[];
} {
  return {
    done: steps.filter((s) => s.phase !== 'planning').length,
    finished: dryRunDone(steps),
    ready: steps.filter((s) => s.status === 'queued' && listedChanges(s) > 0),
    unlisted: unlistedHosts(steps),
  };
}

/** What the confirm step lists: hosts to patch, hosts left out, and every change across them. */
export function planSummary(steps: JobStep[]): {
  ready: JobStep[];
  left: JobStep[];
  upgrades: number;
  /** KBs to install on Windows PCs (counted apart: they are not package updates). */
  windowsUpdates: number;
  newPackages: string[];
  removals: string[];
} {
  const ready = steps.filter((s) => s.status === 'queued');
  return {
    ready,
    left: steps.filter((s) => s.status !== 'queued'),
    upgrades: ready.filter((s) => !isWindowsStep(s)).reduce((n, s) => n + s.packages.length, 0),
    windowsUpdates: ready.filter(isWindowsStep).reduce((n, s) => n + s.packages.length, 0),
    newPackages: ready.flatMap((s) => (s.preview?.newPackages ?? []).map((p) => `${p.name} (${s.hostName})`)),
    removals: ready.flatMap((s) => (s.preview?.removals ?? []).map((p) => `${p.name} (${s.hostName})`)),
  };
}

/** When the job starts, in words. */
export function whenText(schedule: Schedule): string {
  if (schedule.kind === 'now') return 'now';
  if (schedule.kind === 'at') return `at ${formatTime(new Date(schedule.at).toISOString())}`;
  return `inside the window ${formatTime(new Date(schedule.start).toISOString())} – ${formatTime(new Date(schedule.end).toISOString())}`;
}
