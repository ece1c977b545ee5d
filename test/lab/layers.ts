// Profile layers: the installed state of a host profile (packages, holds, a half-configured
// package, a pending-reboot seed), prepared once by running the real dpkg/apt/rpm inside a
// throw-away overlay of the base image, and cached as an overlay layer. A host's root is then
// upper(per host, fresh) : profile layer : base image, so creating or resetting a host costs no
// package operations at all.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { imageHash, type ImageKind } from './image';
import { CACHE_DIR, LAB_DIR } from './paths';
import { debPoolPath, repoHash } from './repo';
import {
  APT_STATES,
  DEB_PACKAGES,
  RPM_INSTALLED,
  RPM_PACKAGES,
  rpmFile,
  ZYPPER_INSTALLED,
  type HostProfile,
  type RpmVersion,
} from './recipe';
import { run } from './sh';
import { zypperRpmPath, zypperRepoHash } from './zypper-repo';
import { almaRepoHash, almaRpmPath } from './alma-repo';
import { ALMA_SOURCES } from './recipe';
import { removeBuildDir, withBuildLock } from './cachelock';

export const HOST_INIT = path.join(LAB_DIR, 'host-init.sh');

export const kindOf = (profile: HostProfile): ImageKind =>
  profile === 'dnf' || profile === 'zypper' ? profile : profile === 'alma' ? 'dnf' : 'apt';
const REPO_MOUNT_POINTS: Record<ImageKind, string> = {
  apt: '/srv/lab-repo',
  dnf: '/srv/lab-rpm-repo',
  zypper: '/srv/lab-zypp-repo',
};
export const repoMountPoint = (kind: ImageKind) => REPO_MOUNT_POINTS[kind];

function debFile(name: string, version: string): string {
  const pkg = DEB_PACKAGES.find((p) => p.name === name);
  const v = pkg?.versions.find((x) => x.version === version);
  if (!v) throw new Error(`recipe has no ${name} ${version}`);
  return `/srv/lab-repo/${debPoolPath(name, v)}`;
}

/** The shell script run as root inside the profile's build chroot. */
export function layerScript(profile: HostProfile): string {
  const lines = [
    'set -eu',
    'export DEBIAN_FRONTEND=noninteractive LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root',
  ];
  if (profile === 'zypper') {
    const files = ZYPPER_INSTALLED.map((name) => {
      const p = RPM_PACKAGES.find((x) => x.name === name);
      return `/srv/lab-zypp-repo/${zypperRpmPath(name, p?.versions[0] as RpmVersion)}`;
    });
    // zypper's own state (its repo caches, solv files, zypper.log) is made here, inside the
    // layer: hosts can list updates with --no-refresh from their first boot.
    lines.push(
      `rpm -i --nodeps ${files.join(' ')}`,
      'zypper --non-interactive --quiet refresh >/dev/null',
      'rpm -qa | sort',
    );
    return lines.join('\n') + '\n';
  }
  if (profile === 'alma') {
    // The dnf image with an AlmaLinux 9.4 identity; its lab.repo keeps the paths (the alma archive
    // is mounted where the Rocky one is on dnf hosts) under AlmaLinux's repository names.
    const files = ALMA_SOURCES.flatMap((s) =>
      s.binaries.map((b) => `/srv/lab-rpm-repo/${almaRpmPath(s, b, s.installed)}`),
    );
    lines.push(
      'rm -f /etc/rocky-release /etc/os-release /usr/lib/os-release',
      "cat > /usr/lib/os-release <<'OS'",
      'NAME="AlmaLinux"',
      'VERSION="9.4 (Seafoam Ocelot)"',
      'ID="almalinux"',
      'ID_LIKE="rhel centos fedora"',
      'VERSION_ID="9.4"',
      'PLATFORM_ID="platform:el9"',
      'PRETTY_NAME="AlmaLinux 9.4 (Seafoam Ocelot)"',
      'ANSI_COLOR="0;34"',
      'CPE_NAME="cpe:/o:almalinux:almalinux:9::baseos"',
      'HOME_URL="https://almalinux.org/"',
      'OS',
      'ln -s ../usr/lib/os-release /etc/os-release',
      "echo 'AlmaLinux release 9.4 (Seafoam Ocelot)' > /etc/redhat-release",
      'ln -sf redhat-release /etc/almalinux-release',
      'ln -sf redhat-release /etc/system-release',
      "sed -i 's/Rocky Linux 9 - /AlmaLinux 9 - /' /etc/yum.repos.d/lab.repo",
      `rpm -i --force-debian --nodeps ${files.join(' ')}`,
      'rpm -qa | sort',
    );
    return lines.join('\n') + '\n';
  }
  if (profile === 'dnf') {
    const files = RPM_INSTALLED.map((name) => {
      const p = RPM_PACKAGES.find((x) => x.name === name);
      const v = p?.versions[0] as RpmVersion;
      return `/srv/lab-rpm-repo/${v.repo}/Packages/${rpmFile(name, v)}`;
    });
    // Debian's rpm refuses to install on a dpkg system unless told; dnf itself has no such check.
    lines.push(`rpm -i --force-debian --nodeps ${files.join(' ')}`, 'rpm -qa | sort');
    return lines.join('\n') + '\n';
  }
  const state = APT_STATES[profile];
  lines.push('apt-get update -q >/dev/null');
  const files = Object.entries(state.installed).map(([n, v]) => debFile(n, v));
  lines.push(`dpkg -i ${files.join(' ')} >/dev/null`);
  for (const h of state.held) lines.push(`apt-mark hold ${h} >/dev/null`);
  if (state.halfConfigured) {
    const { name, version } = state.halfConfigured;
    lines.push(
      `if dpkg -i ${debFile(name, version)} >/dev/null 2>&1; then echo "expected ${name} to fail" >&2; exit 1; fi`,
    );
    lines.push(
      `dpkg-query -W -f='\${db:Status-Abbrev}' ${name} | grep -q '^iF' || { echo "${name} is not half-configured" >&2; exit 1; }`,
    );
  }
  if (state.rebootRequiredPkgs?.length) {
    lines.push(
      `printf '%s\\n' ${state.rebootRequiredPkgs.join(' ')} > /var/lib/patchdeck-lab/reboot-required.pkgs`,
    );
  }
  lines.push('rm -f /run/reboot-required /run/reboot-required.pkgs');
  return lines.join('\n') + '\n';
}

