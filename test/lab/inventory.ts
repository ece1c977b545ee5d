// The lab's ground truth as other suites read it (`npm run lab -- status --json`, labStatus()).
import type { PendingPatch, PendingUpdate } from './recipe';

export interface LabUser {
  name: string;
  auth: 'key' | 'password';
  keyFile?: string;
  password?: string;
  sudo: 'nopasswd' | 'password';
}

export interface LabHost {
  name: string;
  address: string;
  /** Addition to the agreed shape: the host's stable MAC (02:50:44:4c:00:<last octet in hex>). */
  mac: string;
  netns: string;
  state: 'up' | 'stopped' | 'cut';
  os: { id: string; versionId: string; prettyName: string };
  packageManager: 'apt' | 'dnf' | 'zypper';
  emulated: boolean;
  profile: string;
  openPorts: number[];
  users: LabUser[];
  hostKeys: { type: string; fingerprint: string }[];
  rebootRequired: boolean;
  /** Addition to the agreed shape: packages dpkg left half-configured (an interrupted earlier upgrade). */
  interrupted: string[];
  pending: PendingUpdate[];
  /** Addition to the agreed shape: needed patches (zypper hosts; [] elsewhere). */
  patches: PendingPatch[];
}

export interface LabInventory {
  network: string;
  gateway: string;
  bridge: string;
  keyFile: string;
  knownHostsFile: string;
  hosts: LabHost[];
}
