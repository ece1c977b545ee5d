// The lab's package recipe: which tiny packages exist in which suite, which versions each
// host profile has installed, and from that the ground truth of what a full upgrade would do.
// Everything the inventory says about pending updates is computed here, never hand-written.

export type AptSuite = 'bookworm' | 'bookworm-updates' | 'bookworm-security';

export interface DebVersion {
  version: string;
  suite: AptSuite;
  depends?: string[];
  /** postinst touches /var/run/reboot-required and appends the package to .pkgs. */
  reboot?: boolean;
  /** postinst exits 1 on configure. */
  failsPostinst?: boolean;
}

export interface DebPackage {
  name: string;
  description: string;
  /** The source package it is built from (control `Source:`); none = a source of the same name. */
  source?: string;
  /** Ascending: the last one is what apt picks as candidate (all suites have the same priority). */
  versions: DebVersion[];
}

export const DEB_PACKAGES: DebPackage[] = [
  {
    name: 'acme-base',
    description: 'lab: up to date everywhere',
    versions: [{ version: '1.0-1', suite: 'bookworm' }],
  },
  {
    name: 'acme-tool',
    description: 'lab: security update',
    versions: [
      { version: '1.0-1', suite: 'bookworm' },
      { version: '1.0-1+deb12u1', suite: 'bookworm-security' },
    ],
  },
  {
    name: 'acme-lib',
    description: 'lab: stable-updates update',
    versions: [
      { version: '2.0-1', suite: 'bookworm' },
      { version: '2.1-1', suite: 'bookworm-updates' },
    ],
  },
  {
    name: 'acme-daemon',
    description: 'lab: epoch and tilde versions',
    versions: [
      { version: '1:2.1~rc1-1', suite: 'bookworm' },
      { version: '1:2.1-1', suite: 'bookworm-updates' },
    ],
  },
  {
    name: 'acme-firmware',
    description: 'lab: security update that requires a reboot',
    versions: [
      { version: '20230210-1', suite: 'bookworm' },
      { version: '20230210-1+deb12u1', suite: 'bookworm-security', reboot: true },
    ],
  },
  {
    name: 'acme-agent',
    description: 'lab: update that pulls a new dependency',
    versions: [
      { version: '3.0-1', suite: 'bookworm' },
      { version: '3.1-1', suite: 'bookworm-updates', depends: ['acme-agent-plugins (>= 3.1)'] },
    ],
  },
  {
    name: 'acme-agent-plugins',
    description: 'lab: new dependency of acme-agent 3.1',
    versions: [{ version: '3.1-1', suite: 'bookworm-updates' }],
  },
  {
    name: 'acme-flaky',
    description: 'lab: update whose postinst fails',
    versions: [
      { version: '1.2-1', suite: 'bookworm' },
      { version: '1.2-2', suite: 'bookworm-updates', failsPostinst: true },
    ],
  },
  {
    name: 'acme-held',
    description: 'lab: held back by apt-mark hold',
    versions: [
      { version: '5.0-1', suite: 'bookworm' },
      { version: '5.0-1+deb12u1', suite: 'bookworm-security' },
    ],
  },
  // Issue 13 (advisories, test/lab/advisories.ts): only the `sources` host profile installs these,
  // so every other profile keeps its state. One source, two binaries (advisories name the source):
  {
    name: 'libacme-codec1',
    source: 'acme-codec',
    description: 'lab: library of the source acme-codec',
    versions: [
      { version: '4.2-1', suite: 'bookworm' },
      { version: '4.2-1+deb12u1', suite: 'bookworm-security' },
    ],
  },
  {
    name: 'acme-codec-tools',
    source: 'acme-codec',
    description: 'lab: tools of the source acme-codec',
    versions: [
      { version: '4.2-1', suite: 'bookworm' },
      { version: '4.2-1+deb12u1', suite: 'bookworm-security' },
    ],
  },
  // A backport: its versions sort below the release's (`~bpo`), and so do its fixes.
  {
    name: 'acme-backport',
    description: 'lab: backported package (~bpo versions)',
    versions: [
      { version: '2.0-1~bpo12+1', suite: 'bookworm' },
      { version: '2.0-2~bpo12+1', suite: 'bookworm-security' },
    ],
  },
];

