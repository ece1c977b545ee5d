export { shellQuote, shellCommand, powershellQuote } from './quote';
export { RemoteError, classifyConnectError, type RemoteErrorKind } from './errors';
export { fingerprintOf, keyTypeOf, describeHostKey, type PresentedHostKey } from './host-key';
export {
  SshSession,
  checkSudoFailure,
  type SshAuth,
  type SshTarget,
  type RunOptions,
  type RunResult,
} from './ssh';
export { probeHostKey } from './host-key-probe';
export { Redactor, SECRET_MASK, MIN_REDACTED_LENGTH } from './redact';
export * from './winrm';
