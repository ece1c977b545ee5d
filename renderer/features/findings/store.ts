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
/** Which kinds of update the loaded rows hold: only packages, only KBs, or both. */
export type RowKinds = 'packages' | 'kbs' | 'mixed';
/** At most this many pages of one query stay loaded: those nearest the rows in view. */
export const KEPT_PAGES = 24;

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
  /** The kinds of update the rows loaded since the query started hold (the columns' labels follow it). */
  kinds: RowKinds;
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

/** The kinds once `rows` are loaded beside rows of the kinds `current`. */
export function mergeKinds(current: RowKinds | null, rows: readonly { kind: string }[]): RowKinds {
  let kb = current === 'kbs' || current === 'mixed';
  let other = current === 'packages' || current === 'mixed';
  for (const row of rows) {
    if (row.kind === 'kb') kb = true;
    else other = true;
  }
  return kb && other ? 'mixed' : kb ? 'kbs' : 'packages';
}

/**
 * The pages to fetch for rows first..last of `total`: those in view and half a page either side
 * (so a steady scroll finds its next page loaded), nearest the view first, less those `have`.
 */
export function pagesToFetch(first: number, last: number, total: number, have: (page: number) => boolean) {
  const lo = Math.max(0, first - PAGE_SIZE / 2);
  const hi = Math.min(total - 1, last + PAGE_SIZE / 2);
  const middle = (first + last) / 2;
  const pages: number[] = [];
  for (let page = Math.floor(lo / PAGE_SIZE); page <= Math.floor(hi / PAGE_SIZE); page++)
    if (!have(page)) pages.push(page);
  const distance = (page: number) => Math.abs(page * PAGE_SIZE + PAGE_SIZE / 2 - middle);
  return pages.sort((a, b) => distance(a) - distance(b));
}

/** The pages kept when `pages` holds more than KEPT_PAGES: those nearest `center`. */
export function trimPages<T>(pages: Map<number, T>, center: number): Map<number, T> {
  if (pages.size <= KEPT_PAGES) return pages;
  const kept = [...pages.keys()]
    .sort((a, b) => Math.abs(a - center) - Math.abs(b - center))
    .slice(0, KEPT_PAGES);
  return new Map(kept.map((page) => [page, pages.get(page)!]));
}

/** Bumped whenever the query changes, so answers to an older query are dropped. */
let generation = 0;
const inFlight = new Set<string>();
let searchTimer: ReturnType<typeof setTimeout> | null = null;
/** The rows last asked for, so a trailing fetch serves where the user is now. */
let wantedRange: [number, number] = [0, 0];
/** Page fetches of the current query in flight; past this many, the next waits for the scroll to settle. */
const MAX_PAGE_FETCHES = 2;
/** A search reload running, and whether the text changed since it was sent. */
let searchBusy = false;
let searchAgain = false;

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
          pages: trimPages(pages, Math.floor(wantedRange[0] / PAGE_SIZE)),
          kinds: mergeKinds(pages.size === 1 ? null : get().kinds, result.rows),
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
          groupPages: trimPages(groupPages, Math.floor(wantedRange[0] / PAGE_SIZE)),
          kinds: mergeKinds(groupPages.size === 1 ? null : get().kinds, result.rows),
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
    kinds: 'packages',
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
      // No pause: the query for the text so far is sent at once, and while one is answered the
      // next waits for it (the core answers one at a time anyway), then asks for the newest
      // text. An answer to older text that arrives after newer typing is dropped (generation).
      if (searchBusy) {
        generation++;
        searchAgain = true;
        return;
      }
      const run = async (): Promise<void> => {
        searchBusy = true;
        try {
          await get().reload();
        } finally {
          searchBusy = false;
          if (searchAgain) {
            searchAgain = false;
            void run();
          }
        }
      };
      void run();
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
      wantedRange = [first, last];
      const total = get().total;
      if (total === null) return;
      const { view } = get();
      const loaded = view === 'updates' ? get().pages : get().groupPages;
      const busy = (page: number) => inFlight.has(`${generation}:${view}:${page}`);
      const wanted = pagesToFetch(first, last, total, (page) => loaded.has(page) || busy(page));
      if (wanted.length === 0) return;
      // A page costs the core tens of ms of SQL at 100 000 rows: fetch the nearest pages now, at
      // most MAX_PAGE_FETCHES at a time; while the scrollbar is dragged faster than they come, the
      // next fetch starts when one ends and serves the range the user is at by then, not every
      // page flown over. A failed fetch is not retried in a loop (the error is shown).
      let running = [...inFlight].filter((k) => k.startsWith(`${generation}:`)).length;
      for (const page of wanted) {
        if (running >= MAX_PAGE_FETCHES) break;
        running++;
        void fetchPage(page).then(() => {
          if (get().error !== null) return;
          const [a, b] = wantedRange;
          get().ensureRows(a, b);
        });
      }
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
