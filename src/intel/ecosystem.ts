import type { NameKind, VersionScheme } from './types';

/**
 * Ecosystems: the one name a feed's record and a host agree on ("AlmaLinux:9", "Debian:12").
 * Feeds write them their own way (OSV's "Ubuntu:22.04:LTS", the tracker's codename "bookworm");
 * hosts say `ID` and `VERSION_ID` in /etc/os-release. Both are mapped here, nowhere else.
 */

const DEBIAN_CODENAMES: Readonly<Record<string, string>> = {
  jessie: '8',
  stretch: '9',
  buster: '10',
  bullseye: '11',
  bookworm: '12',
  trixie: '13',
  forky: '14',
};

/** The Debian tracker's release codename as an ecosystem ('bookworm' → 'Debian:12'); null for sid or unknown. */
export function debianCodenameEcosystem(codename: string): string | null {
  const key = codename.toLowerCase();
  // Own keys only: a hostile codename such as "constructor" must not reach Object.prototype.
  return Object.hasOwn(DEBIAN_CODENAMES, key) ? `Debian:${DEBIAN_CODENAMES[key]}` : null;
}

/**
 * A feed's ecosystem string in canonical form, or null when Patchdeck does not audit it.
 * "Ubuntu:22.04:LTS" → "Ubuntu:22.04"; "Ubuntu:Pro:…" → null (ESM packages, not in the host's
 * repositories); "Red Hat:enterprise_linux:9::appstream" → "Red Hat:9" (EUS/AUS/E4S streams → null); others
 * unchanged when known.
 */
export function canonicalEcosystem(raw: string): string | null {
  const s = raw.trim();
  let m: RegExpMatchArray | null;
  if ((m = /^Debian:(\d+)$/.exec(s))) return `Debian:${m[1]}`;
  if (/^Ubuntu:Pro:/.test(s)) return null;
  if ((m = /^Ubuntu:(\d\d\.\d\d)(?::LTS)?$/.exec(s))) return `Ubuntu:${m[1]}`;
  if ((m = /^AlmaLinux:(\d+)$/.exec(s))) return `AlmaLinux:${m[1]}`;
  if ((m = /^Rocky Linux:(\d+)$/.exec(s))) return `Rocky Linux:${m[1]}`;
  // Only mainline RHEL: EUS/AUS/E4S streams carry lower fix versions than mainline, so mixing
  // them in would call a mainline host's update a fix it is not.
  if (/^Red Hat:rhel_(eus|aus|e4s|tus)\b/.test(s)) return null;
  if ((m = /^Red Hat:(?:enterprise_linux:)?(\d+)(?:[.:].*)?$/.exec(s))) return `Red Hat:${m[1]}`;
  if ((m = /^openSUSE:Leap (\d+\.\d+)$/.exec(s))) return `openSUSE:Leap ${m[1]}`;
  if ((m = /^SUSE:Linux Enterprise Server (\d+)(?: SP(\d+))?$/.exec(s)))
    return `SUSE:Linux Enterprise Server ${m[1]}${m[2] ? ` SP${m[2]}` : ''}`;
  if ((m = /^Alpine:v(\d+\.\d+)$/.exec(s))) return `Alpine:v${m[1]}`;
  return null;
}

/** A host's ecosystem from its os-release ID and VERSION_ID, or null when no feed covers it. */
export function ecosystemOfHost(osId: string | null, versionId: string | null): string | null {
  if (!osId || !versionId) return null;
  const id = osId.toLowerCase();
  const major = /^(\d+)/.exec(versionId)?.[1];
  const majorMinor = /^(\d+\.\d+)/.exec(versionId)?.[1];
  switch (id) {
    case 'debian':
      return major ? `Debian:${major}` : null;
    case 'ubuntu':
      return majorMinor ? `Ubuntu:${majorMinor}` : null;
    case 'almalinux':
      return major ? `AlmaLinux:${major}` : null;
    case 'rocky':
      return major ? `Rocky Linux:${major}` : null;
    case 'rhel':
      return major ? `Red Hat:${major}` : null;
    case 'opensuse-leap':
      return majorMinor ? `openSUSE:Leap ${majorMinor}` : null;
    case 'sles': {
      const m = /^(\d+)(?:\.(\d+))?/.exec(versionId);
      if (!m) return null;
      return `SUSE:Linux Enterprise Server ${m[1]}${m[2] && m[2] !== '0' ? ` SP${m[2]}` : ''}`;
    }
    case 'alpine':
      return majorMinor ? `Alpine:v${majorMinor}` : null;
    default:
      return null;
  }
}

/** How versions compare in a canonical ecosystem. */
export function schemeOf(ecosystem: string): VersionScheme | null {
  if (/^(Debian|Ubuntu):/.test(ecosystem)) return 'dpkg';
  if (/^(AlmaLinux|Rocky Linux|Red Hat|openSUSE|SUSE):/.test(ecosystem)) return 'rpm';
  if (/^Alpine:/.test(ecosystem)) return 'apk';
  return null;
}

/**
 * Which names an OSV feed's `affected[].package.name` carries in an ecosystem: Debian's, Ubuntu's
 * and Alpine's name the source package; AlmaLinux's, Rocky's, Red Hat's and SUSE's the binary
 * packages (see ../shared/fixtures/advisories/README.md). The Debian tracker always names sources.
 */
export function osvNameKind(ecosystem: string): NameKind {
  return /^(Debian|Ubuntu|Alpine):/.test(ecosystem) ? 'source' : 'binary';
}
