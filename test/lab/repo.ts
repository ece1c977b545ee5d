// The lab's package archives, built from recipe.ts: a Debian-style apt archive with the suites
// bookworm, bookworm-updates and bookworm-security, and two dnf repositories (baseos, appstream)
// with an updateinfo.xml. Cached under /var/cache/patchdeck-lab/repo/<recipe hash>; the .debs are
// byte-reproducible (SOURCE_DATE_EPOCH, fixed file times, --root-owner-group).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CACHE_DIR } from './paths';
import {
  DEB_PACKAGES,
  RPM_ADVISORIES,
  RPM_PACKAGES,
  rpmFile,
  type AptSuite,
  type DebPackage,
  type DebVersion,
  type RpmPackage,
  type RpmVersion,
} from './recipe';
import { mapLimit, out, run } from './sh';
import { removeBuildDir, withBuildLock } from './cachelock';

const SOURCE_DATE_EPOCH = '1767225600'; // 2026-01-01T00:00:00Z
const REPRO_ENV = { ...process.env, SOURCE_DATE_EPOCH, LC_ALL: 'C', TZ: 'UTC' };

export const SUITES: Record<
  AptSuite,
  { origin: string; label: string; suite: string; version: string; description: string }
> = {
  bookworm: {
    origin: 'Debian',
    label: 'Debian',
    suite: 'stable',
    version: '12.11',
    description: 'Debian 12.11 Released (lab)',
  },
  'bookworm-updates': {
    origin: 'Debian',
    label: 'Debian',
    suite: 'stable-updates',
    version: '12-updates',
    description: 'Debian 12 - Updates (lab)',
  },
  'bookworm-security': {
    origin: 'Debian',
    label: 'Debian-Security',
    suite: 'stable-security',
    version: '12',
    description: 'Debian 12 - Security Updates (lab)',
  },
};

export function repoHash(): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ v: 2, DEB_PACKAGES, RPM_PACKAGES, RPM_ADVISORIES, SUITES, SOURCE_DATE_EPOCH }));
  h.update(readFileSync(new URL(import.meta.url)));
  return h.digest('hex').slice(0, 16);
}

export function repoDir(): string {
  return path.join(CACHE_DIR, 'repo', repoHash());
}

/** Path of a .deb inside the apt archive, relative to its root. */
export function debPoolPath(pkg: string, v: DebVersion): string {
  const upstream = v.version.replace(/^\d+:/, '');
  return `pool/${v.suite}/${pkg}/${pkg}_${upstream}_all.deb`;
}

export async function ensureRepo(
  log: (s: string) => void = () => undefined,
): Promise<{ apt: string; rpm: string }> {
  const dir = repoDir();
  if (!existsSync(path.join(dir, '.complete'))) await withBuildLock(`${dir}.lock`, () => buildRepo(dir, log));
  return { apt: path.join(dir, 'apt'), rpm: path.join(dir, 'rpm') };
}

async function buildRepo(dir: string, log: (s: string) => void): Promise<void> {
  if (!existsSync(path.join(dir, '.complete'))) {
    const tmp = `${dir}.building`;
    await removeBuildDir(tmp);
    await mkdir(tmp, { recursive: true });
    log('building the lab package archives (apt + rpm)…');
    await buildApt(path.join(tmp, 'apt'));
    await buildRpm(path.join(tmp, 'rpm'));
    await writeFile(path.join(tmp, '.complete'), '');
    await removeBuildDir(dir);
    await rename(tmp, dir);
  }
}

async function touchTree(dir: string): Promise<void> {
  await run('find', [dir, '-exec', 'touch', '-h', '-d', `@${SOURCE_DATE_EPOCH}`, '{}', '+']);
}

function controlFile(pkg: DebPackage, v: DebVersion): string {
  const lines = [
    `Package: ${pkg.name}`,
    ...(pkg.source ? [`Source: ${pkg.source}`] : []),
    `Version: ${v.version}`,
    'Architecture: all',
    'Maintainer: Patchdeck Lab <lab@patchdeck.invalid>',
    'Installed-Size: 1',
  ];
  if (v.depends?.length) lines.push(`Depends: ${v.depends.join(', ')}`);
  lines.push(
    'Section: misc',
    'Priority: optional',
    `Description: ${pkg.description}`,
    ' A tiny package built by the Patchdeck lab.',
  );
  return lines.join('\n') + '\n';
}

