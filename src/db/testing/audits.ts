/**
 * Test support: a successful audit written straight into a workspace, as if a collector had just
 * read the host (no kernel, fresh metadata, no reboot needed, no warning).
 */
import type { Database } from 'better-sqlite3';
import { completeAudit, startAudit, type FindingInput } from '../audits';

/** What an audit says about the operating system it read. */
export interface AuditedSystem {
  osId: string;
  osName: string;
  osVersion: string;
}

export const DEBIAN_12: AuditedSystem = { osId: 'debian', osName: 'Debian GNU/Linux', osVersion: '12' };
export const OPENSUSE_LEAP_15: AuditedSystem = {
  osId: 'opensuse-leap',
  osName: 'openSUSE Leap',
  osVersion: '15.5',
};
export const WINDOWS_11: AuditedSystem = {
  osId: 'windows',
  osName: 'Windows 11 Pro',
  osVersion: '10.0.22631',
};

/** The parts of a finding that say which update it is; the rest has defaults. */
export type PendingUpdate = Pick<
  FindingInput,
  'package' | 'arch' | 'installedVersion' | 'availableVersion' | 'repository'
> &
  Partial<FindingInput>;

/** A pending package update as a collector reports it: not security, no advisory, not held, unless told. */
export function packageFinding(update: PendingUpdate): FindingInput {
  return {
    kind: 'package',
    security: false,
    severity: null,
    vendorSeverity: null,
    advisories: [],
    held: false,
    rebootRequired: null,
    ...update,
  };
}

/**
 * A pending Windows update (KB) as the Windows collector reports it: a critical security update
 * titled "<kb> title" that needs a restart. `details` may hold only the fields a test cares about.
 */
export function kbFinding(kb: string, details: Record<string, unknown> | null): FindingInput {
  return {
    kind: 'kb',
    package: kb,
    arch: null,
    installedVersion: null,
    availableVersion: `${kb} title`,
    repository: 'Security Updates',
    security: true,
    severity: 'critical',
    vendorSeverity: 'Critical',
    advisories: [kb],
    held: false,
    rebootRequired: true,
    details: details as FindingInput['details'],
  };
}

/** A pending update from the lab zypper host's update repository (noarch, no reboot needed). */
export const zypperUpdate = (name: string, from: string, to: string, security: boolean): FindingInput =>
  packageFinding({
    package: name,
    arch: 'noarch',
    installedVersion: from,
    availableVersion: to,
    repository: 'repo-update',
    security,
    rebootRequired: false,
  });

/** Records a successful audit of `hostId` that found `findings`; its id. */
export function recordAudit(
  db: Database,
  hostId: number,
  system: AuditedSystem,
  packageManager: string | null,
  findings: FindingInput[],
): number {
  const id = startAudit(db, { hostId, taskId: null });
  completeAudit(db, id, {
    ...system,
    kernel: null,
    packageManager,
    metadataAgeSeconds: 0,
    rebootRequired: false,
    warnings: [],
    durationMs: 1,
    findings,
  });
  return id;
}
