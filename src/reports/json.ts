import type { ReportKind } from '../api';
import type { ComplianceReport } from './compliance';
import type { OwnerReport } from './owner';
import type { ReportMeta } from './types';

/** The version of the reports' JSON; a change that drops or retypes a field raises it. */
export const REPORT_SCHEMA_VERSION = 1;

/** Where a report's JSON says its schema is (docs/schemas/report-<kind>.schema.json has it as `$id`). */
export function reportSchemaId(kind: ReportKind): string {
  return `https://patchdeck.invalid/schemas/report-${kind}-${REPORT_SCHEMA_VERSION}.json`;
}

/**
 * A report as JSON for the tools auditors and MSP dashboards use: the schema's address, its
 * version, who made it from which workspace, and the report itself, which
 * docs/schemas/report-<kind>.schema.json describes.
 */
export function reportJson(kind: ReportKind, data: OwnerReport | ComplianceReport, meta: ReportMeta): string {
  return `${JSON.stringify(
    { $schema: reportSchemaId(kind), schemaVersion: REPORT_SCHEMA_VERSION, meta, report: data },
    null,
    2,
  )}\n`;
}
