/**
 * A Windows host's plan: one target per pending KB of its newest audit, `name` the KB and `to` the
 * UpdateID (with `.revision` when the audit recorded it), which is exactly what the SYSTEM task is
 * given. A KB whose UpdateID is not on record cannot be installed exactly, so it is left out with
 * the reason. There is no dry run on Windows: the preview lists the approved KBs.
 */
import type { PatchSelection, StepPreview, TargetPackage } from '../../../api';
import { sanitizeText } from '../../../util';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KB = /^KB\d{4,8}$/;

export interface WindowsFinding {
  package: string;
  security: boolean;
  availableVersion: string;
  /** The audit's Windows details (WindowsUpdateDetails: updateId, revision…), when recorded. */
  details?: unknown;
}

/** The UpdateID (and revision) the audit recorded for a finding; null when there is none. */
export function updateIdOf(finding: WindowsFinding): { updateId: string; revision: number | null } | null {
  const d = finding.details;
  if (typeof d !== 'object' || d === null) return null;
  const { updateId, revision } = d as { updateId?: unknown; revision?: unknown };
  if (typeof updateId !== 'string' || !GUID.test(updateId)) return null;
  return {
    updateId: updateId.toLowerCase(),
    revision:
      typeof revision === 'number' && Number.isInteger(revision) && revision >= 0 && revision < 1e9
        ? revision
        : null,
  };
}

export function selectWindowsTargets(
  findings: readonly WindowsFinding[],
  selection: PatchSelection,
): { packages: TargetPackage[]; skipped: { name: string; reason: string }[] } {
  const wanted = selection.mode === 'packages' ? new Set(selection.packages ?? []) : null;
  const packages: TargetPackage[] = [];
  const skipped: { name: string; reason: string }[] = [];
  for (const f of findings) {
    if (selection.mode === 'security' && !f.security) continue;
    if (wanted && !wanted.has(f.package)) continue;
    if (!KB.test(f.package)) {
      skipped.push({
        name: sanitizeText(f.package, { maxLength: 80 }),
        reason: 'no KB number: Patchdeck installs Windows updates by KB and UpdateID only',
      });
      continue;
    }
    const id = updateIdOf(f);
    if (!id) {
      skipped.push({ name: f.package, reason: 'no UpdateID on record: audit the PC again, then plan again' });
      continue;
    }
    if (packages.some((p) => p.name === f.package)) continue;
    packages.push({
      name: f.package,
      arch: null,
      from: null,
      to: id.revision === null ? id.updateId : `${id.updateId}.${id.revision}`,
      security: f.security,
    });
  }
  if (wanted)
    for (const name of wanted)
      if (!packages.some((p) => p.name === name) && !skipped.some((s) => s.name === name))
        skipped.push({ name, reason: 'not a pending update on this host' });
  return { packages, skipped };
}

/** What the approval shows for a Windows step: the KBs, how they are installed, and the undo recipe. */
export function windowsPreview(
  packages: readonly TargetPackage[],
  skipped: StepPreview['skipped'],
  ranAt: string,
): StepPreview {
  const kbs = packages.map((p) => p.name);
  return {
    command: `Windows Update through a one-off SYSTEM task: ${kbs.join(', ')}. Undo where Windows allows it: ${kbs
      .map((kb) => `wusa /uninstall /kb:${kb.slice(2)} /quiet /norestart`)
      .join('; ')} (shown, never run by Patchdeck).`,
    upgrades: packages.map((p) => ({ name: p.name, arch: null, from: null, to: p.to })),
    newPackages: [],
    removals: [],
    skipped,
    ranAt,
  };
}
