import { describe, expect, it } from 'vitest';
import {
  collect,
  dnfResultFromSections,
  parseCheckUpdate,
  parseExpirationAge,
  parseNeedsRestarting,
  parseNevra,
  parseUpdateinfoList,
  isRpmLocked,
} from './index';
import { fixture, fixturePath } from '../testing/fixtures';
import { loadRecording, replayExec, sectionExec } from '../testing/exec';

describe('check-update (real yum captures, GoogleCloudPlatform/osconfig)', () => {
  it('parses CentOS 7 output with plugin chatter', () => {
    const { updates, rejected } = parseCheckUpdate(fixture('yum/centos-7-1.yum-check-update.stdout'));
    expect(rejected).toEqual([]);
    expect(updates[0]).toEqual({
      name: 'bind-export-libs',
      arch: 'x86_64',
      version: '32:9.11.4-26.P2.el7_9.16',
      repository: 'updates',
    });
    // Wrapped line: the long name alone, version and repo on the next line.
    expect(updates.find((u) => u.name === 'google-compute-engine-oslogin')).toMatchObject({
      version: '1:20240415.00-g1.el7',
      repository: 'google-compute-engine',
    });
    expect(updates.length).toBeGreaterThan(35);
  });

  it('parses RHEL 7 output with wrapped names and obsoletes', () => {
    const { updates, rejected } = parseCheckUpdate(fixture('yum/rhel-7-1.yum-check-update.stdout'));
    expect(rejected).toEqual([]);
    expect(updates.map((u) => u.name)).toContain('redhat-support-lib-python');
    expect(updates.find((u) => u.name === 'kernel')).toMatchObject({
      version: '3.10.0-1160.119.1.el7',
      repository: 'rhui-rhel-7-server-rhui-rpms',
    });
    expect(updates.find((u) => u.name === 'google-cloud-cli')).toMatchObject({
      obsoletes: 'google-cloud-sdk',
    });
    expect(updates).toHaveLength(17);
  });

  it('parses dnf 4.14 output from the throwaway installroot', () => {
    const { updates } = parseCheckUpdate(fixture('dnf/lab.dnf-check-update.stdout'));
    expect(updates.map((u) => `${u.name} ${u.version}`)).toEqual([
      'pd-kernel 5.14.0-2',
      'pd-lib 2.1-1',
      'pd-plain 3.0-2',
      'pd-tool 1.1-1',
    ]);
  });
});

describe('updateinfo', () => {
  it('parses dnf 4 severities and types (real)', () => {
    const entries = parseUpdateinfoList(fixture('dnf/lab.dnf-updateinfo-list.stdout'));
    expect(entries.map((e) => [e.id, e.type, e.severity, e.vendorSeverity, e.package.name])).toEqual([
      ['PDSA-2024:0002', 'security', 'critical', 'Critical', 'pd-kernel'],
      ['PDBA-2024:0003', 'bugfix', null, null, 'pd-lib'],
      ['PDSA-2024:0001', 'security', 'important', 'Important', 'pd-tool'],
    ]);
  });

  it('splits NEVRAs with epochs and rejects junk', () => {
    expect(parseNevra('bind-export-libs-32:9.11.4-26.P2.el7_9.16.x86_64')).toEqual({
      name: 'bind-export-libs',
      epoch: '32',
      version: '9.11.4',
      release: '26.P2.el7_9.16',
      arch: 'x86_64',
    });
    expect(parseNevra('nonsense')).toBeNull();
    expect(parseNevra('$(id)-1-1.x86_64')).toBeNull();
  });

  it('reads dnf 5 tables too (synthetic, from the dnf5 column layout)', () => {
    const entries = parseUpdateinfoList(
      'Name           Type     Severity  Package              Issued\nFEDORA-2024-1  security Moderate  curl-8.6.0-7.fc40.x86_64 2024-04-01 00:00:00\n',
    );
    expect(entries).toEqual([
      expect.objectContaining({
        id: 'FEDORA-2024-1',
        type: 'security',
        severity: 'moderate',
        vendorSeverity: 'Moderate',
      }),
    ]);
  });
});

