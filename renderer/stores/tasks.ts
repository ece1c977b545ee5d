import { create } from 'zustand';
import type { Task } from '../../src/api/schemas';
import { api, describeError } from '../api';

interface TasksState {
  tasks: Task[];
  error: string | null;
  load(): Promise<void>;
  cancel(id: number): Promise<void>;
  apply(task: Task): void;
}

/** Recent tasks, kept fresh by `task.changed` events; the status area shows the running ones. */
export const useTasks = create<TasksState>((set, get) => ({
  tasks: [],
  error: null,
  async load() {
    try {
      set({ tasks: await api.tasks.list({}), error: null });
    } catch (error) {
      set({ error: describeError(error) });
    }
  },
  async cancel(id) {
    try {
      await api.tasks.cancel({ id });
    } catch (error) {
      set({ error: describeError(error) });
    }
  },
  apply(task) {
    const others = get().tasks.filter((t) => t.id !== task.id);
    set({ tasks: [task, ...others].sort((a, b) => b.id - a.id).slice(0, 100) });
  },
}));

api.on('task.changed', (task) => useTasks.getState().apply(task));
