/** The SYSTEM task's receipt: parsed as hostile input, and what it means for the step. */
import { describe, expect, it } from 'vitest';
import {
  hresultSentence,
  MAX_RECEIPT_BYTES,
  MAX_RECEIPT_UPDATES,
  parseReceipt,
  ReceiptError,
  receiptLines,
  receiptOutcome,
  undoRecipe,
} from './receipt';
import { windows } from '../../../collectors';
import {
  approvedUpdate,
  precheckScript,
  restartCommand,
  restartMessage,
  scheduled,
  scheduleScript,
  taskNames,
} from './task';

const ID = '8f1c2d3e-4b5a-4c6d-8e7f-901234567890';
const ID2 = '0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d';

const receipt = (updates: unknown[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    version: 1,
    jobStep: '12-34',
    finishedAt: 1767225600,
    rebootRequired: false,
    resultCode: 2,
    hresult: '0x00000000',
    updates,
    ...extra,
  });

describe('parseReceipt', () => {
  it('reads the per-update HResult, ResultCode and RebootRequired', () => {
    const r = parseReceipt(
      '\uFEFF' +
        receipt([
          {
            updateId: ID.toUpperCase(),
            revision: 201,
            kb: ['5034441'],
            title: 'Cumulative\u001b[31m update',
            resultCode: 2,
            hresult: '0x00000000',
            rebootRequired: true,
            uninstallable: true,
          },
          { updateId: ID2, kb: 5035000, resultCode: 4, hresult: -2145124318 },
        ]),
      '12-34',
    );
    expect(r.updates).toHaveLength(2);
    expect(r.updates[0]).toMatchObject({
      updateId: ID,
      revision: 201,
      kb: ['5034441'],
      rebootRequired: true,
    });
    expect(r.updates[0]!.title).not.toContain('\u001b');
    expect(r.updates[1]).toMatchObject({ kb: ['5035000'], resultCode: 4, hresult: '0x80240022' });
  });

  it('refuses what is not this step’s receipt, with a sentence', () => {
    expect(() => parseReceipt('{', '12-34')).toThrow(ReceiptError);
    expect(() => parseReceipt('[]', '12-34')).toThrow('not a version 1 Patchdeck receipt');
    expect(() => parseReceipt(receipt([], { jobStep: '12-35' }), '12-34')).toThrow(
      'belongs to another job step (12-35, expected 12-34)',
    );
    expect(() => parseReceipt(' '.repeat(MAX_RECEIPT_BYTES + 1), '12-34')).toThrow('larger than 512 KiB');
    const many = Array.from({ length: MAX_RECEIPT_UPDATES + 1 }, () => ({ updateId: ID, resultCode: 2 }));
    expect(() => parseReceipt(receipt(many), '12-34')).toThrow(`more than ${MAX_RECEIPT_UPDATES} updates`);
  });

  it('reads one update given as a single object (ConvertTo-Json unrolls a one-element array)', () => {
    const r = parseReceipt(
      receipt([], {
        rebootRequired: true,
        updates: {
          updateId: ID,
          revision: 201,
          kb: '5034441',
          title: '2026-01 Cumulative Update',
          resultCode: 2,
          hresult: '0x00000000',
          rebootRequired: true,
          uninstallable: true,
        },
      }),
      '12-34',
    );
    expect(r.updates).toEqual([expect.objectContaining({ updateId: ID, revision: 201, kb: ['5034441'] })]);
    const o = receiptOutcome(r, [ID]);
    expect(o.installed).toHaveLength(1);
    expect(o.missing).toEqual([]);
    expect(o.failure).toBeNull();
    expect(undoRecipe(o.installed)).toBe('wusa /uninstall /kb:5034441 /quiet /norestart');
    expect(receiptLines(r)).toEqual(['KB5034441 installed; it needs a restart']);
  });

  it('an empty updates list (or none at all) installs nothing and names the approved updates it left out', () => {
    for (const updates of [[], null, undefined, 'none']) {
      const r = parseReceipt(receipt([], { updates }), '12-34');
      expect(r.updates).toEqual([]);
      expect(receiptLines(r)).toEqual([]);
      const o = receiptOutcome(r, [ID, ID2]);
      expect(o.installed).toEqual([]);
      expect(o.missing).toEqual([ID, ID2]);
      expect(o.rebootRequired).toBe(false);
      expect(o.failure).toBe('The receipt says nothing about 2 approved update(s).');
      expect(undoRecipe(o.installed)).toBeNull();
    }
    // The task's own error, when it wrote one, is the reason given.
    const stopped = parseReceipt(
      receipt([], { resultCode: 4, hresult: '0x8024402C', error: 'Searching for updates failed.' }),
      '12-34',
    );
    expect(receiptOutcome(stopped, [ID]).failure).toMatch(
      /^The task stopped before installing: Searching for updates failed\. .*\(0x8024402C\)$/,
    );
  });

  it('drops malformed entries and never trusts odd values', () => {
    const r = parseReceipt(
      receipt(
        [
          { updateId: 'not-a-guid', resultCode: 2 },
          { updateId: ID, resultCode: 9 },
          { updateId: ID, resultCode: 2, kb: ['5034441; rm -rf', '12', '5034441'], hresult: '0x1234' },
          'text',
          null,
        ],
        { resultCode: 'x', hresult: { a: 1 } },
      ),
      '12-34',
    );
    expect(r.updates).toEqual([
      expect.objectContaining({ updateId: ID, kb: ['5034441'], hresult: '0x00000000' }),
    ]);
    expect(r.resultCode).toBe(4);
  });
});

