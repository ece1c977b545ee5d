/**
 * The apt collector: one round-trip (with sudo only when metadata is refreshed) runs a framed
 * script that simulates `dist-upgrade`, lists holds, asks `apt-cache policy` about held and kept-back
 * packages, checks the reboot flag and dates the package lists.
 */
import {
  buildSectionScript,
  cleanStderr,
  optionalText,
  overlongLineWarnings,
  parseClockAndMtimes,
  refreshedOnceWithoutMetadata,
  runSectionScript,
  scriptDidNotRun,
  type ScriptSection,
} from '../util';
import { parseAptCacheSources, parseDpkgInstalled, withSourcePackages } from '../installed';
import {
  CollectorError,
  type CollectOptions,
  type CollectorResult,
  type PendingUpdate,
  type RemoteExec,
} from '../types';
import {
  isAptLockError,
  isDpkgInterrupted,
  isSecurityOrigin,
  parseAptPolicy,
  parseAptSimulation,
  parseLockHolders,
  parseRebootSection,
  parseShowHold,
  policySourceSuite,
  type AptPolicy,
  type AptSimulation,
} from './parse';

export * from './parse';

/** dpkg-query's format for the installed set (fields by tab; dpkg expands the escapes itself). */
const DPKG_FORMAT =
  '${db:Status-Abbrev}\\t${Package}\\t${Architecture}\\t${Version}\\t${source:Package}\\t${source:Version}\\n';

/** The read-only part; the names fed to apt-cache come from apt itself and travel through xargs, never through a shell. */
export function aptSections(refresh: boolean): ScriptSection[] {
  const sections: ScriptSection[] = [
    // Who holds dpkg's locks right now (an install, unattended-upgrades): from /proc/locks by
    // inode, so the audit neither takes the lock nor needs root for it.
    {
      name: 'lock',
      optional: true,
      command:
        'for f in /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock; do i=$(stat -c %i "$f" 2>/dev/null) || continue; ' +
        // Compared as strings: mawk compares numbers as doubles, which conflates inodes above 2^53.
        'awk -v i="$i" \'$2 != "->" { n = split($6, d, ":"); if (d[n] "" == i "") print $5 }\' /proc/locks 2>/dev/null; done | sort -u | ' +
        'while read -r p; do printf \'%s %s\\n\' "$p" "$(cat /proc/$p/comm 2>/dev/null)"; done; true',
    },
  ];
  if (refresh) sections.push({ name: 'update', command: 'apt-get -q update' });
  sections.push(
    // Whether any package list exists at all: without one the simulation below finds nothing to
    // upgrade, which would read as "up to date". Optional: older offline collections lack it.
    {
      name: 'lists',
      optional: true,
      command:
        '(set -- /var/lib/apt/lists/*_Packages*; if [ -e "$1" ]; then echo present; else echo none; fi)',
    },
    {
      name: 'sim',
      command:
        'pd_sim=$(apt-get -s dist-upgrade); pd_sim_rc=$?; printf \'%s\\n\' "$pd_sim"; (exit $pd_sim_rc)',
    },
    {
      name: 'held',
      command: 'pd_held=$(apt-mark showhold); pd_held_rc=$?; printf \'%s\\n\' "$pd_held"; (exit $pd_held_rc)',
    },
    {
      name: 'policy',
      command:
        "{ printf '%s\\n' \"$pd_held\"; printf '%s\\n' \"$pd_sim\" | sed -n -e '/^The following packages have been kept back:$/,/^[^ ]/p' -e '/deferred due to phasing:$/,/^[^ ]/p' | grep '^ ' | tr -s ' ' '\\n'; } | grep -v '^$' | sort -u | xargs -r apt-cache policy",
    },
    // The installed set with each package's source package (advisories name source packages).
    // Optional: offline collections made before it lack it.
    {
      name: 'installed',
      optional: true,
      command: `dpkg-query -W -f '${DPKG_FORMAT}'`,
    },
    // Each candidate's source package: only the four fields of apt-cache show's stanzas, for the
    // names apt itself printed (Inst lines, holds, kept back), handed over as argv through xargs.
    {
      name: 'sources',
      optional: true,
      command:
        "{ printf '%s\\n' \"$pd_sim\" | sed -n 's/^Inst \\([^ ]*\\) .*/\\1/p'; printf '%s\\n' \"$pd_held\"; printf '%s\\n' \"$pd_sim\" | sed -n -e '/^The following packages have been kept back:$/,/^[^ ]/p' -e '/deferred due to phasing:$/,/^[^ ]/p' | grep '^ ' | tr -s ' ' '\\n'; } | grep -v '^$' | sort -u | xargs -r apt-cache show --no-all-versions | grep -E '^(Package|Source|Version|Architecture): '; true",
    },
    {
      name: 'reboot',
      command:
        'if [ -e /var/run/reboot-required ]; then echo required; cat /var/run/reboot-required.pkgs 2>/dev/null; fi; true',
    },
    {
      name: 'age',
      command:
        'date +%s; stat -c %Y /var/lib/apt/periodic/update-success-stamp /var/lib/apt/lists /var/lib/apt/lists/partial /var/lib/apt/lists/*Release /var/lib/apt/lists/*_Packages* 2>/dev/null; true',
    },
  );
  return sections;
}

