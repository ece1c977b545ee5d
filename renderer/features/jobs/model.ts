import type { JobStep, PatchJob, StepPreview } from '../../../src/api/schemas';

/** A host's run, in order; the progress bar counts phases reached out of PHASES.length. */
export const PHASES = ['precheck', 'install', 'reboot', 'verify', 'done'] as const;
const PHASE_LABEL: Record<string, string> = {
  planning: 'dry run',
  planned: 'waiting',
  precheck: 'pre-checks',
  'pre-reboot': 'rebooting first (a reboot was pending)',
  install: 'installing',
  // Windows PCs: the install runs in a one-off SYSTEM task on the PC, and Patchdeck waits for its receipt.
  schedule: 'starting the install task on the PC',
  wait: 'installing (waiting for the PC’s receipt)',
  reboot: 'rebooting',
  verify: 'verifying (re-audit)',
  done: 'done',
};

export function phaseLabel(phase: string | null): string {
  return phase ? (PHASE_LABEL[phase] ?? phase) : '—';
}

/** Phases completed (0…PHASES.length). A succeeded host is full; a stopped one shows where it stopped. */
export function stepProgress(step: JobStep): number {
  if (step.status === 'succeeded') return PHASES.length;
  // Installed and verified, but the reboot that finishes it is still to come.
  if (step.status === 'reboot-pending') return PHASES.length - 1;
  // Queued again (resume, re-run): the phase left from the last try is not progress.
  if (step.status === 'queued') return 0;
  // A Windows PC's task phases are its install.
  const phase = step.phase === 'schedule' || step.phase === 'wait' ? 'install' : step.phase;
  const index = PHASES.indexOf((phase ?? '') as (typeof PHASES)[number]);
  return index < 0 ? 0 : index;
}

export const SETTLED_STEP: readonly JobStep['status'][] = [
  'succeeded',
  'reboot-pending',
  'failed',
  'skipped',
  'cancelled',
  'interrupted',
];
export const ACTIVE_JOB: readonly PatchJob['status'][] = ['running', 'scheduled', 'approved', 'draft'];

export function isSettled(step: JobStep): boolean {
  return SETTLED_STEP.includes(step.status);
}

/** A status in words: a step that waits for its reboot is not "succeeded". */
export function statusLabel(status: string): string {
  return status === 'reboot-pending' ? 'installed, reboot pending' : status;
}

/** The step's updates are in and its host waits for a reboot (or its reboot failed): Reboot now applies. */
export function waitsForReboot(step: JobStep): boolean {
  return step.status === 'reboot-pending' || (step.status === 'failed' && step.phase === 'reboot');
}

/** Which statuses read as good, bad or neutral, for badges and bars. */
export function tone(status: string): 'ok' | 'danger' | 'warn' | 'neutral' | 'running' {
  if (status === 'succeeded') return 'ok';
  if (status === 'failed') return 'danger';
  if (
    status === 'interrupted' ||
    status === 'cancelled' ||
    status === 'skipped' ||
    status === 'reboot-pending'
  )
    return 'warn';
  if (status === 'running') return 'running';
  return 'neutral';
}

export function countsText(counts: Record<string, number>): string {
  const order = [
    'running',
    'queued',
    'succeeded',
    'reboot-pending',
    'failed',
    'interrupted',
    'skipped',
    'cancelled',
  ];
  return order
    .filter((k) => counts[k])
    .map((k) => `${counts[k]} ${statusLabel(k)}`)
    .join(', ');
}

/** What the operator may do with a job, mirroring what the core accepts (src/patch/service.ts). */
export function jobActions(job: PatchJob, steps: JobStep[]) {
  const runnable = (s: JobStep): boolean => s.packages.length > 0 && Boolean(s.preview?.command);
  return {
    cancel: ['running', 'scheduled', 'approved', 'draft', 'interrupted'].includes(job.status),
    resume:
      Boolean(job.approvedAt) &&
      ['interrupted', 'failed', 'cancelled'].includes(job.status) &&
      steps.some(
        (s) =>
          ['interrupted', 'queued', 'running'].includes(s.status) && (runnable(s) || s.phase === 'reboot'),
      ),
    rerunFailed:
      Boolean(job.approvedAt) &&
      ['failed', 'succeeded', 'cancelled', 'interrupted'].includes(job.status) &&
      steps.some((s) => s.status === 'failed' && (runnable(s) || s.phase === 'reboot')),
    reboot:
      ['succeeded', 'failed', 'cancelled', 'interrupted'].includes(job.status) && steps.some(waitsForReboot),
  };
}

export interface VersionChange {
  name: string;
  before: string | null;
  /** undefined: no snapshot after (the run stopped before it). */
  after: string | null | undefined;
}

/** Before/after versions of what changed on a host (the snapshot the run took). */
export function versionChanges(step: JobStep): VersionChange[] {
  if (!step.before && !step.after) return [];
  const before = step.before ?? {};
  const after = step.after;
  const names = [...new Set([...Object.keys(before), ...Object.keys(after ?? {})])].sort();
  return names.map((name) => ({
    name,
    before: before[name] ?? null,
    after: after ? (after[name] ?? null) : undefined,
  }));
}

/**
 * What a dry run says will happen on each host, in a stable form: two reviews with the same
 * signature describe the same changes (used when the plan is made again with other run options).
 */
export function previewSignature(steps: JobStep[]): string {
  const keys = (p: StepPreview | null): string[] =>
    p
      ? [
          ...p.upgrades.map((c) => `u:${c.name}:${c.from}:${c.to}`),
          ...p.newPackages.map((c) => `n:${c.name}:${c.to}`),
          ...p.removals.map((c) => `r:${c.name}:${c.from}`),
        ].sort()
      : [];
  return JSON.stringify(
    [...steps]
      .sort((a, b) => a.hostId - b.hostId)
      .map((s) => [s.hostId, s.status, s.packages.map((p) => `${p.name}@${p.to}`).sort(), keys(s.preview)]),
  );
}

/** `YYYY-MM-DDTHH:mm` (a datetime-local value, local time) → ISO with offset, or null. */
export function localToIso(value: string): string | null {
  if (!value) return null;
  const t = new Date(value).getTime();
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

/** The other way, for default values of datetime-local inputs. */
export function isoToLocal(date: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}
