import type { Database } from 'better-sqlite3';
import type { CallContext, CallResult, ParsedArgs } from '../api';
import type { Platform } from '../platform';
import { PatchdeckError, type Clock } from '../util';

/** What the report calls need of the workspace and the platform. */
export interface ReportServiceDeps {
  db: Database;
  platform: Pick<Platform, 'kind' | 'chooseFileToSave' | 'printToPdf'>;
  clock: Clock;
  /** The workspace file, for the report's footer. */
  workspacePath: string;
}

export function previewReport(
  _deps: ReportServiceDeps,
  _args: ParsedArgs<'reports.preview'>,
): CallResult<'reports.preview'> {
  throw new PatchdeckError('unavailable', 'Reports are not built yet.');
}

export async function exportReport(
  _deps: ReportServiceDeps,
  _args: ParsedArgs<'reports.export'>,
  _carrier: CallContext['carrier'],
): Promise<CallResult<'reports.export'>> {
  throw new PatchdeckError('unavailable', 'Reports are not built yet.');
}