export function layerHash(profile: HostProfile): string {
  const h = createHash('sha256');
  h.update(
    JSON.stringify({
      v: 1,
      profile,
      image: imageHash(kindOf(profile)),
      repo: profile === 'zypper' ? zypperRepoHash() : profile === 'alma' ? almaRepoHash() : repoHash(),
      script: layerScript(profile),
    }),
  );
  h.update(readFileSync(HOST_INIT));
  return h.digest('hex').slice(0, 16);
}

export function layerDir(profile: HostProfile): string {
  return path.join(CACHE_DIR, 'layers', `${profile}-${layerHash(profile)}`);
}

export async function ensureLayer(profile: HostProfile, base: string, repo: string): Promise<string> {
  const dir = layerDir(profile);
  const layer = path.join(dir, 'layer');
  if (existsSync(path.join(dir, '.complete'))) return layer;
  return withBuildLock(`${dir}.lock`, () => buildLayer(profile, dir, base, repo));
}

async function buildLayer(profile: HostProfile, dir: string, base: string, repo: string): Promise<string> {
  const layer = path.join(dir, 'layer');
  if (existsSync(path.join(dir, '.complete'))) return layer;
  const tmp = `${dir}.building`;
  await removeBuildDir(tmp);
  for (const d of ['upper', 'work', 'root']) await mkdir(path.join(tmp, d), { recursive: true });
  const kind = kindOf(profile);
  await run(
    'unshare',
    ['--mount', '--uts', '--pid', '--fork', '--kill-child', '--propagation', 'private', 'sh', HOST_INIT],
    {
      input: layerScript(profile),
      env: {
        PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
        LAB_MODE: 'build',
        LAB_HOSTNAME: 'lab-build',
        LAB_LOWER: base,
        LAB_UPPER: path.join(tmp, 'upper'),
        LAB_WORK: path.join(tmp, 'work'),
        LAB_ROOT: path.join(tmp, 'root'),
        LAB_REPO: repo,
        LAB_REPO_AT: repoMountPoint(kind),
      },
    },
  );
  await removeBuildDir(path.join(tmp, 'work'));
  await removeBuildDir(path.join(tmp, 'root'));
  await rename(path.join(tmp, 'upper'), path.join(tmp, 'layer'));
  await writeFile(path.join(tmp, '.complete'), '');
  await removeBuildDir(dir);
  await rename(tmp, dir);
  return layer;
}
