/**
 * Test and benchmark support: a large, realistic fleet written through the project's own insert
 * path — hosts by insertHost, each audit by startAudit + completeAudit with its findings' CVEs,
 * KEV flag, EPSS, tier, first sighting and due date in their INSERT (known before storing, as an
 * import knows them), their evidence and the audit's counts by writeAuditIntel (the function the
 * enrichment stores its judgement with), and the host's sighting by recordAuditSighting; a host's
 * audits (or hostsPerTransaction hosts') in one transaction. Deterministic for a seed: the same
 * options give the same rows.
 *
 * Shape of the fleet: about 70% Debian 12, 20% AlmaLinux 9, 10% Ubuntu 22.04; every host has its
 * own set of pending updates drawn from one pool per OS (so most packages are pending on many
 * hosts), about a third of them security fixes; each audit is a day after the previous one and
 * keeps most of its host's updates (a few are fixed, a few new ones appear). On one host in fifty
 * the newest audit is stored before an older one (an offline collection that arrived late), so
 * that "each host's newest audit" must go by when it was taken, not by row id.
 */
import type { Database } from 'better-sqlite3';
import { DEFAULT_SLA_DAYS } from '../../api/intel-schemas';
import { completeAudit, startAudit, type FindingInput } from '../audits';
import { insertHost, recordAuditSighting } from '../hosts';
import { writeAuditIntel, type FindingJudgement } from '../intel';

export interface FleetOptions {
  hosts: number;
  auditsPerHost: number;
  findingsPerAudit: number;
  seed?: number;
  /**
   * How many hosts' audits are committed together (default 1: each host's history in one
   * transaction, as a bundle import or a set of offline collections stores them; each audit is
   * still its own nested transaction). A commit writes every page the audits touched to the WAL.
   */
  hostsPerTransaction?: number;
}

/** A small, fast, deterministic generator (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DEBIAN_BASE = [
  'openssl',
  'libssl3',
  'curl',
  'libcurl4',
  'bash',
  'coreutils',
  'systemd',
  'libsystemd0',
  'udev',
  'openssh-server',
  'openssh-client',
  'sudo',
  'tzdata',
  'ca-certificates',
  'libc6',
  'libc-bin',
  'linux-image-amd64',
  'gnupg',
  'gpgv',
  'apt',
  'libapt-pkg6.0',
  'dpkg',
  'perl',
  'perl-base',
  'python3.11',
  'libpython3.11',
  'git',
  'vim',
  'vim-common',
  'xz-utils',
  'liblzma5',
  'zlib1g',
  'libxml2',
  'libexpat1',
  'libsqlite3-0',
  'nginx',
  'nginx-common',
  'apache2',
  'libapache2-mod-php',
  'postgresql-15',
  'libpq5',
  'mariadb-server',
  'redis-server',
  'rsync',
  'wget',
  'tar',
  'gzip',
  'libgnutls30',
  'libnss3',
  'libkrb5-3',
  'libgssapi-krb5-2',
  'libtiff6',
  'libpng16-16',
  'libjpeg62-turbo',
  'libfreetype6',
  'libwebp7',
  'imagemagick',
  'ghostscript',
  'cups',
  'bind9-host',
  'dnsutils',
  'libldap-2.5-0',
  'libpam-modules',
  'passwd',
  'login',
  'util-linux',
  'mount',
  'e2fsprogs',
  'libext2fs2',
  'grub-pc',
  'intel-microcode',
  'firmware-linux-free',
  'ntpsec',
  'chrony',
  'postfix',
  'exim4-base',
  'dovecot-core',
];
const ALMA_BASE = [
  'openssl-libs',
  'openssl',
  'curl',
  'libcurl',
  'bash',
  'coreutils',
  'systemd',
  'systemd-libs',
  'glibc',
  'glibc-common',
  'kernel',
  'kernel-core',
  'kernel-modules',
  'openssh-server',
  'openssh',
  'sudo',
  'tzdata',
  'ca-certificates',
  'gnupg2',
  'dnf',
  'rpm',
  'rpm-libs',
  'python3',
  'python3-libs',
  'perl-interpreter',
  'git',
  'vim-minimal',
  'xz-libs',
  'zlib',
  'libxml2',
  'expat',
  'sqlite-libs',
  'nginx',
  'httpd',
  'postgresql',
  'mariadb',
  'redis',
  'rsync',
  'wget',
  'tar',
  'gzip',
  'gnutls',
  'nss',
  'krb5-libs',
  'libtiff',
  'libpng',
  'libjpeg-turbo',
  'freetype',
  'cups-libs',
  'bind-libs',
  'openldap',
  'pam',
  'shadow-utils',
  'util-linux',
  'e2fsprogs',
  'grub2-common',
  'microcode_ctl',
  'linux-firmware',
  'chrony',
  'postfix',
  'dovecot',
  'selinux-policy',
  'selinux-policy-targeted',
  'firewalld',
  'NetworkManager',
];
/** Library-like suffixes that widen a base list into a pool of realistic, shared names. */
const SUFFIXES = ['', '-dev', '-doc', '-data', '-utils', '-common', '-bin', '-tools'];