function postinst(pkg: DebPackage, v: DebVersion): string | null {
  if (v.failsPostinst) {
    return `#!/bin/sh\nif [ "$1" = configure ]; then\n  echo "${pkg.name}: post-installation migration failed (lab: this update always fails)" >&2\n  exit 1\nfi\nexit 0\n`;
  }
  if (v.reboot) {
    return `#!/bin/sh\nset -e\nif [ "$1" = configure ]; then\n  touch /var/run/reboot-required\n  echo ${pkg.name} >> /var/run/reboot-required.pkgs\nfi\nexit 0\n`;
  }
  return null;
}

async function buildDeb(work: string, archive: string, pkg: DebPackage, v: DebVersion): Promise<void> {
  const root = await mkdtemp(path.join(work, `${pkg.name}-`));
  await mkdir(path.join(root, 'DEBIAN'), { recursive: true });
  await writeFile(path.join(root, 'DEBIAN', 'control'), controlFile(pkg, v));
  const script = postinst(pkg, v);
  if (script) {
    await writeFile(path.join(root, 'DEBIAN', 'postinst'), script);
    await chmod(path.join(root, 'DEBIAN', 'postinst'), 0o755);
  }
  const share = path.join(root, 'usr', 'share', 'acme', pkg.name);
  await mkdir(share, { recursive: true });
  await writeFile(path.join(share, 'VERSION'), `${v.version}\n`);
  await run('chmod', ['-R', 'u=rwX,go=rX', root]);
  if (script) await chmod(path.join(root, 'DEBIAN', 'postinst'), 0o755);
  await touchTree(root);
  const dest = path.join(archive, debPoolPath(pkg.name, v));
  await mkdir(path.dirname(dest), { recursive: true });
  await run('dpkg-deb', ['--root-owner-group', '-Zxz', '--build', root, dest], { env: REPRO_ENV });
}

async function buildApt(archive: string): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'pdlab-deb-'));
  try {
    const jobs = DEB_PACKAGES.flatMap((p) => p.versions.map((v) => [p, v] as const));
    await mapLimit(jobs, 4, ([p, v]) => buildDeb(work, archive, p, v));
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  for (const [suite, meta] of Object.entries(SUITES) as [AptSuite, (typeof SUITES)[AptSuite]][]) {
    const bin = path.join(archive, 'dists', suite, 'main', 'binary-amd64');
    await mkdir(bin, { recursive: true });
    const pool = path.join('pool', suite);
    await mkdir(path.join(archive, pool), { recursive: true });
    const packages = await out('apt-ftparchive', ['packages', pool], { cwd: archive, env: REPRO_ENV });
    await writeFile(path.join(bin, 'Packages'), packages);
    await run('sh', ['-c', 'gzip -9 -n -c Packages > Packages.gz'], { cwd: bin });
    const opt = (k: string, v: string) => ['-o', `APT::FTPArchive::Release::${k}=${v}`];
    const release = await out(
      'apt-ftparchive',
      [
        ...opt('Origin', meta.origin),
        ...opt('Label', meta.label),
        ...opt('Suite', meta.suite),
        ...opt('Codename', suite),
        ...opt('Version', meta.version),
        ...opt('Architectures', 'amd64 all'),
        ...opt('Components', 'main'),
        ...opt('Description', meta.description),
        'release',
        path.join('dists', suite),
      ],
      { cwd: archive, env: REPRO_ENV },
    );
    await writeFile(path.join(archive, 'dists', suite, 'Release'), release);
  }
  await touchTree(archive);
}

function spec(pkg: RpmPackage, v: RpmVersion): string {
  return [
    `Name: ${pkg.name}`,
    ...(v.epoch ? [`Epoch: ${v.epoch}`] : []),
    `Version: ${v.version}`,
    `Release: ${v.release}`,
    `Summary: ${pkg.summary}`,
    'License: MIT',
    'BuildArch: noarch',
    'AutoReqProv: no',
    ...(v.requires ?? []).map((r) => `Requires: ${r}`),
    '',
    '%description',
    'A tiny package built by the Patchdeck lab.',
    '',
    '%install',
    `mkdir -p %{buildroot}/usr/share/acme/${pkg.name}`,
    `echo '${v.version}-${v.release}' > %{buildroot}/usr/share/acme/${pkg.name}/VERSION`,
    '',
    '%files',
    `/usr/share/acme/${pkg.name}/VERSION`,
    '',
  ].join('\n');
}

/**
 * Builds one spec's binary rpms under `top`, reproducibly: a private topdir, rpm database and HOME
 * (Debian's rpm tools write ~/.rpmdb), no debug packages or build-id links.
 */
