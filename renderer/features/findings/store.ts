import { create } from 'zustand';
import type { Tier } from '../../../src/api/intel-schemas';
import type { Finding, FindingFacets, FindingGroup } from '../../../src/api/schemas';
import { api, describeError } from '../../api';
import { saveDownload } from '../../components/download';
import { onJudgementChanged } from '../intel/store';

export const PAGE_SIZE = 200;
export type FindingSort = 'security' | 'host' | 'package' | 'repository' | 'risk' | 'due';
export type SortDirection = 'asc' | 'desc';
/** Each update on its own row, or one row per package ("openssl on 12 hosts"). */
export type FindingsView = 'updates' | 'packages';
export type Severity = 'critical' | 'important' | 'moderate' | 'low' | 'unknown' | 'none';

/** The filters of the Updates page; an empty string means "any". */
export interface FindingFilters {
  severity: Severity | '';
  os: string;
  repository: string;
  hostId: number | null;
  tag: string;
  /** Only updates that fix a CVE in CISA's known-exploited catalogue. */
  kevOnly: boolean;
  overdue: boolean;
  /** Lowest EPSS score as a percentage typed by the admin ('' = any). */
  epssAtLeast: string;
  tier: Tier | '';
  hasException: 'yes' | 'no' | '';
}

/** What one selected row stands for: a package on some hosts. */
export interface PatchChoice {
  package: string;
  hostIds: number[];
}

interface FindingsState {
  view: FindingsView;
  sort: FindingSort;
  direction: SortDirection;
  securityOnly: boolean;
  search: string;
  filters: FindingFilters;
  /** Rows of the current query: updates, or packages in the package view. */
  total: number | null;
  /** Updates the current query matches (equal to total in the updates view). */
  findingsTotal: number;
  securityTotal: number;
  hostsTotal: number;
  /** Loaded pages of the current query, by page number (updates view). */
  pages: Map<number, Finding[]>;
  /** Loaded pages of the current query, by page number (package view). */
  groupPages: Map<number, FindingGroup[]>;
  facets: FindingFacets | null;
  /** Windows PCs whose newest audit says WSUS decides their updates (Group Policy UseWUServer). */
  wsusHosts: { hostId: number; server: string | null }[];
  /** Selected rows, by row key (see rowKey / groupKey). */
  selected: Map<string, PatchChoice>;
  exporting: boolean;
  notice: string | null;
  error: string | null;
  setView(view: FindingsView): void;
  /** Sorts by a column; choosing the current column again reverses it. */
  sortBy(sort: FindingSort): void;
  /** Sorts by a column in its natural order. */
  setSort(sort: FindingSort): void;
  setSecurityOnly(on: boolean): void;
  setSearch(search: string): void;
  setFilters(patch: Partial<FindingFilters>): void;
  clearFilters(): void;
  /** Starts the current query over: totals and the first page. */
  reload(): Promise<void>;
  loadFacets(): Promise<void>;
  /** Makes sure the rows first..last (inclusive) are loaded or loading. */
  ensureRows(first: number, last: number): void;
  toggleSelected(key: string, choice: PatchChoice, on: boolean): void;
  clearSelection(): void;
  /** The hosts and packages of the selected rows, for the patch wizard. */
  selection(): { hostIds: number[]; packages: string[] };
  /** Exports what the filters match as CSV: a download in a browser, a save dialog in the app. */
  exportCsv(): Promise<void>;
}

export const rowKey = (f: Finding): string => `u:${f.id}`;
export const groupKey = (g: FindingGroup): string => `p:${g.kind}:${g.package}`;

const NO_FILTERS: FindingFilters = {
  severity: '',
  os: '',
  repository: '',
  hostId: null,
  tag: '',
  kevOnly: false,
  overdue: false,
  epssAtLeast: '',
  tier: '',
  hasException: '',
};

