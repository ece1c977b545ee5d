import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { TargetPackage } from '../api/schemas';
import {
  assertSafeTargets,
  dryRunCommand,
  installCommand,
  packageSpec,
  parseVersionQuery,
  undoRecipe,
  UnsafePackageError,
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
