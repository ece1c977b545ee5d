import { create } from 'zustand';
import type { JobLogLine, JobStep, PatchJob } from '../../../src/api/schemas';
import { api, describeError } from '../../api';

/** How many log lines a job's page keeps in memory (the newest; the full log stays in the workspace). */
export const LOG_KEEP = 5000;
const LOG_PAGE = 2000;

export interface JobDetail {
  job: PatchJob;
  steps: JobStep[];
  log: JobLogLine[];
  /** Lines of the log left out before the kept ones (only the newest LOG_KEEP stay in memory). */
  droppedLog: number;
  /**
   * Every line up to this id has been fetched. Live `job.log` events can run ahead of it, and some
   * lines are committed without one (resume's re-audit notes), so refetches start here.
   */
  fetchedThrough: number;
}

type JobAction = 'cancel' | 'resume' | 'rerunFailed' | 'reboot';

interface JobsState {
  jobs: PatchJob[];
  loaded: boolean;
  error: string | null;
  selectedId: number | null;
  detail: JobDetail | null;
  /** The action under way on the selected job (resume and re-run re-audit first: they take a while). */
  busy: JobAction | null;
  notice: string | null;
  load(): Promise<void>;
  select(id: number | null): Promise<void>;
  /** Fetches the selected job again: its row, its steps, and log lines after the newest one held. */
  refreshDetail(): Promise<void>;
  /** `hostIds` narrows Reboot now to some hosts (the default: every host waiting for a reboot). */
  act(action: JobAction, hostIds?: number[]): Promise<void>;
  applyJob(job: PatchJob): void;
  applyStep(step: JobStep): void;
  applyEvent(event: JobLogLine): void;
}

const ACTION_DONE: Record<JobAction, string> = {
  cancel: 'Cancel requested: running hosts finish their current command, the rest are skipped.',
  resume: 'Resume requested: the unfinished hosts were re-audited; the log and each host show what runs.',
  rerunFailed: 'Re-run requested: the failed hosts were re-audited; the log and each host show what runs.',
  reboot: 'Reboot requested: each host reboots, then a re-audit checks it; each host shows how it went.',
};

/** Merges log lines by id, oldest first, keeping the newest LOG_KEEP. */
function mergeLog(
  held: JobLogLine[],
  incoming: JobLogLine[],
  dropped: number,
): { log: JobLogLine[]; dropped: number } {
  if (incoming.length === 0) return { log: held, dropped };
  const last = held.length ? held[held.length - 1]!.id : 0;
  let log: JobLogLine[];
  if (incoming[0]!.id > last && incoming.every((e, i) => i === 0 || e.id > incoming[i - 1]!.id)) {
    log = [...held, ...incoming];
  } else {
    // A line committed without a live event (or a line seen twice) lands in its place, once.
    const byId = new Map(held.map((e) => [e.id, e]));
    const fresh = incoming.filter((e) => !byId.has(e.id));
    if (fresh.length === 0) return { log: held, dropped };
    for (const e of fresh) byId.set(e.id, e);
    log = [...byId.values()].sort((a, b) => a.id - b.id);
  }
  if (log.length <= LOG_KEEP) return { log, dropped };
  return { log: log.slice(-LOG_KEEP), dropped: dropped + log.length - LOG_KEEP };
}

