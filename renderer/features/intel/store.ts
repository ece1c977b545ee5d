import { create } from 'zustand';
import type {
  ExceptionInput,
  FindingEvidence,
  FindingExceptionRecord,
  UnfixedCve,
} from '../../../src/api/intel-schemas';
import type { Finding } from '../../../src/api/schemas';
import { api, describeError } from '../../api';

const judgementListeners = new Set<() => void>();
/**
 * Pages that show judged updates (tiers, due dates, exceptions) hear when the judgement changed:
 * a snapshot imported, an exception added or removed.
 */
export function onJudgementChanged(listener: () => void): () => void {
  judgementListeners.add(listener);
  return () => judgementListeners.delete(listener);
}
export function announceJudgementChanged(): void {
  for (const listener of judgementListeners) listener();
}

interface EvidenceState {
  /** The finding whose evidence panel is open, if any. */
  findingId: number | null;
  evidence: FindingEvidence | null;
  loading: boolean;
  error: string | null;
  /** What the panel just did (an exception recorded), shown until it closes. */
  notice: string | null;
  open(findingId: number): Promise<void>;
  /** Reads the open finding's evidence again, keeping what is shown until the answer arrives. */
  refresh(notice?: string): Promise<void>;
  close(): void;
}

/** The evidence panel: one finding's CVEs, the records they rest on, its tier and due date. */
export const useEvidence = create<EvidenceState>((set, get) => ({
  findingId: null,
  evidence: null,
  loading: false,
  error: null,
  notice: null,
  async open(findingId) {
    set({ findingId, evidence: null, loading: true, error: null, notice: null });
    try {
      const evidence = await api.findings.evidence({ findingId });
      if (get().findingId === findingId) set({ evidence, loading: false });
    } catch (error) {
      if (get().findingId === findingId) set({ error: describeError(error), loading: false });
    }
  },
  async refresh(notice) {
    const { findingId } = get();
    if (findingId === null) return;
    set({ notice: notice ?? null });
    try {
      const evidence = await api.findings.evidence({ findingId });
      if (get().findingId === findingId) set({ evidence });
    } catch (error) {
      if (get().findingId === findingId) set({ error: describeError(error) });
    }
  },
  close() {
    set({ findingId: null, evidence: null, loading: false, error: null, notice: null });
  },
}));

interface ExceptionsState {
  rows: FindingExceptionRecord[];
  includeInactive: boolean;
  loaded: boolean;
  error: string | null;
  notice: string | null;
  load(): Promise<void>;
  setIncludeInactive(on: boolean): void;
  /** Records an exception; resolves to the record, or throws with the core's sentence. */
  add(input: ExceptionInput): Promise<FindingExceptionRecord>;
  remove(id: number): Promise<void>;
}

/** Accepted and deferred findings, CVEs and packages (the Updates page's Exceptions section). */
export const useExceptions = create<ExceptionsState>((set, get) => ({
  rows: [],
  includeInactive: false,
  loaded: false,
  error: null,
  notice: null,
  async load() {
    try {
      const rows = await api.exceptions.list({ includeInactive: get().includeInactive || undefined });
      set({ rows, loaded: true, error: null });
    } catch (error) {
      set({ error: describeError(error), loaded: true });
    }
  },
  setIncludeInactive(includeInactive) {
    set({ includeInactive });
    void get().load();
  },
  async add(input) {
    const record = await api.exceptions.add(input);
    set({ notice: null });
    void get().load();
    announceJudgementChanged();
    return record;
  },
  async remove(id) {
    try {
      const { removed } = await api.exceptions.remove({ id });
      set({
        notice: removed
          ? 'Exception removed: the findings it covered count again.'
          : 'That exception was already removed.',
        error: null,
      });
      await get().load();
      announceJudgementChanged();
    } catch (error) {
      set({ error: `The exception was not removed: ${describeError(error)}` });
    }
  },
}));

interface HostRiskState {
  hostId: number | null;
  findings: Finding[];
  total: number;
  unfixed: UnfixedCve[];
  unfixedTotal: number;
  error: string | null;
  load(hostId: number): Promise<void>;
}

/** One host's security updates in risk order and its CVEs with no fix yet (host detail). */
export const useHostRisk = create<HostRiskState>((set, get) => ({
  hostId: null,
  findings: [],
  total: 0,
  unfixed: [],
  unfixedTotal: 0,
  error: null,
  async load(hostId) {
    if (get().hostId !== hostId) set({ hostId, findings: [], total: 0, unfixed: [], unfixedTotal: 0 });
    try {
      const [page, unfixed] = await Promise.all([
        api.findings.query({ hostId, securityOnly: true, sort: 'risk', limit: 100 }),
        api.findings.unfixed({ hostId, limit: 200 }),
      ]);
      if (get().hostId !== hostId) return;
      set({
        findings: page.rows,
        total: page.total,
        unfixed: unfixed.rows,
        unfixedTotal: unfixed.total,
        error: null,
      });
    } catch (error) {
      if (get().hostId === hostId) set({ error: describeError(error) });
    }
  },
}));

onJudgementChanged(() => {
  const { hostId, load } = useHostRisk.getState();
  if (hostId !== null) void load(hostId);
});
