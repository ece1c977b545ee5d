import path from 'node:path';
import type { Command } from 'commander';
import type { Task } from '../api';
import type { Core } from '../core';
import { readTaskResult } from '../db';
import type { ImportedFile, ImportSummary, UpdateResult } from '../intel';
import { PatchdeckError, sanitizeText } from '../util';
import type { GlobalOptions, WithCore } from './context';
import { formatTable, printJson } from './output';

const FEEDS = ['kev', 'epss', 'osv', 'debian-tracker', 'csaf'] as const;
type CliFeed = (typeof FEEDS)[number];

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;

/** Waits for a task, showing its progress on a terminal; Ctrl+C cancels it. */
async function waitForTask(core: Core, taskId: number, json: boolean): Promise<Task | null> {
  const stop = (): void => void core.call('tasks.cancel', { id: taskId }).catch(() => undefined);
  process.once('SIGINT', stop);
  const showProgress = process.stderr.isTTY && !json;
  const unsubscribe = core.events.subscribe((event, payload) => {
    if (!showProgress || event !== 'task.changed') return;
    const task = payload as Task;
    if (task.id === taskId && task.message)
      process.stderr.write(`\r${sanitizeText(task.message, { maxLength: 100 }).padEnd(100)}`);
  });
  try {
    return await core.requireWorkspace().tasks.wait(taskId);
  } finally {
    unsubscribe();
    process.off('SIGINT', stop);
    if (showProgress) process.stderr.write('\n');
  }
}

/** A file's name for a table cell: its end, where the file and the bundle entry are named. */
const cell = (name: string): string => (name.length > 78 ? `…${name.slice(-77)}` : name);

/**
 * One line per file; a folder of many OSV records imported alike is summed up per feed and
 * publisher, while every file that was not imported keeps its own line and reason.
 */
function printFiles(files: ImportedFile[]): void {
  const rows: (string | number | null)[][] = [];
  const imported = files.filter((f) => f.status === 'imported');
  if (imported.length <= 40) {
    for (const f of files) rows.push([cell(f.name), f.feed, f.publisher, f.records, f.status]);
  } else {
    const groups = new Map<
      string,
      { feed: string | null; publisher: string | null; files: number; records: number }
    >();
    for (const f of imported) {
      const key = `${f.feed}\u0000${f.publisher}`;
      const g = groups.get(key) ?? { feed: f.feed, publisher: f.publisher, files: 0, records: 0 };
      g.files++;
      g.records += f.records;
      groups.set(key, g);
    }
    for (const g of groups.values())
      rows.push([g.files === 1 ? '1 file' : `${g.files} files`, g.feed, g.publisher, g.records, 'imported']);
    for (const f of files)
      if (f.status !== 'imported') rows.push([f.name, f.feed, f.publisher, f.records, f.status]);
  }
  if (rows.length)
    process.stdout.write(`${formatTable(['file', 'feed', 'publisher', 'records', 'status'], rows)}\n`);
  const notes = files.filter((f) => f.status !== 'imported' && f.message);
  if (notes.length) {
    process.stdout.write('\n');
    for (const f of notes.slice(0, 50))
      process.stdout.write(`${sanitizeText(`${f.name}: ${f.status}: ${f.message}`, { maxLength: 600 })}\n`);
    if (notes.length > 50) process.stdout.write(`… and ${notes.length - 50} more files not imported\n`);
  }
}

/** The totals line, and the exit code: a refused file (or a failed download) is a failure. */
function printTotals(summary: ImportSummary, failedDownloads = 0): number {
  const count = (s: ImportedFile['status']) => summary.files.filter((f) => f.status === s).length;
  const refused = count('refused');
  const skipped = count('already-imported') + count('older-than-current');
  const parts = [
    `${count('imported')} of ${summary.files.length} files imported`,
    ...(skipped ? [`${skipped} skipped`] : []),
    ...(refused ? [`${refused} refused`] : []),
  ];
  process.stdout.write(
    `\n${parts.join(', ')}: ${summary.advisories} advisories, ${summary.kev} KEV entries, ${summary.epss} EPSS scores written in ${(summary.durationMs / 1000).toFixed(1)} s; peak memory ${mib(summary.peakRssBytes)}.\n`,
  );
  if (summary.enrichment && 'findings' in summary.enrichment)
    process.stdout.write(`Current findings judged again: ${summary.enrichment.findings}.\n`);
  else if (summary.enrichment)
    process.stdout.write(`Current findings were NOT judged again: ${summary.enrichment.error}\n`);
  return refused || failedDownloads || (summary.enrichment && 'error' in summary.enrichment) ? 1 : 0;
}

function taskFailure(task: Task | null): never {
  throw new PatchdeckError(
    task?.status === 'cancelled' ? 'cancelled' : 'internal',
    task?.status === 'cancelled'
      ? 'Cancelled; files imported before the cancel stay imported.'
      : `The import failed: ${task?.error ?? 'no result recorded'}`,
  );
}

