import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  collect,
  isAptLockError,
  isDpkgInterrupted,
  parseAptPolicy,
  parseAptSimulation,
  parseInstLine,
  parseAptOrigin,
  isSecurityOrigin,
  policySourceSuite,
  parseShowHold,
  aptResultFromSections,
  aptSections,
  buildAptScript,
  parseLockHolders,
} from './index';
import { CollectorError } from '../types';
import { fixture, fixturePath } from '../testing/fixtures';
import { loadRecording, replayExec, sectionExec } from '../testing/exec';

describe('apt Inst lines (real captures)', () => {
  it('parses Debian 12 with security origins (this machine, apt 2.6.1)', () => {
    const sim = parseAptSimulation(fixture('apt/debian-12-self.apt-get-s-dist-upgrade.stdout'));
    expect(sim.installs).toHaveLength(133);
    expect(sim.rejected).toEqual([]);
    const gcrypt = sim.installs.find((i) => i.name === 'libgcrypt20');
    expect(gcrypt).toMatchObject({
      installedVersion: '1.10.1-3',
      candidateVersion: '1.10.1-3+deb12u1',
      arch: 'amd64',
    });
    expect(gcrypt!.origins.map((o) => o.raw)).toEqual([
      'Debian:12.15/oldstable',
      'Debian-Security:12/oldstable-security',
    ]);
    const lzma = parseInstLine(
      'Inst liblzma5 [5.4.1-1] (5.4.1-1+deb12u2 Debian-Security:12/oldstable-security [amd64])',
    );
    expect(lzma?.origins[0]).toMatchObject({
      label: 'Debian-Security',
      version: '12',
      suite: 'oldstable-security',
    });
  });

  it('parses Debian 10/11 and Ubuntu 20.04/22.04 (GoogleCloudPlatform/osconfig testdata)', () => {
    const d10 = parseAptSimulation(fixture('apt/debian-10-1.apt-get-full-upgrade.stdout'));
    expect(d10.installs).toHaveLength(14);
    expect(d10.installs[0]).toMatchObject({
      name: 'libgirepository-1.0-1',
      installedVersion: null,
      candidateVersion: '1.58.3-2',
      arch: 'amd64',
    });
    expect(d10.installs.find((i) => i.name === 'google-guest-agent')).toMatchObject({
      installedVersion: '1:20231115.00-g1',
      candidateVersion: '1:20250306.00-g1',
    });
    const u22 = parseAptSimulation(fixture('apt/ubuntu-22.apt-get-full-upgrade.stdout'));
    expect(u22.rejected).toEqual([]);
    // Trailing "[libpam-modules:amd64 on …]" breaks are ignored, the package is parsed.
    expect(u22.installs.find((i) => i.name === 'libpam-modules-bin')).toMatchObject({
      candidateVersion: '1.4.0-11ubuntu2.5',
      arch: 'amd64',
    });
    const u20 = parseAptSimulation(fixture('apt/ubuntu-20.apt-get-full-upgrade.stdout'));
    expect(u20.installs.map((i) => i.name)).toContain('cloud-init');
    expect(parseAptSimulation(fixture('apt/debian-11-1.apt-get-full-upgrade.stdout')).installs).toHaveLength(
      14,
    );
  });

  it('flags security, new dependencies and the origin used', () => {
    const result = aptResultFromSections({
      sim: fixture('apt/debian-12-self.apt-get-s-dist-upgrade.stdout'),
      held: '',
      policy: '',
      reboot: '',
      age: '',
    });
    const bySec = result.updates.filter((u) => u.security).map((u) => u.name);
    expect(bySec).toContain('libgcrypt20');
    expect(bySec).toContain('libssl3');
    expect(bySec).not.toContain('bash');
    expect(result.updates.find((u) => u.name === 'libgcrypt20')?.repository).toBe(
      'Debian-Security:12/oldstable-security',
    );
    const d10 = aptResultFromSections({
      sim: fixture('apt/debian-10-1.apt-get-full-upgrade.stdout'),
      held: '',
      policy: '',
      reboot: '',
      age: '',
    });
    expect(d10.updates.filter((u) => u.newDependency).map((u) => u.name)).toContain('jq');
    expect(d10.updates.find((u) => u.name === 'google-guest-agent')?.newDependency).toBeUndefined();
  });

  it('recognises Ubuntu security pockets including ESM', () => {
    const lines = [
      'Inst libssl3 [3.0.2-0ubuntu1.10] (3.0.2-0ubuntu1.12 Ubuntu:22.04/jammy-updates, Ubuntu:22.04/jammy-security [amd64])',
      'Inst vim [2:8.2.3995-1ubuntu2.15] (2:8.2.3995-1ubuntu2.16+esm1 UbuntuESMApps:22.04/jammy-apps-security [amd64])',
      'Inst linux-libc-dev [5.15.0-1] (5.15.0-2+esm1 UbuntuESM:22.04/jammy-infra-security [amd64])',
      'Inst tzdata [2024a-0ubuntu0.22.04] (2024a-0ubuntu0.22.04.1 Ubuntu:22.04/jammy-updates [all])',
    ].join('\n');
    const result = aptResultFromSections({ sim: lines, held: '', policy: '', reboot: '', age: '' });
    expect(result.updates.map((u) => [u.name, u.security])).toEqual([
      ['libssl3', true],
      ['vim', true],
      ['linux-libc-dev', true],
      ['tzdata', false],
    ]);
  });
});

