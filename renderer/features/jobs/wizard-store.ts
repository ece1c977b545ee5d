import { create } from 'zustand';
import type { Audit, Host, JobStep, PatchJob, Settings } from '../../../src/api/schemas';
import { api, describeError } from '../../api';
import { useTasks } from '../../stores/tasks';
import { localToIso, previewSignature } from './model';

export type WizardStep = 'select' | 'review' | 'schedule' | 'confirm';
export type UpdateMode = 'all' | 'security' | 'packages';
export type RebootPolicy = Settings['rebootPolicy'];
export type ScheduleKind = 'now' | 'at' | 'window';

export interface PackageChoice {
  name: string;
  security: boolean;
  /** Selected hosts where it is pending. */
  hosts: number;
}

interface WizardState {
  open: boolean;
  step: WizardStep;
  hosts: Host[];
  /** The newest audit of each host, by host id. */
  audits: Record<number, Audit>;
  selectedHostIds: number[];
  mode: UpdateMode;
  packageChoices: PackageChoice[] | null;
  chosenPackages: string[];
  rebootPolicy: RebootPolicy;
  onFailure: PatchJob['onFailure'];
  schedule: { kind: ScheduleKind; at: string; start: string; end: string };
  /** The draft job whose dry run is on screen. */
  jobId: number | null;
  taskId: number | null;
  job: PatchJob | null;
  steps: JobStep[];
  /** The signature of the dry run the operator reviewed (see previewSignature). */
  reviewed: string | null;
  busy: string | null;
  error: string | null;
  notice: string | null;
  start(): Promise<void>;
  /** Leaves the wizard; a draft it made is deleted (nothing was approved, so nothing is kept). */
  close(): Promise<void>;
  toggleHost(id: number, on: boolean): void;
  setHosts(ids: number[]): void;
  setMode(mode: UpdateMode): Promise<void>;
  togglePackage(name: string, on: boolean): void;
  setRunOptions(patch: Partial<Pick<WizardState, 'rebootPolicy' | 'onFailure' | 'schedule'>>): void;
  /** select → review: plans the job and starts the dry run on each host. */
  review(): Promise<void>;
  refreshDraft(): Promise<void>;
  backToSelect(): Promise<void>;
  /** review → schedule. */
  toSchedule(): void;
  /** schedule → confirm; if the run options changed, plans again and compares the dry run. */
  toConfirm(): Promise<void>;
  back(step: WizardStep): void;
  /** Approves the reviewed plan and starts or schedules it. Returns the job's id. */
  confirm(): Promise<number | null>;
}

const INITIAL = {
  open: false,
  step: 'select' as WizardStep,
  hosts: [] as Host[],
  audits: {} as Record<number, Audit>,
  selectedHostIds: [] as number[],
  mode: 'security' as UpdateMode,
  packageChoices: null as PackageChoice[] | null,
  chosenPackages: [] as string[],
  rebootPolicy: 'if-required' as RebootPolicy,
  onFailure: 'continue' as PatchJob['onFailure'],
  schedule: { kind: 'now' as ScheduleKind, at: '', start: '', end: '' },
  jobId: null,
  taskId: null,
  job: null,
  steps: [] as JobStep[],
  reviewed: null,
  busy: null,
  error: null,
  notice: null,
};

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

