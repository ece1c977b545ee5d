import { create } from 'zustand';
import type {
  BundleImportResult,
  RecentWorkspace,
  WorkspaceSuggestion,
} from '../../../src/api/portable-schemas';
import { ApiError, api, describeError, uploadFile } from '../../api';
import { finishExport } from '../../components/download';

export type SwitcherResult = { kind: 'ok' | 'error' | 'warn'; text: string };

interface WorkspacesState {
  recent: RecentWorkspace[];
  /** The open workspace's site name ('' when none was given). */
  siteName: string;
  suggestion: WorkspaceSuggestion['suggestion'];
  /** Gateway MACs whose suggestion the admin answered "Not now" (for as long as this window lives). */
  dismissed: string[];
  busy: 'open' | 'site' | 'export' | 'import' | null;
  result: SwitcherResult | null;
  /** The last bundle import, shown in full (added counts, matched hosts). */
  imported: BundleImportResult | null;
  load(): Promise<void>;
  checkSuggestion(): Promise<void>;
  dismissSuggestion(): void;
  /** Opens (or with `create`, creates) a workspace, then starts the window afresh on it. */
  open(path: string, create?: boolean): Promise<void>;
  setSite(name: string): Promise<void>;
  exportBundle(): Promise<void>;
  /** Desktop: Patchdeck's own file dialog; browser: the file the page read, streamed first. */
  importBundle(file?: File): Promise<void>;
  clearResult(): void;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The window's words for what a bundle adds (the call counts rows by entity). */
const ENTITY_WORDS: Record<string, [string, string]> = {
  hosts: ['host', 'hosts'],
  audits: ['audit', 'audits'],
  findings: ['update', 'updates'],
  jobs: ['patch job', 'patch jobs'],
  job_log: ['job log line', 'job log lines'],
  exceptions: ['exception', 'exceptions'],
  audit_log: ['audit log entry', 'audit log entries'],
};
const counted = (entity: string, n: number): string => {
  const [one, many] = ENTITY_WORDS[entity] ?? [entity.replace(/_/gu, ' '), entity.replace(/_/gu, ' ')];
  return `${n} ${n === 1 ? one : many}`;
};

/** What an import did, in words: what was added, which hosts were already here, or that nothing changed. */
export function importSummary(result: BundleImportResult): string {
  const from = result.originSite ? `“${result.originSite}”` : 'another workspace';
  if (!result.imported) return `This bundle from ${from} was already imported: nothing changed.`;
  const added = Object.entries(result.added)
    .filter(([, n]) => n > 0)
    .map(([entity, n]) => counted(entity, n));
  const matched = result.matchedHosts.length;
  return `Imported the bundle from ${from}: ${added.length ? `added ${added.join(', ')}` : 'nothing new to add'}${
    matched ? `; ${plural(matched, 'host')} already here ${matched === 1 ? 'was' : 'were'} matched` : ''
  }.`;
}

export const useWorkspaces = create<WorkspacesState>((set, get) => ({
  recent: [],
  siteName: '',
  suggestion: null,
  dismissed: [],
  busy: null,
  result: null,
  imported: null,
  async load() {
    try {
      const recent = await api.workspaces.recent();
      set({ recent, siteName: recent.find((r) => r.current)?.siteName ?? '' });
    } catch (error) {
      set({
        result: { kind: 'error', text: `The recent workspaces could not be read: ${describeError(error)}` },
      });
    }
  },
  async checkSuggestion() {
    try {
      const { suggestion } = await api.workspaces.suggestion();
      set({ suggestion: suggestion && !get().dismissed.includes(suggestion.gatewayMac) ? suggestion : null });
    } catch {
      // A suggestion is a nicety: when the network cannot be read, there is simply none.
      set({ suggestion: null });
    }
  },
  dismissSuggestion() {
    const s = get().suggestion;
    if (s) set({ dismissed: [...get().dismissed, s.gatewayMac], suggestion: null });
  },
  async open(path, create = false) {
    if (get().busy) return;
    set({ busy: 'open', result: null });
    try {
      await (create ? api.workspace.create({ path }) : api.workspace.open({ path }));
      // Every page starts afresh on the other client's workspace: nothing of the last one stays on screen.
      window.location.hash = '/dashboard';
      window.location.reload();
    } catch (error) {
      set({
        busy: null,
        result: { kind: 'error', text: `${create ? 'Create' : 'Open'} failed: ${describeError(error)}` },
      });
    }
  },
  async setSite(name) {
    if (get().busy) return;
    set({ busy: 'site', result: null });
    try {
      const { siteName } = await api.workspaces.setSite({ siteName: name });
      set({
        siteName,
        result: { kind: 'ok', text: siteName ? `Site name saved: ${siteName}.` : 'Site name cleared.' },
      });
      await get().load();
    } catch (error) {
      set({ result: { kind: 'error', text: `The site name was not saved: ${describeError(error)}` } });
    } finally {
      set({ busy: null });
    }
  },
  async exportBundle() {
    if (get().busy) return;
    set({ busy: 'export', result: null });
    try {
      const made = await api.bundles.export({});
      const went = finishExport(made, 'application/zip');
      set({
        result:
          went === 'cancelled'
            ? { kind: 'warn', text: 'Export cancelled: no bundle was saved.' }
            : {
                kind: 'ok',
                text: `Site bundle ${made.fileName} (${plural(made.hosts, 'host')}, ${(made.bytes / 1024).toFixed(0)} KiB, sha256 ${made.sha256.slice(0, 12)}…) ${went === 'saved' ? `saved to ${made.path}` : 'downloaded'}.`,
              },
      });
    } catch (error) {
      set({ result: { kind: 'error', text: `Export failed: ${describeError(error)}` } });
    } finally {
      set({ busy: null });
    }
  },
  async importBundle(file) {
    if (get().busy) return;
    set({ busy: 'import', result: null, imported: null });
    try {
      const upload = file ? (await uploadFile(file)).uploadId : undefined;
      const result = await api.bundles.import(upload ? { upload } : {});
      set({
        imported: result,
        result: { kind: result.imported ? 'ok' : 'warn', text: importSummary(result) },
      });
      await get().load();
    } catch (error) {
      if (error instanceof ApiError && error.code === 'cancelled')
        set({ result: { kind: 'warn', text: `Import cancelled: ${error.message}` } });
      else set({ result: { kind: 'error', text: `Nothing was imported: ${describeError(error)}` } });
    } finally {
      set({ busy: null });
    }
  },
  clearResult() {
    set({ result: null, imported: null });
  },
}));
