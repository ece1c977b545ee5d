import type { PatchJob } from '../../../src/api/schemas';
import { plural } from '../../components/format';

/**
 * A finished job in words for the Jobs list: "1 of 3 hosts succeeded, 2 failed", and whether the
 * badge says failed or partly failed. Running and planned jobs have no outcome yet.
 */
export function jobOutcome(job: PatchJob): { label: string; summary: string; status: string } | null {
  if (!['succeeded', 'failed', 'cancelled', 'interrupted'].includes(job.status)) return null;
  const c = job.counts;
  const total = Object.values(c).reduce((sum, n) => sum + n, 0);
  const succeeded = c.succeeded ?? 0;
  const failed = (c.failed ?? 0) + (c.interrupted ?? 0);
  const waiting = c['reboot-pending'] ?? 0;
  // Skipped, cancelled, or still queued when the job ended (a refused or stopped run).
  const notRun = total - succeeded - failed - waiting;
  const parts = [`${succeeded} of ${plural(total, 'host')} succeeded`];
  if (waiting) parts.push(`${waiting} installed, reboot pending`);
  if (failed) parts.push(`${failed} failed`);
  if (notRun) parts.push(`${notRun} not run`);
  // A job whose hosts are patched but wait for their reboot has not "succeeded" yet.
  const status = job.status === 'succeeded' && waiting > 0 ? 'reboot-pending' : job.status;
  const label =
    job.status === 'failed' && succeeded > 0 && failed > 0
      ? 'partly failed'
      : status === 'reboot-pending'
        ? 'installed, reboot pending'
        : job.status;
  return { label, summary: parts.join(', '), status };
}