describe('dnf result', () => {
  it('joins updates, advisories, CVEs and installed versions', () => {
    const recording = loadRecording(fixturePath('dnf/lab-cached.collect.json'));
    expect(recording.runs).toHaveLength(1);
    const result = dnfResultFromSections({
      pm: 'dnf',
      check: fixture('dnf/lab.dnf-check-update.stdout'),
      updateinfo: fixture('dnf/lab.dnf-updateinfo-list.stdout'),
      cves: 'CVE-2024-0002 Critical/Sec.  pd-kernel-5.14.0-2.noarch\nCVE-2024-0003 Critical/Sec.  pd-kernel-5.14.0-2.noarch\n',
      installed: 'pd-kernel noarch 0:5.14.0-1\npd-lib noarch 0:2.0-1\ngrub2 x86_64 1:2.02-0.87\n',
      reboot: {
        stdout:
          'Core libraries or services have been updated since boot-up:\n  * kernel\n\nReboot is required to fully utilize these updates.\n',
        code: 1,
      },
      age: '1700000600\n1700000000\n',
    });
    const kernel = result.updates.find((u) => u.name === 'pd-kernel')!;
    expect(kernel).toMatchObject({
      security: true,
      severity: 'critical',
      installedVersion: '5.14.0-1',
      availableVersion: '5.14.0-2',
    });
    expect(kernel.advisories).toEqual(['PDSA-2024:0002', 'CVE-2024-0002', 'CVE-2024-0003']);
    expect(result.updates.find((u) => u.name === 'pd-lib')).toMatchObject({
      security: false,
      severity: null,
      advisories: ['PDBA-2024:0003'],
    });
    expect(result.rebootRequired).toBe(true);
    expect(result.rebootReasons).toEqual(['kernel']);
    expect(result.metadataAgeSeconds).toBe(600);
  });

  it('reads needs-restarting exit codes and dnf expiration lines', () => {
    expect(
      parseNeedsRestarting(
        'No core libraries or services have been updated.\nReboot is probably not necessary.\n',
        0,
      ),
    ).toEqual({ rebootRequired: false, reasons: [] });
    expect(parseNeedsRestarting('unavailable\n', 0).rebootRequired).toBeNull();
    expect(parseNeedsRestarting('', 127).rebootRequired).toBeNull();
    expect(
      parseExpirationAge('Last metadata expiration check: 0:00:16 ago on Sat Nov 28 00:47:01 2026.'),
    ).toBe(16);
    expect(parseExpirationAge('Last metadata expiration check: 2 days, 1:00:00 ago on Mon')).toBe(
      2 * 86400 + 3600,
    );
  });
});

