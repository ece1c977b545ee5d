/**
 * The installed set and source packages: parsers for `dpkg-query -W`, `apt-cache show`'s Source
 * lines, `rpm -qa --qf` with `%{SOURCERPM}`, apk's installed database and `pacman -Q`, and the
 * step that gives each pending update its source package and versions.
 *
 * Advisories of Debian, Ubuntu and the Debian tracker name source packages, AlmaLinux's name
 * binaries: an update is matched by the name its feed uses, so both are kept. Every parser reads
 * line by line (no regex over a whole line of remote text), skips what does not validate, and
 * keeps at most MAX_INSTALLED_PACKAGES packages, saying so in a warning.
 */
import { isValidArch, isValidPackageName, isValidVersion, lines } from './util';
import { MAX_INSTALLED_PACKAGES, type InstalledPackage, type PendingUpdate } from './types';

export interface InstalledSet {
  packages: InstalledPackage[];
  warnings: string[];
}

/** Collects packages up to the cap; counts the rest so that the warning can say how many were left out. */
class Bounded {
  readonly packages: InstalledPackage[] = [];
  private readonly seen = new Set<string>();
  private over = 0;
  private rejected = 0;

  constructor(private readonly tool: string) {}

  add(pkg: InstalledPackage | null): void {
    if (pkg === null) {
      this.rejected++;
      return;
    }
    // Several versions of one name and arch are normal on rpm (kernels); the same triple twice is not.
    const key = `${pkg.name}\t${pkg.arch ?? ''}\t${pkg.version}`;
    if (this.seen.has(key)) return;
    if (this.packages.length >= MAX_INSTALLED_PACKAGES) {
      this.over++;
      return;
    }
    this.seen.add(key);
    this.packages.push(pkg);
  }

  result(): InstalledSet {
    const warnings: string[] = [];
    if (this.over > 0)
      warnings.push(
        `${this.tool} lists more than ${MAX_INSTALLED_PACKAGES} installed packages; Patchdeck recorded the first ${MAX_INSTALLED_PACKAGES} and left ${this.over} out, so unfixed advisories of those are not listed`,
      );
    if (this.rejected > 0)
      warnings.push(
        `${this.rejected} line${this.rejected === 1 ? '' : 's'} of the installed-package list ${this.rejected === 1 ? 'was' : 'were'} not a valid package and ${this.rejected === 1 ? 'was' : 'were'} skipped`,
      );
    return { packages: this.packages, warnings };
  }
}

const arch = (text: string): string | null => (text !== '' && isValidArch(text) ? text : null);

/**
 * `dpkg-query -W -f '${db:Status-Abbrev}\t${Package}\t${Architecture}\t${Version}\t${source:Package}\t${source:Version}\n'`:
 * packages whose status is config-files or not-installed are not installed and are left out.
 */
export function parseDpkgInstalled(text: string): InstalledSet {
  const out = new Bounded('dpkg-query');
  for (const line of lines(text)) {
    if (line.trim() === '') continue;
    const f = line.split('\t');
    if (f.length !== 6) {
      out.add(null);
      continue;
    }
    const [status, name, a, version, sourceName, sourceVersion] = f as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    // Status-Abbrev is want, state, error flag ("ii ", "hi ", "iF "): the state says whether it is on disk.
    const state = status.charAt(1);
    if (state === 'n' || state === 'c') continue;
    if (!isValidPackageName(name) || !isValidVersion(version)) {
      out.add(null);
      continue;
    }
    const source = sourceName !== '' && isValidPackageName(sourceName) ? sourceName : name;
    const srcVersion = sourceVersion !== '' && isValidVersion(sourceVersion) ? sourceVersion : version;
    out.add({ name, arch: arch(a), version, sourceName: source, sourceVersion: srcVersion });
  }
  return out.result();
}

export interface CandidateSource {
  name: string;
  arch: string | null;
  version: string;
  sourceName: string;
  sourceVersion: string;
}

/**
 * The `Package:`, `Source:`, `Version:` and `Architecture:` lines of `apt-cache show
 * --no-all-versions NAME…` (one stanza per candidate). `Source: x (v)` names a source version of
 * its own (binNMUs, `+b1`); `Source: x` means source x at the binary's version; no Source line
 * means the source has the binary's name and version.
 */
