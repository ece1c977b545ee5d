import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Core } from '../../src/core';
import { createNodePlatform } from '../../src/platform';
import type { LabHost, LabInventory } from '../lab';

/** A real Core over a fresh workspace file, as the CLI and the app use it. */
export async function createTestCore(): Promise<{ core: Core; dir: string; close(): Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-int-'));
  const core = new Core({
    platform: createNodePlatform({ configDir: path.join(dir, 'config'), useKeychain: false }),
    carrier: 'test',
  });
  await core.openWorkspace(path.join(dir, 'ws.sqlite'), { create: 'if-missing' });
  return {
    core,
    dir,
    async close() {
      await core.closeWorkspace();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Adds every lab host to the workspace and the lab's admin key as a credential covering them.
 * Keys are trusted as an admin would: read each host's key (no login), check its fingerprint
 * against what the machine itself says (the lab's ground truth: its key files), then pin exactly
 * that one. `trust: 'first-use'` instead makes the (key-only) credential pin keys on first use.
 */
export async function enrolLab(
  core: Core,
  lab: LabInventory,
  hosts: LabHost[] = lab.hosts,
  options: { trust?: 'reviewed' | 'first-use' } = {},
): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  for (const host of hosts) {
    const added = await core.call('hosts.add', { name: host.name, address: host.address });
    ids.set(host.name, added.id);
  }
  const admin = lab.hosts[0]!.users.find((u) => u.sudo === 'nopasswd')!;
  await core.call('credentials.add', {
    name: 'lab-admin',
    username: admin.name,
    kind: 'key',
    secret: fs.readFileSync(lab.keyFile, 'utf8'),
    scope: ['*'],
    trustOnFirstUse: options.trust === 'first-use',
  });
  if (options.trust !== 'first-use') await trustLabKeys(core, hosts, ids);
  return ids;
}

/** Reads each host's key, checks it against the lab's ground truth, and pins that fingerprint. */
export async function trustLabKeys(core: Core, hosts: LabHost[], ids: Map<string, number>): Promise<void> {
  await Promise.all(
    hosts.map(async (host) => {
      const id = ids.get(host.name)!;
      const shown = await core.call('hosts.trust', { id, pin: false });
      if (!host.hostKeys.some((k) => k.fingerprint === shown.fingerprint))
        throw new Error(`${host.name} presented ${shown.fingerprint}, which is none of its own keys`);
      await core.call('hosts.trust', { id, fingerprint: shown.fingerprint });
    }),
  );
}

/** Waits for a task started through the API and returns its final row. */
export async function waitForTask(core: Core, taskId: number) {
  const task = await core.requireWorkspace().tasks.wait(taskId);
  if (!task) throw new Error(`task ${taskId} vanished`);
  return task;
}

/**
 * Network-safety guard: traffic to the lab range must go to the lab's own bridge. If the lab
 * was torn down (by another run, or a failed up), 198.18.0.0/24 would follow the default route
 * out of this machine — so refuse to send anything.
 */
export function assertLabRoute(
  lab: Pick<LabInventory, 'bridge' | 'hosts'>,
  sample = lab.hosts[0]?.address ?? '198.18.0.2',
): void {
  const route = execFileSync('ip', ['route', 'get', sample], { encoding: 'utf8' });
  if (!new RegExp(`\\bdev ${lab.bridge}\\b`).test(route)) {
    throw new Error(
      `refusing to send lab traffic: ${sample} is not routed through ${lab.bridge} (route: ${route.trim()})`,
    );
  }
}