interface OsProfile {
  osId: string;
  osName: string;
  osVersion: string;
  packageManager: string;
  pool: string[];
  repository: (security: boolean) => string;
  advisory: (n: number) => string;
  arch: string;
  version: (r: () => number) => [string, string];
}

const poolOf = (base: string[]): string[] => SUFFIXES.flatMap((s) => base.map((b) => `${b}${s}`));

const OS_PROFILES: OsProfile[] = [
  {
    osId: 'debian',
    osName: 'Debian GNU/Linux',
    osVersion: '12',
    packageManager: 'apt',
    pool: poolOf(DEBIAN_BASE),
    repository: (s) => (s ? 'Debian-Security:12/stable-security' : 'Debian:12.8/stable'),
    advisory: (n) => `DSA-${5500 + (n % 400)}-1`,
    arch: 'amd64',
    version: (r) => {
      const major = 1 + Math.floor(r() * 9);
      const minor = Math.floor(r() * 20);
      const deb = 1 + Math.floor(r() * 5);
      return [`${major}.${minor}.${deb}-1+deb12u1`, `${major}.${minor}.${deb}-1+deb12u2`];
    },
  },
  {
    osId: 'almalinux',
    osName: 'AlmaLinux',
    osVersion: '9.4',
    packageManager: 'dnf',
    pool: poolOf(ALMA_BASE),
    repository: () => 'baseos',
    advisory: (n) => `ALSA-2026:${1000 + (n % 900)}`,
    arch: 'x86_64',
    version: (r) => {
      const major = 1 + Math.floor(r() * 9);
      const minor = Math.floor(r() * 20);
      const rel = 1 + Math.floor(r() * 40);
      return [`${major}.${minor}-${rel}.el9`, `${major}.${minor}-${rel + 1}.el9_4`];
    },
  },
  {
    osId: 'ubuntu',
    osName: 'Ubuntu',
    osVersion: '22.04',
    packageManager: 'apt',
    pool: poolOf(DEBIAN_BASE),
    repository: (s) => (s ? 'Ubuntu:22.04/jammy-security' : 'Ubuntu:22.04/jammy-updates'),
    advisory: (n) => `USN-${6500 + (n % 700)}-1`,
    arch: 'amd64',
    version: (r) => {
      const major = 1 + Math.floor(r() * 9);
      const minor = Math.floor(r() * 20);
      return [`${major}.${minor}-0ubuntu0.22.04.1`, `${major}.${minor}-0ubuntu0.22.04.2`];
    },
  },
];

const SEVERITIES = ['critical', 'important', 'important', 'moderate', 'moderate', 'moderate', 'low'];
const TIER_OF: Record<string, FindingJudgement['tier']> = {
  critical: 'critical',
  important: 'high',
  moderate: 'medium',
  low: 'low',
};
/** The newest audit's day: every fleet ends on the same date, whatever the seed. */
const LAST_DAY = Date.parse('2026-11-20T06:00:00.000Z');
const DAY = 86_400_000;

/** A stable small hash of a string (FNV-1a), to give each package its CVEs and EPSS. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Writes `hosts` hosts with `auditsPerHost` successful audits of `findingsPerAudit` findings each,
 * judged as the enrichment would judge them. Returns the host ids and the audit ids (in the order
 * written). Use a fresh workspace: host names are `fleet-00001`…
 */
