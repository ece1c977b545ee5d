export {
  auditHost,
  auditHosts,
  connectHost,
  offlineOnlyError,
  classifyAuditError,
  toFindings,
  toWindowsFacts,
  type AuditErrorKind,
  type HostAuditOutcome,
  type AuditOptions,
  type AuditDeps,
} from './run';
export { findingsCsv, FINDINGS_CSV_COLUMNS, FINDINGS_CSV_LIMIT } from './findings-csv';
export { startAudits, testCredential, exportFindingsCsv, type AuditServiceDeps } from './service';
export { importCollection, type ImportDeps } from './import';
export { findingCsvRow } from './findings-csv';
