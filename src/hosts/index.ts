/**
 * Hosts: the inventory's rules for adding, changing and removing a machine. Everything another
 * capability may use is exported here.
 */
export { addHost, changeHost, removeHost, requireHost, type HostDeps } from './service';
export { winrmEndpointOf, winrmTargetOf, WINRM_HTTP_PORT, WINRM_HTTPS_PORT } from './winrm';
