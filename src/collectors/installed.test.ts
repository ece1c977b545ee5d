import { describe, expect, it } from 'vitest';
import {
  parseApkInstalledDb,
  parseAptCacheSources,
  parseDpkgInstalled,
  parsePacmanInstalled,
  parseRpmQa,
  parseZypperInfoSources,
  splitSourceRpm,
  withSourcePackages,
} from './installed';
import { collectorFor } from './pick';
import { parseCollectedOutput } from './offline';
import { loadRecording, replayExec, sectionExec, type Recording } from './testing/exec';
import { fixture, fixturePath } from './testing/fixtures';
import {
  MAX_INSTALLED_PACKAGES,
  type CollectorResult,
  type PackageManager,
  type PendingUpdate,
} from './types';
import { splitSections } from './util';

/** One section's stdout as the host printed it in a recording (its first and only framed run). */
function sectionOf(recording: Recording, name: string): string {
  const run = recording.runs.find((r) => r.command.includes(`:begin:${name}'`))!;
  const nonce = /@@PATCHDECK:([0-9a-f]+):/.exec(run.command)![1]!;
  return splitSections(run.stdout, run.stderr, nonce).get(name)!.stdout;
}

async function replay(pm: PackageManager, file: string, refresh = false): Promise<CollectorResult> {
  return collectorFor(pm).collect(replayExec(loadRecording(fixturePath(file)).runs), { refresh });
}

const byName = (result: CollectorResult, name: string): PendingUpdate =>
  result.updates.find((u) => u.name === name)!;

describe('dpkg: this machine (Debian 12, dpkg-query 1.21.23, apt 2.6.2)', () => {
  const file = 'apt/debian-12-self-sources.collect.json';

  it('records the whole installed set with source names and versions', async () => {
    const result = await replay('apt', file);
    const dpkgLines = sectionOf(loadRecording(fixturePath(file)), 'installed')
      .split('\n')
      .filter((l) => l.startsWith('ii '));
    expect(dpkgLines.length).toBeGreaterThan(800);
    expect(result.installed).toHaveLength(dpkgLines.length);
    const installed = new Map(result.installed!.map((p) => [`${p.name}:${p.arch}`, p]));
    // A binary built from a differently named source, and a binNMU (+b8) of a source without it.
    expect(installed.get('bsdutils:amd64')).toEqual({
      name: 'bsdutils',
      arch: 'amd64',
      version: '1:2.38.1-5+deb12u3',
      sourceName: 'util-linux',
      sourceVersion: '2.38.1-5+deb12u3',
    });
    expect(installed.get('bash:amd64')).toMatchObject({ version: '5.2.15-2+b8', sourceVersion: '5.2.15-2' });
    expect(installed.get('cpp:amd64')).toMatchObject({ sourceName: 'gcc-defaults', sourceVersion: '1.203' });
  });

  it("gives every pending update its source package: installed from dpkg, available from apt-cache show's Source line", async () => {
    const result = await replay('apt', file);
    expect(result.updates.length).toBeGreaterThan(100);
    for (const u of result.updates) {
      expect(u.sourceName, u.name).toMatch(/^[a-z0-9]/);
      expect(u.sourceAvailableVersion, u.name).not.toBeNull();
    }
    // `Source: shadow` (no version): source at the binary's version.
    expect(byName(result, 'login')).toMatchObject({
      sourceName: 'shadow',
      sourceInstalledVersion: '1:4.13+dfsg1-1+deb12u1',
      sourceAvailableVersion: '1:4.13+dfsg1-1+deb12u2',
    });
    // `Source: bash (5.2.15-2)`: a binNMU's source keeps its own version.
    expect(byName(result, 'bash')).toMatchObject({
      installedVersion: '5.2.15-2+b8',
      availableVersion: '5.2.15-2+b13',
      sourceName: 'bash',
      sourceInstalledVersion: '5.2.15-2',
      sourceAvailableVersion: '5.2.15-2',
    });
    // No Source line: the source is the binary, name and version.
    expect(byName(result, 'base-files')).toMatchObject({
      sourceName: 'base-files',
      sourceAvailableVersion: '12.4+deb12u15',
    });
  });
});