export function buildAptScript(refresh: boolean, nonce: string): string {
  return buildSectionScript(aptSections(refresh), nonce);
}

export interface AptSectionsText {
  sim: string;
  held: string;
  policy: string;
  reboot: string;
  age: string;
  /** dpkg-query's installed set; absent in collections made before it was read. */
  installed?: string;
  /** The candidates' apt-cache show fields (Package, Source, Version, Architecture). */
  sources?: string;
}

/** Turns the sections' text into findings; pure. */
export function aptResultFromSections(text: AptSectionsText): Omit<CollectorResult, 'commands'> {
  const sim: AptSimulation = parseAptSimulation(text.sim);
  const held = new Set(parseShowHold(text.held));
  const policies = new Map<string, AptPolicy>(parseAptPolicy(text.policy).map((p) => [p.name, p]));
  const warnings: string[] = [];
  const updates: PendingUpdate[] = [];
  const seen = new Set<string>();

  for (const inst of sim.installs) {
    const security = inst.origins.find(isSecurityOrigin);
    const key = inst.arch ? `${inst.name}:${inst.arch}` : inst.name;
    seen.add(inst.name);
    seen.add(key);
    const update: PendingUpdate = {
      name: inst.name,
      arch: inst.arch,
      installedVersion: inst.installedVersion,
      availableVersion: inst.candidateVersion,
      repository: (security ?? inst.origins[0])?.raw ?? null,
      security: security !== undefined,
      severity: null,
      vendorSeverity: null,
      advisories: [],
      held: held.has(inst.name) || held.has(key),
      phased: false,
      rebootRequired: null,
      kind: 'package',
    };
    if (inst.installedVersion === null) update.newDependency = true;
    updates.push(update);
  }

  // Held and kept-back (phased) packages never appear as Inst lines: take their candidates from apt-cache policy.
  const deferred = new Set([...sim.keptBack, ...sim.phasingDeferred]);
  for (const name of new Set([...held, ...deferred])) {
    if (seen.has(name)) continue;
    const policy = policies.get(name);
    if (!policy || policy.candidate === null || policy.installed === null) continue;
    if (policy.candidate === policy.installed) continue;
    const candidate = policy.versions.find((v) => v.version === policy.candidate);
    const phased =
      candidate?.phasedPercent !== null &&
      candidate?.phasedPercent !== undefined &&
      candidate.phasedPercent < 100;
    const isHeld = held.has(name);
    const suites = (candidate?.sources ?? []).map(policySourceSuite).filter((s): s is string => s !== null);
    const securitySuite = suites.find((s) => /-security$/.test(s));
    if (!isHeld && !phased && deferred.has(name))
      warnings.push(`apt keeps back ${name} (not held, not phased)`);
    const colon = name.indexOf(':');
    updates.push({
      name: colon > 0 ? name.slice(0, colon) : name,
      arch: colon > 0 ? name.slice(colon + 1) : null,
      installedVersion: policy.installed,
      availableVersion: policy.candidate,
      repository: candidate?.sources[0] ?? null,
      security: securitySuite !== undefined,
      severity: null,
      vendorSeverity: null,
      advisories: [],
      held: isHeld,
      phased,
      rebootRequired: null,
      kind: 'package',
    });
  }
  if (sim.removals.length > 0)
    warnings.push(`dist-upgrade would remove: ${sim.removals.slice(0, 20).join(' ')}`);
  for (const line of sim.rejected) warnings.push(`unparsed apt line: ${line}`);

  const reboot = parseRebootSection(text.reboot);
  const installed = text.installed === undefined ? null : parseDpkgInstalled(text.installed);
  if (installed) warnings.push(...installed.warnings);
  return {
    packageManager: 'apt',
    updates:
      installed === null && text.sources === undefined
        ? updates
        : withSourcePackages(updates, installed?.packages ?? [], parseAptCacheSources(text.sources ?? '')),
    ...(installed ? { installed: installed.packages } : {}),
    rebootRequired: reboot.required,
    rebootReasons: reboot.required
      ? reboot.packages.length > 0
        ? reboot.packages
        : ['/var/run/reboot-required']
      : [],
    metadataAgeSeconds: parseClockAndMtimes(text.age),
    warnings,
  };
}

