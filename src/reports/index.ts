/**
 * The reports capability's door (issue 14): the owner report and the compliance/auditor report,
 * from one template each, as self-contained HTML, PDF (through the Platform), CSV and JSON with
 * published JSON Schemas. The core's handlers call `src/reports/service.ts` in one line each.
 */
export { previewReport, exportReport, renderReport, reportFileName, type ReportServiceDeps } from './service';
export { buildOwnerReport, OwnerReport } from './owner';
export { renderOwnerHtml } from './owner-html';
