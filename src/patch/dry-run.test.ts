import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { dryRunCommand } from './commands';
import { changeKeys, parseAptDryRun, parseDnfDryRun, parseDryRun } from './dry-run';

const fixture = (p: string): string =>
  fs.readFileSync(path.join(__dirname, '../../test/fixtures', p), 'utf8');

// Captured from a lab host (Debian 12, apt 2.6): `apt-get -s -q install --only-upgrade` of four packages.
const APT = `NOTE: This is only a simulation!
Reading package lists...
The following NEW packages will be installed:
  acme-agent-plugins
Inst acme-agent-plugins (3.1-1 Debian:12-updates/stable-updates [all])
Inst acme-agent [3.0-1] (3.1-1 Debian:12-updates/stable-updates [all])
Inst acme-tool [1.0-1] (1.0-1+deb12u1 Debian-Security:12/stable-security [all])
Remv acme-legacy [0.9-1] [acme-agent ]
Remv acme-old:amd64 [1.0]
Conf acme-agent-plugins (3.1-1 Debian:12-updates/stable-updates [all])
Conf acme-agent (3.1-1 Debian:12-updates/stable-updates [all])
`;

describe('dry-run parsers', () => {
  it('apt: upgrades, NEW dependencies and removals from Inst/Remv lines', () => {
    const r = parseAptDryRun(APT, "E: Version '9' for 'acme-x' was not found\n");
    expect(r.upgrades).toEqual([
      { name: 'acme-agent', arch: 'all', from: '3.0-1', to: '3.1-1' },
      { name: 'acme-tool', arch: 'all', from: '1.0-1', to: '1.0-1+deb12u1' },
    ]);
    expect(r.newPackages).toEqual([{ name: 'acme-agent-plugins', arch: 'all', from: null, to: '3.1-1' }]);
    expect(r.removals).toEqual([
      { name: 'acme-legacy', arch: null, from: '0.9-1', to: null },
      { name: 'acme-old', arch: 'amd64', from: '1.0', to: null },
    ]);
    expect(r.errors).toEqual(["E: Version '9' for 'acme-x' was not found"]);
    expect([...changeKeys(r)].sort()).toEqual([
      'acme-agent-plugins@3.1-1',
      'acme-agent@3.1-1',
      'acme-legacy@-',
      'acme-old@-',
      'acme-tool@1.0-1+deb12u1',
    ]);
  });

  it('apt: hostile lines never become changes', () => {
    const r = parseAptDryRun(
      'Inst $(id) [1] (2 x:y/z [all])\nInst a\u0000b [1] (2 Debian:12/s [all])\nRemv ;rm [1]\n' +
        'Inst ' +
        'x'.repeat(10_000) +
        '\n',
    );
    expect(r.upgrades).toEqual([]);
    expect(r.removals).toEqual([]);
  });

  it('yum: the transaction table of a real CentOS 7 update, including wrapped and dependency rows', () => {
    const r = parseDnfDryRun(fixture('yum/centos-7-1.yum-update.stdout'), '', { curl: '7.29.0-59.el7_9.1' });
    const curl = r.upgrades.find((c) => c.name === 'curl');
    expect(curl).toEqual({
      name: 'curl',
      arch: 'x86_64',
      from: '7.29.0-59.el7_9.1',
      to: '7.29.0-59.el7_9.2',
    });
    expect(r.upgrades.find((c) => c.name === 'dhclient')?.to).toBe('12:4.2.5-83.el7.centos.2');
    expect(r.upgrades.length).toBeGreaterThan(10);
  });

  it('dnf: upgrading, installing dependencies and removing sections', () => {
    const text = `Dependencies resolved.
================================================================================
 Package                 Arch      Version            Repository          Size
================================================================================
Upgrading:
 acme-agent              noarch    3.1-1.el9          appstream          7.0 k
Installing dependencies:
 acme-agent-plugins-with-a-very-long-name-that-wraps
                         noarch    3.1-1.el9          appstream          6.0 k
Removing dependent packages:
 acme-legacy             noarch    0.9-1.el9          @System            1.0 k

Transaction Summary
================================================================================
Upgrade  1 Package
Operation aborted.
`;
    const r = parseDnfDryRun(text, '', { 'acme-agent': '3.0-1.el9' });
    expect(r.upgrades).toEqual([{ name: 'acme-agent', arch: 'noarch', from: '3.0-1.el9', to: '3.1-1.el9' }]);
    expect(r.newPackages).toEqual([
      {
        name: 'acme-agent-plugins-with-a-very-long-name-that-wraps',
        arch: 'noarch',
        from: null,
        to: '3.1-1.el9',
      },
    ]);
    expect(r.removals).toEqual([{ name: 'acme-legacy', arch: 'noarch', from: '0.9-1.el9', to: null }]);
  });

  // Real captures from the lab's zypper host (test/fixtures/zypper/NOTES.md).
  it('zypper: the security-only dry run lists each upgrade with both versions', () => {
    const r = parseDryRun('zypper', fixture('zypper/lab-host.dry-run-security.xml'), '');
    expect(r.errors).toEqual([]);
    expect(r.upgrades).toEqual([
      { name: 'acme-daemon', arch: 'noarch', from: '1:2.0-1.el9', to: '1:2.0-2.el9_3' },
      { name: 'acme-firmware', arch: 'noarch', from: '20230210-1.el9', to: '20240210-1.el9' },
      { name: 'acme-tool', arch: 'noarch', from: '1.0-1.el9', to: '1.1-1.el9' },
    ]);
    expect(r.newPackages).toEqual([]);
    expect(r.removals).toEqual([]);
  });

  it('zypper: a new dependency is listed as new, and the preview is what the run compares against', () => {
    const r = parseDryRun('zypper', fixture('zypper/lab-host.dry-run-all.xml'), '');
    expect(r.upgrades.map((c) => c.name)).toEqual([
      'acme-agent',
      'acme-daemon',
      'acme-firmware',
      'acme-lib',
      'acme-tool',
    ]);
    expect(r.newPackages).toEqual([
      { name: 'acme-agent-plugins', arch: 'noarch', from: null, to: '3.1-1.el9' },
    ]);
    expect(changeKeys(r).has('acme-agent-plugins@3.1-1.el9')).toBe(true);
  });

  it('zypper: an unknown version is an error, and so is output without an install summary', () => {
    const bad = parseDryRun('zypper', fixture('zypper/lab-host.dry-run-no-provider.xml'), '');
    expect(bad.errors).toEqual(["No provider of 'acme-tool=9.9-1' found."]);
    // The plain-text output (what the dry run read before) has no install summary: never "no change".
    const text = parseDryRun('zypper', fixture('zypper/lab-host.dry-run-security.stdout'), '');
    expect(text.errors).toEqual(['zypper printed no install summary for the dry run']);
    expect(parseDryRun('zypper', '<?xml version="1.0"?><stream><install-summary', '').errors).toHaveLength(1);
    // Nothing to do is an empty summary, not an error (the plan refuses to approve it, see plan.test).
    const same = parseDryRun('zypper', fixture('zypper/lab-host.dry-run-installed.xml'), '');
    expect(same).toEqual({ upgrades: [], newPackages: [], removals: [], errors: [] });
  });

  it('zypper: hostile solvables never become changes', () => {
    const xml = `<?xml version='1.0'?><stream><install-summary><to-upgrade>
<solvable type="package" name="-rf" edition="1" arch="noarch" edition-old="0"/>
<solvable type="package" name="ok" edition="$(reboot)" arch="noarch"/>
<solvable type="patch" name="openSUSE-2026-1" edition="1" arch="noarch"/>
<solvable type="package" name="good" edition="2-1" arch="x86_64" edition-old="1-1"/>
</to-upgrade><to-remove><solvable type="package" name="old" edition="1-1" arch="noarch"/></to-remove>
</install-summary></stream>`;
    const r = parseDryRun('zypper', xml, '');
    expect(r.upgrades).toEqual([{ name: 'good', arch: 'x86_64', from: '1-1', to: '2-1' }]);
    expect(r.removals).toEqual([{ name: 'old', arch: 'noarch', from: '1-1', to: null }]);
  });

  it('zypper: the dry-run command asks for the XML summary', () => {
    const { command } = dryRunCommand('zypper', [
      { name: 'acme-tool', arch: 'noarch', from: '1.0-1.el9', to: '1.1-1.el9', security: true },
    ]);
    expect(command).toMatch(/--xmlout install --dry-run/);
  });
});
