import type { Migration } from './types';

/**
 * Issue 11, one name per thing: the OS family of a switch, router or appliance is
 * 'network-device' everywhere (discovery called it that, the contract and the hosts table
 * 'network', which is also the domain word for a range the admin discovers). Hosts stored with
 * the old value get the new one; nothing else changes.
 */
export const migration009: Migration = {
  version: 9,
  name: "OS family 'network' is 'network-device'",
  up(db) {
    db.prepare(`UPDATE hosts SET os_family = 'network-device' WHERE os_family = 'network'`).run();
  },
};
