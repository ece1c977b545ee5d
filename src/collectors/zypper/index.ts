/**
 * The zypper collector: one round-trip (sudo only to refresh) runs a framed script with the XML
 * listings of package updates and needed patches, `info -t patch` for the patches (to learn which
 * packages each fixes), the reboot hint and the metadata age.
 */
import {
  buildSectionScript,
  cleanStderr,
  maxSeverity,
  optionalText,
  overlongLineWarnings,
  parseClockAndMtimes,
  runSectionScript,
  scriptDidNotRun,
  type ScriptSection,
} from '../util';
import { parseRpmQa, parseZypperInfoSources, RPM_INSTALLED_QUERY, withSourcePackages } from '../installed';
import {
  CollectorError,
  type CollectOptions,
  type CollectorResult,
  type PendingUpdate,
  type RemoteExec,
} from '../types';
import {
  isZypperSuccess,
  parseNeedsRebooting,
  parsePatchInfo,
  parseZypperPatchesXml,
  parseZypperUpdatesXml,
  ZYPPER_EXIT,
  type ZypperPackageUpdate,
  type ZypperPatch,
} from './parse';

export * from './parse';

const Z = 'zypper --non-interactive --no-refresh';

export function zypperSections(refresh: boolean): ScriptSection[] {
  const sections: ScriptSection[] = [];
  if (refresh) sections.push({ name: 'refresh', command: 'zypper --non-interactive refresh' });
  sections.push(
    {
      name: 'updates',
      command: `pd_lu=$(${Z} --xmlout list-updates); pd_lu_rc=$?; printf '%s\\n' "$pd_lu"; (exit $pd_lu_rc)`,
    },
    {
      name: 'patches',
      command: `pd_lp=$(${Z} --xmlout list-patches); pd_lp_rc=$?; printf '%s\\n' "$pd_lp"; (exit $pd_lp_rc)`,
    },
    // Patch ids come from zypper itself and reach zypper again as argv through xargs, never through a shell.
    {
      name: 'patchinfo',
      command: `printf '%s\\n' "$pd_lp" | grep -o 'kind="patch" name="[^"]*"' | cut -d'"' -f4 | xargs -r ${Z} info -t patch`,
    },
    // The installed set with source rpms, then each update's source package as `zypper info`
    // names it (names from zypper's own XML, as argv through xargs). Optional: older collections lack them.
    { name: 'installed', optional: true, command: RPM_INSTALLED_QUERY },
    {
      name: 'sources',
      optional: true,
      command: `printf '%s\\n' "$pd_lu" | grep -o '<update kind="package" name="[^"]*"' | cut -d'"' -f4 | sort -u | xargs -r ${Z} info | grep -E '^(Name|Version|Arch|Source package) +: '; true`,
    },
    {
      name: 'reboot',
      command: `${Z} needs-rebooting >/dev/null 2>&1; echo "exit=$?"; if [ -e /run/reboot-needed ]; then echo reboot-needed; fi`,
    },
    {
      name: 'age',
      command: 'date +%s; stat -c %Y /var/cache/zypp/raw/*/repodata/repomd.xml 2>/dev/null; true',
    },
  );
  return sections;
}

export function buildZypperScript(refresh: boolean, nonce: string): string {
  return buildSectionScript(zypperSections(refresh), nonce);
}

/** Needed patches (status needed, or unset in plain-text listings). */
function neededPatches(patches: ZypperPatch[]): ZypperPatch[] {
  return patches.filter((p) => p.status === '' || p.status === 'needed');
}

/**
 * Needed patches that update none of the listed package updates (or whose packages zypper did
 * not name): they have no package row to be shown on, so each is a finding of its own.
 */
export function patchesWithoutPackageRows(
  packages: ZypperPackageUpdate[],
  patches: ZypperPatch[],
  patchPackages: Map<string, string[]>,
): ZypperPatch[] {
  const listed = new Set(packages.map((p) => p.name));
  return neededPatches(patches).filter(
    (patch) => !(patchPackages.get(patch.id) ?? []).some((name) => listed.has(name)),
  );
}

/**
 * One finding per package update, carrying the needed patches that ship it (id, severity, CVEs,
 * reboot hint). A patch is shown once, on the packages it updates, never as an extra update:
 * zypper lists the same change twice (the package and the patch), and counting both doubled the
 * host's totals. Only a needed patch with no package row of its own is a finding by itself.
 */
export function zypperFindings(
  packages: ZypperPackageUpdate[],
  patches: ZypperPatch[],
  patchPackages: Map<string, string[]>,
): PendingUpdate[] {
  const needed = neededPatches(patches);
  const byPackage = new Map<string, ZypperPatch[]>();
  for (const patch of needed) {
    for (const name of patchPackages.get(patch.id) ?? []) {
      const list = byPackage.get(name) ?? [];
      list.push(patch);
      byPackage.set(name, list);
    }
  }
  const updates: PendingUpdate[] = packages.map((pkg) => {
    const fixes = byPackage.get(pkg.name) ?? [];
    let severity: PendingUpdate['severity'] = null;
    let vendorSeverity: string | null = null;
    for (const patch of fixes) {
      const next = maxSeverity(severity, patch.severity);
      if (next !== severity) {
        severity = next;
        vendorSeverity = patch.vendorSeverity;
      }
    }
    return {
      name: pkg.name,
      arch: pkg.arch,
      installedVersion: pkg.installedVersion,
      availableVersion: pkg.availableVersion,
      repository: pkg.repository,
      security: fixes.some((p) => p.security),
      severity,
      vendorSeverity,
      advisories: [...new Set(fixes.flatMap((p) => [p.id, ...p.issues]))],
      held: false,
      phased: false,
      rebootRequired: fixes.length > 0 ? fixes.some((p) => p.rebootRequired) : null,
      kind: 'package',
    };
  });
  for (const patch of patchesWithoutPackageRows(packages, patches, patchPackages)) {
    updates.push({
      name: patch.id,
      arch: null,
      installedVersion: null,
      availableVersion: patch.id,
      repository: patch.repository,
      security: patch.security,
      severity: patch.severity,
      vendorSeverity: patch.vendorSeverity,
      advisories: [patch.id, ...patch.issues],
      held: false,
      phased: false,
      rebootRequired: patch.rebootRequired,
      kind: 'patch',
    });
  }
  return updates;
}

