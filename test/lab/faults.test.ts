// Each fault control against real hosts, plus the recipe's special updates (failing postinst,
// reboot-required, new dependency) performed for real with apt-get.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  cutHost,
  fillDisk,
  KNOWN_HOSTS_FILE,
  labDown,
  labStatus,
  labUp,
  lockDpkg,
  rekeyHost,
  resetHost,
  startHost,
  stopHost,
  uncutHost,
  unfillDisk,
  unlockDpkg,
} from './index';
import { readBanner } from './hosts';
import { describeAsRoot, ssh } from './testkit';

const host = (name: string) => labStatus().hosts.find((h) => h.name === name)!;
const reachable = (address: string) =>
  readBanner(address, 1500).then(
    () => true,
    () => false,
  );

describeAsRoot('lab fault controls', () => {
  const A = '198.18.0.11';
  const B = '198.18.0.12';
  let tmp: string;

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'pdlab-faults-'));
    await labUp({ hosts: 2, profile: 'clean' });
  });
  afterAll(async () => {
    rmSync(tmp, { recursive: true, force: true });
    await labDown();
  });

  it('stop-host powers a host off and start-host brings it back', async () => {
    await stopHost('lab02');
    expect(host('lab02').state).toBe('stopped');
    expect(await reachable(B)).toBe(false);
    expect(await reachable(A)).toBe(true);
    await startHost('lab02');
    expect(host('lab02').state).toBe('up');
    expect((await ssh(B, 'hostname')).stdout.trim()).toBe('lab02');
  });

  it('cut takes the link down while the host keeps running; uncut restores it', async () => {
    await cutHost('lab02');
    expect(host('lab02').state).toBe('cut');
    expect(await reachable(B)).toBe(false);
    await uncutHost('lab02');
    expect(host('lab02').state).toBe('up');
    expect((await ssh(B, 'hostname')).stdout.trim()).toBe('lab02');
  });

  it('lock-dpkg makes apt and dpkg fail on the lock; unlock-dpkg releases it', async () => {
    await lockDpkg('lab01');
    const locked = await ssh(A, 'sudo apt-get install -y -o DPkg::Lock::Timeout=0 acme-tool');
    expect(locked.code).toBe(100);
    expect(locked.stderr).toMatch(
      /Could not get lock \/var\/lib\/dpkg\/lock-frontend\. It is held by process \d+ \(unattended-upgr\)/,
    );
    const dpkg = await ssh(A, 'sudo dpkg --configure -a');
    expect(dpkg.code).not.toBe(0);
    expect(dpkg.stderr).toMatch(/lock/);
    await unlockDpkg('lab01');
    expect((await ssh(A, 'sudo dpkg --configure -a')).code).toBe(0);
  });

  it('fill-disk makes writes fail with ENOSPC; unfill-disk frees it', async () => {
    await fillDisk('lab01');
    const full = await ssh(A, 'echo x > /tmp/probe');
    expect(full.code).not.toBe(0);
    expect(full.stderr).toMatch(/No space left on device/);
    const upgrade = await ssh(A, 'sudo DEBIAN_FRONTEND=noninteractive apt-get install -y acme-lib');
    expect(upgrade.code).not.toBe(0);
    await unfillDisk('lab01');
    expect((await ssh(A, 'echo x > /tmp/probe && df --output=pcent / | tail -1')).code).toBe(0);
  });

  it('rekey changes the host keys: the old known_hosts is refused, the new one accepted', async () => {
    const oldKnown = path.join(tmp, 'known_hosts.old');
    copyFileSync(KNOWN_HOSTS_FILE, oldKnown);
    const before = host('lab02').hostKeys.map((k) => k.fingerprint);
    const after = (await rekeyHost('lab02')).map((k) => k.fingerprint);
    expect(after).toHaveLength(3);
    for (const fp of after) expect(before).not.toContain(fp);
    expect(host('lab02').hostKeys.map((k) => k.fingerprint)).toEqual(after);
    const refused = await ssh(B, 'true', { knownHosts: oldKnown });
    expect(refused.code).toBe(255);
    expect(refused.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    expect((await ssh(B, 'hostname')).stdout.trim()).toBe('lab02');
  });

  it('reset-host brings back a fresh host with its cached identity', async () => {
    const cached = (await import('./keys'))
      .readHostKeys((await import('./keys')).cachedHostKeyDir('lab02'))
      .map((k) => k.fingerprint);
    await ssh(B, 'touch /tmp/left-behind');
    await resetHost('lab02');
    expect(host('lab02').hostKeys.map((k) => k.fingerprint)).toEqual(cached);
    const r = await ssh(B, 'test -e /tmp/left-behind && echo present || echo gone');
    expect(r.stdout.trim()).toBe('gone');
  });

  it('real upgrades behave as the recipe says: failing postinst, reboot-required, new dependency', async () => {
    await resetHost('lab01');
    const fw = await ssh(
      A,
      'sudo DEBIAN_FRONTEND=noninteractive apt-get install -y acme-firmware acme-agent && cat /var/run/reboot-required.pkgs && dpkg-query -W -f="\\${Version}" acme-agent-plugins',
    );
    expect(fw.code).toBe(0);
    expect(fw.stdout).toMatch(/acme-firmware\n3\.1-1$/);
    const held = await ssh(A, 'sudo DEBIAN_FRONTEND=noninteractive apt-get install -y acme-held');
    expect(held.code).toBe(100);
    expect(held.stderr).toMatch(/Held packages were changed/);
    const flaky = await ssh(A, 'sudo DEBIAN_FRONTEND=noninteractive apt-get install -y acme-flaky');
    expect(flaky.code).toBe(100);
    expect((await ssh(A, "dpkg-query -W -f='${db:Status-Abbrev}' acme-flaky")).stdout.trim()).toBe('iF');
    // A restart is a reboot: /run starts empty.
    await stopHost('lab01');
    await startHost('lab01');
    expect((await ssh(A, 'test -e /var/run/reboot-required && echo yes || echo no')).stdout.trim()).toBe(
      'no',
    );
    await resetHost('lab01');
  });
});
