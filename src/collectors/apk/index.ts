/** The apk collector (Alpine): `apk version -l '<'` against the cached indexes, `apk update` first when refreshing. */
import {
  cleanStderr,
  isValidPackageName,
  isValidVersion,
  kernelRebootState,
  lines,
  optionalText,
  overlongLineWarnings,
  parseClockAndMtimes,
  runSectionScript,
  type ScriptSection,
} from '../util';
import { parseApkInstalledDb, withSourcePackages } from '../installed';
import {
  CollectorError,
  type CollectOptions,
  type CollectorResult,
  type PendingUpdate,
  type RemoteExec,
} from '../types';

export interface ApkUpdate {
  name: string;
  installedVersion: string;
  availableVersion: string;
}

/** Splits `name-version-rN` without regex backtracking: the last two dash-separated fields are the version. */
export function splitApkPackage(text: string): { name: string; version: string } | null {
  const rel = text.lastIndexOf('-');
  if (rel <= 0 || !/^r\d{1,6}$/.test(text.slice(rel + 1))) return null;
  const ver = text.lastIndexOf('-', rel - 1);
  if (ver <= 0) return null;
  const name = text.slice(0, ver);
  const version = text.slice(ver + 1);
  if (!isValidPackageName(name) || !isValidVersion(version)) return null;
  return { name, version };
}

/** `apk version -l '<'`: a header, then `name-installed   < available`. */
export function parseApkVersion(text: string): ApkUpdate[] {
  const result: ApkUpdate[] = [];
  for (const line of lines(text)) {
    const words = line.trim().split(/\s+/);
    if (words.length !== 3 || words[1] !== '<') continue;
    const pkg = splitApkPackage(words[0]!);
    if (!pkg || !isValidVersion(words[2]!)) continue;
    result.push({ name: pkg.name, installedVersion: pkg.version, availableVersion: words[2]! });
  }
  return result;
}

/**
 * apk's lock messages: "Unable to lock database", or "Failed to open apk database" with the
 * reason later on the same line. Read line by line with indexOf; the regex with `.*` between
 * the two was quadratic over a line repeating the first phrase.
 */
export function isApkLocked(stderr: string): boolean {
  const head = stderr.slice(0, 65536);
  if (head.includes('Unable to lock database')) return true;
  for (const line of head.split('\n')) {
    const at = line.indexOf('Failed to open apk database');
    if (at < 0) continue;
    const reason = line.slice(at + 'Failed to open apk database'.length);
    if (reason.includes('lock') || reason.includes('Resource temporarily unavailable')) return true;
  }
  return false;
}

export function apkSections(refresh: boolean): ScriptSection[] {
  const sections: ScriptSection[] = [];
  if (refresh) sections.push({ name: 'refresh', command: 'apk update -q' });
  sections.push(
    { name: 'updates', command: "apk version -l '<'" },
    // The installed set with each package's origin (its aport, the source package): the P, V, A
    // and o lines of apk's own database. Optional: older collections lack it.
    { name: 'installed', optional: true, command: "grep -E '^[PVAo]:' /lib/apk/db/installed" },
    {
      name: 'reboot',
      command:
        'if [ -d "/lib/modules/$(uname -r)" ]; then echo running-kernel-installed; elif ls -d /lib/modules/*/ >/dev/null 2>&1; then echo running-kernel-missing; else echo no-kernel-packages; fi',
    },
    {
      name: 'age',
      command:
        'date +%s; stat -c %Y /var/cache/apk/APKINDEX.*.tar.gz /lib/apk/db/APKINDEX.*.tar.gz 2>/dev/null; true',
    },
  );
  return sections;
}

export async function collect(exec: RemoteExec, options: CollectOptions): Promise<CollectorResult> {
  const commands: CollectorResult['commands'] = [];
  const { sections, raw } = await runSectionScript(
    exec,
    apkSections(options.refresh),
    { ...options, sudo: options.refresh },
    commands,
  );
  const updates = sections.get('updates');
  const warnings: string[] = overlongLineWarnings(sections);
  for (const s of [sections.get('refresh'), updates]) {
    if (s && isApkLocked(s.stderr)) {
      throw new CollectorError('package-manager-locked', 'apk is locked by another process.', {
        stderr: cleanStderr(s.stderr),
        command: 'apk',
        code: s.code,
      });
    }
  }
  const refresh = sections.get('refresh');
  if (refresh && refresh.code !== 0)
    warnings.push(`apk update failed (exit ${refresh.code ?? 'unknown'}); using cached indexes`);
  if (!updates || updates.code !== 0) {
    throw new CollectorError('command-failed', "apk version -l '<' failed on this host.", {
      stderr: cleanStderr(updates?.stderr ?? raw.stderr),
      command: "apk version -l '<'",
      code: updates?.code ?? raw.code,
    });
  }
  const reboot = kernelRebootState(sections.get('reboot')?.stdout ?? '');
  const extra = optionalText(
    sections,
    'installed',
    'reading /lib/apk/db/installed (the installed packages)',
    warnings,
  );
  const installed = extra.installed === undefined ? null : parseApkInstalledDb(extra.installed);
  if (installed) warnings.push(...installed.warnings);
  const found: PendingUpdate[] = parseApkVersion(updates.stdout).map((u) => ({
    name: u.name,
    arch: null,
    installedVersion: u.installedVersion,
    availableVersion: u.availableVersion,
    repository: null,
    security: false,
    severity: null,
    vendorSeverity: null,
    advisories: [],
    held: false,
    phased: false,
    rebootRequired: null,
    kind: 'package' as const,
  }));
  return {
    packageManager: 'apk',
    // A subpackage has its origin's version, so the available source version is the binary's.
    updates: installed
      ? withSourcePackages(found, installed.packages, [], { sameVersionAsBinary: true })
      : found,
    ...(installed ? { installed: installed.packages } : {}),
    ...reboot,
    metadataAgeSeconds: parseClockAndMtimes(sections.get('age')?.stdout ?? ''),
    warnings,
    commands,
  };
}

export const apkCollector = { packageManager: 'apk' as const, collect };
