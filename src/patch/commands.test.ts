import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TargetPackage } from '../api/schemas';
import {
  assertSafeTargets,
  dryRunCommand,
  installCommand,
  installEnv,
  isPatchable,
  isSafePackageName,
  packageSpec,
  parseVersionQuery,
  rebootRequiredCommand,
  undoRecipe,
  UnsafePackageError,
  versionQueryCommand,
} from './commands';
import { splitSections } from '../collectors';
import { detachedInstallScript } from './run';

const t = (name: string, to: string, from: string | null = '1.0'): TargetPackage => ({
  name,
  arch: 'all',
  from,
  to,
  security: true,
});

/** What /bin/sh really makes of a command line: the argv it would run (printf instead of the program). */
function argvOf(command: string): string[] {
  const out = execFileSync(
    '/bin/sh',
    ['-c', `set -- ${command}; for a in "$@"; do printf '%s\\0' "$a"; done`],
    { encoding: 'utf8' },
  );
  return out.split('\0').slice(0, -1);
}

describe('patch command builders', () => {
  it('installs only the approved packages at their exact versions, keeping config files, with a lock timeout', () => {
    const cmd = installCommand('apt', [t('acme-tool', '1.0-1+deb12u1'), t('acme-daemon', '1:2.1-1')], {
      lockWaitSeconds: 60,
    });
    expect(argvOf(cmd)).toEqual([
      'apt-get',
      '-y',
      '-q',
      '-o',
      'Dpkg::Options::=--force-confold',
      '-o',
      'DPkg::Lock::Timeout=60',
      '-o',
      'APT::Get::Allow-Change-Held-Packages=false',
      'install',
      '--only-upgrade',
      'acme-tool=1.0-1+deb12u1',
      'acme-daemon=1:2.1-1',
    ]);
    expect(argvOf(installCommand('dnf', [t('acme-tool', '1.0-2.el9')], { lockWaitSeconds: 5 }))).toEqual([
      'dnf',
      '-y',
      'upgrade',
      'acme-tool-1.0-2.el9',
    ]);
    expect(argvOf(dryRunCommand('apt', [t('acme-tool', '1.0-1+deb12u1')]).command)).toEqual([
      'apt-get',
      '-s',
      '-q',
      'install',
      '--only-upgrade',
      'acme-tool=1.0-1+deb12u1',
    ]);
    expect(argvOf(dryRunCommand('yum', [t('curl', '7.29.0-59.el7_9.2')]).command)).toEqual([
      'yum',
      '-C',
      'upgrade',
      '--assumeno',
      'curl-7.29.0-59.el7_9.2',
    ]);
  });

  it('refuses hostile package names and versions before any command exists', () => {
    for (const name of [
      '-oAPT::Get::Foo=1',
      'a;rm -rf /',
      'a b',
      '$(reboot)',
      '`id`',
      "x'y",
      'a\nb',
      '',
      'a=b',
      '../etc',
    ]) {
      expect(() => installCommand('apt', [t(name, '1.0')], { lockWaitSeconds: 1 }), name).toThrow(
        UnsafePackageError,
      );
    }
    for (const version of ['1.0;id', '1.0 2', '$(id)', '-1', '1.0=2', '1\n2']) {
      expect(() => packageSpec('apt', 'acme', version), version).toThrow(UnsafePackageError);
    }
    expect(() =>
      assertSafeTargets('softwareupdate', [{ name: 'macOS Tahoe 26.1-25B78', to: null }]),
    ).not.toThrow();
    expect(() => assertSafeTargets('softwareupdate', [{ name: '--all', to: null }])).toThrow(
      UnsafePackageError,
    );
  });

  it('quotes every word so the shell takes a macOS label with spaces as one argument', () => {
    expect(
      argvOf(installCommand('softwareupdate', [t('Safari 18.1 (x)', '18.1')], { lockWaitSeconds: 1 })),
    ).toEqual(['softwareupdate', '--install', 'Safari 18.1 (x)']);
  });

  it('builds a detached install that survives the controller and reports the exit status', () => {
    const script = detachedInstallScript("sh -c 'echo one; echo two >&2; exit 3'", '/tmp/pd-unit-test/x.log');
    let code = 0;
    let out: string;
    try {
      out = execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8' });
    } catch (error) {
      code = (error as { status: number }).status;
      out = (error as { stdout: string }).stdout;
    }
    expect(code).toBe(3);
    expect(out).toContain('one');
    expect(out).toContain('two');
  });

  it('runs read-only follow-up sections in the install channel only after a successful install', () => {
    const nonce = '0123456789abcdef';
    const after = { nonce, sections: [{ name: 'after', command: 'echo snap' }] };
    const run = (install: string): { code: number; out: string } => {
      try {
        const out = execFileSync(
          '/bin/sh',
          ['-c', detachedInstallScript(install, '/tmp/pd-unit-test/y.log', after)],
          {
            encoding: 'utf8',
          },
        );
        return { code: 0, out };
      } catch (error) {
        return { code: (error as { status: number }).status, out: (error as { stdout: string }).stdout };
      }
    };
    const ok = run("sh -c 'echo installing'");
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/installing\n[\s\S]*@@PATCHDECK:0123456789abcdef:installed:0\n/);
    expect(splitSections(ok.out, '', nonce).get('after')).toEqual({ stdout: 'snap', stderr: '', code: 0 });
    const failed = run("sh -c 'echo broken; exit 100'");
    expect(failed.code).toBe(100);
    expect(failed.out).toContain('@@PATCHDECK:0123456789abcdef:installed:100');
    expect(splitSections(failed.out, '', nonce).has('after')).toBe(false);
  });

  it('parses version snapshots and writes an undo recipe (old versions back, new dependencies removed)', () => {
    expect(parseVersionQuery('acme-tool 1.0-1 ii \nacme-x 2.0 rc\nbad;name 1 ii\n')).toEqual({
      'acme-tool': '1.0-1',
    });
    const recipe = undoRecipe({
      pm: 'apt',
      before: { 'acme-agent': '3.0-1', 'acme-agent-plugins': null },
      after: { 'acme-agent': '3.1-1', 'acme-agent-plugins': '3.1-1' },
      available: new Set(['acme-agent=3.0-1']),
    })!;
    expect(recipe).toBe('sudo apt-get install --allow-downgrades acme-agent=3.0-1 acme-agent-plugins-');
    expect(undoRecipe({ pm: 'apt', before: { a: '1' }, after: { a: '2' }, available: new Set() })).toContain(
      'no longer offered',
    );
    expect(
      undoRecipe({ pm: 'dnf', before: { a: '1-1.el9' }, after: { a: '2-1.el9' }, historyId: '7' }),
    ).toMatch(/^sudo dnf history undo 7\n# or: sudo dnf downgrade a-1-1.el9$/);
    expect(undoRecipe({ pm: 'apt', before: { a: '1' }, after: { a: '1' } })).toBeNull();
  });
});

