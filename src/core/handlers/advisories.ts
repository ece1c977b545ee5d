import fs from 'node:fs';
import type { Handlers } from '../../api';
import { readSettings } from '../../db';
import {
  advisoryStatus,
  bufferSource,
  exportAdvisoryBundle,
  fileSource,
  importFeedSources,
  listFeedSources,
  updateFeeds,
  type FeedSource,
  type ImportSummary,
  type UpdateResult,
} from '../../intel';
import type { TaskContext } from '../../tasks';
import { PatchdeckError, systemClock, type Clock } from '../../util';
import type { CoreContext } from '../context';

type AdvisoryHandlers = Pick<
  Handlers,
  'advisories.status' | 'advisories.import' | 'advisories.update' | 'advisories.exportBundle'
>;

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

/** Advisory snapshot calls: status, import and update as tasks (progress, cancel), bundle export. */
export function advisoryHandlers(core: CoreContext, clock: Clock = systemClock): AdvisoryHandlers {
  const ws = () => core.requireWorkspace();
  /** `done` runs once the task has ended, however it ended (uploads' files are deleted there). */
  const startImport = (sources: () => Promise<FeedSource[]>, done?: () => void): { taskId: number } => {
    const { db, tasks } = ws();
    const { task } = tasks.start({ kind: 'advisories.import', title: 'Import advisories' }, async (ctx) => {
      try {
        const list = await sources();
        // An empty folder is not a successful import: say there was nothing to read.
        if (!list.length) throw new PatchdeckError('bad-request', 'No files found there; nothing imported.');
        const summary = await importFeedSources(db, list, {
          clock,
          signal: ctx.signal,
          onProgress: (done, total, message) => ctx.progress(done, total, message),
        });
        concludeImport(ctx, summary);
        core.events.emit('entity.changed', { entity: 'audits' });
        return summary;
      } finally {
        done?.();
      }
    });
    return { taskId: task.id };
  };
  return {
    'advisories.status': () => {
      const { db } = ws();
      return advisoryStatus(db, readSettings(db), clock);
    },
    'advisories.import': async (args) => {
      if (args.uploads) {
        // Unknown or spent ids fail here, before any task; claimed files go when the task ends.
        const uploads = core.uploads.claim(args.uploads);
        try {
          const sources = uploads.map((u): FeedSource => ({ ...fileSource(u.path), name: u.name }));
          return startImport(
            async () => sources,
            () => core.uploads.release(uploads),
          );
        } catch (error) {
          core.uploads.release(uploads);
          throw error;
        }
      }
      if (args.files) {
        const files = args.files.map((f) => bufferSource(f.name, Buffer.from(f.base64, 'base64')));
        return startImport(async () => files);
      }
      let paths = args.paths;
      if (!paths) {
        const chosen = await core.platform.chooseFileToOpen({
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
        if (!fs.existsSync(p))
          throw new PatchdeckError('not-found', `${p} does not exist; nothing imported.`);
      const given = paths;
      return startImport(() => listFeedSources(given));
    },
    'advisories.update': (args) => {
      const { db, tasks } = ws();
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
            onProgress: (done, total, message) => ctx.progress(done, total, message),
          });
          const failed = result.downloads.filter((d) => d.status === 'failed');
          concludeImport(ctx, result.import, failed.length, [
            ...failed.map((d) => d.message ?? d.url),
            ...result.notes,
          ]);
          core.events.emit('entity.changed', { entity: 'audits' });
          return result;
        },
      );
      return { taskId: task.id };
    },
    'advisories.exportBundle': async (args, call) => {
      const { db } = ws();
      let target = args.path ?? null;
      const browser = !target && (call.carrier !== 'electron' || core.platform.kind !== 'electron');
      const bundle = await exportAdvisoryBundle(db, clock);
      if (browser)
        return {
          path: null,
          fileName: bundle.fileName,
          sha256: bundle.sha256,
          bytes: bundle.bytes.length,
          base64: bundle.bytes.toString('base64'),
        };
      if (!target) {
        target = await core.platform.chooseFileToSave({
          title: 'Export the advisory snapshot as a bundle',
          defaultPath: bundle.fileName,
          filters: [{ name: 'Advisory bundle', extensions: ['zip'] }],
        });
        if (!target)
          return { path: null, fileName: bundle.fileName, sha256: bundle.sha256, bytes: bundle.bytes.length };
      }
      try {
        fs.writeFileSync(target, bundle.bytes);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? 'error';
        throw new PatchdeckError(
          'unavailable',
          `Could not write the bundle to ${target} (${code}); nothing was exported.`,
        );
      }
      return { path: target, fileName: bundle.fileName, sha256: bundle.sha256, bytes: bundle.bytes.length };
    },
  };
}
