import { create } from 'zustand';
import type { Finding } from '../../../src/api/schemas';
import { api, describeError } from '../../api';

export const PAGE_SIZE = 200;
export type FindingSort = 'security' | 'host' | 'package';

interface UpdatesState {
  sort: FindingSort;
  securityOnly: boolean;
  search: string;
  total: number | null;
  securityTotal: number;
  hostsTotal: number;
  /** Loaded pages of the current query, by page number. */
  pages: Map<number, Finding[]>;
  error: string | null;
  setSort(sort: FindingSort): void;
  setSecurityOnly(on: boolean): void;
  setSearch(search: string): void;
  /** Starts the current query over: totals and the first page. */
  reload(): Promise<void>;
  /** Makes sure the rows first..last (inclusive) are loaded or loading. */
  ensureRows(first: number, last: number): void;
}

/** Bumped whenever the query changes, so answers to an older query are dropped. */
let generation = 0;
const inFlight = new Set<string>();
let searchTimer: ReturnType<typeof setTimeout> | null = null;
let rangeTimer: ReturnType<typeof setTimeout> | null = null;

export const useUpdates = create<UpdatesState>((set, get) => {
  const fetchPage = async (page: number): Promise<void> => {
    const gen = generation;
    const key = `${gen}:${page}`;
    if (inFlight.has(key) || get().pages.has(page)) return;
    inFlight.add(key);
    const { sort, securityOnly, search } = get();
    try {
      const result = await api.findings.query({
        offset: page * PAGE_SIZE,
        limit: PAGE_SIZE,
        sort,
        securityOnly: securityOnly || undefined,
        search: search.trim() || undefined,
      });
      if (gen !== generation) return;
      const pages = new Map(get().pages);
      pages.set(page, result.rows);
      set({
        pages,
        total: result.total,
        securityTotal: result.securityTotal,
        hostsTotal: result.hostsTotal,
        error: null,
      });
    } catch (error) {
      if (gen === generation) set({ error: describeError(error) });
    } finally {
      inFlight.delete(key);
    }
  };

  return {
    sort: 'security',
    securityOnly: false,
    search: '',
    total: null,
    securityTotal: 0,
    hostsTotal: 0,
    pages: new Map(),
    error: null,
    setSort(sort) {
      set({ sort });
      void get().reload();
    },
    setSecurityOnly(securityOnly) {
      set({ securityOnly });
      void get().reload();
    },
    setSearch(search) {
      set({ search });
      if (searchTimer) clearTimeout(searchTimer);
      searchTimer = setTimeout(() => void get().reload(), 200);
    },
    async reload() {
      generation++;
      // Keep the old totals until the new ones arrive, so the list does not jump to empty.
      set({ pages: new Map() });
      await fetchPage(0);
    },
    ensureRows(first, last) {
      // A page costs the core 50–300 ms of SQL at 100 000 rows; while the scrollbar is dragged,
      // fetch only the range where the user stops, not every page flown over.
      if (rangeTimer) clearTimeout(rangeTimer);
      rangeTimer = setTimeout(() => {
        rangeTimer = null;
        const total = get().total;
        if (total === null) return;
        const lastRow = Math.min(last, total - 1);
        for (let page = Math.floor(first / PAGE_SIZE); page <= Math.floor(lastRow / PAGE_SIZE); page++) {
          void fetchPage(page);
        }
      }, 60);
    },
  };
});

let changedTimer: ReturnType<typeof setTimeout> | null = null;
api.on('entity.changed', ({ entity }) => {
  if (entity !== 'audits' && entity !== 'workspace' && entity !== 'hosts') return;
  // An audit of 50 hosts reports each host as it finishes; refetch once they settle.
  if (changedTimer) clearTimeout(changedTimer);
  changedTimer = setTimeout(() => void useUpdates.getState().reload(), 400);
});
