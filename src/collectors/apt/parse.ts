/**
 * Pure parsers for apt output, all in the C locale: `apt-get -s dist-upgrade`, `apt-mark
 * showhold`, `apt-cache policy`, and the reboot-required files.
 */
import { cleanField, isValidArch, isValidPackageName, isValidVersion, lines } from '../util';

export interface AptOrigin {
  /** `Label` of the Release file (e.g. Debian, Debian-Security, Ubuntu, UbuntuESMApps). */
  label: string;
  /** Release `Version` (e.g. 12, 22.04) when apt printed one. */
  version: string | null;
  /** Suite or codename (e.g. bookworm-security, oldstable, jammy-updates). */
  suite: string;
  raw: string;
}

export interface AptInst {
  name: string;
  arch: string | null;
  installedVersion: string | null;
  candidateVersion: string;
  origins: AptOrigin[];
}

export interface AptSimulation {
  installs: AptInst[];
  removals: string[];
  keptBack: string[];
  /** Names apt lists under "deferred due to phasing" (apt ≥ 2.7). */
  phasingDeferred: string[];
  /** Lines we could not make sense of (sanitised, at most a few). */
  rejected: string[];
}

/** Splits one origin: `Label:Version/Suite` or `Label:Suite` (suite may be the codename). */
export function parseAptOrigin(text: string): AptOrigin | null {
  const raw = text.trim();
  const colon = raw.indexOf(':');
  if (colon <= 0) return null;
  const label = raw.slice(0, colon);
  const rest = raw.slice(colon + 1);
  const slash = rest.indexOf('/');
  const version = slash >= 0 ? rest.slice(0, slash) : null;
  const suite = slash >= 0 ? rest.slice(slash + 1) : rest;
  if (suite === '') return null;
  return {
    label: cleanField(label, 100),
    version: version === null ? null : cleanField(version, 40),
    suite: cleanField(suite, 100),
    raw: cleanField(raw, 200),
  };
}

/** Security when the origin is a `*-security` suite (Debian, Ubuntu, ESM apps/infra) or labelled Debian-Security. */
export function isSecurityOrigin(origin: AptOrigin): boolean {
  if (origin.label === 'Debian-Security') return true;
  if (/-security$/.test(origin.suite)) return true;
  // Ubuntu Pro / ESM repositories: labels UbuntuESM, UbuntuESMApps; suites <codename>-{apps,infra}-security.
  if (/^UbuntuESM/.test(origin.label) && /security/.test(origin.suite)) return true;
  return false;
}

/** Parses one `Inst` line; null when it is not one or is malformed. Linear time. */
export function parseInstLine(line: string): AptInst | null {
  if (!line.startsWith('Inst ')) return null;
  let rest = line.slice(5);
  const space = rest.indexOf(' ');
  if (space <= 0) return null;
  let name = rest.slice(0, space);
  let archQualifier: string | null = null;
  const colon = name.indexOf(':');
  if (colon > 0) {
    archQualifier = name.slice(colon + 1);
    name = name.slice(0, colon);
  }
  if (!isValidPackageName(name)) return null;
  rest = rest.slice(space + 1);
  let installedVersion: string | null = null;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) return null;
    installedVersion = rest.slice(1, close);
    if (!isValidVersion(installedVersion)) return null;
    rest = rest.slice(close + 1).trimStart();
  }
  if (!rest.startsWith('(')) return null;
  const closeParen = rest.indexOf(')');
  if (closeParen < 0) return null;
  const inner = rest.slice(1, closeParen);
  const firstSpace = inner.indexOf(' ');
  const candidateVersion = firstSpace < 0 ? inner : inner.slice(0, firstSpace);
  if (!isValidVersion(candidateVersion)) return null;
  let middle = firstSpace < 0 ? '' : inner.slice(firstSpace + 1);
  let arch: string | null = archQualifier;
  const archMatch = /\[([^[\]]*)\]$/.exec(middle);
  if (archMatch) {
    arch = archMatch[1]!;
    middle = middle.slice(0, archMatch.index).trimEnd();
  }
  if (arch !== null && !isValidArch(arch)) arch = null;
  const origins =
    middle === ''
      ? []
      : middle
          .split(', ')
          .map(parseAptOrigin)
          .filter((o): o is AptOrigin => o !== null);
  return { name, arch, installedVersion, candidateVersion, origins };
}

function collectList(all: string[], start: number): { names: string[]; next: number } {
  const names: string[] = [];
  let i = start;
  for (; i < all.length; i++) {
    const line = all[i]!;
    if (!line.startsWith(' ')) break;
    for (const word of line.trim().split(/\s+/)) {
      const base = word.split(':')[0]!;
      if (isValidPackageName(base)) names.push(word.length <= 300 ? word : base);
    }
  }
  return { names, next: i };
}

/** Parses the whole `apt-get -s dist-upgrade` stdout. */
export function parseAptSimulation(text: string): AptSimulation {
  const result: AptSimulation = {
    installs: [],
    removals: [],
    keptBack: [],
    phasingDeferred: [],
    rejected: [],
  };
  const all = lines(text);
  for (let i = 0; i < all.length; i++) {
    const line = all[i]!;
    if (line.startsWith('Inst ')) {
      const inst = parseInstLine(line);
      if (inst) result.installs.push(inst);
      else if (result.rejected.length < 20) result.rejected.push(cleanField(line, 200));
    } else if (line.startsWith('Remv ')) {
      const name = line.slice(5).split(' ')[0] ?? '';
      if (isValidPackageName(name.split(':')[0]!)) result.removals.push(name);
    } else if (line === 'The following packages have been kept back:') {
      const { names, next } = collectList(all, i + 1);
      result.keptBack.push(...names);
      i = next - 1;
    } else if (/^The following upgrades have been deferred due to phasing:$/.test(line)) {
      const { names, next } = collectList(all, i + 1);
      result.phasingDeferred.push(...names);
      i = next - 1;
    }
  }
  return result;
}

