/**
 * Parses package managers' dry runs into what would change: upgrades, newly installed
 * dependencies and removals. Pure functions over hostile text: bounded lines, validated names.
 */
import type { PackageChange } from '../api';
import { apt, CollectorError, zypper } from '../collectors';
import type { PatchPackageManager } from './commands';

export interface DryRunChanges {
  upgrades: PackageChange[];
  newPackages: PackageChange[];
  removals: PackageChange[];
  /** Errors the package manager printed (E: lines, "No match", …), sanitised. */
  errors: string[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9+._@~-]{0,254}$/;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9.+~:_-]{0,127}$/;
const MAX_LINE = 4096;

const clean = (s: string): string =>
  s
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, '?')
    .slice(0, 300);

function lines(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.length <= MAX_LINE);
}

/** `apt-get -s install …` (C locale): Inst lines are upgrades or new packages; Remv lines are removals. */
export function parseAptDryRun(stdout: string, stderr = ''): DryRunChanges {
  const out: DryRunChanges = { upgrades: [], newPackages: [], removals: [], errors: [] };
  for (const line of lines(stdout)) {
    if (line.startsWith('Inst ')) {
      const inst = apt.parseInstLine(line);
      if (!inst) {
        out.errors.push(`unparsed: ${clean(line)}`);
        continue;
      }
      const change = {
        name: inst.name,
        arch: inst.arch,
        from: inst.installedVersion,
        to: inst.candidateVersion,
      };
      (inst.installedVersion === null ? out.newPackages : out.upgrades).push(change);
    } else if (line.startsWith('Remv ')) {
      // Remv name[:arch] [version] [...]
      const m = /^Remv (\S+)(?: \[([^\]]+)\])?/.exec(line);
      if (!m) continue;
      const [name, arch] = m[1]!.split(':');
      if (!name || !NAME.test(name)) continue;
      const version = m[2] && VERSION.test(m[2]) ? m[2] : null;
      out.removals.push({ name, arch: arch ?? null, from: version, to: null });
    }
  }
  for (const line of lines(stderr)) if (/^E: /.test(line)) out.errors.push(clean(line));
  return out;
}

const DNF_SECTIONS: Record<string, keyof Omit<DryRunChanges, 'errors'> | null> = {
  upgrading: 'upgrades',
  updating: 'upgrades',
  'updating for dependencies': 'upgrades',
  'upgrading dependencies': 'upgrades',
  installing: 'newPackages',
  'installing dependencies': 'newPackages',
  'installing for dependencies': 'newPackages',
  'installing weak dependencies': 'newPackages',
  removing: 'removals',
  erasing: 'removals',
  'removing dependent packages': 'removals',
  'removing unused dependencies': 'removals',
  'removing for dependencies': 'removals',
  downgrading: 'upgrades',
  reinstalling: null,
};

/**
 * The transaction table of `dnf upgrade --assumeno` / `yum update --assumeno`:
 * ` name  arch  [epoch:]version-release  repo  size`, under headings like "Upgrading:".
 * Long names wrap onto a line of their own; the rest follows on the next line.
 */
export function parseDnfDryRun(
  stdout: string,
  stderr = '',
  installed: Record<string, string> = {},
): DryRunChanges {
  const out: DryRunChanges = { upgrades: [], newPackages: [], removals: [], errors: [] };
  let section: keyof Omit<DryRunChanges, 'errors'> | null | undefined;
  let carry: string | null = null;
  for (const raw of lines(stdout)) {
    const heading = /^([A-Z][A-Za-z ]+):\s*$/.exec(raw);
    if (heading) {
      const key = heading[1]!.toLowerCase();
      section = key in DNF_SECTIONS ? DNF_SECTIONS[key] : undefined;
      carry = null;
      continue;
    }
    if (/^(Transaction Summary|=+$)/.test(raw)) {
      if (raw.startsWith('Transaction Summary')) section = undefined;
      continue;
    }
    if (!section || !raw.startsWith(' ')) continue;
    const words: string[] = (carry ? `${carry} ${raw.trim()}` : raw.trim()).split(/\s+/);
    if (words.length === 1) {
      carry = words[0]!;
      continue;
    }
    carry = null;
    if (words.length < 4) continue;
    const [name, arch, version] = words as [string, string, string];
    if (!NAME.test(name) || !VERSION.test(version)) continue;
    const change: PackageChange =
      section === 'removals'
        ? { name, arch, from: version, to: null }
        : { name, arch, from: section === 'upgrades' ? (installed[name] ?? null) : null, to: version };
    out[section].push(change);
  }
  for (const line of lines(`${stdout}\n${stderr}`)) {
    if (/^(Error|No match for argument|Problem|E: )/.test(line.trim())) out.errors.push(clean(line.trim()));
  }
  return out;
}

/**
 * `zypper --xmlout install --dry-run …`: the install summary's lists. zypper names the versions
 * itself (`edition-old` → `edition`). Output without any install summary, or XML that cannot be
 * read, is an error: a preview that lists nothing must never look like "no change".
 */
export function parseZypperDryRun(stdout: string, stderr = ''): DryRunChanges {
  const out: DryRunChanges = { upgrades: [], newPackages: [], removals: [], errors: [] };
  let summary: ReturnType<typeof zypper.parseZypperInstallSummaryXml>;
  try {
    summary = zypper.parseZypperInstallSummaryXml(stdout);
  } catch (error) {
    out.errors.push(
      error instanceof CollectorError ? error.message : 'zypper printed XML we could not read.',
    );
    return out;
  }
  out.upgrades = summary.upgrades;
  out.newPackages = summary.newPackages;
  out.removals = summary.removals;
  out.errors = summary.errors.map(clean);
  for (const line of lines(stderr))
    if (/^(Error|Problem|No provider)/.test(line.trim())) out.errors.push(clean(line.trim()));
  if (!summary.summarised && out.errors.length === 0)
    out.errors.push('zypper printed no install summary for the dry run');
  return out;
}

/** Whether Patchdeck reads this package manager's dry run (the others' previews list nothing). */
export function readsDryRun(pm: PatchPackageManager): boolean {
  return pm === 'apt' || pm === 'dnf' || pm === 'yum' || pm === 'zypper';
}

/** Dispatch by package manager; others have no parseable preview and get an empty change list. */
export function parseDryRun(
  pm: PatchPackageManager,
  stdout: string,
  stderr: string,
  installed: Record<string, string> = {},
): DryRunChanges {
  if (pm === 'apt') return parseAptDryRun(stdout, stderr);
  if (pm === 'dnf' || pm === 'yum') return parseDnfDryRun(stdout, stderr, installed);
  if (pm === 'zypper') return parseZypperDryRun(stdout, stderr);
  return { upgrades: [], newPackages: [], removals: [], errors: [] };
}

/** Every change as `name@to` (or `name@-` for a removal), for comparing a run-time dry run with the approved one. */
export function changeKeys(
  changes: Pick<DryRunChanges, 'upgrades' | 'newPackages' | 'removals'>,
): Set<string> {
  const keys = new Set<string>();
  for (const c of [...changes.upgrades, ...changes.newPackages, ...changes.removals])
    keys.add(`${c.name}@${c.to ?? '-'}`);
  return keys;
}