export const useWizard = create<WizardState>((set, get) => {
  const selection = () => {
    const { mode, chosenPackages } = get();
    return mode === 'packages' ? { mode, packages: chosenPackages } : { mode };
  };

  const discardDraft = async (): Promise<void> => {
    const { jobId, taskId, job } = get();
    set({ jobId: null, taskId: null, job: null, steps: [], reviewed: null });
    if (jobId === null || (job && job.status !== 'draft')) return;
    // Nobody approved it: the draft (and its dry run) is deleted, so no "cancelled" job stays behind.
    await api.jobs.discard({ id: jobId, planTaskId: taskId ?? undefined }).catch(() => undefined);
    // Its dry-run task went with it: the task list and status bar stop naming it.
    await useTasks.getState().load();
  };

  /** Plans with the current choices and waits for every host's dry run. */
  const planAndWait = async (): Promise<void> => {
    const { selectedHostIds, rebootPolicy, onFailure } = get();
    const planned = await api.jobs.plan({
      hostIds: selectedHostIds,
      selection: selection(),
      rebootPolicy,
      onFailure,
    });
    set({ jobId: planned.jobId, taskId: planned.taskId });
    await get().refreshDraft();
    while (get().jobId === planned.jobId && !dryRunDone(get().steps)) {
      await new Promise((r) => setTimeout(r, 400));
      await get().refreshDraft();
    }
  };

  const loadPackageChoices = async (): Promise<void> => {
    const ids = get().selectedHostIds;
    const byName = new Map<string, PackageChoice>();
    for (const hostId of ids) {
      for (let offset = 0; ; offset += 1000) {
        const page = await api.findings.query({ hostId, offset, limit: 1000, sort: 'package' });
        for (const f of page.rows) {
          // New dependencies are never targets themselves (the dry run shows them).
          if (f.installedVersion === null) continue;
          const c = byName.get(f.package) ?? { name: f.package, security: false, hosts: 0 };
          c.security ||= f.security;
          c.hosts++;
          byName.set(f.package, c);
        }
        if (offset + page.rows.length >= page.total || page.rows.length === 0) break;
      }
    }
    if (get().selectedHostIds !== ids) return;
    const choices = [...byName.values()].sort(
      (a, b) => Number(b.security) - Number(a.security) || a.name.localeCompare(b.name),
    );
    set({
      packageChoices: choices,
      chosenPackages: get().chosenPackages.filter((n) => byName.has(n)),
    });
  };

  return {
    ...INITIAL,

    async start() {
      set({ ...INITIAL, open: true, busy: 'Loading hosts…' });
      try {
        const [hosts, audits, settings] = await Promise.all([
          api.hosts.list({ inventoryOnly: true }),
          api.audits.latest(),
          api.settings.get(),
        ]);
        set({
          hosts: [...hosts].sort((a, b) => a.name.localeCompare(b.name)),
          audits: Object.fromEntries(audits.map((a) => [a.hostId, a])),
          rebootPolicy: settings.rebootPolicy,
          busy: null,
        });
      } catch (error) {
        set({ busy: null, error: describeError(error) });
      }
    },

    async close() {
      await discardDraft();
      set({ ...INITIAL });
    },

    toggleHost(id, on) {
      const ids = get().selectedHostIds.filter((x) => x !== id);
      get().setHosts(on ? [...ids, id] : ids);
    },

    setHosts(ids) {
      set({ selectedHostIds: ids, packageChoices: null });
      if (get().mode === 'packages') void get().setMode('packages');
    },

    async setMode(mode) {
      set({ mode, error: null });
      if (mode !== 'packages' || get().packageChoices) return;
      try {
        await loadPackageChoices();
      } catch (error) {
        set({ error: describeError(error) });
      }
    },

    togglePackage(name, on) {
      const names = get().chosenPackages.filter((n) => n !== name);
      set({ chosenPackages: on ? [...names, name] : names });
    },

    setRunOptions(patch) {
      set({ ...patch, error: null });
    },

    async review() {
      if (get().busy) return;
      set({ busy: 'Planning and running the dry run on each host…', error: null, notice: null });
      try {
        await discardDraft();
        set({ step: 'review' });
        await planAndWait();
        set({ reviewed: previewSignature(get().steps) });
      } catch (error) {
        set({ error: describeError(error), step: get().jobId ? 'review' : 'select' });
      } finally {
        set({ busy: null });
      }
    },

    async refreshDraft() {
      const id = get().jobId;
      if (id === null) return;
      try {
        const detail = await api.jobs.get({ id, eventsLimit: 1 });
        if (get().jobId === id) set({ job: detail.job, steps: detail.steps });
      } catch (error) {
        set({ error: describeError(error) });
      }
    },

    async backToSelect() {
      await discardDraft();
      set({ step: 'select', notice: null, error: null });
    },

    toSchedule() {
      set({ step: 'schedule', error: null, notice: null });
    },

    async toConfirm() {
      const { schedule, job, rebootPolicy, onFailure } = get();
      if (schedule.kind === 'at' && !localToIso(schedule.at)) {
        set({ error: 'Choose when the job starts.' });
        return;
      }
      if (schedule.kind === 'window') {
        const start = localToIso(schedule.start);
        const end = localToIso(schedule.end);
        if (!start || !end) {
          set({ error: 'Choose when the maintenance window starts and ends.' });
          return;
        }
        if (Date.parse(end) <= Date.parse(start)) {
          set({ error: 'The maintenance window must end after it starts.' });
          return;
        }
        if (Date.parse(end) <= Date.now()) {
          set({ error: 'That maintenance window is already over.' });
          return;
        }
      }
      if (job && (job.rebootPolicy !== rebootPolicy || job.onFailure !== onFailure)) {
        // The reboot policy and failure handling are part of the plan that gets approved, so the
        // plan is made again with them; the operator only skips a second review if the new dry
        // run says exactly what the reviewed one said.
        set({ busy: 'Planning again with the new reboot policy…', error: null });
        try {
          const reviewed = get().reviewed;
          await discardDraft();
          await planAndWait();
          const same = previewSignature(get().steps) === reviewed;
          set({
            reviewed: previewSignature(get().steps),
            step: same ? 'confirm' : 'review',
            notice: same
              ? null
              : 'The dry run changed since you reviewed it (a host changed in between). Review it again.',
          });
        } catch (error) {
          set({ error: describeError(error) });
        } finally {
          set({ busy: null });
        }
        return;
      }
      set({ step: 'confirm', error: null });
    },

    back(step) {
      set({ step, error: null, notice: null });
    },

    async confirm() {
      const { jobId, schedule } = get();
      if (jobId === null || get().busy) return null;
      set({ busy: 'Approving…', error: null });
      try {
        // After a failed start the job is already approved; approving twice is refused.
        if (get().job?.status !== 'approved') await api.jobs.approve({ id: jobId });
        set({ busy: schedule.kind === 'now' ? 'Starting…' : 'Scheduling…' });
        const at = schedule.kind === 'at' ? (localToIso(schedule.at) ?? undefined) : undefined;
        const window =
          schedule.kind === 'window'
            ? { start: localToIso(schedule.start)!, end: localToIso(schedule.end)! }
            : undefined;
        await api.jobs.start({ id: jobId, at, window });
        set({ ...INITIAL });
        return jobId;
      } catch (error) {
        // An approved job that failed to start stays on the Jobs page, where it can be cancelled.
        set({ busy: null, error: describeError(error) });
        await get().refreshDraft();
        return null;
      }
    },
  };
});

// Dry-run results arrive host by host.
api.on('job.step', (step) => {
  const { jobId } = useWizard.getState();
  if (step.jobId !== jobId) return;
  const steps = useWizard.getState().steps;
  useWizard.setState({ steps: steps.map((s) => (s.id === step.id ? step : s)) });
});

/**
 * Opens the wizard on its first step with these hosts selected and these packages chosen (the
 * Updates page's "Patch these"). A wizard already open is closed first, its draft discarded.
 */
export async function openWizardWith({ hostIds, packages }: { hostIds: number[]; packages: string[] }) {
  if (useWizard.getState().open) await useWizard.getState().close();
  await useWizard.getState().start();
  const known = new Set(useWizard.getState().hosts.map((h) => h.id));
  useWizard.getState().setHosts([...new Set(hostIds)].filter((id) => known.has(id)));
  useWizard.setState({ chosenPackages: [...new Set(packages)] });
  await useWizard.getState().setMode('packages');
}
