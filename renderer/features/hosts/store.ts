import { create } from 'zustand';
import type { Host, HostUpdate } from '../../../src/api/schemas';
import { api, describeError } from '../../api';

interface HostsState {
  hosts: Host[];
  loading: boolean;
  error: string | null;
  filter: string;
  selected: Set<number>;
  load(): Promise<void>;
  setFilter(filter: string): void;
  toggle(id: number): void;
  update(id: number, patch: HostUpdate): Promise<void>;
  remove(id: number): Promise<void>;
}

export const useHosts = create<HostsState>((set, get) => ({
  hosts: [],
  loading: false,
  error: null,
  filter: '',
  selected: new Set(),
  async load() {
    set({ loading: true });
    try {
      set({ hosts: await api.hosts.list({}), error: null });
    } catch (error) {
      set({ error: describeError(error) });
    } finally {
      set({ loading: false });
    }
  },
  setFilter(filter) {
    set({ filter });
  },
  toggle(id) {
    const selected = new Set(get().selected);
    if (selected.has(id)) selected.delete(id);
    else selected.add(id);
    set({ selected });
  },
  async update(id, patch) {
    try {
      const host = await api.hosts.update({ id, patch });
      set({ hosts: get().hosts.map((h) => (h.id === id ? host : h)), error: null });
    } catch (error) {
      set({ error: describeError(error) });
    }
  },
  async remove(id) {
    try {
      await api.hosts.remove({ id });
      set({ hosts: get().hosts.filter((h) => h.id !== id), error: null });
    } catch (error) {
      set({ error: describeError(error) });
    }
  },
}));

api.on('entity.changed', ({ entity }) => {
  if (entity === 'hosts' || entity === 'workspace') void useHosts.getState().load();
});

export function matchesFilter(host: Host, filter: string): boolean {
  const q = filter.trim().toLowerCase();
  if (!q) return true;
  return [host.name, host.address ?? '', host.osName ?? '', host.macVendor ?? '', ...host.tags].some((v) =>
    v.toLowerCase().includes(q),
  );
}
