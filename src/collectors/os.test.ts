import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { hostname } from 'node:os';
import {
  detectOs,
  osInfoFromPosix,
  parseHostname,
  parseOsRelease,
  parseSwVers,
  parseUname,
  parseWindowsOs,
} from './os';
import { packageManagerFor } from './pick';
import { fixture, fixturePath } from './testing/fixtures';
import { loadRecording, replayExec } from './testing/exec';
import { CollectorError } from './types';

const fromRelease = (file: string, uname = 'Linux 5.15.0 x86_64') =>
  osInfoFromPosix(parseOsRelease(fixture(`os/${file}`)), parseUname(uname), null);

describe('os-release (real files)', () => {
  it('parses this machine and picks apt', () => {
    const os = osInfoFromPosix(
      parseOsRelease(fixture('os/debian-12-self.os-release')),
      parseUname(fixture('os/debian-12-self.uname')),
      null,
    );
    expect(os).toMatchObject({
      family: 'linux',
      id: 'debian',
      versionId: '12',
      prettyName: 'Debian GNU/Linux 12 (bookworm)',
      arch: 'x86_64',
    });
    expect(packageManagerFor(os)).toBe('apt');
  });

  it('maps distributions to package managers (ansible fixtures)', () => {
    expect(packageManagerFor(fromRelease('ubuntu-18.04.os-release'))).toBe('apt');
    const rocky = fromRelease('rocky-8.3.os-release');
    expect(rocky).toMatchObject({ id: 'rocky', versionId: '8.3', idLike: ['rhel', 'fedora'] });
    expect(packageManagerFor(rocky)).toBe('dnf');
    expect(packageManagerFor(fromRelease('amazon-linux-2.os-release'))).toBe('yum');
    expect(packageManagerFor(fromRelease('opensuse-leap-15.1.os-release'))).toBe('zypper');
    const arch = fromRelease('archlinux.os-release');
    expect(arch.versionId).toBeNull();
    expect(packageManagerFor(arch)).toBe('pacman');
    expect(packageManagerFor(osInfoFromPosix({ ID: 'alpine', VERSION_ID: '3.19.1' }, null, null))).toBe(
      'apk',
    );
  });

  it('refuses unknown systems with a classified error', () => {
    const os = osInfoFromPosix({ ID: 'plan9' }, null, null);
    expect(() => packageManagerFor(os)).toThrow(CollectorError);
  });

  it('handles quoting and hostile values', () => {
    const parsed = parseOsRelease(
      `NAME="A \\"quoted\\" name"\nID='single'\nPRETTY_NAME="evil\u001b]0;title\u0007"\nlower=x\n=y\nVERSION_ID=${'9'.repeat(20_000)}\n`,
    );
    expect(parsed.NAME).toBe('A "quoted" name');
    expect(parsed.ID).toBe('single');
    expect(parsed.PRETTY_NAME).toBe('evil\\x1b]0;title\\x07');
    expect(parsed.lower).toBeUndefined();
    expect(parsed.VERSION_ID).toBeUndefined();
  });
});

describe('macOS and uname', () => {
  it('parses sw_vers (published output, asteris-llc/converge)', () => {
    const sw = parseSwVers(fixture('os/macos-10.11.6.sw_vers'));
    expect(sw).toMatchObject({ productName: 'Mac OS X', productVersion: '10.11.6', buildVersion: '15G31' });
    const os = osInfoFromPosix({}, parseUname('Darwin 15.6.0 x86_64'), sw);
    expect(os).toMatchObject({
      family: 'macos',
      id: 'macos',
      versionId: '10.11.6',
      prettyName: 'Mac OS X 10.11.6 (15G31)',
      kernel: '15.6.0',
    });
    expect(packageManagerFor(os)).toBe('softwareupdate');
  });

  it('parses uname for BSD and rejects garbage', () => {
    expect(osInfoFromPosix({}, parseUname('FreeBSD 14.0-RELEASE amd64'), null).family).toBe('bsd');
    expect(parseUname('\u0000\u0001')).toBeNull();
    expect(parseUname('')).toBeNull();
  });
});

describe('Windows', () => {
  it('parses the detection JSON', () => {
    const os = parseWindowsOs(
      '{"Caption":"Microsoft Windows Server 2022 Standard","Version":"10.0.20348","BuildNumber":"20348","OSArchitecture":"64-bit","DisplayVersion":"21H2","UBR":2227}\r\n',
    );
    expect(os).toMatchObject({
      family: 'windows',
      versionId: '10.0.20348',
      kernel: '10.0.20348.2227',
      arch: 'x86_64',
      name: 'Windows Server 2022 Standard',
    });
    expect(packageManagerFor(os!)).toBe('windows-update');
    expect(parseWindowsOs('not json {')).toBeNull();
    expect(parseWindowsOs('{"Caption": 5}')).toMatchObject({ name: 'Windows' });
    expect(parseWindowsOs('{"Caption":"Microsoft Windows 11 Pro","CSName":"WS-ACCT-07"}')?.hostname).toBe(
      'WS-ACCT-07',
    );
  });
});

describe('the host’s own name', () => {
  it('is the first line of uname -n, bounded; whether it is usable is decided where it is stored', () => {
    expect(parseHostname('lab01\n')).toBe('lab01');
    expect(parseHostname('  web01.example.lan  \nsecond line')).toBe('web01.example.lan');
    expect(parseHostname('')).toBeNull();
    expect(parseHostname('x'.repeat(254))).toBeNull();
  });

  it('comes back from a real POSIX detection, run by this machine’s /bin/sh', async () => {
    const exec = {
      run: (command: string) =>
        new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve, reject) =>
          execFile('/bin/sh', ['-c', command], { encoding: 'utf8' }, (error, stdout, stderr) =>
            error && typeof error.code !== 'number'
              ? reject(error)
              : resolve({ stdout, stderr, code: error ? Number(error.code) : 0 }),
          ),
        ),
    };
    const os = await detectOs(exec);
    expect(os.hostname).toBe(hostname());
  });
});

describe('detectOs()', () => {
  it('replays the real POSIX run on this machine in one round-trip', async () => {
    const exec = replayExec(loadRecording(fixturePath('os/debian-12-self.detect.json')).runs);
    const os = await detectOs(exec);
    expect(exec.asked).toHaveLength(1);
    expect(os).toMatchObject({ family: 'linux', id: 'debian', versionId: '12' });
  });

  it('falls back to PowerShell when the remote shell is not POSIX', async () => {
    const answers = [
      {
        stdout: '',
        stderr:
          "'export' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n",
        code: 1,
      },
      {
        stdout: '{"Caption":"Microsoft Windows 11 Pro","Version":"10.0.22631","OSArchitecture":"64-bit"}\r\n',
        stderr: '',
        code: 0,
      },
    ];
    const asked: string[] = [];
    const exec = { run: (command: string) => (asked.push(command), Promise.resolve(answers.shift()!)) };
    const os = await detectOs(exec);
    expect(os).toMatchObject({ family: 'windows', name: 'Windows 11 Pro' });
    expect(asked[1]).toMatch(/^powershell\.exe .* -EncodedCommand [A-Za-z0-9+/=]+$/);
    const decoded = Buffer.from(asked[1]!.split(' ').pop()!, 'base64').toString('utf16le');
    expect(decoded).toContain('Win32_OperatingSystem');
  });

  it('gives up with unsupported-os when nothing answers sensibly', async () => {
    const exec = { run: () => Promise.resolve({ stdout: 'garbage', stderr: '', code: 127 }) };
    await expect(detectOs(exec)).rejects.toMatchObject({ kind: 'unsupported-os' });
  });
});