/** `apt-mark showhold`: one package name per line. */
export function parseShowHold(text: string): string[] {
  const names: string[] = [];
  for (const line of lines(text)) {
    const word = line.trim();
    if (word === '') continue;
    const base = word.split(':')[0]!;
    if (isValidPackageName(base) && word.length <= 300) names.push(word);
  }
  return names;
}

export interface AptPolicyVersion {
  version: string;
  priority: number | null;
  installed: boolean;
  phasedPercent: number | null;
  sources: string[];
}

export interface AptPolicy {
  name: string;
  installed: string | null;
  candidate: string | null;
  versions: AptPolicyVersion[];
}

/** Parses `apt-cache policy pkg…` (C locale). */
export function parseAptPolicy(text: string): AptPolicy[] {
  const result: AptPolicy[] = [];
  let current: AptPolicy | null = null;
  let currentVersion: AptPolicyVersion | null = null;
  for (const line of lines(text)) {
    if (line === '') continue;
    const header = /^(\S+):$/.exec(line);
    if (header) {
      const full = header[1]!;
      current = null;
      currentVersion = null;
      if (!isValidPackageName(full.split(':')[0]!)) continue;
      current = { name: full, installed: null, candidate: null, versions: [] };
      result.push(current);
      continue;
    }
    if (current === null) continue;
    const field = /^ {2}(Installed|Candidate): (\S+)$/.exec(line);
    if (field) {
      const value = field[2]!;
      const version = value === '(none)' || !isValidVersion(value) ? null : value;
      if (field[1] === 'Installed') current.installed = version;
      else current.candidate = version;
      continue;
    }
    const versionLine = /^ (\*\*\*| {3}) (\S+) (-?\d+)(?: \(phased (\d{1,3})%\))?\s*$/.exec(line);
    if (versionLine && isValidVersion(versionLine[2]!)) {
      currentVersion = {
        version: versionLine[2]!,
        priority: Number(versionLine[3]),
        installed: versionLine[1] === '***',
        phasedPercent: versionLine[4] === undefined ? null : Number(versionLine[4]),
        sources: [],
      };
      current.versions.push(currentVersion);
      continue;
    }
    const source = /^ {8}-?\d+ (.+)$/.exec(line);
    if (source && currentVersion !== null) currentVersion.sources.push(cleanField(source[1]!, 300));
  }
  return result;
}

/**
 * A policy source line (`http://deb.debian.org/debian-security bookworm-security/main amd64
 * Packages`): the suite is the distribution part before the component.
 */
export function policySourceSuite(source: string): string | null {
  const words = source.split(' ');
  if (words.length < 3) return null;
  const dist = words[1]!;
  if (dist === './') return null;
  return dist.split('/')[0] ?? null;
}

export interface RebootState {
  required: boolean;
  packages: string[];
}

/** Our reboot section prints `required` then the contents of reboot-required.pkgs. */
export function parseRebootSection(text: string): RebootState {
  const all = lines(text).map((l) => l.trim());
  const required = all.includes('required');
  const packages = [
    ...new Set(
      all.filter(
        (l) => l !== 'required' && l !== '' && isValidPackageName(l.split(':')[0]!) && l.length <= 300,
      ),
    ),
  ];
  return { required, packages };
}

const LOCK_PATTERNS = [
  /Could not get lock/,
  /Unable to acquire the dpkg frontend lock/,
  /Unable to lock (?:the administration )?directory/,
  /is another process using it\?/,
];
export function isAptLockError(stderr: string): boolean {
  const head = stderr.slice(0, 16384);
  return LOCK_PATTERNS.some((re) => re.test(head));
}

export function isDpkgInterrupted(stderr: string): boolean {
  return /dpkg was interrupted, you must manually run '(?:sudo )?dpkg --configure -a'/.test(
    stderr.slice(0, 16384),
  );
}

export interface LockHolder {
  pid: number;
  /** The holder's command name (`/proc/PID/comm`), sanitised; empty when it exited meanwhile. */
  command: string;
}

/**
 * The lock section prints `PID COMM` for each process holding a POSIX lock on
 * /var/lib/dpkg/lock-frontend or /var/lib/dpkg/lock (found in /proc/locks by inode, without
 * taking the lock and without root).
 */
export function parseLockHolders(text: string): LockHolder[] {
  const holders = new Map<number, LockHolder>();
  for (const line of lines(text)) {
    // "PID COMM": split at the first blank by hand; `[ \t]+(.*)$` backtracked quadratically
    // over a run of blanks that ends in a stray carriage return.
    const trimmed = line.trimStart();
    let digits = 0;
    while (digits < trimmed.length && trimmed.charCodeAt(digits) >= 48 && trimmed.charCodeAt(digits) <= 57)
      digits++;
    if (digits === 0 || digits > 9) continue;
    const rest = trimmed.slice(digits);
    if (rest !== '' && rest[0] !== ' ' && rest[0] !== '\t') continue;
    const pid = Number(trimmed.slice(0, digits));
    if (pid <= 0 || holders.has(pid)) continue;
    holders.set(pid, { pid, command: cleanField(rest, 32) });
  }
  return [...holders.values()];
}
