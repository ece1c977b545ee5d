/**
 * The remote commands a patch job runs, per package manager. Every package name and version
 * that reaches a command is validated here first and then quoted by the one audited helper
 * (`shellCommand`/`shellQuote`); nothing remote-derived is ever pasted into shell text raw.
 */
import type { TargetPackage } from '../api';
import { shellCommand, shellQuote } from '../remote';

export type PatchPackageManager = 'apt' | 'dnf' | 'yum' | 'zypper' | 'pacman' | 'apk' | 'softwareupdate';

export const PATCHABLE: readonly string[] = [
  'apt',
  'dnf',
  'yum',
  'zypper',
  'pacman',
  'apk',
  'softwareupdate',
];

export function isPatchable(pm: string | null): pm is PatchPackageManager {
  return pm !== null && PATCHABLE.includes(pm);
}

/** Names may not start with '-' (no option injection) and hold only what package managers allow. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9+._@~-]{0,254}$/;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9.+~:_-]{0,127}$/;
/** macOS update labels carry spaces and parentheses, never control characters or a leading dash. */
const LABEL = /^[A-Za-z0-9][A-Za-z0-9 .,+~:_()@-]{0,199}$/;

export class UnsafePackageError extends Error {
  constructor(what: string) {
    super(`Refusing an unsafe package ${what}.`);
    this.name = 'UnsafePackageError';
  }
}

export function isSafePackageName(name: string, pm: PatchPackageManager = 'apt'): boolean {
  return pm === 'softwareupdate' ? LABEL.test(name) : NAME.test(name);
}

export function isSafeVersion(version: string): boolean {
  return VERSION.test(version);
}

export function assertSafeTargets(
  pm: PatchPackageManager,
  targets: readonly { name: string; to: string | null }[],
): void {
  for (const t of targets) {
    if (!isSafePackageName(t.name, pm))
      throw new UnsafePackageError(`name ${JSON.stringify(t.name.slice(0, 80))}`);
    if (t.to !== null && pm !== 'softwareupdate' && !isSafeVersion(t.to)) {
      throw new UnsafePackageError(`version ${JSON.stringify(t.to.slice(0, 80))} for ${t.name}`);
    }
  }
}

/** `pkg=ver` (apt, zypper, apk) or `pkg-ver` (dnf, yum); validated before it is joined. */
export function packageSpec(pm: PatchPackageManager, name: string, version: string | null): string {
  assertSafeTargets(pm, [{ name, to: version }]);
  if (version === null || pm === 'pacman' || pm === 'softwareupdate') return name;
  if (pm === 'dnf' || pm === 'yum') return `${name}-${version}`;
  return `${name}=${version}`;
}

export interface InstallOptions {
  lockWaitSeconds: number;
}

/** Environment for the install command (passed through the SSH layer, which quotes it). */
export function installEnv(pm: PatchPackageManager): Record<string, string> {
  return pm === 'apt' ? { DEBIAN_FRONTEND: 'noninteractive', APT_LISTCHANGES_FRONTEND: 'none' } : {};
}

/** A read-only preview of exactly what installing the targets would change. No root needed for apt. */
export function dryRunCommand(
  pm: PatchPackageManager,
  targets: readonly TargetPackage[],
): { command: string; sudo: boolean } {
  const specs = targets.map((t) => packageSpec(pm, t.name, t.to));
  switch (pm) {
    case 'apt':
      return {
        command: shellCommand('apt-get', '-s', '-q', 'install', '--only-upgrade', ...specs),
        sudo: false,
      };
    case 'dnf':
    case 'yum':
      // --assumeno prints the transaction and answers "no": exit 1 with "Operation aborted" is the normal end.
      return { command: shellCommand(pm, '-C', 'upgrade', '--assumeno', ...specs), sudo: true };
    case 'zypper':
      return {
        command: shellCommand(
          'zypper',
          '--non-interactive',
          '--no-refresh',
          // The XML install summary names every package with both versions (the text one only lists names).
          '--xmlout',
          'install',
          '--dry-run',
          '--no-recommends',
          ...specs,
        ),
        sudo: true,
      };
    case 'pacman':
      return {
        command: shellCommand('pacman', '-S', '--needed', '--print', '--print-format', '%n %v', ...specs),
        sudo: false,
      };
    case 'apk':
      return { command: shellCommand('apk', 'upgrade', '--simulate', ...specs), sudo: false };
    case 'softwareupdate':
      return { command: shellCommand('softwareupdate', '--list', '--no-scan'), sudo: false };
  }
}