/** The source package name of a lab .deb. */
export const debSourceOf = (p: DebPackage): string => p.source ?? p.name;

/** Host profiles: a host's installed state. `dnf` and `zypper` are the emulated RPM-family hosts. */
export const HOST_PROFILES = [
  'several',
  'security',
  'patched',
  'interrupted',
  'reboot',
  'dnf',
  'zypper',
  'sources',
  'alma',
] as const;
export type HostProfile = (typeof HOST_PROFILES)[number];
/**
 * Lab profiles: how profiles are spread over hosts. A host profile name gives every host that profile.
 * `intel` (issue 13's advisory tests): apt hosts cycling several and sources, the last host alma.
 */
export const LAB_PROFILES = ['mixed', 'clean', 'intel', ...HOST_PROFILES] as const;
export type LabProfile = (typeof LAB_PROFILES)[number];

export interface AptHostState {
  /** package -> installed version */
  installed: Record<string, string>;
  held: string[];
  /** dpkg -i of this version is done last and allowed to fail (leaves the package half-configured). */
  halfConfigured?: { name: string; version: string };
  /** Seeded into /run/reboot-required(.pkgs) when the host boots. */
  rebootRequiredPkgs?: string[];
}

const latest = (name: string) => {
  const p = DEB_PACKAGES.find((x) => x.name === name);
  if (!p) throw new Error(`unknown package ${name}`);
  return (p.versions[p.versions.length - 1] as DebVersion).version;
};
const oldest = (name: string) => {
  const p = DEB_PACKAGES.find((x) => x.name === name);
  if (!p) throw new Error(`unknown package ${name}`);
  return (p.versions[0] as DebVersion).version;
};

export type AptHostProfile = Exclude<HostProfile, 'dnf' | 'zypper' | 'alma'>;
export const isAptProfile = (p: HostProfile): p is AptHostProfile =>
  p !== 'dnf' && p !== 'zypper' && p !== 'alma';

export const APT_STATES: Record<AptHostProfile, AptHostState> = {
  /** Everything pending: security, stable-updates, epoch/tilde, reboot, new dependency, failing postinst, held. */
  several: {
    installed: Object.fromEntries(
      [
        'acme-base',
        'acme-tool',
        'acme-lib',
        'acme-daemon',
        'acme-firmware',
        'acme-agent',
        'acme-flaky',
        'acme-held',
      ].map((n) => [n, oldest(n)]),
    ),
    held: ['acme-held'],
  },
  /** Only security updates pending. */
  security: {
    installed: {
      'acme-base': latest('acme-base'),
      'acme-tool': oldest('acme-tool'),
      'acme-firmware': oldest('acme-firmware'),
      'acme-lib': latest('acme-lib'),
      'acme-daemon': latest('acme-daemon'),
    },
    held: [],
  },
  /** Fully patched: nothing pending, no reboot needed. */
  patched: {
    installed: Object.fromEntries(
      [
        'acme-base',
        'acme-tool',
        'acme-lib',
        'acme-daemon',
        'acme-firmware',
        'acme-agent',
        'acme-agent-plugins',
        'acme-held',
      ].map((n) => [n, latest(n)]),
    ),
    held: [],
  },
  /** A failed earlier upgrade: acme-flaky half-configured, plus stable-updates pending. */
  interrupted: {
    installed: {
      'acme-base': latest('acme-base'),
      'acme-lib': oldest('acme-lib'),
      'acme-daemon': oldest('acme-daemon'),
      'acme-tool': latest('acme-tool'),
    },
    held: [],
    halfConfigured: { name: 'acme-flaky', version: latest('acme-flaky') },
  },
  /** Patched, but the last upgrade (acme-firmware) still waits for a reboot. */
  reboot: {
    installed: {
      'acme-base': latest('acme-base'),
      'acme-tool': latest('acme-tool'),
      'acme-lib': latest('acme-lib'),
      'acme-firmware': latest('acme-firmware'),
    },
    held: [],
    rebootRequiredPkgs: ['acme-firmware'],
  },
  /**
   * Issue 13's Debian advisory cases (test/lab/advisories.ts): a source with two binaries, a
   * backport, a fixed and an unfixed and a not-affected CVE, a security update no advisory names.
   */
  sources: {
    installed: {
      'acme-base': latest('acme-base'),
      'libacme-codec1': oldest('libacme-codec1'),
      'acme-codec-tools': oldest('acme-codec-tools'),
      'acme-backport': oldest('acme-backport'),
      'acme-tool': oldest('acme-tool'),
      'acme-firmware': oldest('acme-firmware'),
      'acme-lib': oldest('acme-lib'),
      'acme-daemon': latest('acme-daemon'),
    },
    held: [],
  },
};

