/** Chooses the collector for a detected OS. */
import { aptCollector } from './apt/index';
import { dnfCollector, yumCollector } from './dnf/index';
import { zypperCollector } from './zypper/index';
import { pacmanCollector } from './pacman/index';
import { apkCollector } from './apk/index';
import { macosCollector } from './macos/index';
import { windowsCollector } from './windows/index';
import { CollectorError, type Collector, type OsInfo, type PackageManager } from './types';

const COLLECTORS: Partial<Record<PackageManager, Collector>> = {
  apt: aptCollector,
  dnf: dnfCollector,
  yum: yumCollector,
  zypper: zypperCollector,
  pacman: pacmanCollector,
  apk: apkCollector,
  softwareupdate: macosCollector,
  'windows-update': windowsCollector,
};

export function collectorFor(packageManager: PackageManager): Collector {
  const collector = COLLECTORS[packageManager];
  if (!collector) throw new CollectorError('unsupported-os', `No collector for ${packageManager}.`);
  return collector;
}

const APT = [
  'debian',
  'ubuntu',
  'raspbian',
  'linuxmint',
  'pop',
  'kali',
  'elementary',
  'zorin',
  'devuan',
  'neon',
];
const RPM_DNF = [
  'fedora',
  'rhel',
  'centos',
  'rocky',
  'almalinux',
  'ol',
  'amzn',
  'circle',
  'eurolinux',
  'scientific',
  'cloudlinux',
  'virtuozzo',
];
const SUSE = [
  'opensuse',
  'opensuse-leap',
  'opensuse-tumbleweed',
  'sles',
  'sled',
  'sles_sap',
  'suse',
  'opensuse-microos',
];
const ARCH = ['arch', 'manjaro', 'endeavouros', 'garuda', 'artix', 'archarm'];

/** The package manager a host of this OS uses; unsupported OSes throw a CollectorError('unsupported-os'). */
export function packageManagerFor(os: OsInfo): PackageManager {
  if (os.family === 'macos') return 'softwareupdate';
  if (os.family === 'windows') return 'windows-update';
  const ids = [os.id, ...os.idLike];
  if (ids.some((id) => APT.includes(id))) return 'apt';
  if (ids.some((id) => SUSE.includes(id) || id.startsWith('opensuse'))) return 'zypper';
  if (ids.some((id) => RPM_DNF.includes(id))) {
    const major = Number.parseInt(os.versionId ?? '', 10);
    // RHEL/CentOS/OL ≤ 7 and Amazon Linux 2 have yum only; Fedora's numbers are far higher.
    if (os.id === 'amzn' && major <= 2) return 'yum';
    if (os.id !== 'fedora' && Number.isFinite(major) && major <= 7) return 'yum';
    return 'dnf';
  }
  if (ids.some((id) => ARCH.includes(id))) return 'pacman';
  if (ids.includes('alpine')) return 'apk';
  throw new CollectorError(
    'unsupported-os',
    `Patchdeck cannot audit ${os.prettyName || os.id} (no supported package manager).`,
  );
}

export function pickCollector(os: OsInfo): Collector {
  return collectorFor(packageManagerFor(os));
}
