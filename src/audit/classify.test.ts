import { describe, expect, it } from 'vitest';
import { CollectorError } from '../collectors';
import { RemoteError } from '../remote';
import { PatchdeckError } from '../util';
import { classifyAuditError } from './run';

describe('classifyAuditError', () => {
  it('keeps the WinRM transport kinds as audit kinds, with their sentences', () => {
    for (const kind of [
      'auth-failed',
      'unreachable',
      'timeout',
      'command-failed',
      'output-too-large',
      'host-key-unknown',
    ] as const)
      expect(classifyAuditError(new RemoteError(kind, `WIN1: ${kind}`))).toEqual({
        kind,
        message: `WIN1: ${kind}`,
        stderr: '',
      });
  });

  it('a refused Windows Update search is a failed command with its sentence', () => {
    expect(classifyAuditError(new CollectorError('refused', 'Windows refused the search.'))).toMatchObject({
      kind: 'command-failed',
      message: 'Windows refused the search.',
    });
  });

  it('a Windows login that cannot be opened is no-credential or auth-failed, not an unknown failure', () => {
    expect(
      classifyAuditError(
        new PatchdeckError('not-found', 'Credential office no longer exists or has no password.'),
      ),
    ).toEqual({
      kind: 'no-credential',
      message: 'Credential office no longer exists or has no password.',
      stderr: '',
    });
    expect(
      classifyAuditError(new PatchdeckError('bad-request', 'Credential office is a domain account…')),
    ).toMatchObject({
      kind: 'auth-failed',
    });
  });
});
