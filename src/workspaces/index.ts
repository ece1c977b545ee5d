/**
 * Workspaces as clients (issue 14): the recent list kept on this machine (outside any workspace),
 * each workspace's site name, and the gateway MACs that suggest a client's workspace when the
 * laptop joins its network (it only suggests; it never switches by itself).
 */
export {
  defaultRecentFile,
  readRecent,
  recordRecent,
  renameRecent,
  writeRecent,
  RECENT_LIMIT,
  type RecentEntry,
  type RecentRead,
} from './recent';
export { peekWorkspace, type WorkspacePeek } from './peek';
export {
  gatewayFrom,
  parseProcNetRoute,
  parseRouteGetDefault,
  parseRoutePrint,
  systemGatewayReader,
  type Gateway,
  type GatewayReader,
} from './gateway';
export {
  recordGateway,
  refreshGateway,
  startNetworkWatch,
  NETWORK_WATCH_EVERY_MS,
  type NetworkWatch,
} from './networks';
export { listRecentWorkspaces, suggestWorkspace, type OpenWorkspace } from './service';