describe('apt held, phased and kept back (real throwaway apt root)', () => {
  it('parses apt-cache policy with a phased candidate', () => {
    const policies = parseAptPolicy(fixture('apt/aptlab.policy.stdout'));
    expect(policies.map((p) => [p.name, p.installed, p.candidate])).toEqual([
      ['pd-held', '1.0-1', '1.2-1'],
      ['pd-phased', '1.0-1', '1.1-1'],
    ]);
    expect(policies[1]!.versions[0]).toMatchObject({ version: '1.1-1', phasedPercent: 0, installed: false });
    expect(policies[0]!.versions[1]).toMatchObject({ version: '1.0-1', installed: true });
  });

  it('reports held and phased packages that never appear as Inst', () => {
    const result = aptResultFromSections({
      sim: fixture('apt/aptlab.dist-upgrade.stdout'),
      held: fixture('apt/aptlab.showhold.stdout'),
      policy: fixture('apt/aptlab.policy.stdout'),
      reboot: '',
      age: '',
    });
    const byName = Object.fromEntries(result.updates.map((u) => [u.name, u]));
    expect(Object.keys(byName).sort()).toEqual(['pd-held', 'pd-newdep', 'pd-phased', 'pd-sec']);
    expect(byName['pd-held']).toMatchObject({
      held: true,
      phased: false,
      installedVersion: '1.0-1',
      availableVersion: '1.2-1',
    });
    expect(byName['pd-phased']).toMatchObject({ held: false, phased: true, availableVersion: '1.1-1' });
    expect(byName['pd-sec']).toMatchObject({
      security: true,
      installedVersion: '1:2.0-1',
      availableVersion: '1:2.0-1+deb12u1',
    });
    expect(byName['pd-newdep']).toMatchObject({
      newDependency: true,
      security: true,
      installedVersion: null,
    });
    expect(result.warnings).toEqual([]);
  });

  it('reads the reboot flag and its packages, and the metadata age', () => {
    const result = aptResultFromSections({
      sim: '',
      held: '',
      policy: '',
      reboot: 'required\nlinux-image-6.1.0-18-amd64\nlibc6\n',
      age: '1700000100\n1700000000\n1699990000\n',
    });
    expect(result.rebootRequired).toBe(true);
    expect(result.rebootReasons).toEqual(['linux-image-6.1.0-18-amd64', 'libc6']);
    expect(result.metadataAgeSeconds).toBe(100);
    const none = aptResultFromSections({ sim: '', held: '', policy: '', reboot: '\n', age: '' });
    expect(none.rebootRequired).toBe(false);
    expect(none.metadataAgeSeconds).toBeNull();
  });
});