function failIfLocked(stderr: string, command: string, code: number | null): void {
  if (isAptLockError(stderr)) {
    throw new CollectorError(
      'package-manager-locked',
      'apt/dpkg is locked by another process (an install or unattended-upgrades is running).',
      {
        stderr: cleanStderr(stderr),
        command,
        code,
      },
    );
  }
  if (isDpkgInterrupted(stderr)) {
    throw new CollectorError(
      'package-manager-locked',
      "dpkg was interrupted; someone must run 'dpkg --configure -a' on this host.",
      {
        stderr: cleanStderr(stderr),
        command,
        code,
      },
    );
  }
}

/** apt has no package list at all (a fresh container, a cleaned /var/lib/apt/lists). */
class NoPackageLists extends CollectorError {}

/**
 * A host with no package lists at all is refreshed once by itself when the caller allows it (a
 * live audit), and the result says so; one with lists, however old, is audited against them
 * unless a refresh is asked for, so an offline site stays offline.
 */
export function collect(exec: RemoteExec, options: CollectOptions): Promise<CollectorResult> {
  return refreshedOnceWithoutMetadata(
    (opts) => collectOnce(exec, opts),
    options,
    (error) => error instanceof NoPackageLists,
    () => 'apt had no package lists on this host, so this audit refreshed them once (apt-get update) first',
  );
}

async function collectOnce(exec: RemoteExec, options: CollectOptions): Promise<CollectorResult> {
  const commands: CollectorResult['commands'] = [];
  const { sections, raw } = await runSectionScript(
    exec,
    aptSections(options.refresh),
    { ...options, sudo: options.refresh },
    commands,
  );
  const sim = sections.get('sim');
  if (!sim) {
    failIfLocked(raw.stderr, 'apt', raw.code);
    throw scriptDidNotRun('apt', raw);
  }
  const holders = parseLockHolders(sections.get('lock')?.stdout ?? '');
  if (holders.length > 0) {
    const who = holders.map((h) => `${h.command || 'a process'}, pid ${h.pid}`).join('; ');
    // An install in progress changes the package state under the audit: say so instead of
    // recording a half-true picture.
    throw new CollectorError(
      'package-manager-locked',
      `apt/dpkg is locked by another process (${who}): an install or upgrade is running on this host. Audit it again once that has finished.`,
      { stderr: '', command: 'dpkg lock check', code: 0 },
    );
  }
  const warnings: string[] = overlongLineWarnings(sections);
  const update = sections.get('update');
  if (update) {
    failIfLocked(update.stderr, 'apt-get update', update.code);
    if (update.code !== 0)
      warnings.push(`apt-get update failed (exit ${update.code ?? 'unknown'}); using cached package lists`);
    else if (/^(?:W|Err):/m.test(update.stderr) || /^Err:/m.test(update.stdout))
      warnings.push('apt-get update reported problems with some repositories');
  }
  if (sim.code !== 0) {
    failIfLocked(sim.stderr, 'apt-get -s dist-upgrade', sim.code);
    throw new CollectorError('command-failed', 'apt-get -s dist-upgrade failed on this host.', {
      stderr: cleanStderr(sim.stderr),
      command: 'apt-get -s dist-upgrade',
      code: sim.code,
    });
  }
  if (sections.get('lists')?.stdout.trim() === 'none') {
    throw new NoPackageLists(
      'command-failed',
      !options.refresh
        ? 'apt has no package lists on this host, so there is nothing to compare its packages with.'
        : update && update.code !== 0
          ? `apt has no package lists on this host, and refreshing them failed (apt-get update exit ${update.code ?? 'unknown'}): check that the host reaches its repositories.`
          : 'apt has no package lists on this host even after apt-get update: check its sources (/etc/apt/sources.list).',
      { stderr: cleanStderr(update?.stderr ?? ''), command: 'apt-get update', code: update?.code ?? null },
    );
  }
  const get = (name: string): string => sections.get(name)?.stdout ?? '';
  const result = aptResultFromSections({
    sim: sim.stdout,
    held: get('held'),
    policy: get('policy'),
    reboot: get('reboot'),
    age: get('age'),
    ...optionalText(sections, 'installed', 'dpkg-query (the installed packages)', warnings),
    ...optionalText(sections, 'sources', "apt-cache show (the updates' source packages)", warnings),
  });
  return { ...result, warnings: [...warnings, ...result.warnings], commands };
}

export const aptCollector = { packageManager: 'apt' as const, collect };
