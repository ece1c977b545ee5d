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