describe('dpkg: the lab apt host (profile several)', () => {
  it('carries the new dependency (nothing installed) with its candidate source only', async () => {
    const result = await replay('apt', 'apt/lab-several-sources.collect.json');
    expect(result.installed!.length).toBeGreaterThan(100);
    expect(result.installed!.find((p) => p.name === 'acme-tool')).toEqual({
      name: 'acme-tool',
      arch: 'all',
      version: '1.0-1',
      sourceName: 'acme-tool',
      sourceVersion: '1.0-1',
    });
    expect(byName(result, 'acme-agent-plugins')).toMatchObject({
      installedVersion: null,
      sourceName: 'acme-agent-plugins',
      sourceInstalledVersion: null,
      sourceAvailableVersion: '3.1-1',
    });
    // Held (from apt-cache policy, not an Inst line) still gets its source.
    expect(byName(result, 'acme-held')).toMatchObject({
      held: true,
      sourceName: 'acme-held',
      sourceInstalledVersion: '5.0-1',
      sourceAvailableVersion: '5.0-1+deb12u1',
    });
    expect(byName(result, 'acme-daemon')).toMatchObject({
      sourceInstalledVersion: '1:2.1~rc1-1',
      sourceAvailableVersion: '1:2.1-1',
    });
  });

  it('skips packages dpkg keeps only as config files, and states other than installed stay', () => {
    const set = parseDpkgInstalled(
      [
        'rc \told\tamd64\t1.0-1\told\t1.0-1',
        'iF \tacme-flaky\tall\t1.2-1\tacme-flaky\t1.2-1',
        'ii \tx\tall\t1\t\t',
      ].join('\n'),
    );
    expect(set.packages.map((p) => p.name)).toEqual(['acme-flaky', 'x']);
    // Empty source fields: the binary is its own source.
    expect(set.packages[1]).toMatchObject({ sourceName: 'x', sourceVersion: '1' });
  });
});

describe('rpm: the lab dnf host (dnf 4.14.0, rpm 4.18.0)', () => {
  it('reads the installed set with source rpms and the updates’ own source rpms from dnf repoquery', async () => {
    const result = await replay('dnf', 'dnf/lab-sources-refresh.collect.json', true);
    expect(result.installed).toHaveLength(6);
    expect(result.installed!.find((p) => p.name === 'acme-daemon')).toEqual({
      name: 'acme-daemon',
      arch: 'noarch',
      version: '1:2.0-1.el9',
      sourceName: 'acme-daemon',
      sourceVersion: '1:2.0-1.el9',
    });
    expect(result.updates).toHaveLength(5);
    for (const u of result.updates) expect(u.sourceName).toBe(u.name);
    // Epoch from the binary; version-release from the source rpm's file name.
    expect(byName(result, 'acme-daemon')).toMatchObject({
      sourceInstalledVersion: '1:2.0-1.el9',
      sourceAvailableVersion: '1:2.0-2.el9_3',
    });
    expect(byName(result, 'acme-tool')).toMatchObject({
      installedVersion: '1.0-1.el9',
      sourceInstalledVersion: '1.0-1.el9',
      sourceAvailableVersion: '1.1-1.el9',
    });
  });

  it('still reads older recordings whose installed section had no source rpms', async () => {
    const result = await replay('dnf', 'dnf/lab-cached.collect.json');
    expect(result.installed).toBeUndefined();
    expect(result.updates.length).toBeGreaterThan(0);
    expect(result.updates.every((u) => u.installedVersion !== null && u.sourceName === undefined)).toBe(true);
  });
});

