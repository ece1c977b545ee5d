// The lab's simulated reboot on every profile it offers: Patchdeck's own reboot command, sent
// over SSH with sudo, drops the connection, and the host comes back with its pending-reboot state
// cleared (apt's /run/reboot-required, dnf's needs-restarting -r, zypper's needs-rebooting), a
// fresh /run, every process of the old boot gone, and the same root process for the lab to manage.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { REBOOT_COMMAND } from '../../src/patch/commands';
import { shellQuote } from '../../src/remote/quote';
import { labDown, labStatus, labUp, type LabHost } from './index';
import { readBanner } from './hosts';
import { sleep } from './sh';
import { readState } from './state';
import { describeAsRoot, ssh } from './testkit';

/** The check each package manager's hosts answer "reboot needed?" with: `yes` or `no`. */
const NEEDS_REBOOT: Record<string, string> = {
  apt: 'test -e /var/run/reboot-required && echo yes || echo no',
  dnf: 'sudo dnf -q needs-restarting -r >/dev/null 2>&1 && echo no || echo yes',
  zypper: 'zypper needs-rebooting >/dev/null 2>&1; [ $? -eq 102 ] && echo yes || echo no',
};

/** Installs the lab's firmware update, the one that asks for a reboot. */
const INSTALL_FIRMWARE: Record<string, string> = {
  apt: 'sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q acme-firmware',
  dnf: 'sudo dnf -y -q upgrade acme-firmware',
  zypper: 'sudo zypper -n -q --no-refresh install acme-firmware',
};

async function waitBack(address: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const ok = await readBanner(address, 1000).then(
      (b) => b.startsWith('SSH-2.0-'),
      () => false,
    );
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${address} did not come back within ${timeoutMs} ms`);
}

describeAsRoot('lab reboot', () => {
  let hosts: LabHost[];

  beforeAll(async () => {
    // mixed, 4 hosts: two apt hosts (several, security), the zypper host and the dnf host.
    const lab = await labUp({ hosts: 4, profile: 'mixed' });
    hosts = lab.hosts;
    expect(hosts.map((h) => h.packageManager).sort()).toEqual(['apt', 'apt', 'dnf', 'zypper']);
  }, 300_000);
  afterAll(async () => {
    await labDown();
  });

  it('every profile accepts Patchdeck’s reboot command and comes back with the reboot done', async () => {
    for (const h of hosts) {
      const pm = h.packageManager;
      const installed = await ssh(h.address, INSTALL_FIRMWARE[pm]!, { timeoutSec: 10 });
      expect(installed.code, `${h.name}: ${installed.stderr}`).toBe(0);
      expect((await ssh(h.address, NEEDS_REBOOT[pm]!)).stdout.trim(), `${h.name} before`).toBe('yes');
      const rootPid = readState()!.hosts.find((x) => x.name === h.name)!.pid;
      expect(rootPid).toBeTruthy();
      // A marker in /run and a process of this boot: a reboot takes both.
      const marked = await ssh(
        h.address,
        'sudo touch /run/boot-marker && (nohup sleep 600 >/dev/null 2>&1 &) ; echo ok',
      );
      expect(marked.stdout.trim()).toBe('ok');

      const issued = await ssh(h.address, `sudo sh -c ${shellQuote(REBOOT_COMMAND)}`);
      expect(issued.code, `${h.name}: ${issued.stderr}`).toBe(0);
      expect(issued.stdout.trim()).toBe('reboot-issued');
      // The host goes down (connections refused or dropped) …
      const end = Date.now() + 10_000;
      while (
        Date.now() < end &&
        (await ssh(h.address, 'test -e /run/boot-marker && echo up')).stdout.trim() === 'up'
      )
        await sleep(100);
      // … and comes back as the same lab host.
      await waitBack(h.address, 20_000);
      const after = await ssh(
        h.address,
        'test -e /run/boot-marker && echo marker || echo fresh; pgrep -x sleep >/dev/null && echo old-process || echo clean; hostname',
      );
      expect(after.stdout.trim().split('\n'), h.name).toEqual(['fresh', 'clean', h.name]);
      expect((await ssh(h.address, NEEDS_REBOOT[pm]!)).stdout.trim(), `${h.name} after`).toBe('no');
      const now = labStatus().hosts.find((x) => x.name === h.name)!;
      expect(now.state).toBe('up');
      expect(readState()!.hosts.find((x) => x.name === h.name)!.pid).toBe(rootPid);
    }
  }, 240_000);

  it('a host that stops without asking to reboot stays down', async () => {
    const h = hosts[0]!;
    // sshd ends (as when it crashes): no reboot request, so the lab does not boot the host again.
    await ssh(h.address, 'sudo sh -c "(sleep 1; kill -TERM 1) >/dev/null 2>&1 &"');
    const end = Date.now() + 10_000;
    while (Date.now() < end && labStatus().hosts.find((x) => x.name === h.name)!.state === 'up')
      await sleep(100);
    expect(labStatus().hosts.find((x) => x.name === h.name)!.state).toBe('stopped');
  }, 30_000);
});
