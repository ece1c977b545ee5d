/**
 * Discovery: turn what an admin typed into addresses, sweep them, and say what each live
 * machine is and how Patchdeck can reach it. The sweep is plain Node, with no database; a scan
 * (scan.ts) runs a sweep as a task and records what it found in the workspace. No Electron.
 * Everything another capability may use is exported here and nowhere else.
 */
export { startScan, checkScanTargets, listScanResults, observedFromResult, type ScanDeps } from './scan';
export {
  parseTargets,
  proposeLocalNetworks,
  systemResolver,
  CONFIRM_ABOVE,
  REFUSE_ABOVE,
  HARD_LIMIT,
  formatCount,
  type ParseTargetsOptions,
  type ParsedTargets,
  type TargetError,
  type NameResolver,
  type ProposedNetwork,
} from './targets';
export { normalizeAddress, compareAddresses, ipVersion } from './ip';
export { PORT_PRESETS, parsePorts, isPortPreset, type PortPreset } from './ports';
export {
  sweep,
  type SweepOptions,
  type SweepCallbacks,
  type SweepProgress,
  type SweepSummary,
  type HostResult,
  type HostName,
  type AliveReason,
} from './sweep';
export {
  DEFAULT_HANDSHAKES,
  type PortState,
  type PortResult,
  type ServiceInfo,
  type HandshakeKind,
} from './tcp';
export { type LimiterOptions } from './limiter';
export {
  inferOs,
  collectOsEvidence,
  sshEvidence,
  managementChannel,
  type OsGuess,
  type OsFamily,
  type OsEvidence,
  type OsObservations,
  type ManagementChannel,
} from './os';
export { parseSshIdentification, type SshIdentification } from './protocols';
export {
  readSystemNeighbours,
  parseIpNeigh,
  parseProcNetArp,
  parseArpA,
  macVendor,
  normalizeMac,
  type NeighbourEntry,
  type NeighbourReader,
} from './neighbours';
export { systemPtrResolver, type PtrResolver } from './dns';
export { queryNetbios, encodeNbstatQuery, decodeNbstatResponse, type NetbiosInfo } from './netbios';
export { icmpAvailability, pingOnce, type PingResult } from './icmp';
export { createMdnsBrowser, type MdnsBrowser, type MdnsHost, type MdnsSocketLike } from './mdns';
export { matchHost, type HostObservation, type KnownHost, type HostMatch } from './identity';