/** Installs ONLY the approved targets, at their approved versions, keeping existing config files. */
export function installCommand(
  pm: PatchPackageManager,
  targets: readonly TargetPackage[],
  options: InstallOptions,
): string {
  if (targets.length === 0) throw new Error('nothing to install');
  const specs = targets.map((t) => packageSpec(pm, t.name, t.to));
  const lock = String(Math.max(0, Math.floor(options.lockWaitSeconds)));
  switch (pm) {
    case 'apt':
      return shellCommand(
        'apt-get',
        '-y',
        '-q',
        '-o',
        'Dpkg::Options::=--force-confold',
        '-o',
        `DPkg::Lock::Timeout=${lock}`,
        '-o',
        'APT::Get::Allow-Change-Held-Packages=false',
        'install',
        '--only-upgrade',
        ...specs,
      );
    case 'dnf':
    case 'yum':
      return shellCommand(pm, '-y', 'upgrade', ...specs);
    case 'zypper':
      return shellCommand(
        'zypper',
        '--non-interactive',
        '--no-refresh',
        'install',
        '--no-recommends',
        ...specs,
      );
    case 'pacman':
      return shellCommand('pacman', '-S', '--noconfirm', '--needed', ...specs);
    case 'apk':
      return shellCommand('apk', 'add', '--upgrade', ...specs);
    case 'softwareupdate':
      return shellCommand('softwareupdate', '--install', ...specs);
  }
}

/** Prints `name version` for each named package that is installed (the before/after snapshot). */
export function versionQueryCommand(pm: PatchPackageManager, names: readonly string[]): string | null {
  const safe = names.filter((n) => isSafePackageName(n, pm));
  if (safe.length === 0) return null;
  switch (pm) {
    case 'apt':
      return `${shellCommand('dpkg-query', '-W', '-f=${Package} ${Version} ${db:Status-Abbrev}\\n', ...safe)} 2>/dev/null; true`;
    case 'dnf':
    case 'yum':
    case 'zypper':
      return `${shellCommand('rpm', '-q', '--qf', '%{NAME} %|EPOCH?{%{EPOCH}:}|%{VERSION}-%{RELEASE} ii\\n', ...safe)} 2>/dev/null | grep -v 'is not installed'; true`;
    case 'pacman':
      return `${shellCommand('pacman', '-Q', ...safe)} 2>/dev/null | sed 's/$/ ii/'; true`;
    case 'apk':
      return null;
    case 'softwareupdate':
      return null;
  }
}

/**
 * A read-only command that prints one sha256 over what the package manager's solver reads: the
 * installed set and its holds (dpkg status, architectures, auto-installed marks), the package
 * lists (by name, size and modification time, and their Release files by content) and the
 * configuration that steers apt (everything readable under /etc/apt: sources, pins, apt.conf).
 * Equal prints mean the dry run would answer the same; a move of any part means it must be asked
 * again. Null when the package manager has no such print: dnf, yum and zypper may rewrite their
 * caches during a dry run, so there the dry run is always repeated. Fixed text: nothing of the
 * host's or the job's goes into it.
 */
export function stateFingerprintCommand(pm: PatchPackageManager): string | null {
  if (pm !== 'apt') return null;
  return [
    '{ cat /var/lib/dpkg/status /var/lib/dpkg/arch /var/lib/apt/extended_states',
    'ls -1 /var/lib/dpkg/updates',
    "find /var/lib/apt/lists -type f ! -name lock -printf '%p %s %T@\\n' | LC_ALL=C sort",
    'cat /var/lib/apt/lists/*Release',
    "find /etc/apt -type f -readable | LC_ALL=C sort | xargs -r -d '\\n' cat",
    '} 2>/dev/null | sha256sum | cut -c1-64',
  ].join('; ');
}

/** What stateFingerprintCommand prints, or null for anything else. */
export function parseFingerprint(text: string): string | null {
  const t = text.trim();
  return /^[0-9a-f]{64}$/.test(t) ? t : null;
}

/** `name version` lines → map; only fully installed packages (dpkg `ii`) count as installed. */
export function parseVersionQuery(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const [name, version, status] = line.trim().split(/\s+/);
    if (!name || !version || !NAME.test(name) || !VERSION.test(version)) continue;
    if (status !== undefined && status !== 'ii') continue;
    out[name] = version;
  }
  return out;
}

/** Detached reboot, so the SSH command returns before the host goes down. */
export const REBOOT_COMMAND =
  "nohup sh -c 'sleep 1; if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then systemctl reboot; " +
  "elif command -v shutdown >/dev/null 2>&1; then shutdown -r now; elif command -v reboot >/dev/null 2>&1; then reboot; fi' >/dev/null 2>&1 &\n" +
  "if command -v systemctl >/dev/null 2>&1 || command -v shutdown >/dev/null 2>&1 || command -v reboot >/dev/null 2>&1; then echo reboot-issued; else echo 'no reboot command on this host' >&2; exit 127; fi";