export function parseAptCacheSources(text: string): CandidateSource[] {
  const result: CandidateSource[] = [];
  let current: { name: string; arch: string | null; version: string | null; source: string | null } | null =
    null;
  const flush = (): void => {
    if (current === null || current.version === null) return;
    let sourceName = current.name;
    let sourceVersion = current.version;
    if (current.source !== null) {
      const text = current.source;
      const space = text.indexOf(' ');
      const name = space < 0 ? text : text.slice(0, space);
      if (isValidPackageName(name)) {
        sourceName = name;
        const rest = space < 0 ? '' : text.slice(space + 1);
        if (rest.startsWith('(') && rest.endsWith(')') && isValidVersion(rest.slice(1, -1)))
          sourceVersion = rest.slice(1, -1);
      }
    }
    result.push({
      name: current.name,
      arch: current.arch,
      version: current.version,
      sourceName,
      sourceVersion,
    });
  };
  for (const line of lines(text)) {
    const colon = line.indexOf(': ');
    if (colon <= 0) continue;
    const field = line.slice(0, colon);
    const value = line.slice(colon + 2).trim();
    if (field === 'Package') {
      flush();
      current = isValidPackageName(value) ? { name: value, arch: null, version: null, source: null } : null;
      if (result.length >= MAX_INSTALLED_PACKAGES) return result;
    } else if (current === null) continue;
    else if (field === 'Version' && isValidVersion(value)) current.version = value;
    else if (field === 'Architecture') current.arch = arch(value);
    else if (field === 'Source' && value.length <= 300) current.source = value;
  }
  flush();
  return result;
}

/**
 * Splits a source rpm's file name (`openssl-3.0.7-27.el9.src.rpm`) into name and version-release
 * at its last two dashes; null for `(none)` (gpg-pubkey) or anything that does not split.
 */
export function splitSourceRpm(text: string): { name: string; version: string } | null {
  let base: string;
  if (text.endsWith('.src.rpm')) base = text.slice(0, -'.src.rpm'.length);
  else if (text.endsWith('.nosrc.rpm')) base = text.slice(0, -'.nosrc.rpm'.length);
  else return null;
  const r = base.lastIndexOf('-');
  if (r <= 0) return null;
  const v = base.lastIndexOf('-', r - 1);
  if (v <= 0) return null;
  const name = base.slice(0, v);
  const version = base.slice(v + 1);
  if (!isValidPackageName(name) || !isValidVersion(version)) return null;
  return { name, version };
}

/** The rpm query the installed set comes from (dnf, yum and zypper hosts alike). */
export const RPM_INSTALLED_QUERY =
  "rpm -qa --qf '%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\n'";

/** One line of RPM_INSTALLED_QUERY; null when it is not one. Epoch 0 and `(none)` are left out of versions. */
export function parseRpmQaLine(line: string): InstalledPackage | null {
  const f = line.split('\t');
  if (f.length !== 6) return null;
  const [name, epochText, version, release, a, sourceRpm] = f as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (epochText !== '(none)' && !/^\d{1,10}$/.test(epochText)) return null;
  const epoch = epochText === '(none)' || Number(epochText) === 0 ? '' : `${Number(epochText)}:`;
  const evr = `${epoch}${version}-${release}`;
  if (!isValidPackageName(name) || !isValidVersion(evr)) return null;
  const source = splitSourceRpm(sourceRpm);
  const sourceVersion = source === null ? null : `${epoch}${source.version}`;
  return {
    name,
    arch: arch(a),
    version: evr,
    sourceName: source?.name ?? null,
    sourceVersion: sourceVersion !== null && isValidVersion(sourceVersion) ? sourceVersion : null,
  };
}

export function parseRpmQa(text: string): InstalledSet {
  const out = new Bounded('rpm -qa');
  for (const line of lines(text)) {
    if (line.trim() === '') continue;
    out.add(parseRpmQaLine(line));
  }
  return out.result();
}

/** dnf repoquery's lines in the same six fields (its epoch is `0`, not `(none)`): each update's source rpm. */
export function parseRpmSources(text: string): CandidateSource[] {
  const result: CandidateSource[] = [];
  for (const line of lines(text)) {
    if (result.length >= MAX_INSTALLED_PACKAGES) break;
    const pkg = parseRpmQaLine(line.trim());
    if (pkg === null || pkg.sourceName === null || pkg.sourceVersion === null) continue;
    result.push({
      name: pkg.name,
      arch: pkg.arch,
      version: pkg.version,
      sourceName: pkg.sourceName,
      sourceVersion: pkg.sourceVersion,
    });
  }
  return result;
}

/**
 * `zypper info NAME…` cut to its `Name`, `Version`, `Arch` and `Source package` lines: the
 * candidate's source as `name-[epoch:]version-release.src` (zypper 1.14).
 */
export function parseZypperInfoSources(text: string): CandidateSource[] {
  const result: CandidateSource[] = [];
  let current: { name: string; version: string | null; arch: string | null } | null = null;
  for (const line of lines(text)) {
    const colon = line.indexOf(': ');
    if (colon <= 0) continue;
    const field = line.slice(0, colon).trim();
    const value = line.slice(colon + 2).trim();
    if (field === 'Name') {
      if (result.length >= MAX_INSTALLED_PACKAGES) break;
      current = isValidPackageName(value) ? { name: value, version: null, arch: null } : null;
    } else if (current === null) continue;
    else if (field === 'Version') current.version = isValidVersion(value) ? value : null;
    else if (field === 'Arch') current.arch = arch(value);
    else if (field === 'Source package' && current.version !== null) {
      const source = splitSourceRpm(`${value}.rpm`);
      if (source)
        result.push({
          name: current.name,
          arch: current.arch,
          version: current.version,
          sourceName: source.name,
          sourceVersion: source.version,
        });
      current = null;
    }
  }
  return result;
}

