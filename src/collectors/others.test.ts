import { describe, expect, it } from 'vitest';
import { collect as pacmanCollect, parsePacmanUpdates } from './pacman/index';
import { collect as apkCollect, parseApkVersion, splitApkPackage } from './apk/index';
import { collect as macCollect, parseSoftwareUpdateList } from './macos/index';
import { buildWindowsUpdateCommand, collect as winCollect, parseWuaOutput } from './windows/index';
import { fixture, fixturePath } from './testing/fixtures';
import { loadRecording, replayExec, sectionExec } from './testing/exec';

const rawExec = (stdout: string, stderr = '', code: number | null = 0) => ({
  run: () => Promise.resolve({ stdout, stderr, code }),
});

describe('pacman (real pacman 6.0.2, throwaway root)', () => {
  it('parses -Qu with and without [ignored]', () => {
    expect(parsePacmanUpdates(fixture('pacman/lab.pacman-Qu.stdout'))).toEqual([
      { name: 'pd-lib', installedVersion: '2.0-1', availableVersion: '2.1-1', ignored: false },
      { name: 'pd-tool', installedVersion: '1.0-1', availableVersion: '1.1-1', ignored: false },
    ]);
    expect(parsePacmanUpdates(fixture('pacman/lab-ignore.pacman-Qu.stdout'))[0]).toMatchObject({
      name: 'pd-lib',
      ignored: true,
    });
    expect(parsePacmanUpdates('$(x) 1-1 -> 2-1\nok 1:2.0-1 -> 1:2.1-1 [evil]\n')).toEqual([]);
  });

  it('replays the collector run and classifies the lock', async () => {
    const result = await pacmanCollect(
      replayExec(loadRecording(fixturePath('pacman/lab-refresh.collect.json')).runs),
      { refresh: true },
    );
    expect(result.updates.map((u) => [u.name, u.held])).toEqual([
      ['pd-lib', true],
      ['pd-tool', false],
    ]);
    const none = sectionExec(() => [
      { name: 'tool', stdout: 'pacman\n', code: 0 },
      { name: 'updates', stdout: fixture('pacman/lab-none.pacman-Qu.stdout'), code: 1 },
    ]);
    expect((await pacmanCollect(none, { refresh: false })).updates).toEqual([]);
    const locked = sectionExec(() => [
      { name: 'tool', stdout: 'pacman\n', code: 0 },
      { name: 'refresh', stdout: '', stderr: fixture('pacman/locked.pacman-Sy.stderr'), code: 1 },
      { name: 'updates', stdout: '', code: 1 },
    ]);
    await expect(pacmanCollect(locked, { refresh: true })).rejects.toMatchObject({
      kind: 'package-manager-locked',
    });
  });
});

describe('apk (published real outputs)', () => {
  it('parses apk version -l "<"', () => {
    const updates = parseApkVersion(fixture('apk/alpine-3.18-to-3.21.apk-version-l.stdout'));
    expect(updates).toHaveLength(14);
    expect(updates[0]).toEqual({
      name: 'alpine-baselayout',
      installedVersion: '3.4.3-r1',
      availableVersion: '3.6.8-r1',
    });
    expect(updates.find((u) => u.name === 'ca-certificates-bundle')).toMatchObject({
      installedVersion: '20241121-r1',
    });
    expect(parseApkVersion(fixture('apk/vuls.apk-version-l.stdout')).map((u) => u.name)).toEqual([
      'libcrypto1.0',
      'libssl1.0',
      'nrpe',
    ]);
    expect(splitApkPackage(`${'a-'.repeat(5000)}1-r0`)).toBeNull();
    expect(splitApkPackage('py3-a-b-1.0-r2')).toEqual({ name: 'py3-a-b', version: '1.0-r2' });
    expect(splitApkPackage('no-release')).toBeNull();
  });

  it('collects through the framed script', async () => {
    const exec = sectionExec(() => [
      { name: 'updates', stdout: fixture('apk/vuls.apk-version-l.stdout'), code: 0 },
      { name: 'reboot', stdout: 'running-kernel-installed\n', code: 0 },
      { name: 'age', stdout: '1700000100\n1700000000\n', code: 0 },
    ]);
    const result = await apkCollect(exec, { refresh: false });
    expect(exec.asked[0]!.command).toContain("apk version -l '<'");
    expect(result).toMatchObject({ packageManager: 'apk', rebootRequired: false, metadataAgeSeconds: 100 });
    expect(result.updates).toHaveLength(3);
    const locked = sectionExec(() => [
      {
        name: 'updates',
        stdout: '',
        stderr: 'ERROR: Unable to lock database: Resource temporarily unavailable',
        code: 99,
      },
    ]);
    await expect(apkCollect(locked, { refresh: false })).rejects.toMatchObject({
      kind: 'package-manager-locked',
    });
  });
});

