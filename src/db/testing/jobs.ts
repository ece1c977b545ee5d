/**
 * Test support: a patch job written straight into a workspace, one queued step per host (apt unless told), with
 * the settings most tests do not care about (never reboot, continue on failure, default options).
 */
import type { Database } from 'better-sqlite3';
import { JobOptions, type TargetPackage } from '../../api/schemas';
import { insertJob, type NewJob } from '../patch-jobs';

/** The one update the jobs of these tests carry when they carry one. */
export const ACME_SECURITY_UPDATE: TargetPackage = {
  name: 'acme-tool',
  arch: 'all',
  from: '1.0-1',
  to: '1.0-1+deb12u1',
  security: true,
};

export interface TestJob {
  /** 'security updates' unless told. */
  name?: string;
  /** Security-only unless told. */
  selection?: NewJob['selection'];
  /** One host at a time unless told. */
  concurrency?: number;
  /** The steps' package manager; apt unless told. */
  packageManager?: string;
  /** What every step installs; nothing unless told. */
  packages?: TargetPackage[];
}

/** A draft job over `hostIds`; its id. */
export function insertTestJob(db: Database, hostIds: number[], job: TestJob = {}): number {
  return insertJob(db, {
    name: job.name ?? 'security updates',
    selection: job.selection ?? { mode: 'security' },
    rebootPolicy: 'never',
    onFailure: 'continue',
    concurrency: job.concurrency ?? 1,
    options: JobOptions.parse({}),
    steps: hostIds.map((hostId) => ({
      hostId,
      packageManager: job.packageManager ?? 'apt',
      packages: job.packages ?? [],
    })),
  });
}