describe('receiptOutcome', () => {
  it('installed, no longer offered, failed, and updates the receipt does not name', () => {
    const r = parseReceipt(
      receipt([
        { updateId: ID, kb: ['5034441'], resultCode: 2, rebootRequired: true, uninstallable: true },
        { updateId: ID2, kb: [], resultCode: 0, hresult: '0x80240024' },
      ]),
      '12-34',
    );
    const o = receiptOutcome(r, [ID, ID2]);
    expect(o.installed).toHaveLength(1);
    expect(o.notOffered).toHaveLength(1);
    expect(o.failure).toBeNull();
    expect(o.rebootRequired).toBe(true);
    expect(undoRecipe(o.installed)).toBe('wusa /uninstall /kb:5034441 /quiet /norestart');
    expect(receiptLines(r)).toEqual([
      'KB5034441 installed; it needs a restart',
      `${ID2}: Windows Update no longer offers it to the PC (installed or replaced meanwhile). (0x80240024)`,
    ]);
    const partial = receiptOutcome(
      parseReceipt(
        receipt(
          [
            { updateId: ID, kb: ['5034441'], resultCode: 2 },
            { updateId: ID2, kb: ['5035000'], resultCode: 4, hresult: '0x80070070' },
          ],
          { resultCode: 3 },
        ),
        '12-34',
      ),
      [ID, ID2],
    );
    expect(partial.failure).toBe(
      'KB5035000 failed: The PC ran out of disk space. (0x80070070) 1 other update(s) installed.',
    );
    const stopped = receiptOutcome(
      parseReceipt(
        receipt([], { resultCode: 4, hresult: '0x8024402C', error: 'name not resolved' }),
        '12-34',
      ),
      [ID],
    );
    expect(stopped.failure).toMatch(
      /^The task stopped before installing: name not resolved Windows Update could not resolve/,
    );
  });

  it('an unknown code still reads as a sentence with its code', () => {
    expect(hresultSentence('0x87654321')).toBe('Windows Update reported an error. (0x87654321)');
  });
});