/** Reads the P/V/A/o lines of apk's installed database (`/lib/apk/db/installed`); a package starts at each `P:`. */
export function parseApkInstalledDb(text: string): InstalledSet {
  const out = new Bounded('apk');
  let current: {
    name: string | null;
    version: string | null;
    arch: string | null;
    origin: string | null;
  } | null = null;
  const flush = (): void => {
    if (current === null) return;
    if (current.name === null || current.version === null) out.add(null);
    else
      out.add({
        name: current.name,
        arch: current.arch,
        version: current.version,
        sourceName: current.origin ?? current.name,
        // An APKBUILD's subpackages share its pkgver-pkgrel: the origin's version is the package's.
        sourceVersion: current.version,
      });
    current = null;
  };
  for (const line of lines(text)) {
    if (line.length < 2 || line.charAt(1) !== ':') continue;
    const key = line.charAt(0);
    const value = line.slice(2).trim();
    if (key === 'P') {
      flush();
      current = { name: isValidPackageName(value) ? value : null, version: null, arch: null, origin: null };
    } else if (current === null) continue;
    else if (key === 'V') current.version = isValidVersion(value) ? value : null;
    else if (key === 'A') current.arch = arch(value);
    else if (key === 'o') current.origin = isValidPackageName(value) ? value : null;
  }
  flush();
  return out.result();
}

/** `pacman -Q`: `name version` per line; pacman keeps no source names in this form. */
export function parsePacmanInstalled(text: string): InstalledSet {
  const out = new Bounded('pacman -Q');
  for (const line of lines(text)) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    const space = trimmed.indexOf(' ');
    const name = space < 0 ? '' : trimmed.slice(0, space);
    const version = space < 0 ? '' : trimmed.slice(space + 1);
    out.add(
      isValidPackageName(name) && isValidVersion(version)
        ? { name, arch: null, version, sourceName: null, sourceVersion: null }
        : null,
    );
  }
  return out.result();
}

const key = (name: string, a: string | null): string => `${name}\t${a ?? ''}`;

/** Looks packages up by name and arch, or by name alone when that name is unambiguous. */
class ByName<T extends { name: string; arch: string | null }> {
  private readonly exact = new Map<string, T>();
  private readonly byName = new Map<string, T | null>();

  constructor(items: readonly T[]) {
    for (const item of items) {
      this.exact.set(key(item.name, item.arch), item);
      this.byName.set(item.name, this.byName.has(item.name) ? null : item);
    }
  }

  get(name: string, a: string | null): T | null {
    return (a !== null ? this.exact.get(key(name, a)) : undefined) ?? this.byName.get(name) ?? null;
  }
}

/**
 * Gives each package update its source package: the name and installed version from the
 * installed set, the available version's from the candidates (apt-cache show, dnf repoquery)
 * when the host said. Without a candidate's own record, `sameVersionAsBinary` (apk) takes the
 * binary's available version, and rpm hosts keep the installed source's name with an unknown
 * available version unless told.
 */
export function withSourcePackages(
  updates: readonly PendingUpdate[],
  installed: readonly InstalledPackage[],
  candidates: readonly CandidateSource[],
  options: { sameVersionAsBinary?: boolean } = {},
): PendingUpdate[] {
  // Keyed with the version too: several versions of one name may be installed (kernels) or offered.
  const byInstalled = new ByName(
    installed.filter((p) => p.sourceName !== null).map((p) => ({ ...p, name: `${p.name}\t${p.version}` })),
  );
  const byCandidate = new ByName(candidates.map((c) => ({ ...c, name: `${c.name}\t${c.version}` })));
  return updates.map((u) => {
    if (u.kind !== 'package') return u;
    const inst =
      u.installedVersion === null ? null : byInstalled.get(`${u.name}\t${u.installedVersion}`, u.arch);
    const instMatches = inst !== null;
    const cand = byCandidate.get(`${u.name}\t${u.availableVersion}`, u.arch);
    const candMatches = cand !== null;
    const sourceName = candMatches ? cand.sourceName : instMatches ? inst.sourceName : null;
    if (sourceName === null) return u;
    return {
      ...u,
      sourceName,
      sourceInstalledVersion: instMatches && inst.sourceName === sourceName ? inst.sourceVersion : null,
      sourceAvailableVersion: candMatches
        ? cand.sourceVersion
        : options.sameVersionAsBinary
          ? u.availableVersion
          : null,
    };
  });
}
