// The zypper host's package source: the lab's rpms (built by repo.ts) split over two rpm-md
// repositories like a Leap host's, `oss` (the release) and `update` (newer versions, with a
// SUSE-style updateinfo.xml of patches). Cached under /var/cache/patchdeck-lab/repo/zypper-<hash>,
// next to the apt/rpm archives it is made from; nothing here touches the machine's rpm or zypper.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CACHE_DIR } from './paths';
import { repoHash } from './repo';
import { RPM_PACKAGES, rpmFile, ZYPPER_PATCHES, zypperRepoOf, type ZypperRepo } from './recipe';
import { run } from './sh';
import { removeBuildDir, withBuildLock } from './cachelock';

const REPRO_ENV = { ...process.env, SOURCE_DATE_EPOCH: '1767225600', LC_ALL: 'C', TZ: 'UTC' };
/** Directory of each repository under the archive root (/srv/lab-zypp-repo on the host). */
export const ZYPPER_REPO_DIRS: Record<ZypperRepo, string> = { 'repo-oss': 'oss', 'repo-update': 'update' };

export function zypperRepoHash(): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ v: 1, rpm: repoHash(), ZYPPER_PATCHES }));
  h.update(readFileSync(new URL(import.meta.url)));
  return h.digest('hex').slice(0, 16);
}

export function zypperRepoDir(): string {
  return path.join(CACHE_DIR, 'repo', `zypper-${zypperRepoHash()}`);
}

/** Path of an rpm inside the zypper archive, relative to its root. */
export function zypperRpmPath(
  name: string,
  version: (typeof RPM_PACKAGES)[number]['versions'][number],
): string {
  const pkg = RPM_PACKAGES.find((p) => p.name === name);
  if (!pkg) throw new Error(`recipe has no rpm ${name}`);
  return `${ZYPPER_REPO_DIRS[zypperRepoOf(pkg, version)]}/noarch/${rpmFile(name, version)}`;
}

/** Builds the archive from the rpm repos (`ensureRepo().rpm`) unless cached; returns its root. */
export async function ensureZypperRepo(
  rpmRepos: string,
  log: (s: string) => void = () => undefined,
): Promise<string> {
  const dir = zypperRepoDir();
  if (!existsSync(path.join(dir, '.complete')))
    await withBuildLock(`${dir}.lock`, () => buildZypperRepo(dir, rpmRepos, log));
  return path.join(dir, 'zypp');
}

async function buildZypperRepo(dir: string, rpmRepos: string, log: (s: string) => void): Promise<void> {
  if (existsSync(path.join(dir, '.complete'))) return;
  const tmp = `${dir}.building`;
  await removeBuildDir(tmp);
  log('building the lab zypper repositories (oss + update with patches)…');
  const root = path.join(tmp, 'zypp');
  for (const pkg of RPM_PACKAGES) {
    for (const v of pkg.versions) {
      const dest = path.join(root, zypperRpmPath(pkg.name, v));
      await mkdir(path.dirname(dest), { recursive: true });
      await copyFile(path.join(rpmRepos, v.repo, 'Packages', rpmFile(pkg.name, v)), dest);
    }
  }
  for (const [alias, sub] of Object.entries(ZYPPER_REPO_DIRS) as [ZypperRepo, string][]) {
    const repo = path.join(root, sub);
    await mkdir(repo, { recursive: true });
    await run('createrepo_c', ['--quiet', '--no-database', repo], { env: REPRO_ENV });
    if (alias !== 'repo-update') continue;
    const work = await mkdtemp(path.join(os.tmpdir(), 'pdlab-zypp-updateinfo-'));
    try {
      const file = path.join(work, 'updateinfo.xml');
      await writeFile(file, zypperUpdateinfo());
      await run('modifyrepo_c', ['--mdtype=updateinfo', file, path.join(repo, 'repodata')], {
        env: REPRO_ENV,
      });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  await writeFile(path.join(tmp, '.complete'), '');
  await removeBuildDir(dir);
  await rename(tmp, dir);
}

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** updateinfo.xml the way SUSE's build service writes it for Leap maintenance updates. */
export function zypperUpdateinfo(): string {
  const parts = ['<?xml version="1.0" encoding="UTF-8"?>', '<updates>'];
  for (const patch of ZYPPER_PATCHES) {
    const pkgs = patch.packages.map((name) => {
      const p = RPM_PACKAGES.find((x) => x.name === name);
      const v = p?.versions[p.versions.length - 1];
      if (!p || !v) throw new Error(`patch ${patch.id}: no rpm ${name}`);
      return { p, v };
    });
    parts.push(
      `  <update from="maint-coord@suse.de" status="stable" type="${patch.category}" version="1">`,
      `    <id>${patch.id}</id>`,
      `    <title>${esc(patch.title)}</title>`,
      `    <severity>${patch.severity}</severity>`,
      '    <release>openSUSE Leap 15.5 Update</release>',
      `    <issued date="${patch.issued}"/>`,
      '    <references>',
      ...patch.cves.map(
        (c) =>
          `      <reference href="https://lab.patchdeck.invalid/cve/${c}" id="${c}" title="${c}" type="cve"/>`,
      ),
      '    </references>',
      `    <description>${esc(patch.title)} (lab patch).</description>`,
      '    <pkglist>',
      '      <collection>',
      ...pkgs.map(
        ({ p, v }) =>
          `        <package name="${p.name}" epoch="${v.epoch ?? 0}" version="${v.version}" release="${v.release}" arch="noarch" src="${p.name}-${v.version}-${v.release}.src.rpm">\n` +
          `          <filename>${rpmFile(p.name, v)}</filename>\n` +
          (patch.reboot ? '          <reboot_suggested>True</reboot_suggested>\n' : '') +
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
