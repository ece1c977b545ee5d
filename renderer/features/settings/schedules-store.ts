import { create } from 'zustand';
import type { CallArgs, CallResult } from '../../../src/api/contract';
import type { Schedule } from '../../../src/api/schedule-schemas';
import { api, describeError } from '../../api';

export type NewSchedule = CallArgs<'schedules.create'>;
export type SavedNetwork = CallResult<'networks.list'>[number];

interface SchedulesState {
  schedules: Schedule[];
  networks: SavedNetwork[];
  error: string | null;
  load(): Promise<void>;
  /** Resolves true when saved. */
  create(input: NewSchedule): Promise<boolean>;
  setEnabled(id: number, enabled: boolean): Promise<void>;
  remove(id: number): Promise<void>;
  runNow(id: number): Promise<void>;
}

export const useSchedules = create<SchedulesState>((set, get) => ({
  schedules: [],
  networks: [],
  error: null,
  async load() {
    try {
      const [schedules, networks] = await Promise.all([api.schedules.list(), api.networks.list()]);
      set({ schedules, networks, error: null });
    } catch (error) {
      set({ error: describeError(error) });
    }
  },
  async create(input) {
    try {
      await api.schedules.create(input);
      set({ error: null });
      await get().load();
      return true;
    } catch (error) {
      set({ error: describeError(error) });
      return false;
    }
  },
  async setEnabled(id, enabled) {
    try {
      await api.schedules.update({ id, patch: { enabled } });
      await get().load();
    } catch (error) {
      set({ error: describeError(error) });
    }
  },
  async remove(id) {
    try {
      await api.schedules.remove({ id });
      await get().load();
    } catch (error) {
      set({ error: describeError(error) });
    }
  },
  async runNow(id) {
    try {
      // The row's "Last run" shows it running, then its outcome: no separate "started" notice to go stale.
      await api.schedules.runNow({ id });
      set({ error: null });
      await get().load();
    } catch (error) {
      set({ error: describeError(error) });
    }
  },
}));

api.on('entity.changed', ({ entity }) => {
  if (entity === 'schedules' || entity === 'workspace') void useSchedules.getState().load();
});
// A run's outcome is its task's: refresh when a task a schedule shows finishes.
api.on('task.changed', (task) => {
  if (task.status === 'running') return;
  if (useSchedules.getState().schedules.some((s) => s.lastRun?.taskId === task.id))
    void useSchedules.getState().load();
});
