import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseWindowsAccount } from '../../src/credentials';
import {
  formatBytes,
  kbCategories,
  kbRestartText,
  wusaUninstall,
} from '../../renderer/components/windows-updates';
import { windowsAccountProblem } from '../../renderer/features/settings/windows-account';
import { delayText, isWindowsStep, restartNoticeText } from '../../renderer/features/jobs/wizard/windows';

/**
 * The window's Windows words (issue 12, item 7): the Settings page's early account check never
 * refuses an account the core accepts, and the KB helpers say what the finding says. No browser:
 * it sits with the e2e suite because renderer code is typed there (tsconfig.e2e.json), not in
 * the Node project.
 */
const accepted = (text: string): boolean => {
  try {
    parseWindowsAccount(text);
    return true;
  } catch {
    return false;
  }
};

describe('the Settings page’s Windows account check', () => {
  it('accepts the three forms and says what is missing otherwise', () => {
    expect(windowsAccountProblem('PATCHDECK\\alice')).toBeNull();
    expect(windowsAccountProblem('.\\admin')).toBeNull();
    expect(windowsAccountProblem('alice@patchdeck.example')).toBeNull();
    expect(windowsAccountProblem('')).toBeNull();
    expect(windowsAccountProblem('alice')).toBe(
      '“alice” names no domain: write PATCHDECK\\alice for a domain account or .\\alice for a local account of the PC.',
    );
    expect(windowsAccountProblem('\\alice')).toMatch(/domain before the backslash/);
    expect(windowsAccountProblem('PATCHDECK\\')).toMatch(/user name after the backslash/);
    expect(windowsAccountProblem('alice@')).toMatch(/both the user and the realm/);
    expect(windowsAccountProblem('@realm.example')).toMatch(/both the user and the realm/);
  });

  it('never refuses an account the core accepts', () => {
    const part = fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/);
    const account = fc.oneof(
      fc.tuple(part, part).map(([d, u]) => `${d}\\${u}`),
      part.map((u) => `.\\${u}`),
      fc.tuple(part, part, part).map(([u, a, b]) => `${u}@${a}.${b}`),
      fc.string({ maxLength: 30 }),
    );
    fc.assert(
      fc.property(account, (text) => {
        if (accepted(text)) expect(windowsAccountProblem(text)).toBeNull();
      }),
      { numRuns: 2000 },
    );
  });
});

describe('KB words', () => {
  const kb = {
    kind: 'kb',
    package: 'KB5034765',
    availableVersion: '2024-02 Cumulative Update',
    repository: 'Security Updates, Critical Updates',
    rebootRequired: true,
  };

  it('reads the restart from the details first, then from the finding', () => {
    expect(kbRestartText({ ...kb, details: { rebootBehavior: 'can-request' } })).toBe(
      'may ask for a restart',
    );
    expect(kbRestartText({ ...kb, details: { rebootBehavior: 'never' } })).toBe('no restart');
    expect(kbRestartText({ ...kb, details: null })).toBe('needs a restart');
    expect(kbRestartText({ ...kb, rebootRequired: null })).toBe('restart unknown');
  });

  it('takes the categories from the details, else from the finding', () => {
    expect(kbCategories({ ...kb, details: { categories: ['Definition Updates'] } })).toEqual([
      'Definition Updates',
    ]);
    expect(kbCategories(kb)).toEqual(['Security Updates', 'Critical Updates']);
    expect(kbCategories({ ...kb, repository: 'Windows Update' })).toEqual([]);
  });

  it('sizes and undo recipes', () => {
    expect(formatBytes(734_003_200)).toBe('700 MB');
    expect(formatBytes(49_357)).toBe('48.2 KB');
    expect(formatBytes(512)).toBe('512 bytes');
    expect(formatBytes(null)).toBeNull();
    expect(formatBytes(-1)).toBeNull();
    expect(wusaUninstall('KB5034765')).toBe('wusa /uninstall /kb:5034765');
    expect(wusaUninstall('openssl')).toBeNull();
    expect(wusaUninstall('KB5034765 & calc')).toBeNull();
  });
});

describe('the restart notice', () => {
  it('names the delay the signed-in user gets', () => {
    expect(delayText(300)).toBe('5 minutes');
    expect(delayText(60)).toBe('1 minute');
    expect(delayText(90)).toBe('90 seconds');
    expect(delayText(5400)).toBe('1 hour 30 minutes');
    expect(delayText(0)).toBe('no delay');
    expect(restartNoticeText(600)).toContain('the PC restarts in 10 minutes to finish installing updates');
    expect(restartNoticeText(0)).toContain('without time to save open work');
  });

  it('knows a Windows step by its package manager or its KB targets', () => {
    const kb = { name: 'KB5034765', arch: null, from: null, to: 'x', security: true };
    expect(isWindowsStep({ packageManager: 'windows-update', packages: [] })).toBe(true);
    expect(isWindowsStep({ packageManager: null, packages: [kb] })).toBe(true);
    expect(isWindowsStep({ packageManager: 'apt', packages: [{ ...kb, name: 'openssl' }] })).toBe(false);
    expect(isWindowsStep({ packageManager: null, packages: [] })).toBe(false);
  });
});
