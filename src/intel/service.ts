/**
 * The advisory snapshot's doors for the core: import and update as tasks (progress, cancel, an
 * honest outcome), the status, and the bundle export (saved through the platform's dialog on the
 * desktop, handed back as bytes elsewhere). The core's handlers call these in one line each.
 */
import fs from 'node:fs';
import type { Database } from 'better-sqlite3';
import type { CallContext, CallResult, EventBus, ParsedArgs } from '../api';
import { readSettings } from '../db';
import { deliverFile, type Platform } from '../platform';
import type { TaskContext, TaskRunner } from '../tasks';
import { PatchdeckError, systemClock, type Clock } from '../util';
import { exportAdvisoryBundle } from './bundle';
import { bufferSource, fileSource, listFeedSources, type FeedSource } from './feeds/index';
import { importFeedSources, type ImportSummary } from './snapshot';
import { advisoryStatus } from './status';
import { updateFeeds, type UpdateResult } from './update';

/** A file the browser carrier received, as the import needs it: where it is and its display name. */
export interface ClaimedUpload {
  path: string;
  name: string;
}

/** The carrier's uploads: each id is claimed once, and released (its file deleted) when done. */
export interface UploadClaims<U extends ClaimedUpload = ClaimedUpload> {
  claim(ids: readonly string[]): U[];
  release(uploads: readonly U[]): void;
}

/** What the advisory calls need of the workspace and the platform. */
export interface AdvisoryServiceDeps {
  db: Database;
  tasks: TaskRunner;
  events: EventBus;
  platform: Pick<Platform, 'kind' | 'chooseFileToOpen' | 'chooseFileToSave'>;
  uploads: UploadClaims;
  clock?: Clock;
}

