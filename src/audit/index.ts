export {
  auditHost,
  auditHosts,
  connectHost,
  offlineOnlyError,
  classifyAuditError,
  toFindings,
  type AuditErrorKind,
  type HostAuditOutcome,
  type AuditOptions,
  type AuditDeps,
} from './run';
