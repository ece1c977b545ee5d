import type { Database } from 'better-sqlite3';
import type { CallContext, CallResult, ParsedArgs, ReportFormat, ReportKind, ReportTable } from '../api';
import { readSettings, readWorkspaceMeta } from '../db';
import { deliverFile, type Platform } from '../platform';
import { PatchdeckError, type Clock } from '../util';
import { buildComplianceReport, type ComplianceReport } from './compliance';
import { renderComplianceHtml } from './compliance-html';
import { reportJson } from './json';
import { buildOwnerReport, type OwnerReport } from './owner';
import { renderOwnerHtml } from './owner-html';
import { reportCsv } from './tables';
import { resolveRange, type ReportMeta, type ReportRange } from './types';

/** What the report calls need of the workspace and the platform. */
export interface ReportServiceDeps {
  db: Database;
  platform: Pick<Platform, 'kind' | 'chooseFileToSave' | 'printToPdf'>;
  clock: Clock;
  /** The workspace file, for the report's footer. */
  workspacePath: string;
  /** Printed in the footer and kept in the JSON (default: the workspace's operator name). */
  actor?: string;
  patchdeckVersion?: string;
}

const MEDIA: Record<ReportFormat, string> = {
  html: 'text/html; charset=utf-8',
  pdf: 'application/pdf',
  csv: 'text/csv; charset=utf-8',
  json: 'application/json',
};

const TITLES: Record<ReportKind, string> = {
  owner: "Owner's summary",
  compliance: 'Compliance report',
};

function metaOf(deps: ReportServiceDeps): ReportMeta {
  return {
    generatedAt: new Date(deps.clock.now()).toISOString(),
    generatedBy: deps.actor ?? readSettings(deps.db).operatorName,
    siteName: readWorkspaceMeta(deps.db).siteName,
    workspacePath: deps.workspacePath,
    patchdeckVersion: deps.patchdeckVersion ?? 'unknown',
  };
}

type Built = { kind: 'owner'; report: OwnerReport } | { kind: 'compliance'; report: ComplianceReport };

function buildReport(deps: ReportServiceDeps, kind: ReportKind, range: ReportRange): Built {
  return kind === 'owner'
    ? { kind, report: buildOwnerReport(deps.db, range, deps.clock) }
    : { kind, report: buildComplianceReport(deps.db, range, deps.clock) };
}

function renderHtml(built: Built, meta: ReportMeta): string {
  return built.kind === 'owner'
    ? renderOwnerHtml(built.report, meta)
    : renderComplianceHtml(built.report, meta);
}

export function previewReport(
  deps: ReportServiceDeps,
  args: ParsedArgs<'reports.preview'>,
): CallResult<'reports.preview'> {
  const range = resolveRange(deps.db, args, deps.clock);
  const meta = metaOf(deps);
  const html = renderHtml(buildReport(deps, args.kind, range), meta);
  return {
    title: TITLES[args.kind],
    html,
    generatedAt: meta.generatedAt,
    from: range.from,
    to: range.to,
    hostCount: range.hostScope.length,
  };
}

/** `patchdeck-owner-2026-11-01_2026-11-30.pdf`, `patchdeck-compliance-…-hosts.csv`. */
export function reportFileName(
  kind: ReportKind,
  range: Pick<ReportRange, 'from' | 'to'>,
  format: ReportFormat,
  table?: ReportTable,
): string {
  const suffix = format === 'csv' ? `-${table ?? 'findings'}` : '';
  return `patchdeck-${kind}-${range.from}_${range.to}${suffix}.${format}`;
}

/** The report's bytes in one format (PDF through the platform's printer). */
export async function renderReport(
  deps: ReportServiceDeps,
  args: Pick<ParsedArgs<'reports.export'>, 'kind' | 'from' | 'to' | 'hostIds' | 'format' | 'table'>,
): Promise<{ bytes: Buffer; fileName: string; mediaType: string }> {
  const range = resolveRange(deps.db, args, deps.clock);
  const fileName = reportFileName(args.kind, range, args.format, args.table);
  const mediaType = MEDIA[args.format];
  if (args.format === 'csv')
    return {
      bytes: Buffer.from(
        reportCsv(deps.db, range, args.table ?? 'findings', {
          now: new Date(deps.clock.now()).toISOString(),
        }),
        'utf8',
      ),
      fileName,
      mediaType,
    };
  const meta = metaOf(deps);
  const built = buildReport(deps, args.kind, range);
  if (args.format === 'json')
    return { bytes: Buffer.from(reportJson(built.kind, built.report, meta), 'utf8'), fileName, mediaType };
  const html = renderHtml(built, meta);
  if (args.format === 'html') return { bytes: Buffer.from(html, 'utf8'), fileName, mediaType };
  let pdf: Buffer;
  try {
    pdf = await deps.platform.printToPdf(html);
  } catch (error) {
    if (error instanceof PatchdeckError) throw error;
    throw new PatchdeckError(
      'unavailable',
      `The PDF could not be made here (${(error as Error).message}). Export it as HTML instead (--format html) and print that from a browser.`,
    );
  }
  return { bytes: pdf, fileName, mediaType };
}

export async function exportReport(
  deps: ReportServiceDeps,
  args: ParsedArgs<'reports.export'>,
  carrier: CallContext['carrier'],
): Promise<CallResult<'reports.export'>> {
  const out = await renderReport(deps, args);
  const facts = { fileName: out.fileName, mediaType: out.mediaType, bytes: out.bytes.length };
  const delivered = await deliverFile(deps.platform, carrier, {
    bytes: out.bytes,
    fileName: out.fileName,
    what: 'the report',
    title: `Save the ${TITLES[args.kind].toLowerCase()}`,
    filters: [{ name: args.format.toUpperCase(), extensions: [args.format] }],
    path: args.path,
  });
  return { ...facts, ...delivered };
}