/** Whether the host says it needs a reboot after the install. */
export function rebootRequiredCommand(pm: PatchPackageManager): string {
  switch (pm) {
    case 'apt':
      return 'if [ -e /var/run/reboot-required ]; then echo required; else echo no; fi';
    case 'dnf':
    case 'yum':
      // needs-restarting -r: 0 no reboot, 1 reboot needed. EL hosts without the dnf-utils wrapper
      // still have the dnf plugin (dnf-plugins-core), as the audit's collector reads it.
      return (
        'if command -v needs-restarting >/dev/null 2>&1; then needs-restarting -r >/dev/null 2>&1; pd_r=$?; ' +
        `elif ${pm === 'dnf' ? 'dnf -q needs-restarting --help >/dev/null 2>&1' : 'false'}; then dnf -q needs-restarting -r >/dev/null 2>&1; pd_r=$?; ` +
        'else pd_r=unknown; fi; case $pd_r in 0) echo no ;; 1) echo required ;; *) echo unknown ;; esac'
      );
    case 'zypper':
      return 'zypper needs-rebooting >/dev/null 2>&1; [ $? -eq 102 ] && echo required || echo no';
    default:
      return 'if [ -e /var/run/reboot-required ]; then echo required; else echo unknown; fi';
  }
}

export interface UndoInput {
  pm: PatchPackageManager;
  before: Record<string, string | null>;
  after: Record<string, string | null>;
  /** `name=version` specs the host still offers (checked after the install); undefined = unknown. */
  available?: ReadonlySet<string>;
  historyId?: string | null;
}

/**
 * The way back, shown to the admin and never run by Patchdeck: reinstall the old versions
 * (while the archive still offers them) and remove what the job newly installed.
 */
export function undoRecipe(input: UndoInput): string | null {
  const changed = Object.keys({ ...input.before, ...input.after })
    .filter((name) => (input.before[name] ?? null) !== (input.after[name] ?? null))
    .sort();
  if (changed.length === 0) return null;
  const downgrades = changed
    .filter((n) => input.before[n])
    .map((n) => ({ name: n, version: input.before[n]! }));
  const added = changed.filter((n) => !input.before[n] && input.after[n]);
  const lines: string[] = [];
  switch (input.pm) {
    case 'apt': {
      const words = [
        ...downgrades.map((d) => packageSpec('apt', d.name, d.version)),
        ...added.map((n) => `${n}-`),
      ];
      lines.push(`sudo ${shellCommand('apt-get', 'install', '--allow-downgrades', ...words)}`);
      if (input.available) {
        const gone = downgrades.filter((d) => !input.available!.has(`${d.name}=${d.version}`));
        if (gone.length)
          lines.push(
            `# no longer offered by the configured repositories: ${gone.map((d) => `${d.name}=${d.version}`).join(' ')} (keep the .deb from /var/cache/apt/archives)`,
          );
      }
      break;
    }
    case 'dnf':
    case 'yum':
      if (input.historyId) lines.push(`sudo ${input.pm} history undo ${shellQuote(input.historyId)}`);
      if (downgrades.length)
        lines.push(
          `${input.historyId ? '# or: ' : ''}sudo ${shellCommand(input.pm, 'downgrade', ...downgrades.map((d) => packageSpec(input.pm, d.name, d.version)))}`,
        );
      if (added.length)
        lines.push(`${input.historyId ? '# and: ' : ''}sudo ${shellCommand(input.pm, 'remove', ...added)}`);
      break;
    case 'zypper':
      lines.push(
        `sudo ${shellCommand('zypper', 'install', '--oldpackage', ...downgrades.map((d) => packageSpec('zypper', d.name, d.version)))}`,
      );
      if (added.length) lines.push(`sudo ${shellCommand('zypper', 'remove', ...added)}`);
      break;
    case 'pacman':
      lines.push(
        `# reinstall from the package cache: ${downgrades.map((d) => `sudo pacman -U /var/cache/pacman/pkg/${d.name}-${d.version}-*.pkg.tar.*`).join(' ; ')}`,
      );
      break;
    case 'apk':
      lines.push(
        `sudo ${shellCommand('apk', 'add', ...downgrades.map((d) => packageSpec('apk', d.name, d.version)))}`,
      );
      break;
    case 'softwareupdate':
      return 'macOS updates cannot be uninstalled; restore from a Time Machine backup if needed.';
  }
  return lines.join('\n');
}