describe('rpm: the lab zypper host (zypper 1.14.42)', () => {
  it("takes each update's source package from zypper info", async () => {
    const result = await replay('zypper', 'zypper/lab-sources.collect.json');
    expect(result.installed).toHaveLength(6);
    expect(byName(result, 'acme-daemon')).toMatchObject({
      installedVersion: '1:2.0-1.el9',
      availableVersion: '1:2.0-2.el9_3',
      sourceName: 'acme-daemon',
      sourceInstalledVersion: '1:2.0-1.el9',
      sourceAvailableVersion: '1:2.0-2.el9_3',
    });
    const info = parseZypperInfoSources(
      sectionOf(loadRecording(fixturePath('zypper/lab-sources.collect.json')), 'sources'),
    );
    expect(info.map((c) => c.name).sort()).toEqual([
      'acme-agent',
      'acme-daemon',
      'acme-firmware',
      'acme-lib',
      'acme-tool',
    ]);
  });
});

describe('rpm: real SOURCERPM values (CentOS 7, osconfig test data)', () => {
  // osconfig JSON-ised `rpm -qa`; put back into the six tab-separated fields our query prints.
  const rows = fixture('yum/centos-7-1.rpm-query-all.stdout')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(
      (l) => JSON.parse(l) as { architecture: string; package: string; source_name: string; version: string },
    );
  const text = rows
    .map((r) => {
      const colon = r.version.indexOf(':');
      const epoch = colon < 0 ? '(none)' : r.version.slice(0, colon);
      const vr = colon < 0 ? r.version : r.version.slice(colon + 1);
      const dash = vr.lastIndexOf('-');
      return [r.package, epoch, vr.slice(0, dash), vr.slice(dash + 1), r.architecture, r.source_name].join(
        '\t',
      );
    })
    .join('\n');

  it('splits every source rpm at its last two dashes and keeps the binary epoch', () => {
    const set = parseRpmQa(text);
    expect(set.warnings).toEqual([]);
    expect(set.packages).toHaveLength(rows.length);
    const get = (name: string) => set.packages.find((p) => p.name === name)!;
    expect(get('kbd-misc')).toMatchObject({ sourceName: 'kbd', sourceVersion: '1.15.5-16.el7_9' });
    expect(get('grub2-common')).toMatchObject({
      version: '1:2.02-0.87.0.2.el7.centos.11',
      sourceName: 'grub2',
      sourceVersion: '1:2.02-0.87.0.2.el7.centos.11',
    });
    // Every package but the imported signing keys (gpg-pubkey, no source rpm) has its source.
    for (const p of set.packages)
      if (p.name === 'gpg-pubkey') expect(p.sourceName).toBeNull();
      else expect(p.sourceName, p.name).not.toBeNull();
  });

  it('keeps several installed versions of one name (kernels) and has no source for gpg-pubkey', () => {
    const set = parseRpmQa(
      [
        'kernel\t(none)\t5.14.0\t362.8.1.el9_3\tx86_64\tkernel-5.14.0-362.8.1.el9_3.src.rpm',
        'kernel\t(none)\t5.14.0\t427.13.1.el9_4\tx86_64\tkernel-5.14.0-427.13.1.el9_4.src.rpm',
        'gpg-pubkey\t(none)\tfd431d51\t4ae0493b\t(none)\t(none)',
      ].join('\n'),
    );
    expect(set.packages.map((p) => `${p.name} ${p.version}`)).toEqual([
      'kernel 5.14.0-362.8.1.el9_3',
      'kernel 5.14.0-427.13.1.el9_4',
      'gpg-pubkey fd431d51-4ae0493b',
    ]);
    expect(set.packages[2]).toMatchObject({ arch: null, sourceName: null, sourceVersion: null });
    expect(splitSourceRpm('(none)')).toBeNull();
    expect(splitSourceRpm('nodash.src.rpm')).toBeNull();
  });
});

