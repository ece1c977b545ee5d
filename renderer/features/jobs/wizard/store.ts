import { create } from 'zustand';
import type { JobStep, PatchJob } from '../../../../src/api/schemas';
import { api, describeError, onConnectionChange } from '../../../api';
import { useTasks } from '../../../stores/tasks';
import { localToIso, previewSignature } from '../model';
import { currentDraft, dryRunDone, jobSelection, needsReplan } from './selectors';
import { DEFAULT_RESTART_DELAY_SECONDS } from './windows';
import type { Draft, PackageChoice, RunOptions, UpdateMode, WizardData, WizardFlow } from './types';

export interface WizardActions {
  /** Opens the wizard on its first step and reads the hosts and their newest audits. */
  start(): Promise<void>;
  /** Leaves the wizard; a draft it made is deleted (nothing was approved, so nothing is kept). */
  close(): Promise<void>;
  toggleHost(id: number, on: boolean): void;
  setHosts(ids: number[]): void;
  setMode(mode: UpdateMode): Promise<void>;
  togglePackage(name: string, on: boolean): void;
  setRunOptions(patch: Partial<RunOptions>): void;
  /** select → review: plans the job and starts the dry run on each host. */
  review(): Promise<void>;
  /** Reads the draft again (its job and every host's step). */
  refreshDraft(): Promise<void>;
  /** A host's step changed on the server (`job.step`): dry-run results arrive host by host. */
  applyStep(step: JobStep): void;
  /** The draft's job changed on the server (`job.changed`). */
  applyJob(job: PatchJob): void;
  /** review → select; the draft is deleted. */
  backToSelect(): Promise<void>;
  /** review → schedule, once every host's dry run is in. */
  toSchedule(): void;
  /** schedule → confirm; if the run options changed, plans again and compares the dry run. */
  toConfirm(): Promise<void>;
  /** schedule → review. */
  backToReview(): void;
  /** confirm → schedule. */
  backToSchedule(): void;
  /** Approves the reviewed plan and starts or schedules it. Returns the job's id. */
  confirm(): Promise<number | null>;
}

export type WizardState = WizardData & WizardActions;

const INITIAL: WizardData = {
  flow: { step: 'closed' },
  hosts: [],
  audits: {},
  choices: { hostIds: [], mode: 'security', packageChoices: null, chosenPackages: [] },
  options: {
    rebootPolicy: 'if-required',
    onFailure: 'continue',
    schedule: { kind: 'now', at: '', start: '', end: '' },
    windowsRestartDelaySeconds: DEFAULT_RESTART_DELAY_SECONDS,
  },
  kbTitles: {},
  busy: null,
  error: null,
  notice: null,
};

/** The same step with another draft; a step without one is returned as it is. */
function withDraft(flow: WizardFlow, draft: Draft): WizardFlow {
  switch (flow.step) {
    case 'review':
    case 'schedule':
    case 'confirm':
      return { ...flow, draft };
    default:
      return flow;
  }
}

/** Why a schedule cannot be used, or null. */
function scheduleProblem(schedule: RunOptions['schedule']): string | null {
  if (schedule.kind === 'at' && !localToIso(schedule.at)) return 'Choose when the job starts.';
  if (schedule.kind !== 'window') return null;
  const start = localToIso(schedule.start);
  const end = localToIso(schedule.end);
  if (!start || !end) return 'Choose when the maintenance window starts and ends.';
  if (Date.parse(end) <= Date.parse(start)) return 'The maintenance window must end after it starts.';
  if (Date.parse(end) <= Date.now()) return 'That maintenance window is already over.';
  return null;
}