// ---------------------------------------------------------------------------------------------
// RPM family (dnf): one repo set with every version, advisories in updateinfo.xml.

export interface RpmVersion {
  epoch?: number;
  version: string;
  release: string;
  repo: 'baseos' | 'appstream';
  requires?: string[];
}
export interface RpmPackage {
  name: string;
  summary: string;
  versions: RpmVersion[];
}
export interface RpmAdvisory {
  id: string;
  type: 'security' | 'bugfix' | 'enhancement';
  severity: 'Critical' | 'Important' | 'Moderate' | 'Low' | null;
  title: string;
  issued: string;
  cves: string[];
  /** package name -> the update's EVR covered by this advisory (the latest version) */
  packages: string[];
  reboot?: boolean;
}

export const RPM_PACKAGES: RpmPackage[] = [
  {
    name: 'acme-base',
    summary: 'lab: up to date',
    versions: [{ version: '1.0', release: '1.el9', repo: 'baseos' }],
  },
  {
    name: 'acme-tool',
    summary: 'lab: Important security update',
    versions: [
      { version: '1.0', release: '1.el9', repo: 'baseos' },
      { version: '1.1', release: '1.el9', repo: 'baseos' },
    ],
  },
  {
    name: 'acme-lib',
    summary: 'lab: bugfix update',
    versions: [
      { version: '2.0', release: '1.el9', repo: 'appstream' },
      { version: '2.1', release: '1.el9', repo: 'appstream' },
    ],
  },
  {
    name: 'acme-daemon',
    summary: 'lab: epoch, Moderate security update',
    versions: [
      { epoch: 1, version: '2.0', release: '1.el9', repo: 'appstream' },
      { epoch: 1, version: '2.0', release: '2.el9_3', repo: 'appstream' },
    ],
  },
  {
    name: 'acme-firmware',
    summary: 'lab: Critical security update that needs a reboot',
    versions: [
      { version: '20230210', release: '1.el9', repo: 'baseos' },
      { version: '20240210', release: '1.el9', repo: 'baseos' },
    ],
  },
  {
    name: 'acme-agent',
    summary: 'lab: enhancement that pulls a new dependency',
    versions: [
      { version: '3.0', release: '1.el9', repo: 'appstream' },
      { version: '3.1', release: '1.el9', repo: 'appstream', requires: ['acme-agent-plugins >= 3.1'] },
    ],
  },
  {
    name: 'acme-agent-plugins',
    summary: 'lab: new dependency of acme-agent 3.1',
    versions: [{ version: '3.1', release: '1.el9', repo: 'appstream' }],
  },
];

export const RPM_ADVISORIES: RpmAdvisory[] = [
  {
    id: 'RLSA-2026:0001',
    type: 'security',
    severity: 'Important',
    title: 'Important: acme-tool security update',
    issued: '2026-01-12 00:00:00',
    cves: ['CVE-2026-0001'],
    packages: ['acme-tool'],
  },
  {
    id: 'RLBA-2026:0002',
    type: 'bugfix',
    severity: null,
    title: 'acme-lib bug fix update',
    issued: '2026-01-13 00:00:00',
    cves: [],
    packages: ['acme-lib'],
  },
  {
    id: 'RLSA-2026:0003',
    type: 'security',
    severity: 'Critical',
    title: 'Critical: acme-firmware security update',
    issued: '2026-01-14 00:00:00',
    cves: ['CVE-2026-0003', 'CVE-2026-0004'],
    packages: ['acme-firmware'],
    reboot: true,
  },
  {
    id: 'RLSA-2026:0005',
    type: 'security',
    severity: 'Moderate',
    title: 'Moderate: acme-daemon security update',
    issued: '2026-01-15 00:00:00',
    cves: ['CVE-2026-0005'],
    packages: ['acme-daemon'],
  },
  {
    id: 'RLEA-2026:0006',
    type: 'enhancement',
    severity: null,
    title: 'acme-agent enhancement update',
    issued: '2026-01-16 00:00:00',
    cves: [],
    packages: ['acme-agent', 'acme-agent-plugins'],
  },
];

