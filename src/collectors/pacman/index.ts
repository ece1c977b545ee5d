/**
 * The pacman collector: `checkupdates` (pacman-contrib; syncs a private copy of the databases, so
 * it needs no root) when present, else `pacman -Qu` against the current sync databases.
 */
import {
  buildSectionScript,
  cleanStderr,
  isValidPackageName,
  isValidVersion,
  kernelRebootState,
  lines,
  optionalText,
  overlongLineWarnings,
  parseClockAndMtimes,
  runSectionScript,
  scriptDidNotRun,
  type ScriptSection,
} from '../util';
import { parsePacmanInstalled } from '../installed';
import {
  CollectorError,
  type CollectOptions,
  type CollectorResult,
  type PendingUpdate,
  type RemoteExec,
} from '../types';

export interface PacmanUpdate {
  name: string;
  installedVersion: string;
  availableVersion: string;
  ignored: boolean;
}

/** `pacman -Qu` / `checkupdates` lines: `name old -> new [ignored]`. */
export function parsePacmanUpdates(text: string): PacmanUpdate[] {
  const result: PacmanUpdate[] = [];
  for (const line of lines(text)) {
    const words = line.trim().split(/\s+/);
    if (words.length < 4 || words.length > 5 || words[2] !== '->') continue;
    const [name, installed, , available, flag] = words as [
      string,
      string,
      string,
      string,
      string | undefined,
    ];
    if (!isValidPackageName(name) || !isValidVersion(installed) || !isValidVersion(available)) continue;
    if (flag !== undefined && flag !== '[ignored]') continue;
    result.push({
      name,
      installedVersion: installed,
      availableVersion: available,
      ignored: flag === '[ignored]',
    });
  }
  return result;
}

export function pacmanSections(refresh: boolean): ScriptSection[] {
  const sections: ScriptSection[] = [];
  sections.push({
    name: 'tool',
    command: 'if command -v checkupdates >/dev/null 2>&1; then echo checkupdates; else echo pacman; fi',
  });
  if (refresh)
    sections.push({
      name: 'refresh',
      command: 'if ! command -v checkupdates >/dev/null 2>&1; then pacman -Sy; fi',
    });
  sections.push(
    // checkupdates: 0 updates, 2 none, 1 error; pacman -Qu: 0 updates, 1 none (or error, told apart by stderr).
    {
      name: 'updates',
      command: `if command -v checkupdates >/dev/null 2>&1; then checkupdates${refresh ? '' : ' -n'}; else pacman -Qu; fi`,
    },
    {
      name: 'reboot',
      command:
        'if [ -d "/usr/lib/modules/$(uname -r)" ]; then echo running-kernel-installed; elif ls /usr/lib/modules/*/vmlinuz >/dev/null 2>&1; then echo running-kernel-missing; else echo no-kernel-packages; fi',
    },
    { name: 'age', command: 'date +%s; stat -c %Y /var/lib/pacman/sync/*.db 2>/dev/null; true' },
    // The installed set (pacman -Q keeps no source names). Optional: older collections lack it.
    { name: 'installed', optional: true, command: 'pacman -Q' },
  );
  return sections;
}

export function buildPacmanScript(refresh: boolean, nonce: string): string {
  return buildSectionScript(pacmanSections(refresh), nonce);
}

export async function collect(exec: RemoteExec, options: CollectOptions): Promise<CollectorResult> {
  const commands: CollectorResult['commands'] = [];
  const { sections, raw } = await runSectionScript(
    exec,
    pacmanSections(options.refresh),
    { ...options, sudo: options.refresh },
    commands,
  );
  const updates = sections.get('updates');
  if (!updates) throw scriptDidNotRun('pacman', raw);
  const tool = sections.get('tool')?.stdout.trim() === 'checkupdates' ? 'checkupdates' : 'pacman -Qu';
  const warnings: string[] = overlongLineWarnings(sections);
  const refresh = sections.get('refresh');
  for (const s of [refresh, updates]) {
    if (s && /unable to lock database|could not lock database/.test(s.stderr)) {
      throw new CollectorError(
        'package-manager-locked',
        'pacman is locked by another process (db.lck exists).',
        { stderr: cleanStderr(s.stderr), command: tool, code: s.code },
      );
    }
  }
  if (refresh && refresh.code !== 0)
    warnings.push(`pacman -Sy failed (exit ${refresh.code ?? 'unknown'}); using the existing sync databases`);
  if (refresh && tool === 'pacman -Qu')
    warnings.push(
      'checkupdates (pacman-contrib) is not installed; refreshed the system sync databases with pacman -Sy',
    );
  const parsed = parsePacmanUpdates(updates.stdout);
  const failed =
    tool === 'checkupdates'
      ? updates.code === 1
      : updates.code !== 0 && (parsed.length > 0 || /^error:/m.test(updates.stderr));
  if (failed || (updates.code !== 0 && updates.code !== 1 && updates.code !== 2)) {
    throw new CollectorError('command-failed', `${tool} failed on this host.`, {
      stderr: cleanStderr(updates.stderr),
      command: tool,
      code: updates.code,
    });
  }
  const findings: PendingUpdate[] = parsed.map((u) => ({
    name: u.name,
    arch: null,
    installedVersion: u.installedVersion,
    availableVersion: u.availableVersion,
    repository: null,
    security: false,
    severity: null,
    vendorSeverity: null,
    advisories: [],
    held: u.ignored,
    phased: false,
    rebootRequired: null,
    kind: 'package',
  }));
  const reboot = kernelRebootState(sections.get('reboot')?.stdout ?? '');
  const extra = optionalText(sections, 'installed', 'pacman -Q (the installed packages)', warnings);
  const installed = extra.installed === undefined ? null : parsePacmanInstalled(extra.installed);
  if (installed) warnings.push(...installed.warnings);
  return {
    packageManager: 'pacman',
    updates: findings,
    ...(installed ? { installed: installed.packages } : {}),
    ...reboot,
    metadataAgeSeconds: parseClockAndMtimes(sections.get('age')?.stdout ?? ''),
    warnings,
    commands,
  };
}

export const pacmanCollector = { packageManager: 'pacman' as const, collect };