describe('macOS softwareupdate (published real outputs)', () => {
  it('parses the modern format with restart actions', () => {
    const items = parseSoftwareUpdateList(fixture('macos/tahoe-26.7.softwareupdate-list.stdout'));
    expect(items.map((i) => [i.label, i.version, i.restart])).toEqual([
      ['macOS 27-26A428', '27', true],
      ['macOS Tahoe 26.7.1-25H300', '26.7.1', true],
      ['macOS Tahoe 26.7.1 (a)-25H300a', '26.7.1 (a)', true],
      ['Safari27.0TahoeAuto-27.0', '27.0', false],
      ['Command Line Tools for Xcode 27.0-27.0', '27.0', false],
    ]);
    expect(parseSoftwareUpdateList(fixture('macos/tahoe-26.6.softwareupdate-list.stdout'))).toHaveLength(1);
  });

  it('parses the legacy format', () => {
    expect(parseSoftwareUpdateList(fixture('macos/legacy.softwareupdate-list.stdout'))).toEqual([
      {
        label: 'MacBookAirEFIUpdate2.4-2.4',
        title: 'MacBook Air EFI Firmware Update',
        version: '2.4',
        recommended: true,
        restart: true,
      },
      {
        label: 'ProAppsQTCodecs-1.0',
        title: 'ProApps QuickTime codecs',
        version: '1.0',
        recommended: true,
        restart: false,
      },
      {
        label: 'JavaForOSX-1.0',
        title: 'Java for OS X 2012-005',
        version: '1.0',
        recommended: true,
        restart: false,
      },
    ]);
  });

  it('collects, and refuses to call unrecognised output "up to date"', async () => {
    const exec = sectionExec(() => [
      { name: 'list', stdout: fixture('macos/tahoe-26.6.softwareupdate-list.stdout'), code: 0 },
      { name: 'age', stdout: '1700003600\n2023-11-14 21:13:20 +0000\n', code: 0 },
    ]);
    const result = await macCollect(exec, { refresh: false });
    expect(exec.asked[0]!.command).toContain('softwareupdate --list --no-scan');
    expect(result.updates[0]).toMatchObject({
      name: 'macOS Tahoe 26.6-25G72',
      availableVersion: '26.6',
      rebootRequired: true,
      kind: 'patch',
    });
    expect(result.metadataAgeSeconds).toBe(1700003600 - Date.parse('2023-11-14T21:13:20+00:00') / 1000);
    const none = sectionExec(() => [
      {
        name: 'list',
        stdout: 'Software Update Tool\n\nFinding available software\n',
        stderr: 'No new software available.\n',
        code: 0,
      },
    ]);
    expect((await macCollect(none, { refresh: true })).updates).toEqual([]);
    const odd = sectionExec(() => [
      { name: 'list', stdout: 'Something Apple has not printed before\n', code: 0 },
    ]);
    await expect(macCollect(odd, { refresh: false })).rejects.toMatchObject({ kind: 'command-failed' });
  });
});

describe('Windows Update', () => {
  it('sends one encoded PowerShell command that searches IsInstalled=0', () => {
    const command = buildWindowsUpdateCommand(false);
    const script = Buffer.from(command.split(' ').pop()!, 'base64').toString('utf16le');
    expect(script).toContain("Search('IsInstalled=0 and IsHidden=0')");
    expect(script).toContain('$searcher.Online=$false');
    expect(script).toContain('MsrcSeverity');
  });

  it('turns the WUA JSON into KB findings (synthetic fixture)', async () => {
    const result = await winCollect(rawExec(fixture('windows/synthetic-wua-search.stdout')), {
      refresh: false,
    });
    expect(
      result.updates.map((u) => [u.name, u.security, u.severity, u.vendorSeverity, u.rebootRequired, u.kind]),
    ).toEqual([
      ['KB5034123', true, 'critical', 'Critical', true, 'kb'],
      ['KB2267602', false, null, null, false, 'kb'],
    ]);
    expect(result.updates[0]!.advisories).toEqual(['KB5034123', 'CVE-2024-20674']);
    expect(result.metadataAgeSeconds).toBe(3600);
  });

  it('says clearly when Windows refuses the search remotely (real published stderr)', async () => {
    const fromJson = await winCollect(rawExec(fixture('windows/synthetic-wua-refused.stdout')), {
      refresh: false,
    }).catch((e: unknown) => e);
    expect(fromJson).toMatchObject({
      kind: 'refused',
      message: expect.stringMatching(/refused.*0x80070005/),
    });
    for (const file of [
      'windows/win32-openssh-2083.access-denied.stderr',
      'windows/pswindowsupdate-65.access-denied.stderr',
    ]) {
      await expect(winCollect(rawExec('', fixture(file), 1), { refresh: false })).rejects.toMatchObject({
        kind: 'refused',
      });
    }
    await expect(winCollect(rawExec('garbage'), { refresh: false })).rejects.toMatchObject({
      kind: 'command-failed',
    });
  });

  it('survives hostile JSON', () => {
    expect(
      parseWuaOutput('PATCHDECK-WUA-JSON:{"updates":{"title":"x\\u001b[2J","kb":["1234567","$(id)"]}}')!
        .updates,
    ).toHaveLength(1);
    expect(parseWuaOutput('PATCHDECK-WUA-JSON:[1,2')).toBeNull();
  });
});
