/**
 * The dnf/yum collector: one sudo round-trip runs a framed script that picks dnf or yum on the
 * host, lists available updates, their advisories (with severities and CVEs), the installed
 * versions, whether a reboot is needed, and the age of the cached metadata.
 */
import {
  buildSectionScript,
  cleanStderr,
  overlongLineWarnings,
  optionalText,
  maxSeverity,
  parseClockAndMtimes,
  refreshedOnceWithoutMetadata,
  runSectionScript,
  scriptDidNotRun,
  type ScriptSection,
} from '../util';
import { parseRpmQa, parseRpmSources, RPM_INSTALLED_QUERY, withSourcePackages } from '../installed';
import {
  CollectorError,
  type CollectOptions,
  type CollectorResult,
  type PendingUpdate,
  type RemoteExec,
} from '../types';
import {
  isRpmLocked,
  parseExpirationAge,
  parseCheckUpdate,
  parseNeedsRestarting,
  parseRpmInstalled,
  parseUpdateinfoList,
  type AdvisoryEntry,
} from './parse';

export * from './parse';

/** dnf repoquery's format for the updates' source rpms (dnf expands `\\t` and ends each line itself). */
const DNF_SOURCE_FORMAT = '%{name}\\t%{epoch}\\t%{version}\\t%{release}\\t%{arch}\\t%{sourcerpm}';

/**
 * `-C` (cache only) unless refreshing, so an audit never silently downloads metadata; `check-update`
 * exits 100 when updates exist.
 */
export function dnfSections(refresh: boolean): ScriptSection[] {
  const cache = refresh ? '' : ' -C';
  const sections: ScriptSection[] = [
    {
      name: 'pm',
      command:
        'if command -v dnf >/dev/null 2>&1; then pd_pm=dnf; elif command -v yum >/dev/null 2>&1; then pd_pm=yum; else pd_pm=none; fi; echo "$pd_pm"',
    },
  ];
  if (refresh) sections.push({ name: 'refresh', command: '"$pd_pm" -q -y makecache' });
  sections.push(
    // Not -q: dnf prints "Ignoring repositories" / "no cache" only when not quiet, and the expiration line dates the metadata.
    { name: 'check', command: `"$pd_pm"${cache} check-update` },
    { name: 'updateinfo', command: `"$pd_pm" -q${cache} updateinfo list` },
    {
      name: 'cves',
      command: `if [ "$pd_pm" = yum ]; then yum -q${cache} updateinfo list cves; else dnf -q${cache} updateinfo list --with-cve; fi`,
    },
    // The whole installed set with each package's source rpm (collections made before read only
    // name, arch and version: parseRpmInstalled reads both).
    { name: 'installed', command: RPM_INSTALLED_QUERY },
    // Each update's own source rpm (a new version may come from a renamed source). dnf only:
    // yum's repoquery is another tool (yum-utils) that no lab host has to check it against.
    {
      name: 'sources',
      optional: true,
      command: `if [ "$pd_pm" = dnf ]; then dnf -q${cache} repoquery --upgrades --qf '${DNF_SOURCE_FORMAT}'; fi`,
    },
    {
      name: 'reboot',
      command:
        'if command -v needs-restarting >/dev/null 2>&1; then needs-restarting -r; elif [ "$pd_pm" = dnf ] && dnf -q needs-restarting --help >/dev/null 2>&1; then dnf -q needs-restarting -r; else echo unavailable; fi',
    },
    {
      name: 'age',
      command:
        'date +%s; stat -c %Y /var/cache/dnf/*/repodata/repomd.xml /var/cache/yum/*/*/*/repomd.xml /var/cache/yum/*/repomd.xml 2>/dev/null; true',
    },
  );
  return sections;
}

export function buildDnfScript(refresh: boolean, nonce: string): string {
  return buildSectionScript(dnfSections(refresh), nonce);
}

export interface DnfSectionsText {
  pm: 'dnf' | 'yum';
  check: string;
  updateinfo: string;
  cves: string;
  installed: string;
  reboot: { stdout: string; code: number | null };
  age: string;
  /** dnf repoquery's source rpms of the updates; absent when not read. */
  sources?: string;
}