/** The dnf host installs the oldest version of every package except the new dependency. */
export const RPM_INSTALLED = [
  'acme-base',
  'acme-tool',
  'acme-lib',
  'acme-daemon',
  'acme-firmware',
  'acme-agent',
];

// ---------------------------------------------------------------------------------------------
// zypper: the same rpms in two rpm-md repositories like a Leap host's (the release, `repo-oss`,
// with every package's first version; `repo-update` with the newer ones) and SUSE-style patches
// in repo-update's updateinfo.xml (issued as epoch seconds, lower-case severities, categories
// security / recommended, reboot_suggested on a package).

export type ZypperRepo = 'repo-oss' | 'repo-update';
export interface ZypperPatch {
  id: string;
  category: 'security' | 'recommended' | 'optional' | 'feature';
  severity: 'critical' | 'important' | 'moderate' | 'low';
  title: string;
  /** epoch seconds: libzypp reads `issued date` as time_t */
  issued: number;
  cves: string[];
  /** packages whose latest version this patch ships */
  packages: string[];
  reboot?: boolean;
}

export const ZYPPER_PATCHES: ZypperPatch[] = [
  {
    id: 'openSUSE-SLE-15.5-2026-101',
    category: 'security',
    severity: 'important',
    title: 'Security update for acme-tool',
    issued: 1768176000, // 2026-01-12
    cves: ['CVE-2026-0001'],
    packages: ['acme-tool'],
  },
  {
    id: 'openSUSE-SLE-15.5-2026-102',
    category: 'recommended',
    severity: 'moderate',
    title: 'Recommended update for acme-lib',
    issued: 1768262400,
    cves: [],
    packages: ['acme-lib'],
  },
  {
    id: 'openSUSE-SLE-15.5-2026-103',
    category: 'security',
    severity: 'critical',
    title: 'Security update for acme-firmware',
    issued: 1768348800,
    cves: ['CVE-2026-0003', 'CVE-2026-0004'],
    packages: ['acme-firmware'],
    reboot: true,
  },
  {
    id: 'openSUSE-SLE-15.5-2026-105',
    category: 'security',
    severity: 'moderate',
    title: 'Security update for acme-daemon',
    issued: 1768435200,
    cves: ['CVE-2026-0005'],
    packages: ['acme-daemon'],
  },
  {
    id: 'openSUSE-SLE-15.5-2026-106',
    category: 'recommended',
    severity: 'low',
    title: 'Recommended update for acme-agent',
    issued: 1768521600,
    cves: [],
    packages: ['acme-agent', 'acme-agent-plugins'],
  },
];

/** The zypper host, like the dnf host, has the oldest version of every package except the new dependency. */
export const ZYPPER_INSTALLED = RPM_INSTALLED;

/** Packages that first appear with an update (a new dependency), so only in repo-update. */
export const ZYPPER_NEW_IN_UPDATES = ['acme-agent-plugins'];

/** Which zypper repository ships this version: a package's first version is the release's. */
export const zypperRepoOf = (pkg: RpmPackage, v: RpmVersion): ZypperRepo =>
  pkg.versions[0] === v && !ZYPPER_NEW_IN_UPDATES.includes(pkg.name) ? 'repo-oss' : 'repo-update';

export const rpmEvr = (v: RpmVersion) => `${v.epoch ? `${v.epoch}:` : ''}${v.version}-${v.release}`;
export const rpmFile = (name: string, v: RpmVersion) => `${name}-${v.version}-${v.release}.noarch.rpm`;