export function fillFleet(
  db: Database,
  opts: FleetOptions,
): {
  hostIds: number[];
  auditIds: number[];
  /**
   * The milliseconds spent in the project's insert path (insertHost, startAudit, completeAudit,
   * writeAuditIntel, recordAuditSighting and the commits); the rest of the call invents the fleet
   * and its judgement (the stand-in for matching against a snapshot).
   */
  storeMs: number;
} {
  const rand = prng(opts.seed ?? 1);
  const hostIds: number[] = [];
  const auditIds: number[] = [];
  const judgedAt = new Date(LAST_DAY + DAY).toISOString();
  const batch = Math.max(1, opts.hostsPerTransaction ?? 1);
  let storeMs = 0;
  const store = <T>(fn: () => T): T => {
    const t = performance.now();
    try {
      return fn();
    } finally {
      storeMs += performance.now() - t;
    }
  };
  try {
    for (let h = 0; h < opts.hosts; h++) {
      if (h % batch === 0) store(() => db.exec('BEGIN'));
      fillHost(h);
      if ((h + 1) % batch === 0 || h + 1 === opts.hosts) store(() => db.exec('COMMIT'));
    }
  } catch (err) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw err;
  }
  return { hostIds, auditIds, storeMs };

  function fillHost(h: number): void {
    const roll = rand();
    const os = OS_PROFILES[roll < 0.7 ? 0 : roll < 0.9 ? 1 : 2]!;
    const n = h + 1;
    const host = store(() =>
      insertHost(db, {
        name: `fleet-${String(n).padStart(5, '0')}`,
        address: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
      }),
    );
    hostIds.push(host.id);
    // The host's pending updates: a window of its OS pool, replaced a little at each audit.
    const pending = new Map<string, { finding: FindingInput }>();
    const firstSeen = new Map<string, string>();
    const draw = (): void => {
      for (let tries = 0; tries < 20; tries++) {
        const name = os.pool[Math.floor(Math.pow(rand(), 1.6) * os.pool.length)]!;
        if (pending.has(name)) continue;
        const [from, to] = os.version(rand);
        const security = rand() < 0.33;
        const severity = security ? SEVERITIES[Math.floor(rand() * SEVERITIES.length)]! : null;
        pending.set(name, {
          finding: {
            kind: 'package',
            package: name,
            arch: name.endsWith('-doc') || name.endsWith('-data') ? 'all' : os.arch,
            installedVersion: from,
            availableVersion: to,
            repository: os.repository(security),
            security,
            severity,
            vendorSeverity: severity === null ? null : severity[0]!.toUpperCase() + severity.slice(1),
            advisories: security ? [os.advisory(hash(name))] : [],
            held: rand() < 0.01,
            rebootRequired: name.startsWith('linux-image') || name.startsWith('kernel') ? true : null,
            sourcePackage: name.replace(/-(dev|doc|data|utils|common|bin|tools)$/, ''),
            sourceInstalledVersion: from,
            sourceAvailableVersion: to,
          },
        });
        return;
      }
    };
    while (pending.size < opts.findingsPerAudit) draw();
    const lateArrival = opts.auditsPerHost > 1 && n % 50 === 0;
    const order = Array.from({ length: opts.auditsPerHost }, (_, k) => k);
    if (lateArrival) {
      const last = order.length - 1;
      [order[last - 1], order[last]] = [order[last]!, order[last - 1]!];
    }
    // Each audit's findings, in the order they were taken (older first).
    const snapshots: FindingInput[][] = [];
    for (let k = 0; k < opts.auditsPerHost; k++) {
      if (k > 0) {
        // A few updates were installed since, and as many new ones appeared.
        const names = [...pending.keys()];
        const fixed = Math.max(1, Math.round(opts.findingsPerAudit * 0.06));
        for (let i = 0; i < fixed && names.length > 0; i++)
          pending.delete(names.splice(Math.floor(rand() * names.length), 1)[0]!);
        while (pending.size < opts.findingsPerAudit) draw();
      }
      snapshots.push([...pending.values()].map((p) => p.finding));
    }
    const takenAt = (k: number): string =>
      new Date(LAST_DAY - (opts.auditsPerHost - 1 - k) * DAY + (n % 600) * 1000).toISOString();
    // First sightings follow when the audits were taken, not the order they are stored in.
    const seenAt: Map<string, string>[] = [];
    for (let k = 0; k < opts.auditsPerHost; k++) {
      const names = new Set(snapshots[k]!.map((f) => f.package));
      for (const name of [...firstSeen.keys()]) if (!names.has(name)) firstSeen.delete(name);
      for (const name of names) if (!firstSeen.has(name)) firstSeen.set(name, takenAt(k));
      seenAt.push(new Map(firstSeen));
    }
    for (const k of order) {
      const at = takenAt(k);
      const findings = snapshots[k]!;
      const auditId = store(() => startAudit(db, { hostId: host.id, taskId: null }));
      // The judgement is known before the audit is stored (it is derived from the names), so it
      // goes into each finding's INSERT; writeAuditIntel then writes the evidence and the counts.
      const judgements = judge(findings, seenAt[k]!, os);
      const judged = findings.map((f, i) => ({ ...f, judged: { ...judgements[i]!, judgedAt } }));
      const findingIds = store(() =>
        completeAudit(db, auditId, {
          osId: os.osId,
          osName: os.osName,
          osVersion: os.osVersion,
          kernel: os.osId === 'almalinux' ? '5.14.0-427.el9.x86_64' : '6.1.0-26-amd64',
          packageManager: os.packageManager,
          metadataAgeSeconds: 3600,
          rebootRequired: findings.some((f) => f.rebootRequired === true),
          warnings: [],
          durationMs: 1500,
          findings: judged,
          startedAt: at,
          finishedAt: new Date(Date.parse(at) + 1500).toISOString(),
        }),
      );
      auditIds.push(auditId);
      for (let i = 0; i < judgements.length; i++) judgements[i]!.findingId = findingIds[i]!;
      const counts: Record<string, number> = { kev: 0, critical: 0, high: 0, medium: 0, low: 0 };
      for (const j of judgements) if (j.tier !== null) counts[j.tier] = (counts[j.tier] ?? 0) + 1;
      store(() => writeAuditIntel(db, auditId, judgements, counts, judgedAt));
    }
    store(() => recordAuditSighting(db, host.id, { hostname: null }));
  }
}