export const useJobs = create<JobsState>((set, get) => {
  /** Detail requests are numbered so an older answer never replaces a newer one. */
  let detailGeneration = 0;
  /** Log lines that arrive while the selected job is still loading. */
  let pendingEvents: JobLogLine[] = [];

  return {
    jobs: [],
    loaded: false,
    error: null,
    selectedId: null,
    detail: null,
    busy: null,
    notice: null,

    async load() {
      try {
        set({ jobs: await api.jobs.list({ limit: 200 }), loaded: true, error: null });
      } catch (error) {
        set({ error: describeError(error), loaded: true });
      }
    },

    async select(id) {
      const gen = ++detailGeneration;
      pendingEvents = [];
      set({ selectedId: id, detail: null, notice: null, busy: null });
      if (id === null) return;
      try {
        // Page through the log so a long job opens with its newest lines.
        const first = await api.jobs.get({ id, logLimit: LOG_PAGE });
        let log = first.log;
        let dropped = 0;
        let page = first.log;
        let fetchedThrough = page.length ? page[page.length - 1]!.id : 0;
        while (page.length === LOG_PAGE && gen === detailGeneration) {
          page = (await api.jobs.get({ id, logAfter: fetchedThrough, logLimit: LOG_PAGE })).log;
          if (page.length) fetchedThrough = page[page.length - 1]!.id;
          ({ log, dropped } = mergeLog(log, page, dropped));
        }
        if (gen !== detailGeneration) return;
        ({ log, dropped } = mergeLog(log, pendingEvents, dropped));
        pendingEvents = [];
        set({
          detail: { job: first.job, steps: first.steps, log, droppedLog: dropped, fetchedThrough },
          error: null,
        });
        // Steps may have moved on while the log was paged in.
        if (page !== first.log) void get().refreshDetail();
      } catch (error) {
        if (gen === detailGeneration) set({ error: describeError(error) });
      }
    },

    async refreshDetail() {
      const detail = get().detail;
      if (!detail) return;
      const gen = detailGeneration;
      const id = detail.job.id;
      try {
        const fresh = await api.jobs.get({
          id,
          logAfter: detail.fetchedThrough,
          logLimit: LOG_PAGE,
        });
        const current = get().detail;
        if (gen !== detailGeneration || !current || current.job.id !== id) return;
        const merged = mergeLog(current.log, fresh.log, current.droppedLog);
        const through = fresh.log.length ? fresh.log[fresh.log.length - 1]!.id : 0;
        set({
          detail: {
            job: fresh.job,
            steps: fresh.steps,
            log: merged.log,
            droppedLog: merged.dropped,
            fetchedThrough: Math.max(current.fetchedThrough, through),
          },
        });
        if (fresh.log.length === LOG_PAGE) void get().refreshDetail();
      } catch (error) {
        if (gen === detailGeneration) set({ error: describeError(error) });
      }
    },

    async act(action, hostIds) {
      const id = get().selectedId;
      if (id === null || get().busy) return;
      set({ busy: action, notice: null, error: null });
      try {
        const job =
          action === 'reboot' ? await api.jobs.reboot({ id, hostIds }) : await api.jobs[action]({ id });
        get().applyJob(job);
        if (get().selectedId === id) set({ notice: ACTION_DONE[action] });
        await get().refreshDetail();
      } catch (error) {
        if (get().selectedId === id) set({ error: describeError(error) });
      } finally {
        if (get().selectedId === id) set({ busy: null });
      }
    },

    applyJob(job) {
      const jobs = get().jobs;
      const known = jobs.some((j) => j.id === job.id);
      set({
        jobs: known ? jobs.map((j) => (j.id === job.id ? job : j)) : [job, ...jobs],
      });
      const detail = get().detail;
      if (detail?.job.id === job.id) set({ detail: { ...detail, job } });
    },

    applyStep(step) {
      const detail = get().detail;
      if (!detail || detail.job.id !== step.jobId) return;
      const known = detail.steps.some((s) => s.id === step.id);
      set({
        detail: {
          ...detail,
          steps: known ? detail.steps.map((s) => (s.id === step.id ? step : s)) : [...detail.steps, step],
        },
      });
    },

    applyEvent(event) {
      if (event.jobId !== get().selectedId) return;
      const detail = get().detail;
      if (!detail) {
        pendingEvents.push(event);
        return;
      }
      const merged = mergeLog(detail.log, [event], detail.droppedLog);
      if (merged.log !== detail.log)
        set({ detail: { ...detail, log: merged.log, droppedLog: merged.dropped } });
    },
  };
});

// Live updates. Some transitions (cancel, resume's re-audit) change steps without a `job.step`
// event, so a change of the shown job also refetches it, once things settle.
let refreshTimer: ReturnType<typeof setTimeout> | null = null;
let listTimer: ReturnType<typeof setTimeout> | null = null;
const refreshSoon = (): void => {
  if (refreshTimer) clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => void useJobs.getState().refreshDetail(), 150);
};
api.on('job.changed', (job) => {
  useJobs.getState().applyJob(job);
  if (job.id === useJobs.getState().selectedId) refreshSoon();
});
api.on('job.step', (step) => useJobs.getState().applyStep(step));
api.on('job.log', (event) => useJobs.getState().applyEvent(event));
api.on('entity.changed', ({ entity }) => {
  if (entity !== 'jobs' && entity !== 'workspace') return;
  if (listTimer) clearTimeout(listTimer);
  listTimer = setTimeout(() => void useJobs.getState().load(), 300);
  if (entity === 'workspace') void useJobs.getState().select(null);
});