function check(name: string, section: { stderr: string; code: number | null } | undefined): void {
  if (!section) throw new CollectorError('command-failed', `zypper ${name} did not run on this host.`);
  if (
    section.code === ZYPPER_EXIT.locked ||
    /System management is locked/.test(section.stderr.slice(0, 8192))
  ) {
    throw new CollectorError(
      'package-manager-locked',
      'zypper is locked by another process (System management is locked).',
      {
        stderr: cleanStderr(section.stderr),
        command: `zypper ${name}`,
        code: section.code,
      },
    );
  }
  if (section.code === ZYPPER_EXIT.privileges) {
    throw new CollectorError('sudo', 'zypper needs root privileges for this.', {
      stderr: cleanStderr(section.stderr),
      command: `zypper ${name}`,
      code: section.code,
    });
  }
  if (!isZypperSuccess(section.code)) {
    throw new CollectorError(
      'command-failed',
      `zypper ${name} failed on this host (exit ${section.code ?? 'unknown'}).`,
      {
        stderr: cleanStderr(section.stderr),
        command: `zypper ${name}`,
        code: section.code,
      },
    );
  }
}

export async function collect(exec: RemoteExec, options: CollectOptions): Promise<CollectorResult> {
  const commands: CollectorResult['commands'] = [];
  const { sections, raw } = await runSectionScript(
    exec,
    zypperSections(options.refresh),
    { ...options, sudo: options.refresh },
    commands,
  );
  if (sections.size === 0) throw scriptDidNotRun('zypper', raw);
  const warnings: string[] = overlongLineWarnings(sections);
  const refresh = sections.get('refresh');
  if (refresh) {
    if (refresh.code === ZYPPER_EXIT.locked) check('refresh', refresh);
    if (!isZypperSuccess(refresh.code))
      warnings.push(`zypper refresh failed (exit ${refresh.code ?? 'unknown'}); using cached metadata`);
  }
  const updates = sections.get('updates');
  const patches = sections.get('patches');
  check('list-updates', updates);
  check('list-patches', patches);
  for (const s of [updates, patches])
    if (s?.code === ZYPPER_EXIT.reposSkipped)
      warnings.push('zypper skipped some repositories (exit 106); results may be incomplete');
  if (updates?.code === ZYPPER_EXIT.restartZypper || patches?.code === ZYPPER_EXIT.restartZypper)
    warnings.push('a zypper/libzypp update is pending (exit 103): it installs before anything else');
  let packageUpdates: ZypperPackageUpdate[];
  let patchList: ZypperPatch[];
  try {
    packageUpdates = parseZypperUpdatesXml(updates!.stdout);
    patchList = parseZypperPatchesXml(patches!.stdout);
  } catch (error) {
    if (error instanceof CollectorError) throw error;
    throw new CollectorError('command-failed', 'zypper printed XML we could not read.', {
      stderr: cleanStderr(String(error)),
      command: 'zypper --xmlout',
    });
  }
  const reboot = sections.get('reboot')?.stdout ?? '';
  const exitMatch = /^exit=(\d+)$/m.exec(reboot);
  let rebootRequired = parseNeedsRebooting(exitMatch ? Number(exitMatch[1]) : null);
  if (/^reboot-needed$/m.test(reboot)) rebootRequired = true;
  const patchPackages = parsePatchInfo(sections.get('patchinfo')?.stdout ?? '');
  const alone = patchesWithoutPackageRows(packageUpdates, patchList, patchPackages);
  if (alone.length)
    warnings.push(
      `${alone.length === 1 ? '1 needed patch updates' : `${alone.length} needed patches update`} none of the listed package updates (or zypper did not say which packages): listed as patches of their own`,
    );
  const extra = {
    ...optionalText(sections, 'installed', 'rpm -qa (the installed packages)', warnings),
    ...optionalText(sections, 'sources', "zypper info (the updates' source packages)", warnings),
  };
  const installed = extra.installed === undefined ? null : parseRpmQa(extra.installed);
  if (installed) warnings.push(...installed.warnings);
  const findings = zypperFindings(packageUpdates, patchList, patchPackages);
  return {
    packageManager: 'zypper',
    updates: installed
      ? withSourcePackages(findings, installed.packages, parseZypperInfoSources(extra.sources ?? ''))
      : findings,
    ...(installed ? { installed: installed.packages } : {}),
    rebootRequired,
    rebootReasons: rebootRequired ? ['zypper needs-rebooting'] : [],
    metadataAgeSeconds:
      parseClockAndMtimes(sections.get('age')?.stdout ?? '') ??
      (refresh && isZypperSuccess(refresh.code) ? 0 : null),
    warnings,
    commands,
  };
}

export const zypperCollector = { packageManager: 'zypper' as const, collect };
