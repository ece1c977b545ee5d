import { create } from 'zustand';
import type {
  ReportFormat,
  ReportKind,
  ReportPreview,
  ReportRequest,
  ReportTable,
} from '../../../src/api/portable-schemas';
import type { Host } from '../../../src/api/schemas';
import { ApiError, api, describeError } from '../../api';
import { finishExport } from '../../components/download';
import { periodProblem, presetPeriod, type PeriodPreset } from './period';

export type ReportResult = {
  kind: 'ok' | 'error' | 'warn';
  text: string;
  /** A PDF could not be made here: the page offers the same report as HTML. */
  offerHtml?: boolean;
};

export interface ReportChoice {
  kind: ReportKind;
  preset: PeriodPreset;
  from: string;
  to: string;
  /** Every host in the inventory, or only the chosen ones. */
  allHosts: boolean;
  chosen: number[];
}

interface ReportsState extends ReportChoice {
  hosts: Host[] | null;
  hostsError: string | null;
  format: ReportFormat;
  table: ReportTable;
  preview: ReportPreview | null;
  /** The choice the preview was made for: the page says when the form no longer matches it. */
  previewOf: string | null;
  previewing: boolean;
  previewError: string | null;
  exporting: boolean;
  result: ReportResult | null;
  loadHosts(): Promise<void>;
  choose(patch: Partial<ReportChoice>): void;
  choosePreset(preset: PeriodPreset): void;
  toggleHost(id: number, on: boolean): void;
  setFormat(format: ReportFormat): void;
  setTable(table: ReportTable): void;
  runPreview(): Promise<void>;
  /** Exports in the chosen format, or in `format` (the "Export as HTML instead" button). */
  runExport(format?: ReportFormat): Promise<void>;
}

/** What a choice asks the core for, or the reason it cannot be asked yet, in words. */
export function reportRequest(choice: ReportChoice): ReportRequest | string {
  const problem = periodProblem(choice);
  if (problem) return problem;
  if (!choice.allHosts && choice.chosen.length === 0)
    return 'Choose at least one host, or report on all hosts.';
  return {
    kind: choice.kind,
    from: choice.from,
    to: choice.to,
    ...(choice.allHosts ? {} : { hostIds: [...choice.chosen].sort((a, b) => a - b) }),
  };
}

const choiceKey = (request: ReportRequest): string => JSON.stringify(request);

function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

const FORMAT_WORDS: Record<ReportFormat, string> = { pdf: 'PDF', html: 'HTML', csv: 'CSV', json: 'JSON' };

/**
 * An export's failure in plain words. A PDF that could not be made gets the HTML offer; the core's
 * sentence for a missing Chromium names the CLI's `--format html`, so the window says it in its
 * own words instead.
 */
function exportFailure(error: unknown, format: ReportFormat): ReportResult {
  if (format === 'pdf' && error instanceof ApiError && error.code === 'unavailable') {
    const offer =
      'Export the report as HTML instead: it is the same report, and any browser prints it or saves it as PDF.';
    return {
      kind: 'error',
      offerHtml: true,
      text: /--format/u.test(error.message)
        ? `A PDF cannot be made on this computer: printing one needs a local Chromium or Google Chrome, and none was found. ${offer}`
        : `No PDF was made: ${error.message} ${offer}`,
    };
  }
  return { kind: 'error', text: `The ${FORMAT_WORDS[format]} export failed: ${describeError(error)}` };
}

const initialPeriod = presetPeriod('last30', Date.now())!;

export const useReports = create<ReportsState>((set, get) => ({
  kind: 'owner',
  preset: 'last30',
  from: initialPeriod.from,
  to: initialPeriod.to,
  allHosts: true,
  chosen: [],
  hosts: null,
  hostsError: null,
  format: 'pdf',
  table: 'findings',
  preview: null,
  previewOf: null,
  previewing: false,
  previewError: null,
  exporting: false,
  result: null,
  async loadHosts() {
    try {
      const hosts = await api.hosts.list({ inventoryOnly: true });
      const known = new Set(hosts.map((h) => h.id));
      // A host removed since it was chosen is no longer asked for.
      set((s) => ({ hosts, hostsError: null, chosen: s.chosen.filter((id) => known.has(id)) }));
    } catch (error) {
      set({ hostsError: describeError(error) });
    }
  },
  choose(patch) {
    set({ ...patch, result: null });
  },
  choosePreset(preset) {
    const period = presetPeriod(preset, Date.now());
    set({ preset, ...(period ?? {}), result: null });
  },
  toggleHost(id, on) {
    set((s) => ({
      chosen: on ? [...new Set([...s.chosen, id])] : s.chosen.filter((c) => c !== id),
      result: null,
    }));
  },
  setFormat(format) {
    set({ format, result: null });
  },
  setTable(table) {
    set({ table, result: null });
  },
  async runPreview() {
    const request = reportRequest(get());
    if (typeof request === 'string') {
      set({ previewError: request });
      return;
    }
    set({ previewing: true, previewError: null });
    try {
      const preview = await api.reports.preview(request);
      set({ preview, previewOf: choiceKey(request) });
    } catch (error) {
      set({ previewError: `The preview could not be made: ${describeError(error)}` });
    } finally {
      set({ previewing: false });
    }
  },
  async runExport(override) {
    if (get().exporting) return;
    const format = override ?? get().format;
    const request = reportRequest(get());
    if (typeof request === 'string') {
      set({ result: { kind: 'error', text: request } });
      return;
    }
    if (override) set({ format: override });
    set({ exporting: true, result: null });
    try {
      const made = await api.reports.export({
        ...request,
        format,
        ...(format === 'csv' ? { table: get().table } : {}),
      });
      const went = finishExport(made, made.mediaType);
      set({
        result:
          went === 'cancelled'
            ? { kind: 'warn', text: 'Export cancelled: no file was saved.' }
            : {
                kind: 'ok',
                text:
                  went === 'saved'
                    ? `Saved ${made.fileName} (${sizeText(made.bytes)}) to ${made.path}.`
                    : `Downloaded ${made.fileName} (${sizeText(made.bytes)}): your browser saved it where it saves downloads.`,
              },
      });
    } catch (error) {
      set({ result: exportFailure(error, format) });
    } finally {
      set({ exporting: false });
    }
  },
}));

/** Whether the preview on screen still shows what the form asks for. */
export function previewMatches(state: ReportsState): boolean {
  const request = reportRequest(state);
  return typeof request !== 'string' && state.previewOf === choiceKey(request);
}

// Hosts added, renamed or removed elsewhere (another page, the CLI) show in the host list here too.
api.on('entity.changed', ({ entity }) => {
  const state = useReports.getState();
  // Another workspace opened: its report is not this one's, and its hosts are others.
  if (entity === 'workspace')
    useReports.setState({ preview: null, previewOf: null, chosen: [], result: null });
  if ((entity === 'hosts' || entity === 'workspace') && state.hosts !== null) void state.loadHosts();
});
