import { describe, expect, it } from 'vitest';
import type { JobStep } from '../api/schemas';
import { deriveOutcome, summarizeParts } from '../tasks';
import { dryRunParts, jobStepParts } from './outcome';

const steps = (...statuses: string[]) => statuses.map((status) => ({ status }) as Pick<JobStep, 'status'>);

describe("a patch job's hosts as task parts", () => {
  it('counts failed and interrupted hosts as failed, skipped and cancelled as not run', () => {
    const parts = jobStepParts(steps('succeeded', 'failed', 'interrupted', 'skipped', 'cancelled'));
    expect(parts).toMatchObject({ total: 5, succeeded: 1, failed: 2, skipped: 2, other: [] });
    expect(deriveOutcome('returned', parts)).toEqual({ status: 'failed', outcome: 'partly-failed' });
    expect(summarizeParts(parts)).toBe('1 of 5 hosts succeeded, 2 failed, 2 skipped');
  });

  it('names a host waiting for its reboot, never counting it as succeeded', () => {
    const parts = jobStepParts(steps('succeeded', 'reboot-pending', 'failed'));
    expect(parts.succeeded).toBe(1);
    expect(summarizeParts(parts)).toBe('1 of 3 hosts succeeded, 1 failed, 1 installed, reboot pending');
  });

  it('a dry run: hosts ready to approve, failed, or left out', () => {
    expect(dryRunParts(steps('queued', 'queued', 'failed', 'skipped'))).toMatchObject({
      total: 4,
      succeeded: 2,
      failed: 1,
      skipped: 1,
    });
  });
});