// ---------------------------------------------------------------------------------------------
// AlmaLinux 9 (host profile `alma`, on the dnf image): REAL package names and EVRs from real ALSA
// advisories in test/fixtures/advisories/osv-almalinux/almalinux9 (AlmaLinux/osv-database), so that
// an audit plus an import of the real OSV/KEV/EPSS files has an exact answer. For each binary the
// installed EVR is the `fixed` EVR of the advisory BEFORE the chosen one and the available EVR the
// chosen one's, so exactly the chosen advisories lie in installed < fixed <= available. Chosen with
// rpm's own comparison (python3-rpm labelCompare) over all 1 783 files; the reasoning is kept below
// with each source. AlmaLinux's OSV records name BINARY packages; the sources here build them as
// subpackages (`%package -n`), so several binaries share one SOURCERPM as on a real host.

export interface AlmaEvr {
  epoch?: number;
  version: string;
  release: string;
}
export interface AlmaSource {
  /** The source package (SOURCERPM's name). */
  source: string;
  /** The binaries built from it, all installed and all updated. */
  binaries: string[];
  repo: 'baseos' | 'appstream';
  installed: AlmaEvr;
  available: AlmaEvr;
  /** The ALSA ids whose fixed EVR lies in installed < fixed <= available (the recipe's claim; the test recomputes it). */
  fixes: string[];
  why: string;
}

export const ALMA_SOURCES: AlmaSource[] = [
  {
    source: 'httpd',
    binaries: ['httpd', 'httpd-core', 'httpd-filesystem', 'httpd-tools'],
    repo: 'appstream',
    installed: { version: '2.4.57', release: '8.el9' },
    available: { version: '2.4.57', release: '11.el9_4' },
    fixes: ['ALSA-2024:4726'],
    why:
      'four binaries of one source; 2.4.57-8.el9 is ALSA-2024:2278, 2.4.57-11.el9_4 is ALSA-2024:4726 ' +
      '(Important, CVE-2024-38475 known-exploited); the next one, ALSA-2024:5138 at 2.4.57-11.el9_4.1, is above',
  },
  {
    source: 'nghttp2',
    binaries: ['libnghttp2'],
    repo: 'baseos',
    installed: { version: '1.43.0', release: '5.el9_3.1' },
    available: { version: '1.43.0', release: '5.el9_4.3' },
    fixes: ['ALSA-2024:3501'],
    why:
      'a binary whose name is not its source: 1.43.0-5.el9_3.1 is ALSA-2023:6746, 1.43.0-5.el9_4.3 is ' +
      'ALSA-2024:3501 (Moderate, CVE-2024-28182)',
  },
  {
    source: 'toolbox',
    binaries: ['toolbox', 'toolbox-tests'],
    repo: 'appstream',
    installed: { version: '0.0.99.3', release: '9.el9' },
    available: { version: '0.0.99.3', release: '10.el9_2' },
    fixes: ['ALSA-2023:6077'],
    why:
      'ALSA-2023:6077 names its CVEs (CVE-2023-39325, CVE-2023-44487 known-exploited) only in ' +
      'references[].url, `related` is empty; 0.0.99.3-9.el9 is ALSA-2023:2236',
  },
  {
    source: 'nodejs-nodemon',
    binaries: ['nodejs-nodemon'],
    repo: 'appstream',
    installed: { version: '2.0.20', release: '1.module_el9.1.0+16+91bc168f' },
    available: { version: '2.0.20', release: '2.module_el9.2.0+29+de583a0b' },
    fixes: ['ALSA-2023:2654', 'ALSA-2023:3577', 'ALSA-2023:4330'],
    why:
      'a module-stream build (nodejs:18): 2.0.20-1.module_el9.1.0+16 is ALSA-2022:8832, and the three ' +
      'nodejs:18 advisories that follow share the fixed EVR 2.0.20-2.module_el9.2.0+29. The normal ' +
      "(non-module) build's ALSA-2023:0321 at 2.0.20-2.el9_1 sorts between them by plain rpm order " +
      '(module_el9 > el9_1) and must NOT count: another stream',
  },
  {
    source: 'bash',
    binaries: ['bash'],
    repo: 'baseos',
    installed: { version: '5.1.8', release: '6.el9_1' },
    available: { version: '5.1.8', release: '9.el9' },
    fixes: [],
    why:
      'an update that fixes nothing: 5.1.8-6.el9_1 is the only bash advisory (ALSA-2023:0340), and no ' +
      'advisory names 5.1.8-9.el9 (a bug-fix build)',
  },
];

