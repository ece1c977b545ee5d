import { create } from 'zustand';
import type { CallResult } from '../../../src/api/contract';
import type { Host, Task } from '../../../src/api/schemas';
import { api, ApiError, describeError } from '../../api';

export type TargetCheck = CallResult<'discovery.check'>;
export type SavedNetwork = CallResult<'networks.list'>[number];
export type Scan = CallResult<'scans.list'>[number];
export type Proposal = CallResult<'discovery.propose'>[number];
export type DiscoveredHost = Host & { wasNew: boolean };

/**
 * The port presets the core knows (src/discovery/ports.ts PORT_PRESETS). The renderer may not
 * import runtime code from src/, so the names and lists are repeated here for display; the
 * preset *name* is what is sent, and the core resolves it.
 */
export const PORT_PRESETS: { name: string; ports: number[]; description: string }[] = [
  {
    name: 'default',
    ports: [22, 135, 139, 445, 3389, 5985, 5986, 80, 443, 5900],
    description: 'management, Windows, web, VNC',
  },
  { name: 'quick', ports: [22, 3389, 5985, 445], description: 'how Patchdeck can manage it' },
  { name: 'linux', ports: [22, 80, 443, 111, 2049, 3306, 5432, 9090, 10050], description: 'Linux servers' },
  {
    name: 'full-windows',
    ports: [135, 139, 445, 3389, 5985, 5986, 80, 443, 88, 389, 636, 3268, 53, 1433, 5357],
    description: 'Windows servers and domain controllers',
  },
  { name: 'ssh', ports: [22], description: 'SSH only' },
];

export interface ScanProgress {
  done: number;
  total: number | null;
  message: string | null;
  status: Task['status'];
}

interface DiscoverState {
  targets: string;
  exclude: string;
  preset: string;
  customPorts: string;
  timeoutMs: number | null;
  reverseDns: boolean;
  confirmLarge: boolean;
  force: boolean;
  check: TargetCheck | null;
  checking: boolean;
  networks: SavedNetwork[];
  scans: Scan[];
  proposals: Proposal[] | null;
  /** The scan whose results are shown: the running one, or a past one picked from the list. */
  scanId: number | null;
  taskId: number | null;
  starting: boolean;
  progress: ScanProgress | null;
  results: DiscoveredHost[];
  /** Hosts the shown scan found, including those beyond the table's limit. */
  found: number;
  error: string | null;
  notice: string | null;

  setField<K extends 'targets' | 'exclude' | 'preset' | 'customPorts'>(key: K, value: string): void;
  setTimeoutMs(value: number | null): void;
  setReverseDns(value: boolean): void;
  setConfirmLarge(value: boolean): void;
  setForce(value: boolean): void;
  runCheck(): Promise<TargetCheck | null>;
  loadLists(): Promise<void>;
  propose(): Promise<void>;
  pickNetwork(id: number): void;
  saveNetwork(name: string): Promise<void>;
  removeNetwork(id: number): Promise<void>;
  start(): Promise<void>;
  cancel(): Promise<void>;
  showScan(scanId: number): Promise<void>;
  addToInventory(hostIds: number[]): Promise<void>;
  /** Internal: event handlers. */
  hostFound(scanId: number, hostId: number, isNew: boolean): void;
  taskChanged(task: Task): void;
}

const byAddress = (a: DiscoveredHost, b: DiscoveredHost): number => compareAddresses(a.address, b.address);

/** Numeric order for IPv4 addresses, text order for anything else. */
export function compareAddresses(a: string | null, b: string | null): number {
  const key = (s: string | null): string =>
    s && /^\d+\.\d+\.\d+\.\d+$/.test(s)
      ? s
          .split('.')
          .map((p) => p.padStart(3, '0'))
          .join('.')
      : `~${s ?? ''}`;
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
}

let checkSeq = 0;
let checkTimer: ReturnType<typeof setTimeout> | null = null;
/** The results table shows (and fetches details for) at most this many hosts of one scan. */
export const MAX_RESULTS = 500;

/** Host ids announced by `discovery.host` and not fetched yet, per scan. */
const queued = new Map<number, boolean>();
let queuedScan: number | null = null;
let flushTimer: ReturnType<typeof setTimeout> | null = null;
/** Events that arrive before `discovery.start` has answered with its scan id. */
/** Every host id the shown scan announced (the table keeps only the first MAX_RESULTS). */
const seen = new Set<number>();
const early: { scanId: number; hostId: number; isNew: boolean }[] = [];

export function portsParam(state: Pick<DiscoverState, 'preset' | 'customPorts'>): string {
  return state.preset === 'custom' ? state.customPorts.trim() : state.preset;
}

