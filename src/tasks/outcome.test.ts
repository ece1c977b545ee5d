import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deriveOutcome, describeTask, summarizeParts, taskSummary, type TaskParts } from './outcome';

const hosts = (succeeded: number, failed: number, extra: Partial<TaskParts> = {}): TaskParts => ({
  noun: 'host',
  total: succeeded + failed + (extra.skipped ?? 0),
  succeeded,
  failed,
  ...extra,
});

describe('task outcome', () => {
  it('is failed when every host failed, partly failed when some did, succeeded when none did', () => {
    expect(deriveOutcome('returned', hosts(0, 8))).toEqual({ status: 'failed', outcome: 'failed' });
    expect(deriveOutcome('returned', hosts(6, 2))).toEqual({ status: 'failed', outcome: 'partly-failed' });
    expect(deriveOutcome('returned', hosts(1, 2))).toEqual({ status: 'failed', outcome: 'partly-failed' });
    expect(deriveOutcome('returned', hosts(8, 0))).toEqual({ status: 'succeeded', outcome: 'succeeded' });
    // Hosts skipped on purpose (imported, offline only) are not failures.
    expect(deriveOutcome('returned', hosts(0, 0, { skipped: 3 }))).toEqual({
      status: 'succeeded',
      outcome: 'succeeded',
    });
    expect(deriveOutcome('returned')).toEqual({ status: 'succeeded', outcome: 'succeeded' });
    // Patched hosts that wait for their reboot: no failure, and not "succeeded" either.
    expect(deriveOutcome('returned', hosts(1, 0, { total: 3, rebootPending: 2 }))).toEqual({
      status: 'succeeded',
      outcome: 'reboot-pending',
    });
    expect(deriveOutcome('returned', hosts(1, 1, { total: 3, rebootPending: 1 }))).toEqual({
      status: 'failed',
      outcome: 'partly-failed',
    });
    expect(deriveOutcome('threw', hosts(3, 0))).toEqual({ status: 'failed', outcome: 'failed' });
    expect(deriveOutcome('cancelled', hosts(0, 4))).toEqual({ status: 'cancelled', outcome: 'cancelled' });
  });

  it('never says succeeded for work in which any part failed', () => {
    fc.assert(
      fc.property(fc.nat(50), fc.integer({ min: 1, max: 50 }), fc.nat(5), (ok, bad, skipped) => {
        const { status, outcome } = deriveOutcome('returned', hosts(ok, bad, { skipped }));
        expect(status).toBe('failed');
        expect(outcome).toBe(ok === 0 ? 'failed' : 'partly-failed');
        const text = summarizeParts(hosts(ok, bad, { skipped }));
        expect(text).toContain(`${bad} failed`);
        expect(text).toMatch(new RegExp(`^${ok} of ${ok + bad + skipped} hosts? succeeded`));
      }),
    );
  });

  it('sums the parts up in words', () => {
    expect(summarizeParts(hosts(6, 2))).toBe('6 of 8 hosts succeeded, 2 failed');
    expect(summarizeParts(hosts(0, 8))).toBe('0 of 8 hosts succeeded, 8 failed');
    expect(summarizeParts(hosts(1, 0))).toBe('1 of 1 host succeeded');
    expect(summarizeParts(hosts(2, 0, { skipped: 1 }))).toBe('2 of 3 hosts succeeded, 1 skipped');
    expect(summarizeParts(hosts(1, 1, { other: [{ label: 'reboot pending', count: 1 }] }))).toBe(
      '1 of 2 hosts succeeded, 1 failed, 1 reboot pending',
    );
    expect(summarizeParts({ noun: 'host', total: 8, succeeded: 2, failed: 1 }, 'cancelled')).toBe(
      'cancelled after 3 of 8 hosts: 2 succeeded, 1 failed',
    );
  });

  it("prefers the work's own summary, and says why work that threw stopped", () => {
    expect(taskSummary('returned', { summary: 'found 3 hosts in 254 addresses' }, null)).toBe(
      'found 3 hosts in 254 addresses',
    );
    expect(taskSummary('threw', { parts: hosts(1, 0) }, 'disk full')).toBe(
      '1 of 1 host succeeded; then stopped: disk full',
    );
    expect(taskSummary('threw', null, 'disk full')).toBe('disk full');
    expect(taskSummary('cancelled', null, 'Cancelled by the user.')).toBe('cancelled by the user');
    expect(taskSummary('returned', null, null)).toBe('done');
  });
});

describe('describeTask', () => {
  const task = { title: 'Audit 8 hosts', status: 'failed' as const, error: null };
  it('names the outcome, then the parts, in one line', () => {
    expect(
      describeTask({ ...task, outcome: 'partly-failed', summary: '6 of 8 hosts succeeded, 2 failed' }),
    ).toBe('Audit 8 hosts — partly failed: 6 of 8 hosts succeeded, 2 failed');
    expect(describeTask({ ...task, outcome: 'failed', summary: '0 of 8 hosts succeeded, 8 failed' })).toBe(
      'Audit 8 hosts — failed: 0 of 8 hosts succeeded, 8 failed',
    );
    expect(
      describeTask({
        ...task,
        status: 'cancelled',
        outcome: 'cancelled',
        summary: 'cancelled after 3 of 8 hosts: 3 succeeded, 0 failed',
      }),
    ).toBe('Audit 8 hosts — cancelled after 3 of 8 hosts: 3 succeeded, 0 failed');
    // A task finished before outcomes were recorded says its status and error.
    expect(describeTask({ ...task, outcome: null, summary: null, error: 'disk full' })).toBe(
      'Audit 8 hosts — failed: disk full',
    );
  });
});
