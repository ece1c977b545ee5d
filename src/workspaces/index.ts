/**
 * Workspaces as clients (issue 14): the recent list kept on this machine (outside any workspace),
 * each workspace's site name, and the gateway MACs that suggest a client's workspace when the
 * laptop joins its network (it only suggests; it never switches by itself).
 */
export {};
