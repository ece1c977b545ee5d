import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { labUp, type LabInventory } from '../lab';
import { describeAsRoot } from '../lab/testkit';
import { assertLabRoute, createTestCore, waitForTask } from './support';

/**
 * Sweeps the lab's /24 (and only it; the gateway 198.18.0.1 is this machine's own bridge
 * address, so it is excluded) and compares with the lab's ground truth.
 */
describeAsRoot('discovery against the lab', () => {
  let lab: LabInventory;
  let env: Awaited<ReturnType<typeof createTestCore>>;

  beforeAll(async () => {
    lab = await labUp({ hosts: 4, profile: 'mixed' });
    env = await createTestCore();
  });
  beforeEach(() => assertLabRoute(lab));
  afterAll(async () => {
    await env?.close();
  });

  it('finds exactly the live lab hosts with exactly their open ports, the right OS guess and MACs', async () => {
    const started = await env.core.call('discovery.start', {
      targets: lab.network,
      exclude: lab.gateway,
      reverseDns: false,
      addToInventory: true,
    });
    expect(started.addresses).toBe(253);
    const task = await waitForTask(env.core, started.taskId);
    expect(task.status).toBe('succeeded');
    const results = await env.core.call('scans.results', { scanId: started.scanId });
    const live = lab.hosts.filter((h) => h.state === 'up');
    expect(results.map((h) => h.address).sort()).toEqual(live.map((h) => h.address).sort());
    for (const host of live) {
      const found = results.find((r) => r.address === host.address)!;
      expect(
        found.services.map((s) => s.port).sort((a, b) => a - b),
        host.name,
      ).toEqual([...host.openPorts].sort((a, b) => a - b));
      expect(found.management).toEqual(['ssh']);
      expect(found.osFamily).toBe('linux');
      // Emulated RPM hosts run Debian's sshd, so their banner honestly says Debian.
      if (!host.emulated) expect(`${found.osName} ${found.osVersion}`).toMatch(/Debian 12/i);
      expect(found.mac?.toLowerCase()).toBe(host.mac.toLowerCase());
      expect(found.wasNew).toBe(true);
    }
    const [scan] = await env.core.call('scans.list', {});
    expect(scan).toMatchObject({
      id: started.scanId,
      status: 'completed',
      addressesTotal: 253,
      addressesProbed: 253,
      hostsFound: live.length,
    });
  });

  it('merges a second scan into the same hosts (nothing new)', async () => {
    const started = await env.core.call('discovery.start', {
      targets: lab.network,
      exclude: lab.gateway,
      reverseDns: false,
    });
    await waitForTask(env.core, started.taskId);
    const results = await env.core.call('scans.results', { scanId: started.scanId });
    expect(results.every((h) => !h.wasNew)).toBe(true);
    expect((await env.core.call('hosts.list', {})).length).toBe(
      lab.hosts.filter((h) => h.state === 'up').length,
    );
  });

  it('stops promptly when cancelled and records a cancelled scan', async () => {
    const started = await env.core.call('discovery.start', {
      targets: lab.network,
      exclude: lab.gateway,
      reverseDns: false,
      timeoutMs: 20_000,
    });
    await new Promise((r) => setTimeout(r, 300));
    const t0 = performance.now();
    await env.core.call('tasks.cancel', { id: started.taskId });
    const task = await waitForTask(env.core, started.taskId);
    const stoppedInMs = performance.now() - t0;
    expect(task.status).toBe('cancelled');
    // Generous against a 20 s probe timeout: the point is that cancel does not wait for the probes.
    expect(stoppedInMs).toBeLessThan(2000);
    const scans = await env.core.call('scans.list', {});
    expect(scans.find((s) => s.id === started.scanId)?.status).toBe('cancelled');
  });

  it('a scan cancelled after its first host calls nobody "not seen", least of all what it found (issue 10, bug 4)', async () => {
    let firstHost: (() => void) | null = null;
    const found = new Promise<void>((resolve) => (firstHost = resolve));
    const unsubscribe = env.core.events.subscribe((event) => {
      if (event === 'discovery.host') firstHost?.();
    });
    try {
      const started = await env.core.call('discovery.start', {
        targets: lab.network,
        exclude: lab.gateway,
        reverseDns: false,
        timeoutMs: 20_000,
      });
      await found;
      await env.core.call('tasks.cancel', { id: started.taskId });
      expect((await waitForTask(env.core, started.taskId)).status).toBe('cancelled');
      const seenByIt = await env.core.call('scans.results', { scanId: started.scanId });
      expect(seenByIt.length).toBeGreaterThan(0);
      const hosts = await env.core.call('hosts.list', {});
      for (const h of seenByIt)
        expect(hosts.find((x) => x.id === h.id)?.seenInLastScan, h.address ?? h.name).toBe(true);
      expect(hosts.filter((h) => h.seenInLastScan === false).map((h) => h.address)).toEqual([]);
    } finally {
      unsubscribe();
    }
  });
});