/** Turns the sections' text into findings; pure. */
export function dnfResultFromSections(text: DnfSectionsText): Omit<CollectorResult, 'commands'> {
  const { updates: raw, rejected } = parseCheckUpdate(text.check);
  const advisories = [...parseUpdateinfoList(text.updateinfo), ...parseUpdateinfoList(text.cves)];
  const byPackage = new Map<string, AdvisoryEntry[]>();
  for (const entry of advisories) {
    const key = `${entry.package.name}.${entry.package.arch}`;
    const list = byPackage.get(key) ?? [];
    list.push(entry);
    byPackage.set(key, list);
  }
  const installed = parseRpmInstalled(text.installed);
  const warnings: string[] = rejected.map((line) => `unparsed ${text.pm} line: ${line}`);
  const updates: PendingUpdate[] = [];
  const seen = new Set<string>();
  for (const update of raw) {
    const key = `${update.name}.${update.arch}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const entries = byPackage.get(key) ?? [];
    let severity: PendingUpdate['severity'] = null;
    let vendorSeverity: string | null = null;
    for (const entry of entries) {
      const next = maxSeverity(severity, entry.severity);
      if (next !== severity || (vendorSeverity === null && entry.vendorSeverity !== null)) {
        severity = next;
        vendorSeverity = entry.vendorSeverity ?? vendorSeverity;
      }
    }
    const ids = [...new Set(entries.map((e) => e.id))];
    const finding: PendingUpdate = {
      name: update.name,
      arch: update.arch,
      installedVersion: installed.get(key) ?? null,
      availableVersion: update.version,
      repository: update.repository,
      security: entries.some((e) => e.type === 'security'),
      severity,
      vendorSeverity,
      advisories: ids,
      held: false,
      phased: false,
      rebootRequired: null,
      kind: 'package',
    };
    if (update.obsoletes !== undefined) {
      if (finding.installedVersion === null) finding.newDependency = true;
      if (update.obsoletes !== '') warnings.push(`${update.name} obsoletes ${update.obsoletes}`);
    }
    updates.push(finding);
  }
  // The installed set (and each update's installed source) when the section used the tab format.
  const installedSet = text.installed.includes('\t') ? parseRpmQa(text.installed) : null;
  if (installedSet) warnings.push(...installedSet.warnings);
  const reboot = parseNeedsRestarting(text.reboot.stdout, text.reboot.code);
  if (reboot.rebootRequired === null)
    warnings.push('needs-restarting is not installed (dnf-utils / yum-utils); reboot state unknown');
  return {
    packageManager: text.pm,
    updates: installedSet
      ? withSourcePackages(updates, installedSet.packages, parseRpmSources(text.sources ?? ''))
      : updates,
    ...(installedSet ? { installed: installedSet.packages } : {}),
    rebootRequired: reboot.rebootRequired,
    rebootReasons: reboot.reasons,
    metadataAgeSeconds: parseClockAndMtimes(text.age) ?? parseExpirationAge(text.check),
    warnings,
  };
}

function fail(
  kind: 'package-manager-locked' | 'command-failed',
  message: string,
  stderr: string,
  command: string,
  code: number | null,
): never {
  throw new CollectorError(kind, message, { stderr: cleanStderr(stderr), command, code });
}

/** dnf/yum -C found no cached metadata at all: there is nothing to audit against yet. */
class NoCachedMetadata extends CollectorError {}

/**
 * A host with no cached metadata at all (a fresh install, a cleaned cache) is refreshed once by
 * itself, and the audit says so in its warnings: the admin asked for an audit, and "audit with
 * refresh" was the only thing they could have done next. A host that has some cache, however
 * old, is still audited against it unless a refresh is asked for, so an offline site stays offline.
 */
export function collect(exec: RemoteExec, options: CollectOptions): Promise<CollectorResult> {
  return refreshedOnceWithoutMetadata(
    (opts) => collectOnce(exec, opts),
    options,
    (error) => error instanceof NoCachedMetadata,
    ({ packageManager: pm }) =>
      `${pm} had no cached package metadata on this host, so this audit refreshed it once (${pm} makecache) first`,
  );
}

async function collectOnce(exec: RemoteExec, options: CollectOptions): Promise<CollectorResult> {
  const commands: CollectorResult['commands'] = [];
  const { sections, raw } = await runSectionScript(
    exec,
    dnfSections(options.refresh),
    { ...options, sudo: true },
    commands,
  );
  const pmText = sections.get('pm')?.stdout.trim();
  if (pmText === undefined) throw scriptDidNotRun('dnf/yum', raw);
  if (pmText !== 'dnf' && pmText !== 'yum')
    throw new CollectorError('unsupported-os', 'Neither dnf nor yum is installed on this host.');
  const pm = pmText;
  const warnings: string[] = overlongLineWarnings(sections);
  const refresh = sections.get('refresh');
  if (refresh && refresh.code !== 0) {
    if (isRpmLocked(refresh.stderr))
      fail(
        'package-manager-locked',
        `${pm} is locked by another process.`,
        refresh.stderr,
        `${pm} makecache`,
        refresh.code,
      );
    warnings.push(`${pm} makecache failed (exit ${refresh.code ?? 'unknown'}); using cached metadata`);
  }
  const check = sections.get('check');
  const noCachedMetadata = (): never => {
    const why = !options.refresh
      ? `${pm} has no cached package metadata on this host.`
      : refresh?.code !== 0
        ? `${pm} has no package metadata on this host, and refreshing it failed (${pm} makecache exit ${refresh?.code ?? 'unknown'}): check that the host reaches its repositories.`
        : `${pm} has no usable package metadata on this host even after ${pm} makecache: check its repositories (${pm} repolist).`;
    throw new NoCachedMetadata('command-failed', why, {
      stderr: cleanStderr(check?.stderr ?? ''),
      command: `${pm}${refresh ? '' : ' -C'} check-update`,
      code: check?.code ?? null,
    });
  };
  if (!check)
    fail('command-failed', `${pm} check-update did not run.`, raw.stderr, `${pm} check-update`, raw.code);
  if (check.code !== 0 && check.code !== 100) {
    if (isRpmLocked(check.stderr))
      fail(
        'package-manager-locked',
        `${pm} is locked by another process.`,
        check.stderr,
        `${pm} check-update`,
        check.code,
      );
    if (
      /Cache-only enabled but no cache|cache only mode|Metadata cache missing|No enabled repos/i.test(
        check.stderr,
      )
    )
      noCachedMetadata();
    fail(
      'command-failed',
      `${pm} check-update failed on this host.`,
      check.stderr,
      `${pm} check-update`,
      check.code,
    );
  }
  const ignored = /Ignoring repositories: (.+)/.exec(check.stderr.slice(0, 16384));
  if (ignored)
    warnings.push(`${pm} ignored repositories without usable metadata: ${cleanStderr(ignored[1]!, 200)}`);
  if (
    /Cache-only enabled but no cache/.test(check.stderr) &&
    parseCheckUpdate(check.stdout).updates.length === 0
  )
    noCachedMetadata();
  const info = sections.get('updateinfo');
  if (info && info.code !== 0)
    warnings.push(`${pm} updateinfo failed (exit ${info.code ?? 'unknown'}); security flags may be missing`);
  const get = (name: string): string => sections.get(name)?.stdout ?? '';
  const rebootSection = sections.get('reboot');
  const result = dnfResultFromSections({
    pm,
    check: check.stdout,
    updateinfo: get('updateinfo'),
    cves: get('cves'),
    installed: get('installed'),
    reboot: { stdout: rebootSection?.stdout ?? 'unavailable', code: rebootSection?.code ?? null },
    age: get('age'),
    ...optionalText(sections, 'sources', "dnf repoquery (the updates' source packages)", warnings),
  });
  if (result.metadataAgeSeconds === null && refresh?.code === 0) result.metadataAgeSeconds = 0;
  return { ...result, warnings: [...warnings, ...result.warnings], commands };
}

export const dnfCollector = { packageManager: 'dnf' as const, collect };
export const yumCollector = { packageManager: 'yum' as const, collect };
