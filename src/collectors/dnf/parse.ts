/**
 * Pure parsers for dnf and yum output: `check-update`, `updateinfo list` (with and without
 * `--with-cve` / `cves`), `rpm -qa --qf`, and `needs-restarting -r`.
 */
import {
  cleanField,
  isValidArch,
  isValidPackageName,
  isValidVersion,
  lines,
  normalizeSeverity,
} from '../util';
import type { Severity } from '../types';
import { parseRpmQaLine } from '../installed';

export interface RpmUpdate {
  name: string;
  arch: string;
  version: string;
  repository: string;
  /** Set for entries under "Obsoleting Packages": the installed package this one replaces. */
  obsoletes?: string;
}

const NAME_ARCH = /^([^\s]+)\.([A-Za-z0-9_]+)$/;
const REPO = /^@?[A-Za-z0-9_.:+@-]{1,200}$/;

function splitNameArch(token: string): { name: string; arch: string } | null {
  const match = NAME_ARCH.exec(token);
  if (!match || !isValidPackageName(match[1]!) || !isValidArch(match[2]!)) return null;
  return { name: match[1]!, arch: match[2]! };
}

/**
 * Parses `dnf check-update` / `yum check-update` stdout. Long names wrap: the name sits alone on a
 * line and its version and repository follow on the next, indented.
 */
/**
 * dnf's metadata download line, printed when it fetches a repository's metadata: "AlmaLinux 9 -
 * AppStream (lab)   1.9 MB/s | 2.0 kB     00:00" (any repository name, then speed | size time).
 * A package line never holds " | ". Checked on short slices with bounded patterns: linear.
 */
function isMetadataProgress(line: string): boolean {
  const bar = line.lastIndexOf(' | ');
  if (bar <= 0) return false;
  const tail = line.slice(bar + 3);
  if (
    tail.length > 40 ||
    !/^ {0,8}\d{1,6}(?:\.\d{1,3})? {1,4}[kMGT]?B {1,12}(?:\d{1,3}:)?(?:\d{2}|--):(?:\d{2}|--)$/.test(tail)
  )
    return false;
  // The speed ("1.9 MB/s", " 12  B/s", "--- B/s") ends the part before the bar; a name precedes it.
  const from = Math.max(0, bar - 24);
  const speed = / (?:\d{1,6}(?:\.\d{1,3})?|-{1,3}) {1,4}[kMGT]?B\/s *$/.exec(line.slice(from, bar));
  return speed !== null && line.slice(0, from + speed.index).trim() !== '';
}

export function parseCheckUpdate(text: string): { updates: RpmUpdate[]; rejected: string[] } {
  const updates: RpmUpdate[] = [];
  const rejected: string[] = [];
  let obsoleting = false;
  let pending: string[] = [];
  for (const raw of lines(text)) {
    const line = raw.trimEnd();
    if (line.trim() === '') {
      pending = [];
      continue;
    }
    if (/^Obsoleting Packages/.test(line)) {
      obsoleting = true;
      pending = [];
      continue;
    }
    if (
      /^(Loaded plugins|Loading mirror speeds|Last metadata expiration check|Security: | \* |Repository .* is listed more than once|This system is|Update notice|Not using downloaded)/.test(
        line,
      )
    )
      continue;
    if (isMetadataProgress(line)) {
      pending = [];
      continue;
    }
    const indented = /^\s/.test(line);
    const words = line.trim().split(/\s+/);
    if (obsoleting && indented && pending.length === 0 && words.length === 3) {
      // "    old.arch  version  @repo" under the obsoleting package.
      const previous = updates[updates.length - 1];
      const old = splitNameArch(words[0]!);
      if (previous && old) previous.obsoletes = old.name;
      continue;
    }
    const tokens = [...pending, ...words];
    if (tokens.length < 3) {
      pending = tokens;
      continue;
    }
    pending = [];
    if (tokens.length !== 3) {
      if (rejected.length < 20) rejected.push(cleanField(line, 200));
      continue;
    }
    const nameArch = splitNameArch(tokens[0]!);
    const version = tokens[1]!;
    const repository = tokens[2]!;
    if (!nameArch || !isValidVersion(version) || !REPO.test(repository)) {
      if (rejected.length < 20) rejected.push(cleanField(line, 200));
      continue;
    }
    updates.push({ ...nameArch, version, repository });
    if (obsoleting) updates[updates.length - 1]!.obsoletes = '';
  }
  return { updates, rejected };
}

export interface Nevra {
  name: string;
  epoch: string | null;
  version: string;
  release: string;
  arch: string;
}

/** Splits `name-[epoch:]version-release.arch`. */
export function parseNevra(text: string): Nevra | null {
  const dot = text.lastIndexOf('.');
  if (dot <= 0) return null;
  const arch = text.slice(dot + 1);
  const nvr = text.slice(0, dot);
  const r = nvr.lastIndexOf('-');
  if (r <= 0) return null;
  const v = nvr.lastIndexOf('-', r - 1);
  if (v <= 0) return null;
  const name = nvr.slice(0, v);
  let version = nvr.slice(v + 1, r);
  const release = nvr.slice(r + 1);
  let epoch: string | null = null;
  const colon = version.indexOf(':');
  if (colon >= 0) {
    epoch = version.slice(0, colon);
    version = version.slice(colon + 1);
  }
  if (!isValidPackageName(name) || !isValidArch(arch) || !isValidVersion(version) || !isValidVersion(release))
    return null;
  if (epoch !== null && !/^\d{1,10}$/.test(epoch)) return null;
  return { name, epoch, version, release, arch };
}