/** The EPSS filter's percentage as the 0–1 score the query takes; undefined when empty or not a number. */
export function epssScoreOf(percent: string): number | undefined {
  if (percent.trim() === '') return undefined;
  const value = Number(percent);
  if (!Number.isFinite(value)) return undefined;
  return Math.min(1, Math.max(0, value / 100));
}

/** True when any filter of the page narrows the list. */
export function isFiltered(s: Pick<FindingsState, 'securityOnly' | 'search' | 'filters'>): boolean {
  const f = s.filters;
  return (
    s.securityOnly ||
    s.search.trim() !== '' ||
    f.severity !== '' ||
    f.os !== '' ||
    f.repository !== '' ||
    f.hostId !== null ||
    f.tag !== '' ||
    f.kevOnly ||
    f.overdue ||
    epssScoreOf(f.epssAtLeast) !== undefined ||
    f.tier !== '' ||
    f.hasException !== ''
  );
}

/** Bumped whenever the query changes, so answers to an older query are dropped. */
let generation = 0;
const inFlight = new Set<string>();
let searchTimer: ReturnType<typeof setTimeout> | null = null;
let rangeTimer: ReturnType<typeof setTimeout> | null = null;

/** The query arguments shared by the list, the package view and the export. */
function queryArgs(s: FindingsState) {
  return {
    sort: s.sort,
    direction: s.direction,
    securityOnly: s.securityOnly || undefined,
    search: s.search.trim() || undefined,
    severity: s.filters.severity || undefined,
    os: s.filters.os || undefined,
    repository: s.filters.repository || undefined,
    hostId: s.filters.hostId ?? undefined,
    tag: s.filters.tag || undefined,
    kevOnly: s.filters.kevOnly || undefined,
    overdue: s.filters.overdue || undefined,
    epssAtLeast: epssScoreOf(s.filters.epssAtLeast),
    tier: s.filters.tier || undefined,
    hasException: s.filters.hasException === '' ? undefined : s.filters.hasException === 'yes',
  };
}

