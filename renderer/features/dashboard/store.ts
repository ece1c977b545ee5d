import { create } from 'zustand';
import type { Exposure } from '../../../src/api/intel-schemas';
import type { Audit } from '../../../src/api/schemas';
import { api, describeError } from '../../api';
import { onJudgementChanged } from '../intel/store';

export interface FleetFigures {
  hosts: number;
  audited: number;
  pendingUpdates: number;
  securityUpdates: number;
  hostsWithUpdates: number;
  rebootsPending: number;
  failedAudits: number;
  newestAudit: string | null;
}

interface DashboardState {
  figures: FleetFigures | null;
  failed: Audit[];
  error: string | null;
  /** The owner's figures: exposure by tier, overdue, due this week, trend, "patch these first". */
  exposure: Exposure | null;
  exposureError: string | null;
  load(): Promise<void>;
  loadExposure(): Promise<void>;
}

/** Figures from the workspace itself: inventory hosts, each host's newest audit, current findings. */
export const useDashboard = create<DashboardState>((set) => ({
  figures: null,
  failed: [],
  error: null,
  exposure: null,
  exposureError: null,
  async loadExposure() {
    try {
      set({ exposure: await api.dashboard.exposure(), exposureError: null });
    } catch (error) {
      set({ exposureError: describeError(error) });
    }
  },
  async load() {
    void useDashboard.getState().loadExposure();
    try {
      const [hosts, latest, findings] = await Promise.all([
        api.hosts.list({ inventoryOnly: true }),
        api.audits.latest(),
        api.findings.query({ limit: 1 }),
      ]);
      const inventory = new Set(hosts.map((h) => h.id));
      const current = latest.filter((a) => inventory.has(a.hostId));
      const failed = current.filter((a) => a.status === 'failed' || a.status === 'interrupted');
      set({
        figures: {
          hosts: hosts.length,
          audited: current.filter((a) => a.status === 'succeeded').length,
          pendingUpdates: findings.total,
          securityUpdates: findings.securityTotal,
          hostsWithUpdates: findings.hostsTotal,
          rebootsPending: current.filter((a) => a.status === 'succeeded' && a.rebootRequired).length,
          failedAudits: failed.length,
          newestAudit: current.reduce<string | null>(
            (max, a) => (a.finishedAt && (!max || a.finishedAt > max) ? a.finishedAt : max),
            null,
          ),
        },
        failed,
        error: null,
      });
    } catch (error) {
      set({ error: describeError(error) });
    }
  },
}));

let timer: ReturnType<typeof setTimeout> | null = null;
api.on('entity.changed', ({ entity }) => {
  if (entity !== 'audits' && entity !== 'hosts' && entity !== 'workspace') return;
  if (timer) clearTimeout(timer);
  timer = setTimeout(() => void useDashboard.getState().load(), 400);
});
onJudgementChanged(() => void useDashboard.getState().loadExposure());
