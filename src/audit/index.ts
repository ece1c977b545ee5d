export {
  auditHost,
  auditHosts,
  connectHost,
  classifyAuditError,
  toFindings,
  type AuditErrorKind,
  type HostAuditOutcome,
  type AuditOptions,
  type AuditDeps,
} from './run';