export async function rpmbuild(top: string, specFile: string, env: NodeJS.ProcessEnv): Promise<void> {
  await run(
    'rpmbuild',
    [
      '-bb',
      '--define',
      `_topdir ${top}`,
      '--define',
      `_dbpath ${top}/rpmdb`,
      '--define',
      'debug_package %{nil}',
      '--define',
      '_build_id_links none',
      specFile,
    ],
    { env: { ...env, HOME: top } },
  );
}

async function buildRpm(repos: string): Promise<void> {
  // Debian's rpm tools write ~/.rpmdb and ~/.rpmmacros-driven paths: give them a private HOME and topdir.
  const work = await mkdtemp(path.join(os.tmpdir(), 'pdlab-rpm-'));
  try {
    const jobs = RPM_PACKAGES.flatMap((p) => p.versions.map((v) => [p, v] as const));
    await mapLimit(jobs, 2, async ([p, v]) => {
      const top = await mkdtemp(path.join(work, `${p.name}-`));
      const specFile = path.join(top, `${p.name}.spec`);
      await writeFile(specFile, spec(p, v));
      await rpmbuild(top, specFile, REPRO_ENV);
      const dest = path.join(repos, v.repo, 'Packages');
      await mkdir(dest, { recursive: true });
      await rename(path.join(top, 'RPMS', 'noarch', rpmFile(p.name, v)), path.join(dest, rpmFile(p.name, v)));
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  for (const repo of ['baseos', 'appstream'] as const) {
    const dir = path.join(repos, repo);
    await mkdir(path.join(dir, 'Packages'), { recursive: true });
    await run('createrepo_c', ['--quiet', '--no-database', dir], { env: REPRO_ENV });
    const tmpDir = await mkdtemp(path.join(os.tmpdir(), 'pdlab-updateinfo-'));
    try {
      const file = path.join(tmpDir, 'updateinfo.xml');
      await writeFile(file, updateinfo(repo));
      await run('modifyrepo_c', ['--mdtype=updateinfo', file, path.join(dir, 'repodata')], {
        env: REPRO_ENV,
      });
    } finally {
      await rm(tmpDir, { recursive: true, force: true });
    }
  }
}

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function updateinfo(repo: 'baseos' | 'appstream'): string {
  const parts = ['<?xml version="1.0" encoding="UTF-8"?>', '<updates>'];
  for (const adv of RPM_ADVISORIES) {
    const pkgs = adv.packages
      .map((name) => {
        const p = RPM_PACKAGES.find((x) => x.name === name);
        const v = p?.versions[p.versions.length - 1];
        return p && v && v.repo === repo ? { p, v } : null;
      })
      .filter((x): x is { p: RpmPackage; v: RpmVersion } => x !== null);
    if (pkgs.length === 0) continue;
    parts.push(
      `  <update from="lab@patchdeck.invalid" status="final" type="${adv.type}" version="2">`,
      `    <id>${adv.id}</id>`,
      `    <title>${esc(adv.title)}</title>`,
      `    <issued date="${adv.issued}"/>`,
      `    <updated date="${adv.issued}"/>`,
      '    <rights>Copyright 2026 Patchdeck lab</rights>',
      '    <release>Rocky Linux 9</release>',
      ...(adv.severity ? [`    <severity>${adv.severity}</severity>`] : []),
      `    <summary>${esc(adv.title)}</summary>`,
      `    <description>${esc(adv.title)} (lab advisory).</description>`,
      '    <references>',
      ...adv.cves.map(
        (c) =>
          `      <reference href="https://lab.patchdeck.invalid/cve/${c}" id="${c}" type="cve" title="${c}"/>`,
      ),
      `      <reference href="https://lab.patchdeck.invalid/errata/${adv.id}" id="${adv.id}" type="self" title="${adv.id}"/>`,
      '    </references>',
      '    <pkglist>',
      `      <collection short="rocky-linux-9-x86_64-${repo}-rpms">`,
      '        <name>Rocky Linux 9</name>',
      ...pkgs.map(
        ({ p, v }) =>
          `        <package name="${p.name}" version="${v.version}" release="${v.release}" epoch="${v.epoch ?? 0}" arch="noarch" src="${p.name}-${v.version}-${v.release}.src.rpm">\n` +
          `          <filename>${rpmFile(p.name, v)}</filename>\n` +
          (adv.reboot ? '          <reboot_suggested>True</reboot_suggested>\n' : '') +
          '        </package>',
      ),
      '      </collection>',
      '    </pkglist>',
      '  </update>',
    );
  }
  parts.push('</updates>', '');
  return parts.join('\n');
}