/** What the alma repository's updateinfo.xml says (as AlmaLinux's does: ids, severity, CVE references). */
export interface AlmaUpdateinfo {
  id: string;
  type: 'security' | 'bugfix';
  severity: 'Critical' | 'Important' | 'Moderate' | 'Low';
  title: string;
  issued: string;
  cves: string[];
  source: string;
}
/** Two of the chosen advisories: reconciliation must count each once (the package manager and the snapshot both name them). */
export const ALMA_UPDATEINFO: AlmaUpdateinfo[] = [
  {
    id: 'ALSA-2024:4726',
    type: 'security',
    severity: 'Important',
    title: 'Important: httpd security update',
    issued: '2024-07-23 00:00:00',
    cves: ['CVE-2024-38473', 'CVE-2024-38474', 'CVE-2024-38475', 'CVE-2024-38477', 'CVE-2024-39573'],
    source: 'httpd',
  },
  {
    id: 'ALSA-2024:3501',
    type: 'security',
    severity: 'Moderate',
    title: 'Moderate: nghttp2 security update',
    issued: '2024-05-30 00:00:00',
    cves: ['CVE-2024-28182'],
    source: 'nghttp2',
  },
];

export const almaEvr = (v: AlmaEvr) => `${v.epoch ? `${v.epoch}:` : ''}${v.version}-${v.release}`;
export const almaRpmFile = (binary: string, v: AlmaEvr) => `${binary}-${v.version}-${v.release}.noarch.rpm`;

function almaPending(): PendingUpdate[] {
  return ALMA_SOURCES.flatMap((s) => {
    const info = ALMA_UPDATEINFO.filter((a) => a.source === s.source);
    return s.binaries.map((name) => ({
      name,
      arch: 'noarch',
      installed: almaEvr(s.installed),
      available: almaEvr(s.available),
      security: info.some((a) => a.type === 'security'),
      severity: info[0]?.severity ?? null,
      advisories: info.map((a) => a.id),
      held: false,
      rebootRequired: false,
      repository: s.repo,
      newDependencies: [],
      sourceName: s.source,
    }));
  });
}

// ---------------------------------------------------------------------------------------------
// Ground truth.

export interface PendingUpdate {
  name: string;
  arch: string;
  installed: string;
  available: string;
  security: boolean;
  severity: string | null;
  advisories: string[];
  held: boolean;
  rebootRequired: boolean;
  repository: string;
  newDependencies: string[];
  /** The source package it is built from (dpkg's `Source:`, rpm's SOURCERPM name); its versions are the binary's here. */
  sourceName: string;
}