describe('the task scripts', () => {
  it('are built from checked values only', () => {
    expect(approvedUpdate({ name: 'KB5034441', to: `${ID.toUpperCase()}.201` })).toEqual({
      kb: 'KB5034441',
      updateId: ID,
      revision: 201,
    });
    expect(() => approvedUpdate({ name: 'KB1; x', to: ID })).toThrow('no valid UpdateID');
    expect(() => approvedUpdate({ name: 'KB5034441', to: `${ID}.1'` })).toThrow('no valid UpdateID');
    const names = taskNames(12, 34);
    const script = scheduleScript(names, [approvedUpdate({ name: 'KB5034441', to: ID })]);
    // The shared SYSTEM task builder: the job folder locked to SYSTEM and Administrators.
    expect(script).toContain("'C:\\ProgramData\\Patchdeck\\jobs\\12-34'");
    expect(script).toContain("$pdOk=@('S-1-5-18','S-1-5-32-544')");
    expect(script).toContain('$pdAcl.SetAccessRuleProtection($true,$false)');
    expect(script).toContain(
      "New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest",
    );
    const body = windows.taskBodyOf(script)!;
    expect(body).toContain(
      "$dir='C:\\ProgramData\\Patchdeck\\jobs\\12-34'; $name='Patchdeck-12-34'; $step='12-34'",
    );
    expect(body).toContain(`$want=@(@{id='${ID}';rev=-1})`);
    expect(body).toContain("Unregister-ScheduledTask -TaskName 'Patchdeck-12-34'");
    expect(scheduled('x\r\nPATCHDECK-TASK-STARTED:Patchdeck-12-34\r\n', names)).toBe(true);
    expect(scheduled('PATCHDECK-TASK-STARTED:Patchdeck-12-345', names)).toBe(false);
    expect(restartCommand(-5, 'installed')).toContain('/t 0 ');
    expect(restartCommand(0, 'installed')).toContain('It restarts now');
    expect(restartCommand(1e9, 'installed')).toContain('/t 7200 ');
  });

  it('says how long until the restart: seconds under a minute, "now" only for 0 (and then asks no one to save work)', () => {
    expect(restartMessage(30, 'installed')).toBe(
      'Patchdeck installed Windows updates on this PC. It restarts in 30 seconds: please save your work.',
    );
    expect(restartMessage(1, 'installed')).toContain('It restarts in 1 second:');
    expect(restartMessage(59, 'installed')).toContain('It restarts in 59 seconds:');
    expect(restartMessage(0, 'installed')).toBe(
      'Patchdeck installed Windows updates on this PC. It restarts now.',
    );
    expect(restartMessage(60, 'installed')).toContain('It restarts in 1 minute:');
    expect(restartMessage(300, 'installed')).toContain('It restarts in 5 minutes:');
    // Never more time than there is.
    expect(restartMessage(90, 'installed')).toContain('It restarts in 1 minute and 30 seconds:');
    expect(restartMessage(150, 'installed')).toContain('It restarts in 2 minutes and 30 seconds:');
  });

  it('a restart for a reboot pending before the install claims nothing was installed', () => {
    const text = restartMessage(120, 'pending');
    expect(text).toBe(
      'Windows must finish installing earlier updates on this PC before Patchdeck can install new ones. It restarts in 2 minutes: please save your work.',
    );
    expect(text).not.toMatch(/installed/);
    for (const reason of ['pending', 'installed'] as const)
      expect(restartMessage(7200, reason).length).toBeLessThanOrEqual(512);
  });
});

describe("the pre-check's receipt of an earlier run", () => {
  it('counts a receipt only in a folder locked to SYSTEM and Administrators (protected, owner, entries)', () => {
    const script = precheckScript(taskNames(12, 34), ['KB5034441']);
    const check = script.indexOf('$g=Get-Acl -LiteralPath $dir');
    const verdict = script.indexOf('$out.receipt=$locked -and $has');
    expect(check).toBeGreaterThan(0);
    expect(verdict).toBeGreaterThan(check);
    expect(script).toContain("$ok=@('S-1-5-18','S-1-5-32-544')");
    expect(script).toContain('$g.AreAccessRulesProtected');
    expect(script).toContain('$g.GetOwner([Security.Principal.SecurityIdentifier]).Value');
    expect(script).toContain('$out.foreignReceipt=$has -and -not $locked');
    expect(script).not.toContain('$out.receipt=Test-Path');
  });
});
