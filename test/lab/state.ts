// The lab's runtime record (/run/patchdeck-lab/state.json): what was created, with which PIDs.
// It is written before each thing is created, so `down` after a crash knows what to remove.
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImageKind } from './image';
import { RUN_DIR, STATE_FILE } from './paths';
import type { HostProfile, LabProfile } from './recipe';

export interface HostRecord {
  name: string;
  index: number;
  address: string;
  mac: string;
  netns: string;
  veth: string;
  profile: HostProfile;
  kind: ImageKind;
  /** The `unshare` process that is the host's root (PID in the machine's namespace). */
  pid: number | null;
  /** A process holding the host's dpkg locks (lock-dpkg). */
  lockPid: number | null;
  /** Set by rekey: the host runs with keys from its runtime dir instead of the cached identity. */
  rekeyed: boolean;
  diskMounted: boolean;
}

export interface LabState {
  version: 1;
  profile: LabProfile;
  hostCount: number;
  bridge: boolean;
  lowers: Partial<Record<HostProfile, string>>;
  repos: Record<ImageKind, string>;
  /** A profile with an archive of its own (alma), mounted where its kind's archive would be. */
  profileRepos?: Partial<Record<HostProfile, string>>;
  hosts: HostRecord[];
}

export function readState(): LabState | null {
  if (!existsSync(STATE_FILE)) return null;
  return JSON.parse(readFileSync(STATE_FILE, 'utf8')) as LabState;
}

export async function writeState(state: LabState): Promise<void> {
  await mkdir(RUN_DIR, { recursive: true });
  const tmp = `${STATE_FILE}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 2));
  await rename(tmp, STATE_FILE);
}

let queue: Promise<void> = Promise.resolve();
/** Serialised writeState: many hosts start concurrently and each records its PID. */
export function saveState(state: LabState): Promise<void> {
  const snapshot = JSON.parse(JSON.stringify(state)) as LabState;
  queue = queue.then(() => writeState(snapshot));
  return queue;
}

export const hostDir = (name: string) => path.join(RUN_DIR, 'hosts', name);