export const useFindings = create<FindingsState>((set, get) => {
  const fetchPage = async (page: number): Promise<void> => {
    const gen = generation;
    const { view } = get();
    const key = `${gen}:${view}:${page}`;
    if (inFlight.has(key) || (view === 'updates' ? get().pages : get().groupPages).has(page)) return;
    inFlight.add(key);
    const args = { ...queryArgs(get()), offset: page * PAGE_SIZE, limit: PAGE_SIZE };
    try {
      if (view === 'updates') {
        const result = await api.findings.query(args);
        if (gen !== generation) return;
        const pages = new Map(get().pages);
        pages.set(page, result.rows);
        set({
          pages,
          total: result.total,
          findingsTotal: result.total,
          securityTotal: result.securityTotal,
          hostsTotal: result.hostsTotal,
          error: null,
        });
      } else {
        const result = await api.findings.groups(args);
        if (gen !== generation) return;
        const groupPages = new Map(get().groupPages);
        groupPages.set(page, result.rows);
        set({
          groupPages,
          total: result.total,
          findingsTotal: result.findingsTotal,
          securityTotal: result.securityTotal,
          hostsTotal: result.hostsTotal,
          error: null,
        });
      }
    } catch (error) {
      if (gen === generation) set({ error: describeError(error) });
    } finally {
      inFlight.delete(key);
    }
  };

  return {
    view: 'updates',
    sort: 'security',
    direction: 'asc',
    securityOnly: false,
    search: '',
    filters: NO_FILTERS,
    total: null,
    findingsTotal: 0,
    securityTotal: 0,
    hostsTotal: 0,
    pages: new Map(),
    groupPages: new Map(),
    facets: null,
    wsusHosts: [],
    selected: new Map(),
    exporting: false,
    notice: null,
    error: null,
    setView(view) {
      if (view === get().view) return;
      // The two views' rows differ, so a selection made in one is not carried into the other.
      // Risk and due orders rank single updates; the package view has no such order.
      const sort =
        view === 'packages' && (get().sort === 'risk' || get().sort === 'due') ? 'security' : get().sort;
      set({ view, sort, total: null, selected: new Map(), notice: null });
      void get().reload();
    },
    sortBy(sort) {
      const { sort: current, direction } = get();
      set({ sort, direction: sort === current && direction === 'asc' ? 'desc' : 'asc' });
      void get().reload();
    },
    setSort(sort) {
      set({ sort, direction: 'asc' });
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
    setFilters(patch) {
      set({ filters: { ...get().filters, ...patch } });
      if (searchTimer) clearTimeout(searchTimer);
      // A number being typed (the EPSS filter) waits for the typing to pause, as the search does.
      if ('epssAtLeast' in patch) searchTimer = setTimeout(() => void get().reload(), 300);
      else void get().reload();
    },
    clearFilters() {
      set({ filters: NO_FILTERS, securityOnly: false, search: '' });
      void get().reload();
    },
    async reload() {
      generation++;
      // Keep the old totals until the new ones arrive, so the list does not jump to empty.
      set({ pages: new Map(), groupPages: new Map() });
      await fetchPage(0);
    },
    async loadFacets() {
      try {
        const [facets, latest] = await Promise.all([api.findings.facets(), api.audits.latest()]);
        const wsusHosts = latest.flatMap((a) =>
          a.windows?.policy?.useWUServer ? [{ hostId: a.hostId, server: a.windows.policy.server }] : [],
        );
        set({ facets, wsusHosts });
      } catch (error) {
        set({ error: describeError(error) });
      }
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
    toggleSelected(key, choice, on) {
      const selected = new Map(get().selected);
      if (on) selected.set(key, choice);
      else selected.delete(key);
      set({ selected });
    },
    clearSelection() {
      set({ selected: new Map() });
    },
    selection() {
      const hostIds = new Set<number>();
      const packages = new Set<string>();
      for (const choice of get().selected.values()) {
        packages.add(choice.package);
        for (const id of choice.hostIds) hostIds.add(id);
      }
      return { hostIds: [...hostIds], packages: [...packages] };
    },
    async exportCsv() {
      if (get().exporting) return;
      set({ exporting: true, notice: null, error: null });
      try {
        const result = await api.findings.exportCsv(queryArgs(get()));
        const cut =
          result.rows < result.matched
            ? ` Only the first ${result.rows.toLocaleString('en')} of ${result.matched.toLocaleString('en')} matching updates fit in one export: narrow the filters to export the rest.`
            : '';
        if (result.cancelled) set({ notice: 'Export cancelled: nothing was saved.' });
        else if (result.csv !== null) {
          saveDownload(
            `patchdeck-updates-${new Date().toISOString().slice(0, 10)}.csv`,
            result.csv,
            'text/csv;charset=utf-8',
          );
          set({ notice: `Exported ${result.rows.toLocaleString('en')} updates as CSV.${cut}` });
        } else
          set({
            notice: `Saved ${result.rows.toLocaleString('en')} updates to ${result.path ?? 'the chosen file'}.${cut}`,
          });
      } catch (error) {
        set({ error: `Export failed: ${describeError(error)}` });
      } finally {
        set({ exporting: false });
      }
    },
  };
});

let changedTimer: ReturnType<typeof setTimeout> | null = null;
api.on('entity.changed', ({ entity }) => {
  if (entity !== 'audits' && entity !== 'workspace' && entity !== 'hosts') return;
  // An audit of 50 hosts reports each host as it finishes; refetch once they settle.
  if (changedTimer) clearTimeout(changedTimer);
  changedTimer = setTimeout(() => {
    void useFindings.getState().reload();
    void useFindings.getState().loadFacets();
  }, 400);
});

// A new snapshot, or an exception added or removed, judges the listed updates anew.
onJudgementChanged(() => void useFindings.getState().reload());