export const useDiscover = create<DiscoverState>((set, get) => {
  const scheduleCheck = (): void => {
    if (checkTimer) clearTimeout(checkTimer);
    checkTimer = setTimeout(() => void get().runCheck(), 250);
  };

  const flush = async (): Promise<void> => {
    flushTimer = null;
    const scanId = queuedScan;
    const ids = [...queued.entries()];
    queued.clear();
    if (scanId === null) return;
    if (ids.length === 0) {
      set({ found: Math.max(seen.size, get().results.length) });
      return;
    }
    const fetched = await Promise.all(
      ids.map(async ([id, isNew]) => {
        try {
          return { ...(await api.hosts.get({ id })), wasNew: isNew };
        } catch {
          return null;
        }
      }),
    );
    if (get().scanId !== scanId) return;
    const byId = new Map(get().results.map((h) => [h.id, h]));
    for (const host of fetched)
      if (host) byId.set(host.id, { ...host, wasNew: byId.get(host.id)?.wasNew ?? host.wasNew });
    set({ results: [...byId.values()].sort(byAddress), found: Math.max(seen.size, byId.size) });
  };

  return {
    targets: '',
    exclude: '',
    preset: 'default',
    customPorts: '',
    timeoutMs: null,
    reverseDns: true,
    confirmLarge: false,
    force: false,
    check: null,
    checking: false,
    networks: [],
    scans: [],
    proposals: null,
    scanId: null,
    taskId: null,
    starting: false,
    progress: null,
    results: [],
    found: 0,
    error: null,
    notice: null,

    setField(key, value) {
      set({ [key]: value, notice: null } as Partial<DiscoverState>);
      if (key === 'targets' || key === 'exclude') {
        set({ confirmLarge: false, force: false });
        scheduleCheck();
      }
    },
    setTimeoutMs(timeoutMs) {
      set({ timeoutMs });
    },
    setReverseDns(reverseDns) {
      set({ reverseDns });
    },
    setConfirmLarge(confirmLarge) {
      set({ confirmLarge });
    },
    setForce(force) {
      set({ force });
      void get().runCheck();
    },
    async runCheck() {
      if (checkTimer) clearTimeout(checkTimer);
      checkTimer = null;
      const { targets, exclude, force } = get();
      const seq = ++checkSeq;
      if (!targets.trim()) {
        set({ check: null, checking: false });
        return null;
      }
      set({ checking: true });
      try {
        const check = await api.discovery.check({ targets, exclude: exclude || undefined, force });
        if (seq === checkSeq) set({ check, checking: false });
        return check;
      } catch (error) {
        if (seq === checkSeq) set({ check: null, checking: false, error: describeError(error) });
        return null;
      }
    },
    async loadLists() {
      try {
        const [networks, scans] = await Promise.all([api.networks.list(), api.scans.list()]);
        set({ networks, scans });
      } catch (error) {
        set({ error: describeError(error) });
      }
    },
    async propose() {
      try {
        const proposals = await api.discovery.propose();
        set({ proposals });
        if (proposals.length === 0) {
          set({ notice: 'This machine has no IPv4 subnet to propose (only loopback or link-local).' });
          return;
        }
        // Only fills the box: the admin still reads it and presses Start.
        get().setField('targets', proposals.map((p) => p.cidr).join('\n'));
        set({
          notice: `Proposed from ${proposals.map((p) => `${p.interfaceName} (${p.address})`).join(', ')}. Nothing is scanned until you press Start.`,
        });
      } catch (error) {
        set({ error: describeError(error) });
      }
    },
    pickNetwork(id) {
      const network = get().networks.find((n) => n.id === id);
      if (!network) return;
      const preset = network.ports
        ? PORT_PRESETS.some((p) => p.name === network.ports)
          ? network.ports
          : 'custom'
        : 'default';
      set({
        targets: network.targets,
        exclude: network.exclude,
        preset,
        customPorts: preset === 'custom' ? (network.ports ?? '') : get().customPorts,
        confirmLarge: false,
        force: false,
        notice: null,
      });
      void get().runCheck();
    },
    async saveNetwork(name) {
      const state = get();
      try {
        await api.networks.save({
          name,
          targets: state.targets,
          exclude: state.exclude || undefined,
          ports: portsParam(state) || undefined,
        });
        set({ error: null, notice: `Saved network ${name}.` });
        await get().loadLists();
      } catch (error) {
        set({ error: describeError(error) });
      }
    },
    async removeNetwork(id) {
      try {
        await api.networks.remove({ id });
        await get().loadLists();
      } catch (error) {
        set({ error: describeError(error) });
      }
    },
    async start() {
      const state = get();
      if (state.starting) return;
      set({ starting: true, error: null, notice: null });
      early.length = 0;
      try {
        const ports = portsParam(state);
        const started = await api.discovery.start({
          targets: state.targets,
          exclude: state.exclude || undefined,
          ports: ports || undefined,
          timeoutMs: state.timeoutMs ?? undefined,
          confirm: state.confirmLarge || undefined,
          force: state.force || undefined,
          reverseDns: state.reverseDns,
        });
        queued.clear();
        seen.clear();
        queuedScan = started.scanId;
        set({
          found: 0,
          scanId: started.scanId,
          taskId: started.taskId,
          results: [],
          progress: { done: 0, total: started.addresses, message: null, status: 'running' },
        });
        set({ starting: false });
        for (const e of early.splice(0)) get().hostFound(e.scanId, e.hostId, e.isNew);
        void get().loadLists();
      } catch (error) {
        set({ error: error instanceof ApiError || error instanceof Error ? error.message : String(error) });
      } finally {
        set({ starting: false });
      }
    },
    async cancel() {
      const { taskId } = get();
      if (taskId === null) return;
      try {
        await api.tasks.cancel({ id: taskId });
      } catch (error) {
        set({ error: describeError(error) });
      }
    },
    async showScan(scanId) {
      try {
        const results = await api.scans.results({ scanId });
        const scan = get().scans.find((s) => s.id === scanId);
        queuedScan = scanId;
        queued.clear();
        seen.clear();
        set({
          found: results.length,
          scanId,
          taskId: scan?.taskId ?? null,
          results: [...results].sort(byAddress).slice(0, MAX_RESULTS),
          progress: scan
            ? {
                done: scan.addressesProbed,
                total: scan.addressesTotal,
                message: `${scan.hostsFound} hosts found`,
                // A failed or interrupted scan says so; it read "cancelled" before.
                status: scan.status === 'completed' ? 'succeeded' : scan.status,
              }
            : null,
        });
      } catch (error) {
        set({ error: describeError(error) });
      }
    },
    async addToInventory(hostIds) {
      try {
        const updated = await Promise.all(
          hostIds.map((id) => api.hosts.update({ id, patch: { inInventory: true } })),
        );
        const byId = new Map(updated.map((h) => [h.id, h]));
        set({
          results: get().results.map((h) => (byId.has(h.id) ? { ...byId.get(h.id)!, wasNew: h.wasNew } : h)),
          error: null,
        });
      } catch (error) {
        set({ error: describeError(error) });
      }
    },
    hostFound(scanId, hostId, isNew) {
      if (get().starting) {
        early.push({ scanId, hostId, isNew });
        return;
      }
      if (scanId !== get().scanId) return;
      seen.add(hostId);
      const known = get().results.some((h) => h.id === hostId) || queued.has(hostId);
      // A huge sweep (a /16 of loopback answers thousands of hosts a second) would drown the page:
      // details are fetched for the first MAX_RESULTS hosts; the Hosts page lists them all.
      if (!known && get().results.length + queued.size >= MAX_RESULTS) {
        if (!flushTimer) flushTimer = setTimeout(() => void flush(), 150);
        return;
      }
      queued.set(hostId, isNew || (queued.get(hostId) ?? false));
      // Batch: a /20 of loopback answers thousands of hosts a second; fetch them a few times a second.
      if (!flushTimer) flushTimer = setTimeout(() => void flush(), 150);
    },
    taskChanged(task) {
      if (task.id !== get().taskId) return;
      set({
        progress: {
          done: task.progressDone,
          total: task.progressTotal,
          message: task.message,
          status: task.status,
        },
      });
      if (task.status !== 'running' && task.status !== 'queued') {
        void get().loadLists();
        const scanId = get().scanId;
        // The final word: every host the scan recorded, in case an event was missed.
        if (scanId !== null && get().results.length < MAX_RESULTS)
          void api.scans.results({ scanId }).then((results) => {
            if (get().scanId === scanId)
              set({ results: [...results].sort(byAddress).slice(0, MAX_RESULTS), found: results.length });
          });
      }
    },
  };
});

api.on('discovery.host', ({ scanId, hostId, isNew }) =>
  useDiscover.getState().hostFound(scanId, hostId, isNew),
);
api.on('task.changed', (task) => useDiscover.getState().taskChanged(task));
api.on('entity.changed', ({ entity }) => {
  if (entity === 'scans' || entity === 'workspace') void useDiscover.getState().loadLists();
});