const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? '' : 's'}`;

/**
 * How an import went, for the task's record. A refused file makes the task fail (partly): the
 * other files are in, and the summary says which were not. Files already imported or older than
 * the current catalogue are skipped, neither success nor failure.
 */
function concludeImport(
  ctx: TaskContext,
  summary: ImportSummary,
  extraFailures = 0,
  extraNotes: string[] = [],
): void {
  const imported = summary.files.filter((f) => f.status === 'imported').length;
  const refused = summary.files.filter((f) => f.status === 'refused').length + extraFailures;
  const skipped = summary.files.length - imported - (refused - extraFailures);
  const words = [
    `${plural(imported, 'file')} imported`,
    ...(skipped ? [`${skipped} skipped (already imported or older)`] : []),
    ...(refused ? [`${refused} refused or not downloaded`] : []),
  ];
  const written = `${summary.advisories} advisories, ${summary.kev} KEV entries, ${summary.epss} EPSS scores written`;
  const enrich =
    summary.enrichment && 'error' in summary.enrichment
      ? [`current findings were not judged again: ${summary.enrichment.error}`]
      : [];
  ctx.conclude({
    parts: {
      noun: 'file',
      total: summary.files.length + extraFailures,
      succeeded: imported,
      failed: refused,
      skipped,
    },
    summary: [words.join(', '), written, ...extraNotes, ...enrich].join('; '),
  });
}

/** `done` runs once the task has ended, however it ended (uploads' files are deleted there). */
function startImportTask(
  deps: AdvisoryServiceDeps,
  sources: () => Promise<FeedSource[]>,
  done?: () => void,
): { taskId: number } {
  const { db, tasks, events, clock = systemClock } = deps;
  const { task } = tasks.start({ kind: 'advisories.import', title: 'Import advisories' }, async (ctx) => {
    try {
      const list = await sources();
      // An empty folder is not a successful import: say there was nothing to read.
      if (!list.length) throw new PatchdeckError('bad-request', 'No files found there; nothing imported.');
      const summary = await importFeedSources(db, list, {
        clock,
        signal: ctx.signal,
        onProgress: (n, total, message) => ctx.progress(n, total, message),
      });
      concludeImport(ctx, summary);
      events.emit('entity.changed', { entity: 'audits' });
      return summary;
    } finally {
      done?.();
    }
  });
  return { taskId: task.id };
}

/** The current feeds, their ages and warnings. */
export function advisoryStatusOf(
  deps: Pick<AdvisoryServiceDeps, 'db' | 'clock'>,
): CallResult<'advisories.status'> {
  return advisoryStatus(deps.db, readSettings(deps.db), deps.clock ?? systemClock);
}

/**
 * Imports uploads (browser mode), uploaded bytes, or files and folders as one task. With none of
 * them, the desktop asks for a file with its dialog. Answers at once with the task.
 */
export async function startAdvisoryImport(
  deps: AdvisoryServiceDeps,
  args: ParsedArgs<'advisories.import'>,
): Promise<CallResult<'advisories.import'>> {
  if (args.uploads) {
    // Unknown or spent ids fail here, before any task; claimed files go when the task ends.
    const uploads = deps.uploads.claim(args.uploads);
    try {
      const sources = uploads.map((u): FeedSource => ({ ...fileSource(u.path), name: u.name }));
      return startImportTask(
        deps,
        async () => sources,
        () => deps.uploads.release(uploads),
      );
    } catch (error) {
      deps.uploads.release(uploads);
      throw error;
    }
  }
  if (args.files) {
    const files = args.files.map((f) => bufferSource(f.name, Buffer.from(f.base64, 'base64')));
    return startImportTask(deps, async () => files);
  }
  let paths = args.paths;
  if (!paths) {
    const chosen = await deps.platform.chooseFileToOpen({
      title: 'Import advisory files or a bundle',
      filters: [
        { name: 'Advisory files', extensions: ['json', 'csv', 'gz', 'zip'] },
        { name: 'All files', extensions: ['*'] },
      ],
    });
    if (!chosen) throw new PatchdeckError('cancelled', 'No file chosen; nothing imported.');
    paths = [chosen];
  }
  for (const p of paths)
    if (!fs.existsSync(p)) throw new PatchdeckError('not-found', `${p} does not exist; nothing imported.`);
  const given = paths;
  return startImportTask(deps, () => listFeedSources(given));
}

/** Downloads the feeds from their publishers (or the mirror) and imports them, as one task. */
export function startAdvisoryUpdate(
  deps: AdvisoryServiceDeps,
  args: ParsedArgs<'advisories.update'>,
): CallResult<'advisories.update'> {
  const { db, tasks, events, clock = systemClock } = deps;
  const mirror = args.mirror ?? readSettings(db).advisoryMirror;
  const { task } = tasks.start(
    {
      kind: 'advisories.update',
      title: 'Update advisories from their publishers',
      params: { feeds: args.feeds ?? null },
    },
    async (ctx): Promise<UpdateResult> => {
      const result = await updateFeeds(db, {
        ...(args.feeds ? { feeds: args.feeds } : {}),
        mirror,
        clock,
        signal: ctx.signal,
        onProgress: (n, total, message) => ctx.progress(n, total, message),
      });
      const failed = result.downloads.filter((d) => d.status === 'failed');
      concludeImport(ctx, result.import, failed.length, [
        ...failed.map((d) => d.message ?? d.url),
        ...result.notes,
      ]);
      events.emit('entity.changed', { entity: 'audits' });
      return result;
    },
  );
  return { taskId: task.id };
}

/**
 * Writes the snapshot as one bundle: to the path given, else (desktop) where the admin chooses in
 * the save dialog; elsewhere (browser, no path) the bytes go back for the browser to save.
 */
export async function exportAdvisoryBundleFor(
  deps: AdvisoryServiceDeps,
  args: ParsedArgs<'advisories.exportBundle'>,
  carrier: CallContext['carrier'],
): Promise<CallResult<'advisories.exportBundle'>> {
  const bundle = await exportAdvisoryBundle(deps.db, deps.clock ?? systemClock);
  const facts = { fileName: bundle.fileName, sha256: bundle.sha256, bytes: bundle.bytes.length };
  const delivered = await deliverFile(deps.platform, carrier, {
    bytes: bundle.bytes,
    fileName: bundle.fileName,
    what: 'the bundle',
    title: 'Export the advisory snapshot as a bundle',
    filters: [{ name: 'Advisory bundle', extensions: ['zip'] }],
    path: args.path,
  });
  return { ...facts, ...delivered };
}
