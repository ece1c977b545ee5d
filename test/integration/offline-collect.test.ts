import { readFileSync } from 'node:fs';
import { beforeAll, beforeEach, expect, it } from 'vitest';
import { labStatus, labUp, resetHost, type LabHost, type LabInventory } from '../lab';
import { LAB_KEY_FILE } from '../lab/paths';
import { describeAsRoot, ssh } from '../lab/testkit';
import {
  apt,
  buildCollectScript,
  parseCollectedOutput,
  type CollectorResult,
  type RemoteExec,
} from '../../src/collectors';
import { SshSession } from '../../src/remote';
import { assertLabRoute } from './support';

/**
 * The offline collection script, run on a real apt host the way its admin runs it (`sh` of the
 * script, as an ordinary user, its output kept as a file), must give the findings an SSH audit of
 * the same host gives at the same time. It ran on the developer's own machine before: there it
 * passed without testing anything where apt was missing, and failed whenever the machine's dpkg
 * lock was held. Lab hosts are ours, so the comparison always runs (under CI, root or fail).
 */
describeAsRoot('offline collection against the lab', () => {
  let lab: LabInventory;
  let aptHosts: LabHost[];

  beforeAll(async () => {
    lab = await labUp({ hosts: 3, profile: 'mixed' });
    for (const host of lab.hosts.filter((h) => h.packageManager === 'apt')) await resetHost(host.name);
    lab = labStatus();
    aptHosts = lab.hosts.filter((h) => h.packageManager === 'apt');
  });
  beforeEach(() => assertLabRoute(lab));

  /** The admin's way: `ssh host sh -s < patchdeck-collect.sh > patchdeck-collect.txt`, no sudo. */
  async function collectOffline(host: LabHost): Promise<string> {
    const admin = host.users.find((u) => u.sudo === 'nopasswd')!;
    const result = await ssh(host.address, 'sh -s', {
      user: admin.name,
      input: buildCollectScript('linux'),
      timeoutMs: 120_000,
    });
    if (result.code !== 0)
      throw new Error(`the collection script exited ${result.code} on ${host.name}: ${result.stderr}`);
    return result.stdout;
  }

  /** The SSH audit's way: the apt collector over a real SSH session, host key pinned. */
  async function collectOnline(host: LabHost): Promise<CollectorResult> {
    const admin = host.users.find((u) => u.sudo === 'nopasswd')!;
    const session = await SshSession.connect({
      host: host.address,
      username: admin.name,
      auth: { kind: 'key', privateKey: readFileSync(LAB_KEY_FILE, 'utf8') },
      pinnedKeys: host.hostKeys,
      trustOnFirstUse: false,
      label: host.name,
    });
    try {
      const exec: RemoteExec = { run: (command, options) => session.run(command, options) };
      return await apt.collect(exec, { refresh: false });
    } finally {
      session.close();
    }
  }

  it(
    'runs the script on each apt host and agrees with the online apt collector run at the same time',
    { timeout: 300_000 },
    async () => {
      expect(aptHosts.length, 'the mixed lab has apt hosts').toBeGreaterThan(0);
      for (const host of aptHosts) {
        const [text, online] = await Promise.all([collectOffline(host), collectOnline(host)]);
        const offline = await parseCollectedOutput(text);
        expect(offline.result.packageManager, host.name).toBe('apt');
        expect(offline.result.updates, host.name).toEqual(online.updates);
        expect(offline.result.rebootRequired, host.name).toBe(online.rebootRequired);
        expect(
          Math.abs((offline.result.metadataAgeSeconds ?? 0) - (online.metadataAgeSeconds ?? 0)),
          host.name,
        ).toBeLessThan(120);
        // Both agree with what the lab put there, so agreeing on nothing cannot pass.
        const upgrades = offline.result.updates.filter((u) => u.installedVersion !== null);
        expect(upgrades.map((u) => u.name).sort(), host.name).toEqual(host.pending.map((p) => p.name).sort());
        expect(offline.result.rebootRequired, host.name).toBe(host.rebootRequired);
      }
    },
  );
});
