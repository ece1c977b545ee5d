// Base images: one mmdebstrap'd Debian 12 root per kind of host, cached under
// /var/cache/patchdeck-lab/images/<kind>-<recipe hash>. A change to the recipe (packages,
// mirror, customize script) gives a new hash and so a new image; old images stay until
// `pruneImages` runs with no host up, because overlays break if their lower dir changes under them.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { CACHE_DIR, LAB_DIR, OPERATOR_PASSWORD } from './paths';
import { run } from './sh';
import { removeBuildDir, withBuildLock } from './cachelock';

export type ImageKind = 'apt' | 'dnf' | 'zypper';
export const IMAGE_KINDS: readonly ImageKind[] = ['apt', 'dnf', 'zypper'];

const COMMON = ['openssh-server', 'sudo', 'iproute2'];
const PACKAGES: Record<ImageKind, string[]> = {
  apt: [...COMMON, 'apt-utils'],
  dnf: [...COMMON, 'dnf', 'dnf-plugins-core', 'rpm'],
  zypper: [...COMMON, 'zypper', 'rpm'],
};

const CUSTOMIZE = path.join(LAB_DIR, 'image-customize.sh');
// The zypper image runs the common script, then its own: a separate file keeps the apt and dnf
// images (and every profile layer over them) cached when only the zypper recipe changes.
const CUSTOMIZE_ZYPPER = path.join(LAB_DIR, 'image-customize-zypper.sh');
const customizeScripts = (kind: ImageKind) =>
  kind === 'zypper' ? [CUSTOMIZE, CUSTOMIZE_ZYPPER] : [CUSTOMIZE];

interface SourceLine {
  uri: string;
  suites: string[];
}

/** Debian mirrors as configured on this machine (one-line and deb822 formats). */
export function machineMirrors(): SourceLine[] {
  const files: string[] = [];
  if (existsSync('/etc/apt/sources.list')) files.push('/etc/apt/sources.list');
  if (existsSync('/etc/apt/sources.list.d')) {
    for (const f of readdirSync('/etc/apt/sources.list.d').sort())
      files.push(path.join('/etc/apt/sources.list.d', f));
  }
  const lines: SourceLine[] = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    if (file.endsWith('.sources')) {
      for (const stanza of text.split(/\n\s*\n/)) {
        const field = (k: string) => stanza.match(new RegExp(`^${k}:\\s*(.+)$`, 'mi'))?.[1]?.trim();
        if (!(field('Types') ?? '').split(/\s+/).includes('deb')) continue;
        const uris = (field('URIs') ?? '').split(/\s+/).filter(Boolean);
        const suites = (field('Suites') ?? '').split(/\s+/).filter(Boolean);
        for (const uri of uris) lines.push({ uri, suites });
      }
    } else {
      for (const raw of text.split('\n')) {
        const m = raw.trim().match(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/);
        if (m?.[1] && m[2]) lines.push({ uri: m[1], suites: [m[2]] });
      }
    }
  }
  return lines;
}

/** The mmdebstrap mirror arguments: bookworm, bookworm-updates and bookworm-security from the machine's own sources. */
export function mirrorArgs(): string[] {
  const mirrors = machineMirrors();
  const pick = (suite: string) => mirrors.find((m) => m.suites.includes(suite));
  const main = pick('bookworm');
  if (!main)
    throw new Error(
      'no Debian bookworm mirror found in /etc/apt/sources.list*; the lab needs one to build its base image',
    );
  const args = [`deb ${main.uri} bookworm main`];
  const updates = pick('bookworm-updates');
  if (updates) args.push(`deb ${updates.uri} bookworm-updates main`);
  const security = pick('bookworm-security');
  if (security) args.push(`deb ${security.uri} bookworm-security main`);
  return args;
}

export function imageHash(kind: ImageKind): string {
  const h = createHash('sha256');
  h.update(
    JSON.stringify({
      v: 1,
      kind,
      packages: PACKAGES[kind],
      mirrors: mirrorArgs(),
      password: OPERATOR_PASSWORD,
    }),
  );
  for (const f of customizeScripts(kind)) h.update(readFileSync(f));
  return h.digest('hex').slice(0, 16);
}

export function imageDir(kind: ImageKind): string {
  return path.join(CACHE_DIR, 'images', `${kind}-${imageHash(kind)}`);
}

/** Build the image if its recipe changed; returns its root directory. */
export async function ensureImage(
  kind: ImageKind,
  log: (s: string) => void = () => undefined,
): Promise<string> {
  const dir = imageDir(kind);
  if (existsSync(path.join(dir, '.complete'))) return path.join(dir, 'root');
  return withBuildLock(`${dir}.lock`, () => buildImage(kind, dir, log));
}

async function buildImage(kind: ImageKind, dir: string, log: (s: string) => void): Promise<string> {
  if (existsSync(path.join(dir, '.complete'))) return path.join(dir, 'root');
  const tmp = `${dir}.building`;
  await removeBuildDir(tmp);
  await mkdir(tmp, { recursive: true });
  log(`building the ${kind} base image with mmdebstrap (once; cached in ${dir})…`);
  const started = Date.now();
  await run(
    'mmdebstrap',
    [
      '--quiet',
      '--mode=root',
      '--variant=apt',
      `--include=${PACKAGES[kind].join(',')}`,
      '--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr',
      '--dpkgopt=path-exclude=/usr/share/doc/*',
      '--dpkgopt=path-exclude=/usr/share/man/*',
      '--dpkgopt=path-exclude=/usr/share/locale/*',
      '--dpkgopt=path-include=/usr/share/doc/*/copyright',
      '--aptopt=Acquire::Retries "3"',
      ...customizeScripts(kind).map((f) => `--customize-hook=sh ${f} "$1" ${kind} ${OPERATOR_PASSWORD}`),
      'bookworm',
      path.join(tmp, 'root'),
      ...mirrorArgs(),
    ],
    { env: { ...process.env, LC_ALL: 'C' } },
  );
  await run('touch', [path.join(tmp, '.complete')]);
  await rename(tmp, dir);
  log(`  ${kind} image built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return path.join(dir, 'root');
}

/** Remove images whose recipe is no longer current. Only call with no host up. */
export async function pruneImages(): Promise<void> {
  const root = path.join(CACHE_DIR, 'images');
  if (!existsSync(root)) return;
  const keep = new Set(IMAGE_KINDS.map((k) => path.basename(imageDir(k))));
  for (const d of readdirSync(root))
    if (!keep.has(d) && !d.endsWith('.lock')) await removeBuildDir(path.join(root, d));
}