describe('dnf collect() replaying real runs', () => {
  it('replays the cached (-C) run: one sudo round-trip', async () => {
    const exec = replayExec(loadRecording(fixturePath('dnf/lab-cached.collect.json')).runs);
    const result = await collect(exec, { refresh: false });
    expect(exec.asked).toHaveLength(1);
    expect(exec.asked[0]!.options.sudo).toBe(true);
    expect(exec.asked[0]!.command).toContain('-C check-update');
    expect(result.packageManager).toBe('dnf');
    expect(result.updates.map((u) => [u.name, u.security, u.severity])).toEqual([
      ['pd-kernel', true, 'critical'],
      ['pd-lib', false, null],
      ['pd-plain', false, null],
      ['pd-tool', true, 'important'],
    ]);
    expect(result.updates.find((u) => u.name === 'pd-tool')!.advisories).toEqual([
      'PDSA-2024:0001',
      'CVE-2024-0001',
    ]);
    expect(result.rebootRequired).toBe(false);
    expect(result.metadataAgeSeconds).not.toBeNull();
  });

  it('replays the refresh run (makecache first)', async () => {
    const exec = replayExec(loadRecording(fixturePath('dnf/lab-refresh.collect.json')).runs);
    const result = await collect(exec, { refresh: true });
    expect(exec.asked[0]!.command).toContain('makecache');
    expect(result.updates).toHaveLength(4);
    expect(result.metadataAgeSeconds).toBe(0);
  });

  it('refreshes a host with no cached metadata once by itself, and says so (real runs)', async () => {
    // Never "no updates" from an empty cache: the first audit of a fresh host refreshes it.
    const exec = replayExec([
      ...loadRecording(fixturePath('dnf/lab-nocache.collect.json')).runs,
      ...loadRecording(fixturePath('dnf/lab-refresh.collect.json')).runs,
    ]);
    const result = await collect(exec, { refresh: false, autoRefresh: true });
    expect(exec.asked).toHaveLength(2);
    expect(exec.asked[0]!.command).toContain('-C check-update');
    expect(exec.asked[0]!.command).not.toContain('makecache');
    expect(exec.asked[1]!.command).toContain('makecache');
    expect(result.updates).toHaveLength(4);
    expect(result.metadataAgeSeconds).toBe(0);
    expect(result.warnings[0]).toMatch(
      /no cached package metadata on this host, so this audit refreshed it once/,
    );
  });

  it('an offline replay (no automatic refresh) of a host without cache fails with the fact', async () => {
    const exec = replayExec(loadRecording(fixturePath('dnf/lab-nocache.collect.json')).runs);
    await expect(collect(exec, { refresh: false })).rejects.toMatchObject({
      kind: 'command-failed',
      message: 'dnf has no cached package metadata on this host.',
    });
    expect(exec.asked).toHaveLength(1);
  });

  it('fails in words when even a refresh leaves no metadata, never with "no updates"', async () => {
    // The no-cache run's output replayed for a refresh: makecache left nothing usable.
    const exec = replayExec(loadRecording(fixturePath('dnf/lab-nocache.collect.json')).runs);
    const failure = collect(exec, { refresh: true });
    await expect(failure).rejects.toMatchObject({
      kind: 'command-failed',
      message: expect.stringMatching(
        /no (usable )?package metadata on this host(, and refreshing it failed| even after)/,
      ),
    });
    await expect(failure).rejects.not.toMatchObject({ message: expect.stringMatching(/audit with/i) });
    expect(exec.asked).toHaveLength(1);
  });

  it('classifies yum locks, missing package managers and sudo', async () => {
    expect(isRpmLocked('Another app is currently holding the yum lock; waiting for it to exit...')).toBe(
      true,
    );
    const locked = sectionExec(() => [
      { name: 'pm', stdout: 'yum\n', code: 0 },
      {
        name: 'check',
        stdout: '',
        stderr: 'Existing lock /var/run/yum.pid: another copy is running as pid 1234.',
        code: 1,
      },
    ]);
    await expect(collect(locked, { refresh: false })).rejects.toMatchObject({
      kind: 'package-manager-locked',
    });
    const none = sectionExec(() => [{ name: 'pm', stdout: 'none\n', code: 0 }]);
    await expect(collect(none, { refresh: false })).rejects.toMatchObject({ kind: 'unsupported-os' });
    const sudo = {
      run: () =>
        Promise.resolve({
          stdout: '',
          stderr: 'alice is not in the sudoers file.  This incident will be reported.\n',
          code: 1,
        }),
    };
    await expect(collect(sudo, { refresh: false })).rejects.toMatchObject({ kind: 'sudo' });
  });

  it('survives hostile check-update output', () => {
    const hostile = [
      `evil;rm.x86_64 1.0 updates`,
      `ok.x86_64 1.0\u001b[2J updates`,
      'a'.repeat(1_000_000),
      `x.x86_64 ${'1'.repeat(200)} r`,
      'good.noarch 1.0-1 @repo',
    ].join('\n');
    const t0 = Date.now();
    const { updates } = parseCheckUpdate(hostile);
    expect(updates.map((u) => u.name)).toEqual(['good']);
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