export interface AdvisoryEntry {
  /** Advisory id (RHSA-2024:1234, FEDORA-2024-…, ALSA-…) or, in CVE listings, the CVE id. */
  id: string;
  type: 'security' | 'bugfix' | 'enhancement' | 'newpackage' | 'unknown';
  severity: Severity | null;
  vendorSeverity: string | null;
  package: Nevra;
}

const TYPE_WORDS: Record<string, AdvisoryEntry['type']> = {
  security: 'security',
  bugfix: 'bugfix',
  enhancement: 'enhancement',
  newpackage: 'newpackage',
  unknown: 'unknown',
  unspecified: 'unknown',
};

const ADVISORY_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{1,99}$/;

/**
 * Parses `dnf updateinfo list` / `yum updateinfo list` lines: `ID  TYPE  NEVRA` where TYPE is
 * `bugfix`, `enhancement`, or `Severity/Sec.` for security advisories (dnf 4, yum 3), and also the
 * dnf 5 table (`ID  TYPE  SEVERITY  NEVRA  ISSUED`).
 */
export function parseUpdateinfoList(text: string): AdvisoryEntry[] {
  const entries: AdvisoryEntry[] = [];
  for (const raw of lines(text)) {
    const words = raw.trim().split(/\s+/);
    if (words.length < 3 || words.length > 7) continue;
    const id = words[0]!;
    if (!ADVISORY_ID.test(id) || /^(Loaded|Name|updateinfo)$/.test(id)) continue;
    let type: AdvisoryEntry['type'];
    let vendorSeverity: string | null = null;
    let nevraText: string;
    const typeWord = words[1]!;
    const sec = /^([A-Za-z]+)\/Sec\.$/.exec(typeWord);
    if (sec) {
      type = 'security';
      vendorSeverity = sec[1]!;
      nevraText = words[2]!;
    } else if (
      TYPE_WORDS[typeWord.toLowerCase()] !== undefined &&
      words.length >= 4 &&
      parseNevra(words[3]!) !== null
    ) {
      // dnf 5: ID TYPE SEVERITY NEVRA ISSUED…
      type = TYPE_WORDS[typeWord.toLowerCase()]!;
      vendorSeverity = words[2]!;
      nevraText = words[3]!;
    } else if (TYPE_WORDS[typeWord.toLowerCase()] !== undefined || typeWord === 'Sec.') {
      type = TYPE_WORDS[typeWord.toLowerCase()] ?? 'security';
      nevraText = words[2]!;
    } else continue;
    const pkg = parseNevra(nevraText);
    if (!pkg) continue;
    const cleanSeverity = vendorSeverity === null ? null : cleanField(vendorSeverity, 40);
    const severity = normalizeSeverity(cleanSeverity);
    entries.push({
      id,
      type,
      severity: type === 'security' || severity !== 'unknown' ? severity : null,
      vendorSeverity: cleanSeverity === null || /^none$/i.test(cleanSeverity) ? null : cleanSeverity,
      package: pkg,
    });
  }
  return entries;
}

/**
 * The installed section → name.arch → version (epoch 0 dropped): RPM_INSTALLED_QUERY's tab lines,
 * or `rpm -qa --qf '%{NAME} %{ARCH} %{EPOCHNUM}:%{VERSION}-%{RELEASE}\n'` of older collections.
 */
export function parseRpmInstalled(text: string): Map<string, string> {
  const installed = new Map<string, string>();
  for (const line of lines(text)) {
    if (line.includes('\t')) {
      const pkg = parseRpmQaLine(line);
      if (pkg && pkg.arch !== null) installed.set(`${pkg.name}.${pkg.arch}`, pkg.version);
      continue;
    }
    const words = line.trim().split(' ');
    if (words.length !== 3) continue;
    const [name, arch, evr] = words as [string, string, string];
    if (!isValidPackageName(name) || !/^[A-Za-z0-9_()-]{1,32}$/.test(arch) || !isValidVersion(evr)) continue;
    installed.set(`${name}.${arch}`, evr.startsWith('0:') ? evr.slice(2) : evr);
  }
  return installed;
}

export interface NeedsRestarting {
  rebootRequired: boolean | null;
  reasons: string[];
}

/** `needs-restarting -r`: exit 1 means a reboot is needed, 0 not; the bullet lines name the reasons. */
export function parseNeedsRestarting(text: string, code: number | null): NeedsRestarting {
  if (/^unavailable$/m.test(text) || (code !== 0 && code !== 1)) return { rebootRequired: null, reasons: [] };
  const reasons = lines(text)
    .map((l) => /^\s*\*\s+(\S.*)$/.exec(l)?.[1])
    .filter((r): r is string => r !== undefined)
    .map((r) => cleanField(r, 120));
  return { rebootRequired: code === 1, reasons };
}

export function isRpmLocked(stderr: string): boolean {
  return /Another app is currently holding the yum lock|Waiting for process with pid|Existing lock \/var\/run\/yum\.pid|Failed to obtain the transaction lock|Unable to acquire (?:the )?lock|RPM database is locked|lock file is held/i.test(
    stderr.slice(0, 16384),
  );
}

/** dnf's "Last metadata expiration check: 1 day, 2:03:04 ago on …" → seconds. */
export function parseExpirationAge(text: string): number | null {
  const match = /^Last metadata expiration check: (?:(\d{1,5}) days?, )?(\d{1,2}):(\d{2}):(\d{2}) ago/m.exec(
    text.slice(0, 65536),
  );
  if (!match) return null;
  return Number(match[1] ?? 0) * 86400 + Number(match[2]) * 3600 + Number(match[3]) * 60 + Number(match[4]);
}