const depName = (dep: string) => dep.split(/[\s(]/)[0] as string;

export function pendingFor(profile: HostProfile): PendingUpdate[] {
  if (profile === 'alma') return almaPending();
  if (profile === 'dnf') return rpmPending();
  if (profile === 'zypper') return zypperPending();
  const state = APT_STATES[profile];
  const installed = { ...state.installed };
  if (state.halfConfigured) installed[state.halfConfigured.name] = state.halfConfigured.version;
  const pending: PendingUpdate[] = [];
  for (const pkg of DEB_PACKAGES) {
    const inst = installed[pkg.name];
    if (inst === undefined) continue;
    const candidate = pkg.versions[pkg.versions.length - 1] as DebVersion;
    if (candidate.version === inst) continue;
    pending.push({
      name: pkg.name,
      arch: 'all',
      installed: inst,
      available: candidate.version,
      security: candidate.suite === 'bookworm-security',
      severity: null,
      advisories: [],
      held: state.held.includes(pkg.name),
      rebootRequired: candidate.reboot === true,
      repository: candidate.suite,
      newDependencies: (candidate.depends ?? []).map(depName).filter((d) => installed[d] === undefined),
      sourceName: debSourceOf(pkg),
    });
  }
  return pending;
}

function rpmPending(): PendingUpdate[] {
  const pending: PendingUpdate[] = [];
  for (const name of RPM_INSTALLED) {
    const pkg = RPM_PACKAGES.find((p) => p.name === name);
    if (!pkg || pkg.versions.length < 2) continue;
    const inst = pkg.versions[0] as RpmVersion;
    const cand = pkg.versions[pkg.versions.length - 1] as RpmVersion;
    const advisories = RPM_ADVISORIES.filter((a) => a.packages.includes(name));
    const sec = advisories.filter((a) => a.type === 'security');
    const order = ['Critical', 'Important', 'Moderate', 'Low'];
    const severity =
      sec
        .map((a) => a.severity)
        .filter((s): s is NonNullable<typeof s> => s !== null)
        .sort((a, b) => order.indexOf(a) - order.indexOf(b))[0] ?? null;
    pending.push({
      name,
      arch: 'noarch',
      installed: rpmEvr(inst),
      available: rpmEvr(cand),
      security: sec.length > 0,
      severity,
      advisories: advisories.map((a) => a.id),
      held: false,
      rebootRequired: advisories.some((a) => a.reboot === true),
      repository: cand.repo,
      newDependencies: (cand.requires ?? []).map(depName).filter((d) => !RPM_INSTALLED.includes(d)),
      sourceName: name,
    });
  }
  return pending;
}

const ZYPPER_SEVERITY_ORDER = ['critical', 'important', 'moderate', 'low'];

/** A needed patch as `zypper list-patches` shows it (zypper hosts only). */
export interface PendingPatch {
  id: string;
  category: string;
  severity: string;
  security: boolean;
  rebootSuggested: boolean;
  /** the packages it ships (as `zypper info -t patch` lists them) */
  packages: string[];
  repository: string;
}

export function patchesFor(profile: HostProfile): PendingPatch[] {
  if (profile !== 'zypper') return [];
  return ZYPPER_PATCHES.filter((a) => a.packages.some((n) => ZYPPER_INSTALLED.includes(n))).map((a) => ({
    id: a.id,
    category: a.category,
    severity: a.severity,
    security: a.category === 'security',
    rebootSuggested: a.reboot === true,
    packages: a.packages,
    repository: 'repo-update',
  }));
}

/** What `zypper list-updates` lists, each with the needed patches that ship its candidate. */
function zypperPending(): PendingUpdate[] {
  const pending: PendingUpdate[] = [];
  for (const name of ZYPPER_INSTALLED) {
    const pkg = RPM_PACKAGES.find((p) => p.name === name);
    if (!pkg || pkg.versions.length < 2) continue;
    const inst = pkg.versions[0] as RpmVersion;
    const cand = pkg.versions[pkg.versions.length - 1] as RpmVersion;
    const patches = ZYPPER_PATCHES.filter((a) => a.packages.includes(name));
    const severity =
      patches
        .map((a) => a.severity)
        .sort((a, b) => ZYPPER_SEVERITY_ORDER.indexOf(a) - ZYPPER_SEVERITY_ORDER.indexOf(b))[0] ?? null;
    pending.push({
      name,
      arch: 'noarch',
      installed: rpmEvr(inst),
      available: rpmEvr(cand),
      security: patches.some((a) => a.category === 'security'),
      severity,
      advisories: patches.map((a) => a.id),
      held: false,
      rebootRequired: patches.some((a) => a.reboot === true),
      repository: zypperRepoOf(pkg, cand),
      newDependencies: (cand.requires ?? []).map(depName).filter((d) => !ZYPPER_INSTALLED.includes(d)),
      sourceName: name,
    });
  }
  return pending;
}

/** Which host profile host number i (0-based) of n gets under a lab profile. */
export function hostProfileFor(lab: LabProfile, i: number, n: number): HostProfile {
  if (lab === 'clean') return 'several';
  if (lab === 'intel') return n >= 2 && i === n - 1 ? 'alma' : i % 2 === 0 ? 'several' : 'sources';
  if (lab !== 'mixed') return lab;
  if (n >= 3 && i === n - 1) return 'dnf';
  if (n >= 4 && i === n - 2) return 'zypper';
  const cycle: HostProfile[] = ['several', 'security', 'patched', 'interrupted', 'reboot'];
  return cycle[i % cycle.length] as HostProfile;
}