describe('apt collect() replaying real runs', () => {
  it('replays the throwaway-root run with refresh (one round-trip, sudo)', async () => {
    const recording = loadRecording(fixturePath('apt/aptlab.collect.json'));
    const exec = replayExec(recording.runs);
    const result = await collect(exec, { refresh: true });
    expect(exec.asked).toHaveLength(1);
    expect(exec.asked[0]!.options.sudo).toBe(true);
    expect(exec.asked[0]!.command).toContain('apt-get -q update');
    expect(result.updates.map((u) => u.name).sort()).toEqual(['pd-held', 'pd-newdep', 'pd-phased', 'pd-sec']);
    expect(result.rebootRequired).toBe(false);
    expect(result.metadataAgeSeconds).toBeGreaterThanOrEqual(0);
    expect(result.commands.map((c) => c.command.split(' ')[0])).toContain('apt-get');
    expect(result.warnings).toEqual([]);
  });

  it('replays this machine without refresh (no sudo)', async () => {
    const recording = loadRecording(fixturePath('apt/debian-12-self.collect.json'));
    const exec = replayExec(recording.runs);
    const result = await collect(exec, { refresh: false });
    expect(exec.asked[0]!.options.sudo).toBe(false);
    expect(exec.asked[0]!.command).not.toContain('apt-get -q update');
    expect(result.updates).toHaveLength(114);
    expect(result.updates.filter((u) => u.security).length).toBeGreaterThan(10);
    expect(result.metadataAgeSeconds).not.toBeNull();
  });

  it('refreshes a host with no package lists at all once by itself, and says so', async () => {
    // Without lists the simulation finds nothing to upgrade: never let that read as up to date.
    const sim = fixture('lab/apt-security-dist-upgrade-simulate.txt');
    const exec = sectionExec((command) =>
      command.includes('apt-get -q update')
        ? [
            { name: 'update', stdout: 'Reading package lists...\n', code: 0 },
            { name: 'lists', stdout: 'present\n', code: 0 },
            { name: 'sim', stdout: sim, code: 0 },
          ]
        : [
            { name: 'lists', stdout: 'none\n', code: 0 },
            { name: 'sim', stdout: 'Reading package lists...\n0 upgraded, 0 newly installed\n', code: 0 },
          ],
    );
    const result = await collect(exec, { refresh: false, autoRefresh: true });
    expect(exec.asked).toHaveLength(2);
    expect(exec.asked[0]!.options.sudo).toBe(false);
    expect(exec.asked[1]!.command).toContain('apt-get -q update');
    expect(exec.asked[1]!.options.sudo).toBe(true);
    expect(result.updates.length).toBeGreaterThan(0);
    expect(result.warnings[0]).toBe(
      'apt had no package lists on this host, so this audit refreshed them once (apt-get update) first',
    );

    // An offline collection cannot run anything more: it fails in words, never "no updates".
    const offline = sectionExec(() => [
      { name: 'lists', stdout: 'none\n', code: 0 },
      { name: 'sim', stdout: '0 upgraded, 0 newly installed\n', code: 0 },
    ]);
    await expect(collect(offline, { refresh: false })).rejects.toMatchObject({
      kind: 'command-failed',
      message: expect.stringMatching(/no package lists on this host/),
    });
    expect(offline.asked).toHaveLength(1);
    // Lists still missing after a refresh: said, with what to check.
    const empty = sectionExec(() => [
      { name: 'update', stdout: '', code: 0 },
      { name: 'lists', stdout: 'none\n', code: 0 },
      { name: 'sim', stdout: '0 upgraded\n', code: 0 },
    ]);
    await expect(collect(empty, { refresh: true, autoRefresh: true })).rejects.toMatchObject({
      message: expect.stringMatching(/even after apt-get update: check its sources/),
    });
  });

  it('classifies a locked apt (real stderr) and an interrupted dpkg', async () => {
    const locked = fixture('apt/aptlab-locked.update.stderr');
    expect(isAptLockError(locked)).toBe(true);
    expect(isAptLockError(fixture('apt/debian-12-self.install-while-locked.stderr'))).toBe(true);
    expect(isDpkgInterrupted(fixture('apt/aptlab-interrupted.install.stderr'))).toBe(true);
    const exec = sectionExec(() => [{ name: 'update', stdout: '', stderr: locked, code: 100 }]);
    const error = await collect(exec, { refresh: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CollectorError);
    expect((error as CollectorError).kind).toBe('package-manager-locked');
    expect((error as CollectorError).stderr).toContain('Could not get lock');
    const exec2 = sectionExec(() => [
      { name: 'sim', stdout: '', stderr: fixture('apt/aptlab-interrupted.install.stderr'), code: 100 },
    ]);
    const error2 = (await collect(exec2, { refresh: false }).catch((e: unknown) => e)) as CollectorError;
    expect(error2.kind).toBe('package-manager-locked');
    expect(error2.message).toMatch(/dpkg --configure -a/);
  });

  it('names the process holding the dpkg lock (real capture) and fails the audit as locked', async () => {
    expect(parseLockHolders(fixture('lab/apt-locked-lock-section.txt'))).toEqual([
      { pid: 25, command: 'unattended-upgr' },
    ]);
    const sim = fixture('lab/apt-security-dist-upgrade-simulate.txt');
    const exec = sectionExec(() => [
      { name: 'lock', stdout: fixture('lab/apt-locked-lock-section.txt'), code: 0 },
      { name: 'sim', stdout: sim, code: 0 },
    ]);
    const error = (await collect(exec, { refresh: false }).catch((e: unknown) => e)) as CollectorError;
    expect(error).toBeInstanceOf(CollectorError);
    expect(error.kind).toBe('package-manager-locked');
    expect(error.message).toMatch(/\(unattended-upgr, pid 25\): an install or upgrade is running/);
    // No holder: the same output audits normally.
    const free = sectionExec(() => [
      { name: 'lock', stdout: '', code: 0 },
      { name: 'sim', stdout: sim, code: 0 },
    ]);
    expect((await collect(free, { refresh: false })).updates.length).toBeGreaterThan(0);
  });

  it('reads lock holders defensively: hostile names are cleaned, junk lines and duplicates dropped', () => {
    expect(
      parseLockHolders(
        ['25 unattended-upgr', '25 again', '0 init', 'x 12', `7 evil\u001b[31m${'a'.repeat(100)}`, '9'].join(
          '\n',
        ),
      ),
    ).toEqual([
      { pid: 25, command: 'unattended-upgr' },
      { pid: 7, command: expect.stringMatching(/^evil\\x1b\[31ma+…$/) },
      { pid: 9, command: '' },
    ]);
  });

  it('finds a POSIX lock on the lock files in /proc/locks, on this kernel, without taking it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-lock-'));
    const front = path.join(dir, 'lock-frontend');
    const back = path.join(dir, 'lock');
    fs.writeFileSync(back, '');
    const section = aptSections(false).find((s) => s.name === 'lock')!;
    const command = section.command
      .replace('/var/lib/dpkg/lock-frontend', front)
      .replace('/var/lib/dpkg/lock', back);
    expect(command).toContain(front);
    expect(parseLockHolders(execFileSync('sh', ['-c', command], { encoding: 'utf8' }))).toEqual([]);
    // The same POSIX write lock dpkg and unattended-upgrades take (fcntl F_SETLK), from perl.
    const holder = spawn(
      'perl',
      [
        '-e',
        'use Fcntl; $0 = "unattended-upgr"; sysopen(my $f, $ARGV[0], O_RDWR|O_CREAT) or die; ' +
          'my $l = pack("s s x4 q q i x4", F_WRLCK, 0, 0, 0, 0); fcntl($f, F_SETLK, $l) or die "lock: $!"; ' +
          '$| = 1; print "locked\\n"; sleep 60;',
        front,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
        holder.on('exit', (code) => reject(new Error(`perl exited with ${code}`)));
      });
      const out = execFileSync('sh', ['-c', command], { encoding: 'utf8' });
      expect(parseLockHolders(out)).toEqual([{ pid: holder.pid, command: 'unattended-upgr' }]);
    } finally {
      holder.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('turns sudo refusals and failures into classified errors', async () => {
    const sudoExec = {
      run: () => Promise.resolve({ stdout: '', stderr: 'sudo: a password is required\n', code: 1 }),
    };
    await expect(collect(sudoExec, { refresh: true })).rejects.toMatchObject({ kind: 'sudo' });
    const broken = sectionExec(() => [
      {
        name: 'sim',
        stdout: '',
        stderr: 'E: The package lists or status file could not be parsed or opened.',
        code: 100,
      },
    ]);
    await expect(collect(broken, { refresh: false })).rejects.toMatchObject({ kind: 'command-failed' });
    const timeout = {
      run: () => Promise.reject(Object.assign(new Error('operation timed out'), { name: 'TimeoutError' })),
    };
    await expect(collect(timeout, { refresh: false })).rejects.toMatchObject({ kind: 'timeout' });
  });

  it('builds a C-locale script whose markers carry the nonce', () => {
    const script = buildAptScript(false, 'abcdef0123456789');
    expect(script.startsWith('export LC_ALL=C')).toBe(true);
    expect(script).toContain('@@PATCHDECK:abcdef0123456789:begin:sim');
    expect(script).toContain('apt-get -s dist-upgrade');
    expect(script).toContain('apt-mark showhold');
  });
});

describe('apt hostile input', () => {
  it('rejects names with shell metacharacters and survives control characters', () => {
    const sim = parseAptSimulation(
      [
        'Inst $(reboot) [1.0] (1.1 Debian:12/stable [amd64])',
        'Inst foo;rm${IFS}-rf (1.1 Debian:12/stable [amd64])',
        'Inst ok-pkg [1.0] (1.1 Evil\u001b[31m:12/stable-security [amd64])',
        'Inst bad-version [1.0] (1.1`id` Debian:12/stable [amd64])',
        'Inst \u0000 [1.0] (1.1 [amd64])',
      ].join('\n'),
    );
    expect(sim.installs.map((i) => i.name)).toEqual(['ok-pkg']);
    expect(sim.installs[0]!.origins[0]!.label).toBe('Evil\\x1b[31m');
    expect(sim.rejected).toHaveLength(4);
    // eslint-disable-next-line no-control-regex -- asserting that no control character survives
    expect(sim.rejected.every((l) => !/[\u0000-\u001f]/.test(l))).toBe(true);
  });

  it('stays linear on megabyte lines and pathological brackets', () => {
    const huge = `Inst a [1] (1 ${'Debian:12/x, '.repeat(100_000)} [amd64])`;
    const brackets = `Inst a [1] (1 ${'['.repeat(15_000)}`;
    const garbage = '\u00ff\ufffd'.repeat(500_000);
    const t0 = Date.now();
    expect(parseAptSimulation(`${huge}\n${brackets}\n${garbage}`).installs).toEqual([]);
    expect(
      parseAptPolicy(`pkg:\n  Candidate: ${'('.repeat(20_000)}\n     ${'1'.repeat(15_000)} 500 (phased 0%\n`),
    ).toHaveLength(1);
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

describe('apt details a wrong line would change', () => {
  it('counts Debian-Security by its label alone, and UbuntuESM only on a security suite', () => {
    const origin = (text: string) => parseAptOrigin(text)!;
    expect(isSecurityOrigin(origin('Debian-Security:12/stable'))).toBe(true);
    expect(isSecurityOrigin(origin('Debian:12/stable-security'))).toBe(true);
    expect(isSecurityOrigin(origin('Debian:12.15/oldstable'))).toBe(false);
    expect(isSecurityOrigin(origin('Debian:12/stable-security-extra'))).toBe(false);
    expect(isSecurityOrigin(origin('UbuntuESMApps:22.04/jammy-apps-security'))).toBe(true);
    expect(isSecurityOrigin(origin('UbuntuESMApps:22.04/jammy-apps-updates'))).toBe(false);
    expect(isSecurityOrigin(origin('UbuntuESM:22.04/jammy-infra-updates'))).toBe(false);
    expect(isSecurityOrigin(origin('Ubuntu:22.04/jammy-updates'))).toBe(false);
    // Debian 12's security label on a suite that does not end in -security, and an ESM update that is no fix.
    const result = aptResultFromSections({
      sim: [
        'Inst pd-sec [1:2.0-1] (1:2.0-1+deb12u1 Debian-Security:12/bookworm [all])',
        'Inst vim [2:8.2.3995-1ubuntu2.15] (2:8.2.3995-1ubuntu2.16 UbuntuESMApps:22.04/jammy-apps-updates [amd64])',
      ].join('\n'),
      held: '',
      policy: '',
      reboot: '',
      age: '',
    });
    expect(result.updates.map((u) => [u.name, u.security])).toEqual([
      ['pd-sec', true],
      ['vim', false],
    ]);
  });

  it('splits origins into label, version and suite', () => {
    expect(parseAptOrigin('Debian-Security:12/oldstable-security')).toEqual({
      label: 'Debian-Security',
      version: '12',
      suite: 'oldstable-security',
      raw: 'Debian-Security:12/oldstable-security',
    });
    expect(parseAptOrigin(' local:stable ')).toEqual({
      label: 'local',
      version: null,
      suite: 'stable',
      raw: 'local:stable',
    });
    expect(parseAptOrigin(':12/stable')).toBeNull();
    expect(parseAptOrigin('nocolon')).toBeNull();
    expect(parseAptOrigin('Debian:12/')).toBeNull();
    expect(parseAptOrigin('Debian:')).toBeNull();
  });

  it('reads Remv lines as removals (real apt-get -s remove on the lab host)', () => {
    const sim = parseAptSimulation(fixture('lab/apt-several-remove-simulate.txt'));
    expect(sim.removals).toEqual(['acme-lib']);
    expect(sim.installs).toEqual([]);
    const result = aptResultFromSections({
      sim: fixture('lab/apt-several-remove-simulate.txt'),
      held: '',
      policy: '',
      reboot: '',
      age: '',
    });
    expect(result.warnings).toEqual(['dist-upgrade would remove: acme-lib']);
    expect(parseAptSimulation('Remv libfoo:amd64 [1.0]\nRemv $(id) [1]\nRemvx y\n').removals).toEqual([
      'libfoo:amd64',
    ]);
  });

  it('flags a held package as security when its candidate comes from a security suite (real lab host)', () => {
    const result = aptResultFromSections({
      sim: fixture('lab/apt-several-dist-upgrade-simulate.txt'),
      held: fixture('lab/apt-several-showhold.txt'),
      policy: fixture('lab/apt-several-policy-held.txt'),
      reboot: '',
      age: '',
    });
    expect(result.updates.find((u) => u.name === 'acme-held')).toMatchObject({
      held: true,
      security: true,
      installedVersion: '5.0-1',
      availableVersion: '5.0-1+deb12u1',
      repository: 'file:/srv/lab-repo bookworm-security/main amd64 Packages',
      phased: false,
      arch: null,
    });
    expect(result.warnings).toEqual([]);
    expect(policySourceSuite('file:/srv/lab-repo bookworm-security/main amd64 Packages')).toBe(
      'bookworm-security',
    );
    expect(policySourceSuite('file:/tmp/aptlab/repo/main ./ Packages')).toBeNull();
    expect(policySourceSuite('/var/lib/dpkg/status')).toBeNull();
    // The lab host's other updates: the kept-back one is the held one, the rest are Inst lines.
    expect(
      result.updates
        .filter((u) => u.security)
        .map((u) => u.name)
        .sort(),
    ).toEqual(['acme-firmware', 'acme-held', 'acme-tool']);
    expect(result.updates.find((u) => u.name === 'acme-agent-plugins')).toMatchObject({
      newDependency: true,
    });
  });

  it('reads kept-back and phasing lists, names with an arch, and the hold list', () => {
    const sim = parseAptSimulation(
      [
        'The following packages have been kept back:',
        '  pd-a pd-b:i386',
        '  $(id)',
        'The following upgrades have been deferred due to phasing:',
        '  pd-phased',
        '0 upgraded, 0 newly installed, 0 to remove and 3 not upgraded.',
      ].join('\n'),
    );
    expect(sim.keptBack).toEqual(['pd-a', 'pd-b:i386']);
    expect(sim.phasingDeferred).toEqual(['pd-phased']);
    expect(parseShowHold('pd-held\n\n  libc6:amd64  \n$(x)\n')).toEqual(['pd-held', 'libc6:amd64']);
    const kept = aptResultFromSections({
      sim: 'The following packages have been kept back:\n  pd-held:amd64\n',
      held: '',
      policy:
        'pd-held:amd64:\n  Installed: 1.0-1\n  Candidate: 1.2-1\n  Version table:\n     1.2-1 500\n        500 http://deb.debian.org/debian bookworm/main amd64 Packages\n',
      reboot: '',
      age: '',
    });
    expect(kept.updates).toEqual([
      expect.objectContaining({
        name: 'pd-held',
        arch: 'amd64',
        held: false,
        security: false,
        phased: false,
      }),
    ]);
    expect(kept.warnings).toEqual(['apt keeps back pd-held:amd64 (not held, not phased)']);
  });

  it('reads Inst lines with an arch qualifier, no installed version, or no origin', () => {
    expect(parseInstLine('Inst libc6:i386 [2.36-9] (2.36-9+deb12u4 Debian:12/stable [i386])')).toMatchObject({
      name: 'libc6',
      arch: 'i386',
      installedVersion: '2.36-9',
      candidateVersion: '2.36-9+deb12u4',
    });
    expect(parseInstLine('Inst pd-local (1.0-1 [all])')).toEqual({
      name: 'pd-local',
      arch: 'all',
      installedVersion: null,
      candidateVersion: '1.0-1',
      origins: [],
    });
    expect(parseInstLine('Inst pd-bare (1.0-1)')).toEqual({
      name: 'pd-bare',
      arch: null,
      installedVersion: null,
      candidateVersion: '1.0-1',
      origins: [],
    });
    for (const bad of [
      'Conf a (1)',
      'Inst a',
      'Inst a [1 (2)',
      'Inst a [1] 2',
      'Inst a [1] (2',
      'Inst a [bad version] (2)',
    ])
      expect(parseInstLine(bad), bad).toBeNull();
    expect(parseInstLine('Inst a:weird arch (1 [x y])')).toBeNull();
  });

  it('reads the reboot section and lock messages', () => {
    expect(
      aptResultFromSections({
        sim: '',
        held: '',
        policy: '',
        reboot: 'required\nlibc6\nlibc6\n$(x)\n',
        age: '',
      }),
    ).toMatchObject({
      rebootRequired: true,
      rebootReasons: ['libc6'],
    });
    expect(
      isAptLockError(
        'E: Unable to lock the administration directory (/var/lib/dpkg/), is another process using it?',
      ),
    ).toBe(true);
    expect(isAptLockError('E: Unable to lock directory /var/lib/apt/lists/')).toBe(true);
    expect(isAptLockError('E: Unable to acquire the dpkg frontend lock')).toBe(true);
    expect(isAptLockError('E: Unable to locate package pd-none')).toBe(false);
    expect(isAptLockError(`${' '.repeat(16384)}Could not get lock`)).toBe(false);
    expect(
      isDpkgInterrupted(
        "E: dpkg was interrupted, you must manually run 'dpkg --configure -a' to correct the problem.",
      ),
    ).toBe(true);
    expect(isDpkgInterrupted('E: something else')).toBe(false);
  });

  it('reads policy versions with their priority, sources and phasing', () => {
    const [policy] = parseAptPolicy(fixture('lab/apt-several-policy-held.txt'));
    expect(policy).toEqual({
      name: 'acme-held',
      installed: '5.0-1',
      candidate: '5.0-1+deb12u1',
      versions: [
        {
          version: '5.0-1+deb12u1',
          priority: 500,
          installed: false,
          phasedPercent: null,
          sources: ['file:/srv/lab-repo bookworm-security/main amd64 Packages'],
        },
        {
          version: '5.0-1',
          priority: 500,
          installed: true,
          phasedPercent: null,
          sources: ['file:/srv/lab-repo bookworm/main amd64 Packages', '/var/lib/dpkg/status'],
        },
      ],
    });
    expect(
      parseAptPolicy('$(x):\n  Installed: 1\nok:\n  Installed: (none)\n  Candidate: 2\n     2 -10\n'),
    ).toEqual([
      {
        name: 'ok',
        installed: null,
        candidate: '2',
        versions: [{ version: '2', priority: -10, installed: false, phasedPercent: null, sources: [] }],
      },
    ]);
  });
});

describe('apt list and lock edges', () => {
  it('keeps the kept-back list apart from the lines after it (real lab simulation)', () => {
    const sim = parseAptSimulation(fixture('lab/apt-several-dist-upgrade-simulate.txt'));
    expect(sim.keptBack).toEqual(['acme-held']);
    expect(sim.phasingDeferred).toEqual([]);
    expect(sim.installs).toHaveLength(7);
    // The line right after a list is read again as a line of its own.
    const next = parseAptSimulation(
      'The following packages have been kept back:\n  pd-a\n0 upgraded\nInst pd-b [1] (2 Debian:12/stable [all])\n',
    );
    expect(next.installs.map((i) => i.name)).toEqual(['pd-b']);
  });

  it('ignores a policy source line that comes before any version, and reads three-word sources', () => {
    expect(
      parseAptPolicy(
        'pd-x:\n  Installed: 1.0\n        500 http://deb.debian.org/debian bookworm/main amd64 Packages\n',
      ),
    ).toEqual([{ name: 'pd-x', installed: '1.0', candidate: null, versions: [] }]);
    expect(policySourceSuite('http://deb.debian.org/debian bookworm-security/main Packages')).toBe(
      'bookworm-security',
    );
    expect(policySourceSuite('http://deb.debian.org/debian bookworm')).toBeNull();
  });

  it('reads lock holders with zeros and tabs in them, and refuses pids of ten digits', () => {
    expect(parseLockHolders(['100\tapt-get', '1234567890 big', '12x proc', '  205 dpkg'].join('\n'))).toEqual(
      [
        { pid: 100, command: 'apt-get' },
        { pid: 205, command: 'dpkg' },
      ],
    );
  });

  it('lists each reboot reason once, never the marker itself or an overlong name', () => {
    const result = aptResultFromSections({
      sim: '',
      held: '',
      policy: '',
      reboot: `required\nlibc6\nrequired\n  libc6  \n${'a'.repeat(301)}\n`,
      age: '',
    });
    expect(result.rebootReasons).toEqual(['libc6']);
  });
});
