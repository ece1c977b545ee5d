import { create } from 'zustand';
import type { Audit, Credential, Host, HostUpdate, Task } from '../../../src/api/schemas';
import { api, describeError } from '../../api';
import { openHost, useApp } from '../../stores/app';
import { outcomeText, outcomeTone } from '../../components/task-outcome';

interface HostsState {
  hosts: Host[];
  loading: boolean;
  error: string | null;
  notice: string | null;
  /** A notice that reports a failure reads as one. */
  noticeFailed: boolean;
  filter: string;
  showDiscovered: boolean;
  selected: Set<number>;
  /** Newest finished audit per host. */
  latest: Map<number, Audit>;
  /** Hosts in a running audit task → that task's id. */
  auditing: Map<number, number>;
  credentials: Credential[];
  auditCredentialId: number | null;
  load(): Promise<void>;
  loadLatest(): Promise<void>;
  loadCredentials(): Promise<void>;
  setFilter(filter: string): void;
  setShowDiscovered(show: boolean): void;
  setAuditCredential(id: number | null): void;
  /** Refresh package metadata on each host before auditing it (the next audits only). */
  auditRefresh: boolean;
  setAuditRefresh(on: boolean): void;
  toggle(id: number): void;
  selectAll(ids: number[], on: boolean): void;
  update(id: number, patch: HostUpdate): Promise<void>;
  remove(id: number): Promise<void>;
  add(input: { name: string; address?: string; sshPort?: number }): Promise<boolean>;
  /** Audits these hosts, or every inventory host when `hostIds` is undefined. */
  audit(hostIds?: number[]): Promise<void>;
  /** Opens a host's detail page (`#/hosts/<id>`), or goes back to the list for `null`. */
  openDetail(id: number | null): void;
  taskChanged(task: Task): void;
}

export const useHosts = create<HostsState>((set, get) => ({
  hosts: [],
  loading: false,
  error: null,
  notice: null,
  noticeFailed: false,
  filter: '',
  showDiscovered: false,
  selected: new Set(),
  latest: new Map(),
  auditing: new Map(),
  credentials: [],
  auditCredentialId: null,
  auditRefresh: false,
  setAuditRefresh(auditRefresh) {
    set({ auditRefresh });
  },
  async load() {
    set({ loading: true });
    try {
      const [hosts] = await Promise.all([api.hosts.list({}), get().loadLatest()]);
      set({ hosts, error: null });
    } catch (error) {
      set({ error: describeError(error) });
    } finally {
      set({ loading: false });
    }
  },
  async loadLatest() {
    try {
      const audits = await api.audits.latest();
      set({ latest: new Map(audits.map((a) => [a.hostId, a])) });
    } catch (error) {
      set({ error: describeError(error) });
    }
  },
  async loadCredentials() {
    try {
      set({ credentials: await api.credentials.list() });
    } catch (error) {
      set({ error: describeError(error) });
    }
  },
  setFilter(filter) {
    set({ filter });
  },
  setShowDiscovered(showDiscovered) {
    set({ showDiscovered });
  },
  setAuditCredential(auditCredentialId) {
    set({ auditCredentialId });
  },
  toggle(id) {
    const selected = new Set(get().selected);
    if (selected.has(id)) selected.delete(id);
    else selected.add(id);
    set({ selected });
  },
  selectAll(ids, on) {
    set({ selected: on ? new Set(ids) : new Set() });
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
      const selected = new Set(get().selected);
      selected.delete(id);
      set({
        hosts: get().hosts.filter((h) => h.id !== id),
        selected,
        error: null,
      });
    } catch (error) {
      set({ error: describeError(error) });
    }
  },
  async add(input) {
    try {
      const host = await api.hosts.add(input);
      set({
        hosts: [...get().hosts.filter((h) => h.id !== host.id), host],
        error: null,
        notice: `Added ${host.name}.`,
        noticeFailed: false,
      });
      return true;
    } catch (error) {
      set({ error: describeError(error) });
      return false;
    }
  },
  async audit(hostIds) {
    try {
      const { taskId, hosts } = await api.audits.start({
        hostIds,
        credentialId: get().auditCredentialId ?? undefined,
        refresh: get().auditRefresh || undefined,
      });
      const ids =
        hostIds ??
        get()
          .hosts.filter((h) => h.inInventory)
          .map((h) => h.id);
      const auditing = new Map(get().auditing);
      for (const id of ids) auditing.set(id, taskId);
      set({
        auditing,
        error: null,
        notice: `Auditing ${hosts} host${hosts === 1 ? '' : 's'}…`,
        noticeFailed: false,
      });
    } catch (error) {
      set({ error: describeError(error) });
    }
  },
  openDetail(id) {
    if (id === null) useApp.getState().navigate('hosts');
    else openHost(id);
  },
  taskChanged(task) {
    if (task.kind !== 'audit' || task.status === 'running' || task.status === 'queued') return;
    const auditing = new Map(get().auditing);
    const hostIds: number[] = [];
    for (const [hostId, taskId] of auditing)
      if (taskId === task.id) {
        auditing.delete(hostId);
        hostIds.push(hostId);
      }
    set({ auditing });
    void get()
      .loadLatest()
      .then(() => {
        // The task's own summary says how its hosts went ("6 of 8 hosts succeeded, 2 failed").
        const failed = outcomeTone(task) === 'danger';
        set({
          notice: `${task.title} — ${outcomeText(task)}${failed ? '. See the Audit column' : ''}.`,
          noticeFailed: failed,
        });
      });
  },
}));

api.on('entity.changed', ({ entity, ids }) => {
  const state = useHosts.getState();
  if (entity === 'hosts' || entity === 'workspace') void state.load();
  if (entity === 'credentials') void state.loadCredentials();
  if (entity === 'audits') {
    // One host finished its audit: it is no longer "auditing", and its latest audit changed.
    if (ids?.length) {
      const auditing = new Map(state.auditing);
      for (const id of ids) auditing.delete(id);
      useHosts.setState({ auditing });
    }
    void state.loadLatest();
  }
});
api.on('task.changed', (task) => useHosts.getState().taskChanged(task));

export function matchesFilter(host: Host, filter: string): boolean {
  const q = filter.trim().toLowerCase();
  if (!q) return true;
  return [host.name, host.address ?? '', host.osName ?? '', host.macVendor ?? '', ...host.tags].some((v) =>
    v.toLowerCase().includes(q),
  );
}