export const useWizard = create<WizardState>((set, get, store) => {
  /** Deletes a draft nobody approved, with its dry run, so no "cancelled" job stays behind. */
  const discard = async (draft: Draft | null): Promise<void> => {
    if (draft === null || (draft.job && draft.job.status !== 'draft')) return;
    await api.jobs.discard({ id: draft.jobId, planTaskId: draft.taskId }).catch(() => undefined);
    // Its dry-run task went with it: the task list and status bar stop naming it.
    await useTasks.getState().load();
  };

  /**
   * Resolves once every host's dry run in draft `jobId` is in, or the draft is no longer on
   * screen. Nothing polls: the `job.step` events move the state along (see applyStep).
   */
  const dryRunSettled = (jobId: number): Promise<Draft | null> =>
    new Promise((resolve) => {
      const settled = (s: WizardState): boolean => {
        const draft = currentDraft(s);
        return draft?.jobId !== jobId || dryRunDone(draft.steps);
      };
      const finish = (s: WizardState): void => {
        const draft = currentDraft(s);
        resolve(draft?.jobId === jobId ? draft : null);
      };
      if (settled(get())) return finish(get());
      const stop = store.subscribe((s) => {
        if (!settled(s)) return;
        stop();
        finish(s);
      });
    });

  /**
   * Plans with the current choices, into the step waiting for a draft, and waits for every host's
   * dry run. Returns the draft, or null if the wizard left that step meanwhile (the plan is then
   * deleted: nobody will review it).
   */
  const planAndWait = async (): Promise<Draft | null> => {
    const { choices, options } = get();
    const planned = await api.jobs.plan({
      hostIds: choices.hostIds,
      selection: jobSelection(choices),
      rebootPolicy: options.rebootPolicy,
      onFailure: options.onFailure,
      options: { windowsRestartDelaySeconds: options.windowsRestartDelaySeconds },
    });
    const draft: Draft = { jobId: planned.jobId, taskId: planned.taskId, job: null, steps: [] };
    const flow = get().flow;
    if ((flow.step !== 'review' && flow.step !== 'schedule') || flow.draft !== null) {
      await discard(draft);
      return null;
    }
    set({ flow: { ...flow, draft } });
    await get().refreshDraft();
    return dryRunSettled(planned.jobId);
  };

  /** The titles of the selected Windows PCs' KBs, for the review; a failure only leaves them out. */
  const loadKbTitles = async (): Promise<void> => {
    const { hosts, audits, choices } = get();
    const titles: Record<number, Record<string, string>> = {};
    try {
      for (const h of hosts) {
        if (!choices.hostIds.includes(h.id) || audits[h.id]?.packageManager !== 'windows-update') continue;
        const page = await api.findings.query({ hostId: h.id, limit: 1000, sort: 'package' });
        titles[h.id] = Object.fromEntries(
          page.rows.filter((f) => f.kind === 'kb').map((f) => [f.package, f.availableVersion]),
        );
      }
    } catch {
      return;
    }
    set({ kbTitles: titles });
  };

  const loadPackageChoices = async (): Promise<void> => {
    const ids = get().choices.hostIds;
    const byName = new Map<string, PackageChoice>();
    for (const hostId of ids) {
      for (let offset = 0; ; offset += 1000) {
        const page = await api.findings.query({ hostId, offset, limit: 1000, sort: 'package' });
        for (const f of page.rows) {
          // New dependencies are never targets themselves (the dry run shows them); a Windows
          // update (KB) has no installed version and is a target all the same.
          if (f.installedVersion === null && f.kind === 'package') continue;
          const c = byName.get(f.package) ?? { name: f.package, security: false, hosts: 0 };
          c.security ||= f.security;
          c.hosts++;
          byName.set(f.package, c);
        }
        if (offset + page.rows.length >= page.total || page.rows.length === 0) break;
      }
    }
    const { choices } = get();
    if (choices.hostIds !== ids) return;
    const packageChoices = [...byName.values()].sort(
      (a, b) => Number(b.security) - Number(a.security) || a.name.localeCompare(b.name),
    );
    set({
      choices: {
        ...choices,
        packageChoices,
        chosenPackages: choices.chosenPackages.filter((n) => byName.has(n)),
      },
    });
  };

  // One read of the draft at a time; a request while one is on its way reads once more after it.
  let reading: Promise<void> | null = null;
  let readAgain = false;
  const readDraft = async (): Promise<void> => {
    const draft = currentDraft(get());
    if (draft === null) return;
    try {
      const detail = await api.jobs.get({ id: draft.jobId, logLimit: 1 });
      const now = currentDraft(get());
      if (now?.jobId === draft.jobId)
        set({ flow: withDraft(get().flow, { ...now, job: detail.job, steps: detail.steps }) });
    } catch (error) {
      set({ error: describeError(error) });
    }
  };

  return {
    ...INITIAL,

    async start() {
      set({ ...INITIAL, flow: { step: 'select' }, busy: 'Loading hosts…' });
      try {
        const [hosts, audits, settings] = await Promise.all([
          api.hosts.list({ inventoryOnly: true }),
          api.audits.latest(),
          api.settings.get(),
        ]);
        set({
          hosts: [...hosts].sort((a, b) => a.name.localeCompare(b.name)),
          audits: Object.fromEntries(audits.map((a) => [a.hostId, a])),
          options: { ...get().options, rebootPolicy: settings.rebootPolicy },
          busy: null,
        });
      } catch (error) {
        set({ busy: null, error: describeError(error) });
      }
    },

    async close() {
      await discard(currentDraft(get()));
      set({ ...INITIAL });
    },

    toggleHost(id, on) {
      const ids = get().choices.hostIds.filter((x) => x !== id);
      get().setHosts(on ? [...ids, id] : ids);
    },

    setHosts(ids) {
      set({ choices: { ...get().choices, hostIds: ids, packageChoices: null } });
      if (get().choices.mode === 'packages') void get().setMode('packages');
    },

    async setMode(mode) {
      set({ choices: { ...get().choices, mode }, error: null });
      if (mode !== 'packages' || get().choices.packageChoices) return;
      try {
        await loadPackageChoices();
      } catch (error) {
        set({ error: describeError(error) });
      }
    },

    togglePackage(name, on) {
      const { choices } = get();
      const names = choices.chosenPackages.filter((n) => n !== name);
      set({ choices: { ...choices, chosenPackages: on ? [...names, name] : names } });
    },

    setRunOptions(patch) {
      set({ options: { ...get().options, ...patch }, error: null });
    },

    async review() {
      if (get().busy) return;
      set({ busy: 'Planning and running the dry run on each host…', error: null, notice: null });
      try {
        await discard(currentDraft(get()));
        set({ flow: { step: 'review', draft: null } });
        void loadKbTitles();
        await planAndWait();
      } catch (error) {
        const draft = currentDraft(get());
        if (get().flow.step !== 'closed')
          set({ flow: draft ? { step: 'review', draft } : { step: 'select' } });
        set({ error: describeError(error) });
      } finally {
        set({ busy: null });
      }
    },

    refreshDraft() {
      if (reading) {
        readAgain = true;
        return reading;
      }
      reading = (async () => {
        try {
          do {
            readAgain = false;
            await readDraft();
          } while (readAgain);
        } finally {
          reading = null;
        }
      })();
      return reading;
    },

    applyStep(step) {
      const draft = currentDraft(get());
      if (draft === null || step.jobId !== draft.jobId) return;
      // A result that came before the draft's first read: read the whole draft.
      if (!draft.steps.some((s) => s.id === step.id)) {
        void get().refreshDraft();
        return;
      }
      const steps = draft.steps.map((s) => (s.id === step.id ? step : s));
      set({ flow: withDraft(get().flow, { ...draft, steps }) });
    },

    applyJob(job) {
      const draft = currentDraft(get());
      if (draft !== null && job.id === draft.jobId) set({ flow: withDraft(get().flow, { ...draft, job }) });
    },

    async backToSelect() {
      await discard(currentDraft(get()));
      set({ flow: { step: 'select' }, notice: null, error: null });
    },

    toSchedule() {
      const { flow } = get();
      if (flow.step !== 'review' || flow.draft === null) return;
      set({
        flow: { step: 'schedule', draft: flow.draft, reviewed: previewSignature(flow.draft.steps) },
        error: null,
        notice: null,
      });
    },

    async toConfirm() {
      const { flow, options } = get();
      if (flow.step !== 'schedule') return;
      const problem = scheduleProblem(options.schedule);
      if (problem) {
        set({ error: problem });
        return;
      }
      if (flow.draft !== null && !needsReplan(flow.draft.job, options)) {
        set({ flow: { step: 'confirm', draft: flow.draft, reviewed: flow.reviewed }, error: null });
        return;
      }
      // The reboot policy and failure handling are part of the plan that gets approved, so the
      // plan is made again with them; the operator only skips a second review if the new dry
      // run says exactly what the reviewed one said. (No draft here: planning again failed before.)
      set({ busy: 'Planning again with the new reboot policy…', error: null });
      try {
        const { reviewed } = flow;
        set({ flow: { step: 'schedule', draft: null, reviewed } });
        await discard(flow.draft);
        const draft = await planAndWait();
        if (draft === null) return;
        const signature = previewSignature(draft.steps);
        const same = signature === reviewed;
        set({
          flow: same ? { step: 'confirm', draft, reviewed: signature } : { step: 'review', draft },
          notice: same
            ? null
            : 'The dry run changed since you reviewed it (a host changed in between). Review it again.',
        });
      } catch (error) {
        set({ error: describeError(error) });
      } finally {
        set({ busy: null });
      }
    },

    backToReview() {
      const { flow } = get();
      if (flow.step === 'schedule' && flow.draft !== null)
        set({ flow: { step: 'review', draft: flow.draft }, error: null, notice: null });
    },

    backToSchedule() {
      const { flow } = get();
      if (flow.step === 'confirm')
        set({
          flow: { step: 'schedule', draft: flow.draft, reviewed: flow.reviewed },
          error: null,
          notice: null,
        });
    },

    async confirm() {
      const { flow, options } = get();
      if (flow.step !== 'confirm' || get().busy) return null;
      const { jobId } = flow.draft;
      const { schedule } = options;
      set({ busy: 'Approving…', error: null });
      try {
        // After a failed start the job is already approved; approving twice is refused.
        if (currentDraft(get())?.job?.status !== 'approved') await api.jobs.approve({ id: jobId });
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

api.on('job.step', (step) => useWizard.getState().applyStep(step));
api.on('job.changed', (job) => useWizard.getState().applyJob(job));
// Events sent while the page was cut off are lost: read the draft again once it is back.
onConnectionChange((state) => {
  if (state.connected) void useWizard.getState().refreshDraft();
});

/**
 * Opens the wizard on its first step with these hosts selected and these packages chosen (the
 * Updates page's "Patch these"). A wizard already open is closed first, its draft discarded.
 */
export async function openWizardWith({ hostIds, packages }: { hostIds: number[]; packages: string[] }) {
  const wizard = useWizard.getState();
  if (wizard.flow.step !== 'closed') await wizard.close();
  await useWizard.getState().start();
  const known = new Set(useWizard.getState().hosts.map((h) => h.id));
  useWizard.getState().setHosts([...new Set(hostIds)].filter((id) => known.has(id)));
  const { choices } = useWizard.getState();
  useWizard.setState({ choices: { ...choices, chosenPackages: [...new Set(packages)] } });
  await useWizard.getState().setMode('packages');
}