describe('apk (constructed installed database, documented format)', () => {
  const db = fixture('apk/constructed.lib-apk-db-installed.txt');

  it('reads each package’s origin as its source', () => {
    const set = parseApkInstalledDb(db);
    expect(set.packages.map((p) => [p.name, p.sourceName])).toEqual([
      ['musl', 'musl'],
      ['busybox', 'busybox'],
      ['ssl_client', 'busybox'],
      ['libcrypto3', 'openssl'],
      ['libssl3', 'openssl'],
      ['alpine-baselayout-data', 'alpine-baselayout'],
    ]);
    expect(set.packages[3]).toEqual({
      name: 'libcrypto3',
      arch: 'x86_64',
      version: '3.3.2-r0',
      sourceName: 'openssl',
      sourceVersion: '3.3.2-r0',
    });
  });

  it('the collector puts origins on the updates (the filtered lines its section prints)', async () => {
    const filtered = db
      .split('\n')
      .filter((l) => /^[PVAo]:/.test(l))
      .join('\n');
    const exec = sectionExec(() => [
      {
        name: 'updates',
        stdout:
          'Installed:                                Available:\nlibssl3-3.3.2-r0                        < 3.3.2-r1\nssl_client-1.36.1-r29                   < 1.36.1-r30\n',
        code: 0,
      },
      { name: 'installed', stdout: filtered, code: 0 },
      { name: 'reboot', stdout: 'running-kernel-installed', code: 0 },
      { name: 'age', stdout: '', code: 0 },
    ]);
    const result = await collectorFor('apk').collect(exec, { refresh: false });
    expect(exec.asked[0]!.command).toContain("grep -E '^[PVAo]:' /lib/apk/db/installed");
    expect(result.installed).toHaveLength(6);
    expect(byName(result, 'libssl3')).toMatchObject({
      sourceName: 'openssl',
      sourceInstalledVersion: '3.3.2-r0',
      sourceAvailableVersion: '3.3.2-r1',
    });
    expect(byName(result, 'ssl_client')).toMatchObject({ sourceName: 'busybox' });
  });
});

describe('pacman -Q', () => {
  it('reads names and versions, no source names', () => {
    const set = parsePacmanInstalled('linux 6.9.7.arch1-1\nopenssl 3.3.1-1\nnot a package line\n');
    expect(set.packages).toEqual([
      { name: 'linux', arch: null, version: '6.9.7.arch1-1', sourceName: null, sourceVersion: null },
      { name: 'openssl', arch: null, version: '3.3.1-1', sourceName: null, sourceVersion: null },
    ]);
    expect(set.warnings).toEqual([
      '1 line of the installed-package list was not a valid package and was skipped',
    ]);
  });
});

describe('hostile output', () => {
  it(`keeps at most ${MAX_INSTALLED_PACKAGES} packages and says how many it left out`, () => {
    const text = Array.from(
      { length: MAX_INSTALLED_PACKAGES + 5 },
      (_, i) => `ii \tp${i}\tamd64\t1.0-${i}\tsrc${i}\t1.0-${i}`,
    ).join('\n');
    const set = parseDpkgInstalled(text);
    expect(set.packages).toHaveLength(MAX_INSTALLED_PACKAGES);
    expect(set.warnings).toEqual([
      `dpkg-query lists more than ${MAX_INSTALLED_PACKAGES} installed packages; Patchdeck recorded the first ${MAX_INSTALLED_PACKAGES} and left 5 out, so unfixed advisories of those are not listed`,
    ]);
  });

  it('refuses names, versions and sources that are no package: shell text, control characters, huge fields', () => {
    const set = parseDpkgInstalled(
      [
        'ii \t$(reboot)\tamd64\t1.0\tx\t1.0',
        'ii \tok\tamd64\t1.0\t;rm -rf /\t1.0',
        `ii \tbig\tamd64\t${'9'.repeat(300)}\tbig\t1`,
        'ii \ttabs\tamd64\t1.0\tsrc\t1.0\textra',
        'ii \tesc\u001b[31m\tamd64\t1.0\tesc\t1.0',
        `ii \t${'a'.repeat(20_000)}\tamd64\t1\ta\t1`,
      ].join('\n'),
    );
    // The bad source name falls back to the binary's own name; every other line is skipped.
    expect(set.packages).toEqual([
      { name: 'ok', arch: 'amd64', version: '1.0', sourceName: 'ok', sourceVersion: '1.0' },
    ]);
    expect(set.warnings).toEqual([
      '4 lines of the installed-package list were not a valid package and were skipped',
    ]);
    expect(parseRpmQa('a\t1; reboot\t1\t1\tx86_64\ta-1-1.src.rpm').packages).toEqual([]);
    expect(parseAptCacheSources('Package: x\nVersion: 1\nSource: $(id) (1)\n')).toEqual([
      { name: 'x', arch: null, version: '1', sourceName: 'x', sourceVersion: '1' },
    ]);
    expect(parseAptCacheSources('Package: x\nVersion: 1\nSource: y (v;1)\n')[0]).toMatchObject({
      sourceName: 'y',
      sourceVersion: '1',
    });
  });

  it('matches sources by version: an installed record of another version gives no source version', () => {
    const update: PendingUpdate = {
      name: 'kernel',
      arch: 'x86_64',
      installedVersion: '5.14.0-2',
      availableVersion: '5.14.0-3',
      repository: null,
      security: true,
      severity: null,
      vendorSeverity: null,
      advisories: [],
      held: false,
      phased: false,
      rebootRequired: null,
      kind: 'package',
    };
    const installed = [
      {
        name: 'kernel',
        arch: 'x86_64',
        version: '5.14.0-1',
        sourceName: 'kernel',
        sourceVersion: '5.14.0-1',
      },
      {
        name: 'kernel',
        arch: 'x86_64',
        version: '5.14.0-2',
        sourceName: 'kernel',
        sourceVersion: '5.14.0-2',
      },
    ];
    expect(withSourcePackages([update], installed, [])[0]).toMatchObject({
      sourceName: 'kernel',
      sourceInstalledVersion: '5.14.0-2',
      sourceAvailableVersion: null,
    });
    // Neither installed version matches: no source is guessed.
    const unknown = { ...update, installedVersion: '5.14.0-9' };
    expect(withSourcePackages([unknown], installed, [])[0]).toBe(unknown);
  });
});

