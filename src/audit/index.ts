export { auditHost, auditHosts, connectHost, classifyAuditError, type AuditErrorKind, type HostAuditOutcome, type AuditOptions, type AuditDeps } from './run';