export function registerAdvisoryCommands(
  program: Command,
  globals: () => GlobalOptions,
  withCore: WithCore,
): void {
  const advisories = program
    .command('advisories')
    .description('the advisory snapshot: CVEs, known-exploited (KEV), EPSS; import, status, update, export');

  advisories
    .command('import <paths...>')
    .description(
      'import feed files or folders in their publishers’ formats (KEV JSON, EPSS CSV/CSV.GZ, OSV JSON or all.zip, Debian tracker JSON) or an advisory bundle',
    )
    .action(async (paths: string[]) => {
      await withCore(globals(), async (core) => {
        const { taskId } = await core.call('advisories.import', { paths: paths.map((p) => path.resolve(p)) });
        const task = await waitForTask(core, taskId, Boolean(globals().json));
        const summary = readTaskResult<ImportSummary>(core.requireWorkspace().db, taskId);
        if (!summary) taskFailure(task);
        if (globals().json) printJson(summary);
        else printFiles(summary.files);
        const code = globals().json
          ? summary.files.some((f) => f.status === 'refused')
            ? 1
            : 0
          : printTotals(summary);
        if (code) process.exitCode = code;
      });
    });

  advisories
    .command('status')
    .description(
      'each feed’s date and age, and warnings when one is older than the advisoryMaxAgeDays setting',
    )
    .action(async () => {
      await withCore(globals(), async (core) => {
        const status = await core.call('advisories.status', {});
        if (globals().json) return printJson(status);
        if (status.feeds.length)
          process.stdout.write(
            `${formatTable(
              ['feed', 'publisher', 'file', 'dated', 'age (days)', 'records', 'stale'],
              status.feeds.map((f) => [
                f.feed,
                f.publisher,
                f.fileName,
                // A feed with no date of its own (the tracker JSON) is aged from its import: say so.
                f.publishedAt?.slice(0, 10) ?? `none (imported ${f.importedAt.slice(0, 10)})`,
                f.ageDays,
                f.recordCount,
                f.stale ? 'STALE' : 'no',
              ]),
            )}\n`,
          );
        else process.stdout.write('No advisory files imported yet (patchdeck advisories import FILE…).\n');
        process.stdout.write(
          `\nSnapshot: ${status.counts.advisories} advisories, ${status.counts.kev} KEV entries, ${status.counts.epss} EPSS scores.\n`,
        );
        for (const w of status.warnings)
          process.stdout.write(`warning: ${sanitizeText(w, { maxLength: 400 })}\n`);
      });
    });

  advisories
    .command('update')
    .description('download the current feeds from their publishers (or a mirror) and import them')
    .option(
      '--feed <feed>',
      `only this feed (${FEEDS.join(', ')}); repeat for several`,
      (value: string, previous: CliFeed[] = []) => {
        if (!(FEEDS as readonly string[]).includes(value))
          throw new PatchdeckError('bad-request', `--feed takes one of ${FEEDS.join(', ')}, not ${value}.`);
        return [...previous, value as CliFeed];
      },
    )
    .option(
      '--mirror <url>',
      'fetch from this mirror (same paths as the publishers) instead of the publishers',
    )
    .action(async (opts: { feed?: CliFeed[]; mirror?: string }) => {
      await withCore(globals(), async (core) => {
        const { taskId } = await core.call('advisories.update', {
          ...(opts.feed ? { feeds: opts.feed } : {}),
          ...(opts.mirror ? { mirror: opts.mirror } : {}),
        });
        const task = await waitForTask(core, taskId, Boolean(globals().json));
        const result = readTaskResult<UpdateResult>(core.requireWorkspace().db, taskId);
        if (!result) taskFailure(task);
        const failed = result.downloads.filter((d) => d.status === 'failed').length;
        if (globals().json) {
          printJson(result);
          if (failed || result.import.files.some((f) => f.status === 'refused')) process.exitCode = 1;
          return;
        }
        process.stdout.write(
          `${formatTable(
            ['download', 'feed', 'status', 'size'],
            result.downloads.map((d) => [
              cell(d.url),
              d.feed,
              d.status,
              d.status === 'downloaded' ? `${d.bytes} B` : null,
            ]),
          )}\n`,
        );
        for (const d of result.downloads)
          if (d.message) process.stdout.write(`${sanitizeText(d.message, { maxLength: 400 })}\n`);
        for (const n of result.notes) process.stdout.write(`${n}\n`);
        process.stdout.write('\n');
        printFiles(result.import.files);
        const code = printTotals(result.import, failed);
        if (code) process.exitCode = code;
      });
    });

  advisories
    .command('export')
    .description(
      'write the snapshot as one dated bundle (zip + manifest with sha256s) to import on an offline site',
    )
    .requiredOption('--out <file>', 'where to write the bundle (e.g. patchdeck-advisories-2026-08-21.zip)')
    .action(async (opts: { out: string }) => {
      await withCore(globals(), async (core) => {
        const out = path.resolve(opts.out);
        const result = await core.call('advisories.exportBundle', { path: out });
        if (globals().json) return printJson(result);
        process.stdout.write(
          `Wrote ${result.path ?? out} (${result.bytes} bytes, sha256 ${result.sha256}).\n`,
        );
      });
    });
}
