import { describe, expect, it } from 'vitest';
import {
  collect,
  dnfResultFromSections,
  parseCheckUpdate,
  parseExpirationAge,
  parseNeedsRestarting,
  parseNevra,
  parseRpmInstalled,
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

describe('dnf details a wrong line would change', () => {
  it('drops only an epoch of 0 from rpm -qa versions (real installed section of the lab run)', () => {
    const recording = loadRecording(fixturePath('dnf/lab-cached.collect.json'));
    const stdout = recording.runs[0]!.stdout;
    const section = /begin:installed\n([\s\S]*?)\n@@PATCHDECK:[0-9a-f]+:end:installed/.exec(stdout)![1]!;
    expect(section).toContain('pd-tool noarch 0:1.0-1');
    expect(Object.fromEntries(parseRpmInstalled(section))).toEqual({
      'pd-tool.noarch': '1.0-1',
      'pd-plain.noarch': '3.0-1',
      'pd-lib.noarch': '2.0-1',
      'pd-kernel.noarch': '5.14.0-1',
    });
    // Real epochs (CentOS 7's grub2-common and sg3_utils-libs) are kept whole, and a version
    // that merely starts with 0 keeps its first digits.
    expect(
      Object.fromEntries(
        parseRpmInstalled(
          [
            'grub2-common noarch 1:2.02-0.87.0.2.el7.centos.11',
            'sg3_utils-libs x86_64 1:1.37-19.el7',
            'dbus-glib x86_64 0:0.100-7.el7',
            'kbd-misc noarch 0.100-7',
            'gpg-pubkey (none) 0:f4a80eb5-53a7ff4b',
            'bad;name x86_64 0:1-1',
            'two words',
            'a b c d',
            'e x86_64 $(id)',
            'f bad/arch 1-1',
          ].join('\n'),
        ),
      ),
    ).toEqual({
      'grub2-common.noarch': '1:2.02-0.87.0.2.el7.centos.11',
      'sg3_utils-libs.x86_64': '1:1.37-19.el7',
      'dbus-glib.x86_64': '0.100-7.el7',
      'kbd-misc.noarch': '0.100-7',
      'gpg-pubkey.(none)': 'f4a80eb5-53a7ff4b',
    });
  });

  it('counts minutes and hours of the metadata age (dnf 4 "Last metadata expiration check" line)', () => {
    expect(
      parseExpirationAge('Last metadata expiration check: 1:02:03 ago on Sat Nov 28 00:47:01 2026.'),
    ).toBe(3600 + 2 * 60 + 3);
    expect(parseExpirationAge('Last metadata expiration check: 0:45:00 ago on Mon')).toBe(45 * 60);
    expect(parseExpirationAge('Last metadata expiration check: 1 day, 0:00:01 ago on Mon')).toBe(86401);
    expect(
      parseExpirationAge(
        'Updating\nLast metadata expiration check: 0:00:07 ago on Sat Nov 28 00:49:40 2026.\n',
      ),
    ).toBe(7);
    expect(parseExpirationAge('Metadata cache created.')).toBeNull();
    expect(parseExpirationAge('  Last metadata expiration check: 0:00:07 ago')).toBeNull();
  });

  it('reads the reasons needs-restarting gives and only trusts exit 0 and 1', () => {
    const text =
      'Core libraries or services have been updated since boot-up:\n  * kernel\n  * systemd\n\nReboot is required to fully utilize these updates.\nMore information: https://access.redhat.com/solutions/27943\n';
    expect(parseNeedsRestarting(text, 1)).toEqual({ rebootRequired: true, reasons: ['kernel', 'systemd'] });
    expect(parseNeedsRestarting(text, 2)).toEqual({ rebootRequired: null, reasons: [] });
    expect(parseNeedsRestarting('unavailable\n', 1)).toEqual({ rebootRequired: null, reasons: [] });
    expect(parseNeedsRestarting('  *   \n', 0)).toEqual({ rebootRequired: false, reasons: [] });
  });

  it('knows the rpm and dnf lock messages and nothing else', () => {
    for (const stderr of [
      'Waiting for process with pid 4242 to finish.',
      'Error: Failed to obtain the transaction lock (logged in as: root).',
      "error: can't create transaction lock on /var/lib/rpm/.rpm.lock (Resource temporarily unavailable)\nRPM database is locked",
      'Unable to acquire the lock',
      'lock file is held by pid 7',
    ])
      expect(isRpmLocked(stderr), stderr).toBe(true);
    expect(isRpmLocked('Error: Unable to find a match: pd-nothing')).toBe(false);
    expect(isRpmLocked(`${'x'.repeat(16384)}RPM database is locked`)).toBe(false);
  });

  it('splits NEVRAs only where a name, version, release and arch are all there', () => {
    expect(parseNevra('pd-kernel-5.14.0-2.noarch')).toEqual({
      name: 'pd-kernel',
      epoch: null,
      version: '5.14.0',
      release: '2',
      arch: 'noarch',
    });
    for (const bad of [
      '.x86_64',
      'a-1.x86_64',
      '-1-1.x86_64',
      'a--1.x86_64',
      'a-b:1-1.x86_64',
      'a-1-1.bad arch',
    ])
      expect(parseNevra(bad), bad).toBeNull();
    expect(parseNevra('a-1-1.x86_64')).toMatchObject({ name: 'a', version: '1', release: '1' });
  });

  it('reads yum 3 "Sec." rows, enhancement and newpackage types, and skips headers and junk', () => {
    const entries = parseUpdateinfoList(
      [
        'Loaded plugins: fastestmirror',
        'updateinfo list done',
        'RHSA-2024:1 Moderate/Sec. curl-7.29.0-59.el7_9.2.x86_64',
        'RHSA-2024:2 Sec.          kernel-3.10.0-1.el7.x86_64',
        'RHEA-2024:3 enhancement   vim-8.0-1.el7.x86_64',
        'RHBA-2024:4 newpackage    new-1.0-1.el7.noarch',
        'RHBA-2024:5 unspecified   old-1.0-1.el7.noarch',
        'RHBA-2024:6 weird         odd-1.0-1.el7.noarch',
        'RHSA-2024:7 Low/Sec.      not-a-nevra',
        'X a b c d e f g',
        'FEDORA-2024-2 bugfix none glibc-2.39-1.fc40.x86_64 2024-04-01 00:00:00',
      ].join('\n'),
    );
    expect(entries.map((e) => [e.id, e.type, e.severity, e.vendorSeverity, e.package.name])).toEqual([
      ['RHSA-2024:1', 'security', 'moderate', 'Moderate', 'curl'],
      ['RHSA-2024:2', 'security', null, null, 'kernel'],
      ['RHEA-2024:3', 'enhancement', null, null, 'vim'],
      ['RHBA-2024:4', 'newpackage', null, null, 'new'],
      ['RHBA-2024:5', 'unknown', null, null, 'old'],
      ['FEDORA-2024-2', 'bugfix', null, null, 'glibc'],
    ]);
  });

  it("skips dnf's metadata download lines, not the package lines after them (real lab capture)", () => {
    const progress = 'AlmaLinux 9 - AppStream (lab)   1.9 MB/s | 2.0 kB     00:00';
    expect(parseCheckUpdate(progress)).toEqual({ updates: [], rejected: [] });
    // The lab's dnf host, first audit (refresh): two such lines before the updates.
    const runs = loadRecording(fixturePath('dnf/lab-sources-refresh.collect.json')).runs;
    const framed = runs.map((r) => r.stdout).find((o) => o.includes(':begin:check\n'))!;
    const check = framed.split(/:begin:check\n/)[1]!.split('\n@@PATCHDECK:')[0]!;
    expect(check).toContain('Rocky Linux 9 - BaseOS (lab)                    1.9 MB/s | 2.0 kB     00:00');
    const { updates, rejected } = parseCheckUpdate(`${progress}\n${check}`);
    expect(rejected).toEqual([]);
    expect(updates.map((u) => `${u.name} ${u.version} ${u.repository}`)).toEqual([
      'acme-agent 3.1-1.el9 appstream',
      'acme-daemon 1:2.0-2.el9_3 appstream',
      'acme-firmware 20240210-1.el9 baseos',
      'acme-lib 2.1-1.el9 appstream',
      'acme-tool 1.1-1.el9 baseos',
    ]);
    // Other speeds, sizes and times; a line that only looks alike is still judged as a row.
    expect(
      parseCheckUpdate(
        [
          'Extra Packages for Enterprise Linux 9 - x86_64   12 MB/s |  20 MB     00:01',
          'local  --- B/s |   0  B     --:--',
          'pd-tool.noarch 1.1-1 pdlab',
        ].join('\n'),
      ),
    ).toEqual({
      updates: [{ name: 'pd-tool', arch: 'noarch', version: '1.1-1', repository: 'pdlab' }],
      rejected: [],
    });
    expect(parseCheckUpdate('1.9 MB/s | 2.0 kB 00:00').rejected).toHaveLength(1);
  });

  it('rejects check-update rows that are not name.arch version repo', () => {
    const { updates, rejected } = parseCheckUpdate(
      [
        'Last metadata expiration check: 0:00:03 ago on Sat Nov 28 00:49:40 2026.',
        '',
        'pd-tool.noarch 1.1-1 pdlab extra',
        'noarch-only 1.1-1 pdlab',
        'pd-lib.noarch 2.1-1 bad/repo',
        'pd-kernel.noarch',
        '    5.14.0-2 pdlab',
        'Obsoleting Packages',
        'new-name.noarch 2-1 pdlab',
        '    old-name.noarch 1-1 @System',
      ].join('\n'),
    );
    expect(updates).toEqual([
      { name: 'pd-kernel', arch: 'noarch', version: '5.14.0-2', repository: 'pdlab' },
      { name: 'new-name', arch: 'noarch', version: '2-1', repository: 'pdlab', obsoletes: 'old-name' },
    ]);
    expect(rejected).toEqual([
      'pd-tool.noarch 1.1-1 pdlab extra',
      'noarch-only 1.1-1 pdlab',
      'pd-lib.noarch 2.1-1 bad/repo',
    ]);
  });
});