/**
 * The enrichment's judgement of an audit's findings, derived from each package's name; stored with
 * the findings (findingId is set once they have their ids).
 */
function judge(findings: FindingInput[], seen: Map<string, string>, os: OsProfile): FindingJudgement[] {
  return findings.map((r) => {
    const firstSeenAt = seen.get(r.package) ?? null;
    if (!r.security)
      return {
        findingId: 0,
        cves: [],
        kev: false,
        epss: null,
        tier: null,
        firstSeenAt,
        dueAt: null,
        evidence: [],
        storedWithFinding: true,
      };
    const h = hash(`${os.osId}/${r.package}`);
    const count = 1 + (h % 3);
    const cves = Array.from(
      { length: count },
      (_, i) => `CVE-2026-${String(10000 + ((h >>> (i * 5)) % 40000))}`,
    );
    const kev = h % 97 === 0;
    const tier: FindingJudgement['tier'] = kev ? 'kev' : (TIER_OF[r.severity ?? ''] ?? 'medium');
    const epss = Math.round(((h % 10007) / 10007) ** 3 * 10000) / 10000;
    const days = DEFAULT_SLA_DAYS[tier ?? 'medium'];
    const dueAt = firstSeenAt === null ? null : new Date(Date.parse(firstSeenAt) + days * DAY).toISOString();
    const advisory = r.advisories[0] ?? os.advisory(h);
    return {
      findingId: 0,
      cves,
      kev,
      epss,
      tier,
      firstSeenAt,
      dueAt,
      evidence: cves.map((cve) => ({
        cve,
        advisoryRowId: null,
        advisoryId: advisory,
        feed: 'package-manager' as const,
        sourceId: null,
        ecosystem: null,
        matchedName: r.package,
        nameKind: 'package-manager' as const,
        fixedVersion: r.availableVersion,
      })),
      storedWithFinding: true,
    };
  });
}
