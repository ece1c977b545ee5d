// Lab smoke test: three real hosts (mixed: several pending, security only, emulated dnf),
// SSH with strict host key checking, the ground truth against the hosts' own package managers,
// and `down` leaving nothing behind.
import { readFileSync } from 'node:fs';
import { NodeSSH } from 'node-ssh';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { labDown, labLeftovers, labPids, labStatus, labUp, type LabInventory } from './index';
import { run } from './sh';
import { describeAsRoot, parseAptSimulation, ssh } from './testkit';

const SUITE_OF: Record<string, string> = {
  stable: 'bookworm',
  'stable-updates': 'bookworm-updates',
  'stable-security': 'bookworm-security',
};

describeAsRoot('lab smoke: 3 hosts', () => {
  let inv: LabInventory;
  let pids: number[] = [];
  let downDone = false;

  beforeAll(async () => {
    inv = await labUp({ hosts: 3, profile: 'mixed', log: (s) => console.log(s) });
    pids = labPids();
  });
  afterAll(async () => {
    if (!downDone) await labDown();
  });

  it('describes three running hosts on 198.18.0.0/24', () => {
    expect(inv.network).toBe('198.18.0.0/24');
    expect(inv.hosts.map((h) => [h.name, h.address, h.state, h.packageManager, h.emulated])).toEqual([
      ['lab01', '198.18.0.11', 'up', 'apt', false],
      ['lab02', '198.18.0.12', 'up', 'apt', false],
      ['lab03', '198.18.0.13', 'up', 'dnf', true],
    ]);
    expect(pids).toHaveLength(3);
  });

  it('up again is idempotent (same processes)', async () => {
    await labUp({ hosts: 3, profile: 'mixed' });
    expect(labPids()).toEqual(pids);
  });

  it('lets admin in with the lab key, strict host key checking, and passwordless sudo', async () => {
    for (const h of inv.hosts) {
      const r = await ssh(h.address, 'hostname; sudo -n id -u');
      expect(r.stderr).toBe('');
      expect(r.stdout.trim().split('\n')).toEqual([h.name, '0']);
    }
  });

  it('publishes the host keys the hosts really present', async () => {
    for (const h of inv.hosts) {
      const scan = await run('ssh-keyscan', ['-T', '5', h.address]);
      const fps = (await run('ssh-keygen', ['-l', '-f', '-'], { input: scan.stdout })).stdout;
      for (const k of h.hostKeys) expect(fps).toContain(k.fingerprint);
      expect(h.hostKeys.map((k) => k.type).sort()).toEqual(['ecdsa-sha2-nistp256', 'ssh-ed25519', 'ssh-rsa']);
    }
  });

  it('lets operator in with the password; sudo asks for it', async () => {
    const h = inv.hosts[0]!;
    const op = h.users.find((u) => u.name === 'operator')!;
    const conn = await new NodeSSH().connect({
      host: h.address,
      username: 'operator',
      password: op.password,
      tryKeyboard: false,
    });
    try {
      const noPw = await conn.execCommand('sudo -n true');
      expect(noPw.code).not.toBe(0);
      expect(noPw.stderr).toMatch(/password is required/);
      const withPw = await conn.execCommand("sudo -S -p '' id -u", { stdin: `${op.password}\n` });
      expect(withPw.stdout.trim()).toBe('0');
    } finally {
      conn.dispose();
    }
  });

  it('apt-get -s dist-upgrade on each apt host matches the ground truth', async () => {
    for (const h of inv.hosts.filter((x) => x.packageManager === 'apt')) {
      const r = await ssh(h.address, 'LC_ALL=C apt-get -s dist-upgrade');
      expect(r.code).toBe(0);
      const sim = parseAptSimulation(r.stdout);
      const expected = h.pending.filter((p) => !p.held);
      expect(
        sim.upgrades
          .map((u) => ({
            name: u.name,
            installed: u.installed,
            available: u.available,
            repository: SUITE_OF[u.suite],
            security: u.label === 'Debian-Security',
          }))
          .sort((a, b) => a.name.localeCompare(b.name)),
      ).toEqual(
        expected
          .map((p) => ({
            name: p.name,
            installed: p.installed,
            available: p.available,
            repository: p.repository,
            security: p.security,
          }))
          .sort((a, b) => a.name.localeCompare(b.name)),
      );
      expect(sim.keptBack.sort()).toEqual(
        h.pending
          .filter((p) => p.held)
          .map((p) => p.name)
          .sort(),
      );
      expect(sim.newInstalls.sort()).toEqual(
        [...new Set(h.pending.flatMap((p) => p.newDependencies))].sort(),
      );
      const holds = await ssh(h.address, 'apt-mark showhold');
      expect(holds.stdout.trim().split('\n').filter(Boolean)).toEqual(
        h.pending.filter((p) => p.held).map((p) => p.name),
      );
    }
    expect(inv.hosts[0]!.pending.length).toBeGreaterThan(3);
  });

  it('dnf check-update and updateinfo on the dnf host match the ground truth', async () => {
    const h = inv.hosts.find((x) => x.packageManager === 'dnf')!;
    const check = await ssh(h.address, 'dnf -q check-update');
    expect(check.code).toBe(100);
    const updates = check.stdout
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length === 3)
      .map(([na, evr, repo]) => ({ name: na!.replace(/\.noarch$/, ''), available: evr, repository: repo }));
    expect(updates.sort((a, b) => a.name.localeCompare(b.name))).toEqual(
      h.pending
        .map((p) => ({ name: p.name, available: p.available, repository: p.repository }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    );
    const sec = await ssh(h.address, 'dnf -q updateinfo list --security');
    const advisories = sec.stdout
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length === 3)
      .map(([id, sev, nevra]) => ({
        id: id!,
        severity: sev!.replace(/\/Sec\.$/, ''),
        name: nevra!.replace(/-[^-]+-[^-]+$/, ''),
      }));
    const expected = h.pending
      .filter((p) => p.security)
      .flatMap((p) => p.advisories.map((id) => ({ id, severity: p.severity, name: p.name })));
    expect(advisories.sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      expected.sort((a, b) => a.id.localeCompare(b.id)),
    );
  });

  it('down leaves no namespace, link, mount or process of the lab', async () => {
    await labDown();
    downDone = true;
    expect(await labLeftovers()).toEqual({ netns: [], links: [], mounts: [], processes: [] });
    const netns = (await run('ip', ['netns', 'list'])).stdout;
    expect(netns).not.toMatch(/pdlab-/);
    const links = (await run('ip', ['-o', 'link', 'show'])).stdout;
    expect(links).not.toMatch(/labbr0|pdv-/);
    expect(readFileSync('/proc/mounts', 'utf8')).not.toMatch(/patchdeck-lab/);
    for (const pid of pids) {
      let alive: boolean;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        alive = !/\) [ZX] /.test(stat);
      } catch {
        alive = false;
      }
      expect(alive, `recorded pid ${pid} still alive`).toBe(false);
    }
    expect(labStatus().hosts).toEqual([]);
  });
});