describe('a failing list', () => {
  it('records no installed set and says so when dpkg-query fails, instead of an empty one', async () => {
    const exec = sectionExec(() => [
      { name: 'lists', stdout: 'present', code: 0 },
      {
        name: 'sim',
        stdout: 'Inst acme-tool [1.0-1] (1.0-1+deb12u1 Debian-Security:12/stable-security [all])',
        code: 0,
      },
      { name: 'held', stdout: '', code: 0 },
      { name: 'policy', stdout: '', code: 0 },
      { name: 'installed', stdout: '', stderr: 'dpkg-query: error: parsing file', code: 2 },
      { name: 'sources', stdout: '', code: 0 },
      { name: 'reboot', stdout: '', code: 0 },
      { name: 'age', stdout: '', code: 0 },
    ]);
    const result = await collectorFor('apt').collect(exec, { refresh: false });
    expect(result.installed).toBeUndefined();
    expect(result.warnings).toContain(
      'dpkg-query (the installed packages) failed (exit 2); this audit has no such list',
    );
    // The update keeps no source it could not learn.
    expect(result.updates).toHaveLength(1);
    expect(result.updates[0]!.sourceName).toBeUndefined();
  });
});

describe('offline collection', () => {
  it('the script collects the same: a real run on this machine yields the installed set and sources', async () => {
    const collected = await parseCollectedOutput(fixture('offline/debian-12-self-sources.root.txt'));
    expect(collected.result.installed!.length).toBeGreaterThan(800);
    expect(collected.result.installed!.find((p) => p.name === 'bsdutils')).toMatchObject({
      sourceName: 'util-linux',
    });
    expect(collected.result.updates.find((u) => u.name === 'login')).toMatchObject({
      sourceName: 'shadow',
      sourceAvailableVersion: '1:4.13+dfsg1-1+deb12u2',
    });
  });

  it('a collection made before the installed set was read still imports, without one', async () => {
    const collected = await parseCollectedOutput(fixture('offline/debian-12-self.root.txt'));
    expect(collected.result.updates.length).toBe(114);
    expect(collected.result.installed).toBeUndefined();
    expect(collected.result.updates.every((u) => u.sourceName === undefined)).toBe(true);
  });
});