describe('patch commands per package manager', () => {
  const unpinned = (name: string): TargetPackage => ({
    name,
    arch: null,
    from: '1.0',
    to: null as never,
    security: false,
  });

  it('never builds an install of nothing: an empty approval would upgrade the whole system', () => {
    for (const pm of ['apt', 'dnf', 'yum', 'zypper', 'pacman', 'apk', 'softwareupdate'] as const)
      expect(() => installCommand(pm, [], { lockWaitSeconds: 1 }), pm).toThrow('nothing to install');
  });

  it('installs the targets of each manager at their versions, with its own non-interactive flags', () => {
    const one = [t('acme-tool', '1.1-1')];
    const argv = (pm: Parameters<typeof installCommand>[0]) =>
      argvOf(installCommand(pm, one, { lockWaitSeconds: 1 }));
    expect(argv('yum')).toEqual(['yum', '-y', 'upgrade', 'acme-tool-1.1-1']);
    expect(argv('zypper')).toEqual([
      'zypper',
      '--non-interactive',
      '--no-refresh',
      'install',
      '--no-recommends',
      'acme-tool=1.1-1',
    ]);
    expect(argv('pacman')).toEqual(['pacman', '-S', '--noconfirm', '--needed', 'acme-tool']);
    expect(argv('apk')).toEqual(['apk', 'add', '--upgrade', 'acme-tool=1.1-1']);
    // The lock wait is whole seconds, never negative.
    expect(installCommand('apt', one, { lockWaitSeconds: 7.9 })).toContain('DPkg::Lock::Timeout=7 ');
    expect(installCommand('apt', one, { lockWaitSeconds: -5 })).toContain('DPkg::Lock::Timeout=0 ');
  });

  it('names an unpinned target alone, never as pkg=null', () => {
    for (const pm of ['apt', 'dnf', 'yum', 'zypper', 'pacman', 'apk'] as const) {
      expect(packageSpec(pm, 'acme-tool', null), pm).toBe('acme-tool');
      expect(argvOf(installCommand(pm, [unpinned('acme-tool')], { lockWaitSeconds: 1 })).at(-1), pm).toBe(
        'acme-tool',
      );
    }
    expect(packageSpec('zypper', 'acme-tool', '1:2.0-1')).toBe('acme-tool=1:2.0-1');
    expect(packageSpec('pacman', 'acme-tool', '1.0-1')).toBe('acme-tool');
    expect(packageSpec('softwareupdate', 'Safari 18.1', '18.1')).toBe('Safari 18.1');
  });

  it('dry-runs each manager read-only, with root only where the manager needs it', () => {
    const one = [t('acme-tool', '1.1-1')];
    const dry = (pm: Parameters<typeof dryRunCommand>[0]) => {
      const { command, sudo } = dryRunCommand(pm, one);
      return { argv: argvOf(command), sudo };
    };
    expect(dry('apt').sudo).toBe(false);
    expect(dry('dnf')).toEqual({
      argv: ['dnf', '-C', 'upgrade', '--assumeno', 'acme-tool-1.1-1'],
      sudo: true,
    });
    expect(dry('zypper')).toEqual({
      argv: [
        'zypper',
        '--non-interactive',
        '--no-refresh',
        '--xmlout',
        'install',
        '--dry-run',
        '--no-recommends',
        'acme-tool=1.1-1',
      ],
      sudo: true,
    });
    expect(dry('pacman')).toEqual({
      argv: ['pacman', '-S', '--needed', '--print', '--print-format', '%n %v', 'acme-tool'],
      sudo: false,
    });
    expect(dry('apk')).toEqual({ argv: ['apk', 'upgrade', '--simulate', 'acme-tool=1.1-1'], sudo: false });
    expect(dry('softwareupdate')).toEqual({ argv: ['softwareupdate', '--list', '--no-scan'], sudo: false });
  });

  it('knows which managers it patches and what environment apt needs', () => {
    for (const pm of ['apt', 'dnf', 'yum', 'zypper', 'pacman', 'apk', 'softwareupdate'])
      expect(isPatchable(pm)).toBe(true);
    for (const pm of ['winget', 'choco', '', null]) expect(isPatchable(pm)).toBe(false);
    expect(installEnv('apt')).toEqual({
      DEBIAN_FRONTEND: 'noninteractive',
      APT_LISTCHANGES_FRONTEND: 'none',
    });
    expect(installEnv('dnf')).toEqual({});
    expect(isSafePackageName('Safari 18.1 (x)', 'softwareupdate')).toBe(true);
    expect(isSafePackageName('Safari 18.1 (x)')).toBe(false);
    expect(isSafePackageName('a'.repeat(255))).toBe(true);
    expect(isSafePackageName('a'.repeat(256))).toBe(false);
    expect(() => packageSpec('apt', 'acme', `1${'0'.repeat(127)}`)).not.toThrow();
    expect(() => packageSpec('apt', 'acme', `1${'0'.repeat(128)}`)).toThrow(UnsafePackageError);
    // A macOS label carries no version to check.
    expect(() =>
      assertSafeTargets('softwareupdate', [{ name: 'Safari 18.1', to: '18.1 (x)' }]),
    ).not.toThrow();
    expect(() => assertSafeTargets('apt', [{ name: 'acme', to: '-1' }])).toThrow(
      'Refusing an unsafe package version "-1" for acme.',
    );
    expect(() => assertSafeTargets('apt', [{ name: 'a b', to: null }])).toThrow(
      'Refusing an unsafe package name "a b".',
    );
  });

  it('queries installed versions with a command the shell runs as written, skipping unsafe names', () => {
    expect(versionQueryCommand('apt', ['acme-tool', 'x;id'])).toBe(
      "dpkg-query -W '-f=${Package} ${Version} ${db:Status-Abbrev}\\n' acme-tool 2>/dev/null; true",
    );
    expect(versionQueryCommand('dnf', ['acme-tool'])).toBe(
      "rpm -q --qf '%{NAME} %|EPOCH?{%{EPOCH}:}|%{VERSION}-%{RELEASE} ii\\n' acme-tool 2>/dev/null | grep -v 'is not installed'; true",
    );
    expect(versionQueryCommand('zypper', ['acme-tool'])).toBe(versionQueryCommand('yum', ['acme-tool']));
    expect(versionQueryCommand('pacman', ['acme-tool'])).toBe(
      "pacman -Q acme-tool 2>/dev/null | sed 's/$/ ii/'; true",
    );
    expect(versionQueryCommand('apk', ['acme-tool'])).toBeNull();
    expect(versionQueryCommand('softwareupdate', ['Safari'])).toBeNull();
    expect(versionQueryCommand('apt', ['x;id', '-o'])).toBeNull();
    // What a real shell makes of the pacman one: the query's output with " ii" after each line.
    const out = execFileSync('/bin/sh', ['-c', "printf 'acme-tool 1.0-1\\n' | sed 's/$/ ii/'"], {
      encoding: 'utf8',
    });
    expect(parseVersionQuery(out)).toEqual({ 'acme-tool': '1.0-1' });
    // Strict: a name with no version must not come back as a key holding undefined.
    expect(parseVersionQuery('acme-tool 1.0-1\nacme-lib\n 2.0\nacme-x 1.0 hi\n')).toStrictEqual({
      'acme-tool': '1.0-1',
    });
  });

  it('asks each manager whether a reboot is due in its own way', () => {
    expect(rebootRequiredCommand('apt')).toBe(
      'if [ -e /var/run/reboot-required ]; then echo required; else echo no; fi',
    );
    expect(rebootRequiredCommand('zypper')).toBe(
      'zypper needs-rebooting >/dev/null 2>&1; [ $? -eq 102 ] && echo required || echo no',
    );
    expect(rebootRequiredCommand('pacman')).toBe(
      'if [ -e /var/run/reboot-required ]; then echo required; else echo unknown; fi',
    );
    expect(rebootRequiredCommand('dnf')).toContain('dnf -q needs-restarting --help');
    expect(rebootRequiredCommand('yum')).toContain('elif false; then');
    // A host without needs-restarting answers "unknown", never "no"; with it, its exit code decides.
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-needs-restarting-'));
    try {
      const onHost = (pm: 'dnf' | 'yum', exit: number | null): string => {
        fs.rmSync(path.join(bin, 'needs-restarting'), { force: true });
        if (exit !== null)
          fs.writeFileSync(path.join(bin, 'needs-restarting'), `#!/bin/sh\nexit ${exit}\n`, { mode: 0o755 });
        return execFileSync('/bin/sh', ['-c', rebootRequiredCommand(pm)], {
          encoding: 'utf8',
          env: { PATH: `${bin}:/nonexistent` },
        }).trim();
      };
      expect(onHost('yum', null)).toBe('unknown');
      expect(onHost('dnf', null)).toBe('unknown');
      expect(onHost('dnf', 1)).toBe('required');
      expect(onHost('yum', 0)).toBe('no');
      expect(onHost('yum', 3)).toBe('unknown');
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
    }
  });

  it('writes the way back for every manager', () => {
    const change = {
      before: { 'acme-tool': '1.0-1', 'acme-new': null },
      after: { 'acme-tool': '1.1-1', 'acme-new': '1.0' },
    };
    expect(undoRecipe({ pm: 'yum', ...change })).toBe(
      'sudo yum downgrade acme-tool-1.0-1\nsudo yum remove acme-new',
    );
    expect(undoRecipe({ pm: 'dnf', ...change, historyId: '12' })).toBe(
      'sudo dnf history undo 12\n# or: sudo dnf downgrade acme-tool-1.0-1\n# and: sudo dnf remove acme-new',
    );
    expect(undoRecipe({ pm: 'zypper', ...change })).toBe(
      'sudo zypper install --oldpackage acme-tool=1.0-1\nsudo zypper remove acme-new',
    );
    expect(undoRecipe({ pm: 'zypper', before: { a: '1' }, after: { a: '2' } })).toBe(
      'sudo zypper install --oldpackage a=1',
    );
    expect(undoRecipe({ pm: 'pacman', before: { a: '1', b: '2' }, after: { a: '3', b: '4' } })).toBe(
      '# reinstall from the package cache: sudo pacman -U /var/cache/pacman/pkg/a-1-*.pkg.tar.* ; sudo pacman -U /var/cache/pacman/pkg/b-2-*.pkg.tar.*',
    );
    expect(undoRecipe({ pm: 'apk', ...change })).toBe('sudo apk add acme-tool=1.0-1');
    expect(undoRecipe({ pm: 'softwareupdate', before: { s: '1' }, after: { s: '2' } })).toBe(
      'macOS updates cannot be uninstalled; restore from a Time Machine backup if needed.',
    );
    expect(undoRecipe({ pm: 'apt', before: {}, after: { n: '1' } })).toBe(
      'sudo apt-get install --allow-downgrades n-',
    );
    expect(
      undoRecipe({
        pm: 'apt',
        before: { a: '1', b: '2' },
        after: { a: '3', b: '4' },
        available: new Set(['a=1']),
      }),
    ).toBe(
      'sudo apt-get install --allow-downgrades a=1 b=2\n# no longer offered by the configured repositories: b=2 (keep the .deb from /var/cache/apt/archives)',
    );
    expect(undoRecipe({ pm: 'dnf', before: { a: '1' }, after: {}, historyId: "7'; reboot" })).toBe(
      "sudo dnf history undo '7'\\''; reboot'\n# or: sudo dnf downgrade a-1",
    );
  });
});
