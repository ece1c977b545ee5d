import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { changeKeys, parseAptDryRun, parseDnfDryRun } from './dry-run';

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
});
