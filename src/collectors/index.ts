/** Collectors: given a way to run commands on a host, return its OS and pending updates. */
export * from './types';
export {
  detectOs,
  parseOsRelease,
  parseSwVers,
  parseUname,
  parseWindowsOs,
  osInfoFromPosix,
  buildPosixDetectScript,
  buildWindowsDetectCommand,
  powershellEncodedCommand,
} from './os';
export { pickCollector, collectorFor, packageManagerFor } from './pick';
export { normalizeSeverity, buildSectionScript, splitSections, isValidPackageName } from './util';
export * as apt from './apt/index';
export * as dnf from './dnf/index';
export * as zypper from './zypper/index';
export * as pacman from './pacman/index';
export * as apk from './apk/index';
export * as macos from './macos/index';
export * as windows from './windows/index';
export {
  buildCollectScript,
  parseCollectedOutput,
  decodeCollectedBytes,
  CollectedOutputError,
  COLLECT_FORMAT_VERSION,
  MAX_COLLECTED_BYTES,
  type CollectedOutput,
  type CollectScriptOs,
} from './offline';
