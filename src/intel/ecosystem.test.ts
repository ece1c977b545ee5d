import { describe, expect, it } from 'vitest';
import {
  canonicalEcosystem,
  debianCodenameEcosystem,
  ecosystemOfHost,
  osvNameKind,
  schemeOf,
} from './ecosystem';

describe('ecosystems feeds and hosts agree on', () => {
  it('maps the tracker codenames and nothing an object inherits', () => {
    expect(debianCodenameEcosystem('bookworm')).toBe('Debian:12');
    expect(debianCodenameEcosystem('Bullseye')).toBe('Debian:11');
    for (const hostile of ['constructor', '__proto__', 'toString', 'sid', ''])
      expect(debianCodenameEcosystem(hostile)).toBeNull();
  });

  it("puts OSV's spellings in one form, and leaves out what no host's repositories carry", () => {
    expect(canonicalEcosystem('Ubuntu:22.04:LTS')).toBe('Ubuntu:22.04');
    expect(canonicalEcosystem('Ubuntu:Pro:18.04:LTS')).toBeNull();
    expect(canonicalEcosystem('AlmaLinux:9')).toBe('AlmaLinux:9');
    expect(canonicalEcosystem('Red Hat:enterprise_linux:9::appstream')).toBe('Red Hat:9');
    expect(canonicalEcosystem('SUSE:Linux Enterprise Server 15 SP5')).toBe(
      'SUSE:Linux Enterprise Server 15 SP5',
    );
    expect(canonicalEcosystem('Red Hat:rhel_eus:9.2::appstream')).toBeNull();
    expect(canonicalEcosystem('npm')).toBeNull();
  });

  it("names a host's ecosystem from os-release, with the version scheme and the feed's name kind", () => {
    expect(ecosystemOfHost('debian', '12')).toBe('Debian:12');
    expect(ecosystemOfHost('almalinux', '9.4')).toBe('AlmaLinux:9');
    expect(ecosystemOfHost('rocky', '9.3')).toBe('Rocky Linux:9');
    expect(ecosystemOfHost('opensuse-leap', '15.5')).toBe('openSUSE:Leap 15.5');
    expect(ecosystemOfHost('sles', '15.5')).toBe('SUSE:Linux Enterprise Server 15 SP5');
    expect(ecosystemOfHost('alpine', '3.18.4')).toBe('Alpine:v3.18');
    expect(ecosystemOfHost('windows', '10.0.22631')).toBeNull();
    expect(ecosystemOfHost('debian', null)).toBeNull();
    expect(schemeOf('Debian:12')).toBe('dpkg');
    expect(schemeOf('AlmaLinux:9')).toBe('rpm');
    expect(schemeOf('Alpine:v3.18')).toBe('apk');
    expect(osvNameKind('Debian:12')).toBe('source');
    expect(osvNameKind('AlmaLinux:9')).toBe('binary');
  });
});
