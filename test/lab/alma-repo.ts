// The alma host's package source: the real AlmaLinux 9 names and EVRs of recipe.ts' ALMA_SOURCES,
// built as tiny noarch rpms (one spec per source, each binary a `%package -n` subpackage, so the
// binaries of one source share its SOURCERPM), in two rpm-md repositories `baseos` and `appstream`
// (createrepo_c) with an AlmaLinux-style updateinfo.xml (modifyrepo_c). Mounted on the host where
// the dnf image's lab.repo looks (/srv/lab-rpm-repo). Cached under
// /var/cache/patchdeck-lab/repo/alma-<hash>; nothing here touches the machine's rpm database.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CACHE_DIR } from './paths';
import { ALMA_SOURCES, ALMA_UPDATEINFO, almaRpmFile, type AlmaEvr, type AlmaSource } from './recipe';
import { rpmbuild } from './repo';
import { mapLimit, run } from './sh';
import { removeBuildDir, withBuildLock } from './cachelock';

const REPRO_ENV = { ...process.env, SOURCE_DATE_EPOCH: '1767225600', LC_ALL: 'C', TZ: 'UTC' };

export function almaRepoHash(): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ v: 1, ALMA_SOURCES, ALMA_UPDATEINFO }));
  h.update(readFileSync(new URL(import.meta.url)));
  h.update(readFileSync(new URL('./repo.ts', import.meta.url))); // rpmbuild's flags
  return h.digest('hex').slice(0, 16);
}

export function almaRepoDir(): string {
  return path.join(CACHE_DIR, 'repo', `alma-${almaRepoHash()}`);
}

/** Path of a binary's rpm inside the archive root (/srv/lab-rpm-repo on the host). */
export function almaRpmPath(src: AlmaSource, binary: string, v: AlmaEvr): string {
  return `${src.repo}/Packages/${almaRpmFile(binary, v)}`;
}

/** Builds the archive unless cached; returns its root (holding baseos/ and appstream/). */
export async function ensureAlmaRepo(log: (s: string) => void = () => undefined): Promise<string> {
  const dir = almaRepoDir();
  if (!existsSync(path.join(dir, '.complete'))) await withBuildLock(`${dir}.lock`, () => build(dir, log));
  return path.join(dir, 'rpm');
}

function spec(src: AlmaSource, v: AlmaEvr): string {
  const lines = [
    `Name: ${src.source}`,
    ...(v.epoch ? [`Epoch: ${v.epoch}`] : []),
    `Version: ${v.version}`,
    `Release: ${v.release}`,
    `Summary: lab: AlmaLinux 9 ${src.source} (real name and EVR, empty payload)`,
    'License: MIT',
    'BuildArch: noarch',
    'AutoReqProv: no',
    '',
    '%description',
    'A tiny package built by the Patchdeck lab under a real AlmaLinux 9 name and version.',
    '',
  ];
  // Only the listed binaries get %files, so rpmbuild makes exactly those (the main package only
  // when a binary has the source's own name).
  const sub = (b: string) => (b === src.source ? '' : ` -n ${b}`);
  for (const b of src.binaries.filter((x) => x !== src.source))
    lines.push(
      `%package${sub(b)}`,
      `Summary: lab: ${b} from ${src.source}`,
      '',
      `%description${sub(b)}`,
      `${b} (lab).`,
      '',
    );
  lines.push('%install');
  for (const b of src.binaries)
    lines.push(
      `mkdir -p %{buildroot}/usr/share/acme/${b}`,
      `echo '${v.version}-${v.release}' > %{buildroot}/usr/share/acme/${b}/VERSION`,
    );
  lines.push('');
  for (const b of src.binaries) lines.push(`%files${sub(b)}`, `/usr/share/acme/${b}/VERSION`, '');
  return lines.join('\n');
}

async function build(dir: string, log: (s: string) => void): Promise<void> {
  if (existsSync(path.join(dir, '.complete'))) return;
  const tmp = `${dir}.building`;
  await removeBuildDir(tmp);
  log('building the lab AlmaLinux 9 repositories (real names and EVRs)…');
  const root = path.join(tmp, 'rpm');
  const work = await mkdtemp(path.join(os.tmpdir(), 'pdlab-alma-'));
  try {
    const jobs = ALMA_SOURCES.flatMap((s) => [s.installed, s.available].map((v) => [s, v] as const));
    await mapLimit(jobs, 2, async ([s, v]) => {
      const top = await mkdtemp(path.join(work, `${s.source}-`));
      const specFile = path.join(top, `${s.source}.spec`);
      await writeFile(specFile, spec(s, v));
      await rpmbuild(top, specFile, REPRO_ENV);
      for (const b of s.binaries) {
        const dest = path.join(root, almaRpmPath(s, b, v));
        await mkdir(path.dirname(dest), { recursive: true });
        await rename(path.join(top, 'RPMS', 'noarch', almaRpmFile(b, v)), dest);
      }
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  for (const repo of ['baseos', 'appstream'] as const) {
    const rdir = path.join(root, repo);
    await mkdir(path.join(rdir, 'Packages'), { recursive: true });
    await run('createrepo_c', ['--quiet', '--no-database', rdir], { env: REPRO_ENV });
    const info = path.join(work, `updateinfo-${repo}.xml`);
    await mkdir(work, { recursive: true });
    await writeFile(info, updateinfo(repo));
    await run('modifyrepo_c', ['--mdtype=updateinfo', info, path.join(rdir, 'repodata')], { env: REPRO_ENV });
  }
  await rm(work, { recursive: true, force: true });
  await writeFile(path.join(tmp, '.complete'), '');
  await removeBuildDir(dir);
  await rename(tmp, dir);
}

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** AlmaLinux's updateinfo layout: id, severity, CVE and self references, the packages of the update. */
function updateinfo(repo: 'baseos' | 'appstream'): string {
  const parts = ['<?xml version="1.0" encoding="UTF-8"?>', '<updates>'];
  for (const adv of ALMA_UPDATEINFO) {
    const src = ALMA_SOURCES.find((s) => s.source === adv.source);
    if (!src || src.repo !== repo) continue;
    const v = src.available;
    const page = adv.id.replace(':', '-');
    parts.push(
      `  <update from="packager@almalinux.org" status="final" type="${adv.type}" version="1">`,
      `    <id>${adv.id}</id>`,
      `    <title>${esc(adv.title)}</title>`,
      `    <issued date="${adv.issued}"/>`,
      `    <updated date="${adv.issued}"/>`,
      `    <severity>${adv.severity}</severity>`,
      '    <release>AlmaLinux 9</release>',
      `    <summary>${esc(adv.title)}</summary>`,
      `    <description>${esc(adv.title)} (lab copy of the real advisory's ids).</description>`,
      '    <references>',
      `      <reference href="https://errata.almalinux.org/9/${page}.html" id="${adv.id}" type="self" title="${adv.id}"/>`,
      ...adv.cves.map(
        (c) =>
          `      <reference href="https://access.redhat.com/security/cve/${c}" id="${c}" type="cve" title="${c}"/>`,
      ),
      '    </references>',
      '    <pkglist>',
      `      <collection short="almalinux-9-for-x86_64-${repo}-rpms">`,
      '        <name>AlmaLinux 9</name>',
      ...src.binaries.map(
        (b) =>
          `        <package name="${b}" version="${v.version}" release="${v.release}" epoch="${v.epoch ?? 0}" arch="noarch" src="${src.source}-${v.version}-${v.release}.src.rpm">\n` +
          `          <filename>${almaRpmFile(b, v)}</filename>\n` +
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
