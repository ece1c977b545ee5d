import path from 'node:path';
import type { Command } from 'commander';
import { ReportFormat, ReportKind, ReportTable } from '../api';
import { PatchdeckError } from '../util';
import { chosenHostIds } from './commands-audit';
import type { GlobalOptions, WithCore } from './context';
import { printJson } from './output';

interface ReportOptions {
  from?: string;
  to?: string;
  hosts?: string;
  format: string;
  table?: string;
  out: string;
}

function parsed<T>(
  schema: { safeParse(v: unknown): { success: boolean; data?: T } },
  value: unknown,
  what: string,
): T {
  const result = schema.safeParse(value);
  if (!result.success)
    throw new PatchdeckError('bad-request', `${what} ${String(value)} is not one of the choices.`);
  return result.data as T;
}

/** The commands of reports (owner and compliance) (issue 14). */
export function registerReportCommands(
  program: Command,
  globals: () => GlobalOptions,
  withCore: WithCore,
): void {
  program
    .command('report <kind>')
    .description(
      "write the owner's summary or the compliance report for a period: owner|compliance, as PDF, HTML, CSV or JSON",
    )
    .option('--from <day>', 'first day of the period, YYYY-MM-DD (default: 30 days before --to)')
    .option('--to <day>', 'last day of the period, included, YYYY-MM-DD (default: today, UTC)')
    .option('--hosts <list>', 'only these hosts (names, addresses or ids, comma-separated; default: all)')
    .requiredOption('--format <format>', 'pdf, html, csv or json')
    .option('--table <table>', 'csv only: findings, hosts or jobs (default findings)')
    .requiredOption('--out <file>', 'the file to write')
    .action(async (kindArg: string, opts: ReportOptions) => {
      await withCore(globals(), async (core) => {
        const kind = parsed<ReportKind>(ReportKind, kindArg, 'The report');
        const format = parsed<ReportFormat>(ReportFormat, opts.format, 'The format');
        const table =
          opts.table === undefined ? undefined : parsed<ReportTable>(ReportTable, opts.table, 'The table');
        if (table && format !== 'csv')
          throw new PatchdeckError('bad-request', '--table goes with --format csv only.');
        const hostIds = await chosenHostIds(core, opts.hosts);
        const result = await core.call('reports.export', {
          kind,
          format,
          path: path.resolve(opts.out),
          ...(opts.from ? { from: opts.from } : {}),
          ...(opts.to ? { to: opts.to } : {}),
          ...(hostIds ? { hostIds } : {}),
          ...(table ? { table } : {}),
        });
        if (globals().json) return printJson(result);
        process.stdout.write(`Wrote ${result.path} (${result.bytes} bytes, ${result.mediaType}).\n`);
      });
    });
}
