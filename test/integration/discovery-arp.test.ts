import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { cutHost, labUp, uncutHost, type LabInventory } from '../lab';
import { describeAsRoot } from '../lab/testkit';
import { assertLabRoute } from './support';
import { parseTargets, sweep } from '../../src/discovery';
import { DEFAULT_SETTINGS } from '../../src/api/schemas';

/**
 * ARP-first host discovery on real hosts: the lab's /24 is on-link (bridge labbr0), so the sweep
 * lets the kernel ARP every address and port-scans only those that answered. A cut host in
 * the middle of the range must be skipped like the empty addresses, every live host found with
 * exactly its ports, and a host that answers ARP late (test/lab/slow-arp.py) still found by the
 * later chance.
 */
const SLOW_ARP = path.resolve(import.meta.dirname, '../lab/slow-arp.py');

function setArpIgnore(netns: string, value: number): void {
  execFileSync('ip', [
    'netns',
    'exec',
    netns,
    'sysctl',
    '-q',
    '-w',
    `net.ipv4.conf.eth0.arp_ignore=${value}`,
  ]);
}

function forgetNeighbour(address: string, bridge: string): void {
  try {
    execFileSync('ip', ['neigh', 'del', address, 'dev', bridge], { stdio: 'ignore' });
  } catch {
    // No entry to forget.
  }
}

describeAsRoot('ARP-first discovery against the lab', () => {
  let lab: LabInventory;
  const ports = DEFAULT_SETTINGS.discoveryPorts;
  const stopped = 'lab03';
  const slow = 'lab02';

  beforeAll(async () => {
    lab = await labUp({ hosts: 5, profile: 'clean' });
  });
  beforeEach(() => assertLabRoute(lab));
  afterAll(async () => {
    if (lab) await uncutHost(stopped);
  });

  const sweepLab = async () => {
    const parsed = await parseTargets(lab.network, { exclude: lab.gateway });
    return sweep(parsed.addresses, { ports, reverseDns: false, netbios: false });
  };

  it('skips a dead address between live ones (not port-scanned) and finds every live host with its ports', async () => {
    // Its cable pulled (a stopped lab host's namespace would still answer ARP and RST).
    await cutHost(stopped);
    // This machine's cache would still call it reachable for a while (a stale entry is scanned
    // and, answering nothing, reported alive by 'neighbour', as before ARP first): start clean.
    forgetNeighbour(lab.hosts.find((x) => x.name === stopped)!.address, lab.bridge);
    assertLabRoute(lab);
    const summary = await sweepLab();
    const live = lab.hosts.filter((h) => h.name !== stopped);
    expect(summary.hosts.map((h) => h.address)).toEqual(live.map((h) => h.address));
    for (const h of live)
      expect(summary.hosts.find((x) => x.address === h.address)?.openPorts, h.name).toEqual(
        [...h.openPorts].sort((a, b) => a - b),
      );
    expect(summary.stats.arp).toMatchObject({
      asked: 253,
      answered: live.length,
      skipped: 253 - live.length,
    });
    // Only the live hosts' ports were connected to: the stopped host and the empty addresses got none.
    expect(summary.stats.connects).toBe(live.length * ports.length);
    expect(summary.probed).toBe(253);
    await uncutHost(stopped);
  });

  it('finds a host whose ARP answer comes late (450 ms), by its later chance', async () => {
    const h = lab.hosts.find((x) => x.name === slow)!;
    // The host's kernel stops answering ARP; a responder in its namespace answers 450 ms late.
    setArpIgnore(h.netns, 8);
    const responder = spawn('ip', ['netns', 'exec', h.netns, 'python3', SLOW_ARP, 'eth0', h.address, '450'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        responder.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
        responder.once('exit', (code) => reject(new Error(`slow-arp.py exited ${code}`)));
      });
      // Forget what this machine knew of it, so that the sweep has to ask by ARP again.
      forgetNeighbour(h.address, lab.bridge);
      assertLabRoute(lab);
      const summary = await sweepLab();
      expect(summary.hosts.map((x) => x.address)).toEqual(lab.hosts.map((x) => x.address));
      expect(summary.hosts.find((x) => x.address === h.address)?.openPorts).toEqual(
        [...h.openPorts].sort((a, b) => a - b),
      );
      // Its answer came after the first window (300 ms): only the later chance could see it.
      expect(summary.stats.arp?.slowestMs).toBeGreaterThan(300);
      expect(summary.stats.arp).toMatchObject({
        answered: lab.hosts.length,
        skipped: 253 - lab.hosts.length,
      });
    } finally {
      responder.kill('SIGTERM');
      setArpIgnore(h.netns, 0);
    }
  });
});
