import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  completeAudit,
  failAudit,
  finishScan,
  recordHostKeySighting,
  recordScanHost,
  startAudit,
  startScan,
  listSteps,
  trustHostKey,
  updateJob,
  updateStep,
  type ObservedHost,
} from '../../src/db';
import { insertTestJob } from '../../src/db/testing/jobs';
import { DEBIAN_12, packageFinding, recordAudit } from '../../src/db/testing/audits';
import { launchApp, type E2eApp } from './harness';

/**
 * Issue 12, item 7: Windows PCs in the window. A PC a scan found with WinRM open (recorded straight
 * into the workspace: no traffic) gets its audit from the offline Windows collection file
 * (test/fixtures/offline, read by the real Windows collector's parser), and one Debian host sits
 * beside it. Settings takes a Windows credential; Updates and the host detail show KBs where
 * Linux shows packages; the trust panel shows the PC's NTLM identity with its plain warning.
 */
const FIXTURE = path.resolve(import.meta.dirname, '../fixtures/offline/synthetic-windows11.windows.txt');
const shot = (name: string): string => path.resolve('test-results', name);

let app: E2eApp;
let pcId = 0;
let wsusPcId = 0;
const NTLM_PIN = 'ntlm:WIN1.PATCHDECK.TEST/PATCHDECK';

const observed = (address: string, windows: boolean): ObservedHost => ({
  address,
  name: null,
  names: [],
  mac: null,
  macVendor: null,
  osFamily: windows ? 'windows' : 'linux',
  osName: windows ? 'Windows' : 'Debian GNU/Linux',
  osVersion: null,
  osConfidence: 0.5,
  osEvidence: [],
  management: [windows ? 'winrm' : 'ssh'],
  services: windows
    ? [
        { port: 445, state: 'open', service: 'microsoft-ds', banner: null },
        { port: 5985, state: 'open', service: 'wsman', banner: null },
      ]
    : [{ port: 22, state: 'open', service: 'ssh', banner: null }],
  openPorts: windows ? [445, 5985] : [22],
  result: {},
});

beforeAll(async () => {
  app = await launchApp();
  fs.mkdirSync(path.resolve('test-results'), { recursive: true });
  const { core } = app;
  const db = core.requireWorkspace().db;
  const scanId = startScan(db, {
    taskId: null,
    targets: '198.18.0.40-41',
    ports: [22, 445, 5985],
    total: 3,
    addresses: ['198.18.0.40', '198.18.0.41', '198.18.0.42'],
  });
  pcId = recordScanHost(db, scanId, observed('198.18.0.40', true), null, { addToInventory: true }).hostId;
  const linuxId = recordScanHost(db, scanId, observed('198.18.0.41', false), null, {
    addToInventory: true,
  }).hostId;
  wsusPcId = recordScanHost(db, scanId, observed('198.18.0.42', true), null, { addToInventory: true }).hostId;
  finishScan(db, scanId, 'completed');
  await core.call('hosts.update', { id: wsusPcId, patch: { name: 'win2' } });
  // A PC whose Group Policy points it at WSUS, audited with every Windows detail a WinRM audit records.
  const wsusAudit = startAudit(db, { hostId: wsusPcId, taskId: null });
  completeAudit(db, wsusAudit, {
    osId: 'windows',
    osName: 'Microsoft Windows 11 Pro',
    osVersion: '10.0.22631',
    kernel: '10.0.22631.3155',
    packageManager: 'windows-update',
    metadataAgeSeconds: 600,
    // The PC waits for a restart, for every reason the collector reads.
    rebootRequired: true,
    warnings: [],
    durationMs: 1,
    windows: {
      caption: 'Microsoft Windows 11 Pro',
      productName: 'Windows 10 Pro',
      displayVersion: '23H2',
      version: '10.0.22631',
      build: '22631',
      ubr: 3155,
      arch: '64-bit',
      computerName: 'WIN2',
      policy: {
        server: 'http://wsus.patchdeck.test:8530',
        useWUServer: true,
        noAutoUpdate: false,
        auOptions: null,
      },
      searchedBy: 'session',
      rebootReasons: [
        'WindowsUpdate RebootRequired',
        'CBS RebootPending',
        'PendingFileRenameOperations',
        'Pending computer rename',
      ],
      hotfixes: [
        { hotfixId: 'KB5034204', description: 'Update', installedOn: '2024-01-20' },
        { hotfixId: 'KB5033375', description: 'Security Update', installedOn: '2023-12-12' },
      ],
    },
    findings: [
      packageFinding({
        kind: 'kb',
        package: 'KB5034765',
        arch: null,
        installedVersion: null,
        availableVersion:
          '2024-02 Cumulative Update for Windows 11 Version 23H2 for x64-based Systems (KB5034765)',
        repository: 'Security Updates',
        security: true,
        severity: 'important',
        vendorSeverity: 'Important',
        advisories: ['KB5034765', 'CVE-2024-21412'],
        rebootRequired: true,
        details: {
          updateId: '0f3e5b7a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
          revision: 1,
          sizeBytes: 734_003_200,
          releasedAt: '2024-02-13T18:00:00Z',
          rebootBehavior: 'can-request',
          categories: ['Security Updates'],
          updateType: 'software',
        },
      }),
    ],
  });
  await core.call('hosts.update', { id: pcId, patch: { name: 'win1' } });
  await core.call('hosts.update', { id: linuxId, patch: { name: 'deb1' } });
  trustHostKey(db, {
    hostId: pcId,
    type: 'ntlm-identity',
    fingerprint: NTLM_PIN,
    actor: 'test',
    reason: 'test',
  });
  // The PC's audit, as the Windows collector reads a collection file: two KBs.
  await core.call('audits.import', { text: fs.readFileSync(FIXTURE, 'utf8'), hostId: pcId });
  recordAudit(db, linuxId, DEBIAN_12, 'apt', [
    packageFinding({
      package: 'openssl',
      arch: 'amd64',
      installedVersion: '3.0.11-1~deb12u1',
      availableVersion: '3.0.11-1~deb12u2',
      repository: 'bookworm-security',
      security: true,
    }),
  ]);
  await app.page.setViewportSize({ width: 1500, height: 1000 });
});
afterAll(async () => {
  await app?.close();
});

describe('Windows PCs in the window', () => {
  it('Settings adds a Windows credential: which account forms work, a clear error on a bad one, no SSH fields', async () => {
    const { page, core } = app;
    await page.getByRole('link', { name: 'Settings' }).click();
    const form = page.getByRole('form', { name: 'Add credential' });
    await form.getByLabel('Kind').selectOption('windows');
    // The hint says which forms work; a Windows credential has no sudo password and never trusts on first use.
    await expect.poll(() => form.textContent()).toContain('PATCHDECK\\alice for a domain account');
    expect(await form.textContent()).toContain('.\\admin for a local account of the PC');
    expect(await form.getByLabel('Sudo password (optional)').count()).toBe(0);
    expect(await form.getByText('Trust a new host', { exact: false }).count()).toBe(0);
    expect(await form.getByLabel('Private key').count()).toBe(0);

    await form.getByLabel('Name').fill('office');
    await form.getByLabel('Windows account', { exact: true }).fill('alice');
    await form.getByLabel('Password').fill('Office-pw-7c1d');
    const problem = form.getByRole('alert', { name: 'Windows account problem' });
    await expect.poll(() => problem.textContent()).toContain('“alice” names no domain');
    expect(await problem.textContent()).toContain('PATCHDECK\\alice');
    await form.getByRole('button', { name: 'Add credential' }).click();
    expect(await core.call('credentials.list', {})).toEqual([]);
    await page
      .getByRole('region', { name: 'Credentials' })
      .screenshot({ path: shot('ui-win-credential-bad.png') });

    // The core's own check speaks too, for what the page does not catch (a space in the domain).
    await form.getByLabel('Windows account', { exact: true }).fill('PATCH DECK\\alice');
    await form.getByLabel('Password').fill('Office-pw-7c1d');
    await form.getByRole('button', { name: 'Add credential' }).click();
    await expect
      .poll(() => page.getByRole('region', { name: 'Credentials' }).getByRole('alert').first().textContent())
      .toContain('is not a Windows account');
    expect(await core.call('credentials.list', {})).toEqual([]);

    await form.getByLabel('Windows account', { exact: true }).fill('PATCHDECK\\alice');
    await form.getByLabel('Password').fill('Office-pw-7c1d');
    await form.getByRole('button', { name: 'Add credential' }).click();
    const listRow = page.getByRole('table', { name: 'Credentials' }).locator('tr', { hasText: 'office' });
    await listRow.waitFor();
    expect(await listRow.textContent()).toContain('PATCHDECK\\alice');
    expect(await listRow.textContent()).toContain('Windows account (WinRM)');
    expect(await listRow.textContent()).not.toContain('trusts new keys');
    const [stored] = await core.call('credentials.list', {});
    expect(stored).toMatchObject({ kind: 'windows', username: 'PATCHDECK\\alice', hasSudoPassword: false });
    await page
      .getByRole('region', { name: 'Credentials' })
      .screenshot({ path: shot('ui-win-credential.png') });
  });

  it('Updates shows the PC’s KBs: number, title, categories, MSRC rating and restart, in Windows words', async () => {
    const { page } = app;
    await page.getByRole('link', { name: 'Updates' }).click();
    const table = page.getByRole('table', { name: 'Updates' });
    await table.locator('[data-kb="KB5034123"]').waitFor();
    // Both kinds on screen: the headers name both.
    const headers = async () =>
      (await table.getByRole('columnheader').allTextContents()).map((h) => h.replace(/[▲▼]/g, '').trim());
    expect(await headers()).toContain('Package or KB');
    await page.getByLabel('Host', { exact: true }).selectOption({ label: 'win1' });
    await expect.poll(headers).toContain('KB');
    expect(await headers()).toEqual(
      expect.arrayContaining([
        'Host',
        'KB',
        'Size',
        'Title',
        'Categories',
        'Security',
        'Advisories',
        'Restart',
      ]),
    );
    expect(await headers()).not.toContain('Package');
    const kb = table.locator('[data-kb="KB5034123"]');
    expect(await kb.locator('.cell-package').textContent()).toBe('KB5034123');
    expect(await kb.locator('.cell-title').textContent()).toContain(
      '2024-01 Security Update for Windows 11 Version 22H2 for x64-based Systems (KB5034123)',
    );
    expect(await kb.locator('.cell-repo').textContent()).toBe('Security Updates');
    expect(await kb.locator('.cell-security').textContent()).toContain('Critical');
    expect(await kb.locator('.cell-advisories').textContent()).toContain('CVE-2024-20674');
    expect(await kb.locator('.cell-restart').textContent()).toBe('restart');
    const defender = table.locator('[data-kb="KB2267602"]');
    expect(await defender.locator('.cell-restart').textContent()).toBe('none');
    // Nothing in the PC's rows speaks of packages, versions or apt.
    const text = (await table.textContent()) ?? '';
    expect(text).not.toMatch(/package|\bapt\b|→/i);
    expect(await page.getByLabel('Categories').count()).toBe(1);
    await kb.getByRole('checkbox').check();
    expect(await page.getByTestId('selected-count').textContent()).toBe(
      '1 row selected: 1 Windows update on 1 host',
    );
    await page.screenshot({ path: shot('ui-win-updates.png'), fullPage: true });
    await page.getByRole('button', { name: 'Clear selection' }).click();
  });

  it('the host detail shows KBs, WinRM and the NTLM identity pin with its plain warning', async () => {
    const { page } = app;
    await page.goto(`${app.carrier.launchUrl.split('#')[0]}#/hosts/${pcId}`);
    await page.reload();
    const detail = page.getByRole('region', { name: 'Host detail: win1' });
    await detail.waitFor();
    const kb = detail.locator('[data-kb="KB5034123"]');
    await kb.waitFor();
    expect(await kb.textContent()).toContain('2024-01 Security Update for Windows 11');
    expect(await kb.textContent()).toContain('Critical');
    expect(await kb.textContent()).toContain('Security Updates');
    expect(await kb.textContent()).toContain('needs a restart');
    expect(await detail.getByLabel('Search Windows Update online').count()).toBe(1);
    // Its audit found no pending restart: no reasons either.
    expect(await detail.getByRole('region', { name: 'Why a restart is needed' }).count()).toBe(0);
    expect(await detail.textContent()).toContain('HTTP on port 5985, every message sealed with NTLM');
    // The trust panel: the WinRM identity, not an SSH key.
    expect(await detail.getByRole('region', { name: 'SSH host keys' }).count()).toBe(0);
    const trust = detail.getByRole('region', { name: 'WinRM identity' });
    const pins = trust.getByRole('table', { name: 'Pinned WinRM identities' });
    expect(await pins.textContent()).toContain('NTLM identity');
    expect(await pins.textContent()).toContain(NTLM_PIN);
    expect(await trust.getByRole('note').textContent()).toContain(
      'only the name the PC announced about itself, not a proof',
    );
    expect(await trust.getByRole('button', { name: 'Check WinRM identity' }).count()).toBe(1);
    const audits = detail.getByRole('table', { name: 'Audits' });
    expect(await audits.textContent()).toContain('Windows Update');
    expect(await audits.getByRole('columnheader', { name: 'Updates from' }).count()).toBe(1);
    // No Linux word on a Windows PC's page.
    expect((await detail.textContent()) ?? '').not.toMatch(/package|\bapt\b|SSH port|sudo|kernel/i);
    await page.screenshot({ path: shot('ui-win-host.png'), fullPage: true });
  });

  it('the Hosts page names WinRM as the way in', async () => {
    const { page } = app;
    await page.getByRole('link', { name: 'Hosts' }).click();
    const row = page.getByRole('table', { name: 'Hosts' }).locator('tr[data-address="198.18.0.40"]');
    await row.waitFor();
    expect(await row.locator('td').nth(4).textContent()).toBe('WinRM');
    await page.screenshot({ path: shot('ui-win-hosts.png'), fullPage: true });
  });

  it('the Hosts page’s audit option speaks Windows for PCs only, and words true for both on a mixed selection', async () => {
    const { page } = app;
    await page.getByRole('link', { name: 'Hosts' }).click();
    const table = page.getByRole('table', { name: 'Hosts' });
    await table.locator('tr[data-address="198.18.0.40"]').waitFor();
    const option = (label: string) => page.getByRole('checkbox', { name: label, exact: true });
    await table.getByLabel('Select win1').check();
    await option('Search Windows Update online').waitFor();
    expect(await option('Refresh package metadata').count()).toBe(0);
    await table.getByLabel('Select win2').check();
    expect(await option('Search Windows Update online').count()).toBe(1);
    await table.getByLabel('Select deb1').check();
    await option('Fetch fresh update lists first').waitFor();
    expect(await option('Search Windows Update online').count()).toBe(0);
    expect(
      await page.locator('label', { has: option('Fetch fresh update lists first') }).getAttribute('title'),
    ).toBe(
      'Before each audit: Windows PCs search Windows Update online, the other hosts download fresh package lists (uses sudo)',
    );
    await table.getByLabel('Select win1').uncheck();
    await table.getByLabel('Select win2').uncheck();
    await option('Refresh package metadata').waitFor();
    await table.getByLabel('Select deb1').uncheck();
  });
});

describe('the patch wizard on a Windows PC', () => {
  it('lists the KBs with the UpdateID installed and the undo recipe, and explains the restart notice and its delay', async () => {
    const { page, core } = app;
    await page.getByRole('link', { name: 'Patch jobs' }).click();
    await page.getByRole('button', { name: 'New patch job' }).click();
    const wizard = page.getByRole('region', { name: 'New patch job' });
    await wizard.getByLabel('Patch win1').check();
    await wizard.getByLabel('All pending updates').check();
    // A PC has no dry run: the step is a review of the plan, and the review says it was planned.
    await wizard.getByRole('button', { name: 'Review plan' }).click();
    expect(await wizard.locator('.wizard-steps').textContent()).toContain('Review plan');
    await wizard.getByText('Planned: 1 of 1 host').waitFor({ timeout: 30_000 });
    const preview = wizard.getByRole('article', { name: 'Dry run on win1' });
    const kbs = wizard.getByRole('table', { name: 'Windows updates on win1' });
    const kb = kbs.locator('[data-kb="KB5034123"]');
    await kb.waitFor();
    await expect.poll(() => kb.textContent()).toContain('2024-01 Security Update for Windows 11');
    expect(await kb.textContent()).toContain('12345678-1234-1234-1234-123456789abc');
    expect(await kb.textContent()).toContain('wusa /uninstall /kb:5034123');
    expect(await preview.getByRole('list', { name: 'Left out on win1' }).textContent()).toContain(
      'KB2267602: no UpdateID on record',
    );
    expect(await wizard.getByTestId('windows-review-note').textContent()).toContain(
      'Windows Update has no dry run',
    );
    // No Linux words about the PC: it simulated nothing and has no packages.
    expect((await preview.textContent()) ?? '').not.toMatch(/package|\bapt\b|simulated|dependenc/i);
    await page.screenshot({ path: shot('ui-win-wizard-review.png'), fullPage: true });

    await wizard.getByRole('button', { name: 'Next: schedule and reboot' }).click();
    await wizard.getByLabel('Reboot: If required').check();
    const restart = wizard.getByRole('group', { name: 'Windows restart' });
    expect(await restart.getByLabel('Restart notice in minutes').inputValue()).toBe('5');
    expect(await restart.getByTestId('windows-restart-note').textContent()).toContain(
      'its own notice that the PC restarts in 5 minutes to finish installing updates, so they can save their work',
    );
    await restart.getByLabel('Restart notice in minutes').fill('10');
    await expect
      .poll(() => restart.getByTestId('windows-restart-note').textContent())
      .toContain('restarts in 10 minutes');
    await page.screenshot({ path: shot('ui-win-wizard-schedule.png'), fullPage: true });

    await wizard.getByRole('button', { name: 'Next: confirm' }).click();
    const restartLine = wizard.getByTestId('confirm-windows-restart');
    await restartLine.waitFor({ timeout: 30_000 });
    expect(await restartLine.textContent()).toContain('restarts in 10 minutes');
    // KB2267602's collection names no valid UpdateID, so it cannot be installed exactly: left out.
    expect(await wizard.textContent()).toContain('1 Windows update');
    expect(await wizard.textContent()).not.toMatch(/package|dependenc/i);
    // The plan the admin would approve carries the delay they chose.
    const jobs = await core.call('jobs.list', {});
    const draft = jobs.find((j) => j.status === 'draft');
    expect(draft?.options.windowsRestartDelaySeconds).toBe(600);
    await page.screenshot({ path: shot('ui-win-wizard-confirm.png'), fullPage: true });
    // Nothing is approved: the PC at 198.18.0.40 does not exist here.
    await wizard.getByRole('button', { name: 'Back' }).click();
  });
});

describe('a PC managed by WSUS', () => {
  it('says so on its host detail and the Hosts page, and shows the KB’s size, release date and restart', async () => {
    const { page } = app;
    await page.getByRole('link', { name: 'Updates' }).click();
    await page.getByLabel('Host', { exact: true }).selectOption({ label: 'win2' });
    const kb = page.getByRole('table', { name: 'Updates' }).locator('[data-kb="KB5034765"]');
    await kb.waitFor();
    await expect
      .poll(() => page.getByRole('note', { name: 'WSUS' }).textContent())
      .toBe(
        'win2 is managed by WSUS (http://wsus.patchdeck.test:8530): only the updates WSUS approved for it are listed here and can be installed. Approve updates there first.',
      );
    expect(await kb.locator('.cell-arch').textContent()).toBe('700 MB');
    expect(await kb.locator('.cell-title').textContent()).toContain(
      new Date('2024-02-13T18:00:00Z').toLocaleDateString(),
    );
    expect(await kb.locator('.cell-restart').textContent()).toBe('may restart');
    expect(await kb.locator('.cell-security').textContent()).toContain('Important');

    await page.goto(`${app.carrier.launchUrl.split('#')[0]}#/hosts/${wsusPcId}`);
    await page.reload();
    const detail = page.getByRole('region', { name: 'Host detail: win2' });
    const wsus = detail.getByRole('note', { name: 'WSUS' });
    await wsus.waitFor();
    expect(await wsus.textContent()).toContain('win2 is managed by WSUS (http://wsus.patchdeck.test:8530)');
    expect(await detail.locator('[data-kb="KB5034765"]').textContent()).toContain('700 MB');
    expect(await detail.locator('[data-kb="KB5034765"]').textContent()).toContain('may ask for a restart');
    // Why it needs a reboot, in words, next to "needs a reboot".
    expect(await detail.getByRole('region', { name: 'Reboot' }).textContent()).toContain(
      'win2 needs a reboot to finish its updates',
    );
    expect(
      await detail
        .getByRole('region', { name: 'Why a restart is needed' })
        .getByRole('listitem')
        .allTextContents(),
    ).toEqual([
      'Windows Update is waiting for a restart',
      'a component update is waiting for a restart (CBS)',
      'files are waiting to be replaced at restart',
      "the PC's new name takes effect at restart",
    ]);
    // Its installed hotfixes, newest first, as history.
    const installed = detail.getByRole('region', { name: 'Installed updates' });
    await installed.getByText('Installed updates (2)').click();
    expect(
      await installed
        .getByRole('table', { name: 'Installed hotfixes' })
        .locator('tbody tr')
        .allTextContents(),
    ).toEqual(['KB5034204Update2024-01-20', 'KB5033375Security Update2023-12-12']);
    await page.screenshot({ path: shot('ui-win-wsus-host.png'), fullPage: true });

    await page.getByRole('link', { name: 'Hosts' }).click();
    const row = page.getByRole('table', { name: 'Hosts' }).locator('tr[data-address="198.18.0.42"]');
    await row.waitFor();
    expect(await row.getByText('WSUS', { exact: true }).getAttribute('title')).toContain(
      'Managed by WSUS (http://wsus.patchdeck.test:8530)',
    );
    // The first page: the PC without WSUS has no such badge.
    expect(
      await page
        .getByRole('table', { name: 'Hosts' })
        .locator('tr[data-address="198.18.0.40"]')
        .getByText('WSUS', { exact: true })
        .count(),
    ).toBe(0);
  });

  it('the Hosts page’s review names a PC’s NTLM identity as what it is', async () => {
    const { page, core } = app;
    recordHostKeySighting(core.requireWorkspace().db, {
      hostId: wsusPcId,
      type: 'ntlm-identity',
      fingerprint: 'ntlm:WIN2.PATCHDECK.TEST/PATCHDECK',
      publicKey: null,
      source: 'connect',
      address: '198.18.0.42',
    });
    // The audit that saw it was refused: its advice names what a PC presents.
    const db = core.requireWorkspace().db;
    failAudit(db, startAudit(db, { hostId: wsusPcId, taskId: null }), {
      kind: 'host-key-unknown',
      message: 'win2 presents an NTLM identity nobody has trusted yet.',
      durationMs: 1,
    });
    await page.getByRole('link', { name: 'Dashboard' }).click();
    await page.getByRole('link', { name: 'Hosts' }).click();
    const pcRow = page.getByRole('table', { name: 'Hosts' }).locator('tr[data-address="198.18.0.42"]');
    await expect
      .poll(() => pcRow.locator('.audit-status').textContent())
      .toContain('Compare its key (for a Windows PC, its WinRM certificate or announced name)');
    const review = page.getByRole('region', { name: 'Host keys to review' });
    await expect
      .poll(() => review.textContent())
      .toContain('1 host shows a WinRM identity nobody has trusted yet');
    await review.getByRole('button', { name: /Review keys/ }).click();
    const row = review.locator('tr[data-fingerprint="ntlm:WIN2.PATCHDECK.TEST/PATCHDECK"]');
    expect(await row.locator('td').nth(3).textContent()).toBe('NTLM identity');
    expect(await review.textContent()).toContain('only the name the PC announces about itself');
    expect(await review.getByRole('button', { name: 'Trust this identity' }).count()).toBe(1);
    await page.screenshot({ path: shot('ui-win-review.png'), fullPage: true });
  });
});

describe('a Windows job on the Patch jobs page', () => {
  it('shows the PC’s KBs by UpdateID, their results and the undo recipe, and its task phases as progress', async () => {
    const { page, core } = app;
    const db = core.requireWorkspace().db;
    const kb = {
      name: 'KB5034123',
      arch: null,
      from: null,
      to: '12345678-1234-1234-1234-123456789abc.1',
      security: true,
    };
    const done = insertTestJob(db, [pcId], {
      name: 'Windows updates',
      packageManager: 'windows-update',
      packages: [kb],
    });
    const [step] = listSteps(db, done);
    updateJob(db, done, { status: 'succeeded' });
    updateStep(db, step!.id, {
      status: 'succeeded',
      phase: 'done',
      before: { KB5034123: null },
      after: { KB5034123: 'succeeded' },
      undoRecipe: 'wusa /uninstall /kb:5034123 /quiet /norestart',
    });
    const waiting = insertTestJob(db, [wsusPcId], {
      name: 'Windows updates 2',
      packageManager: 'windows-update',
      packages: [kb],
    });
    updateJob(db, waiting, { status: 'running' });
    updateStep(db, listSteps(db, waiting)[0]!.id, { status: 'running', phase: 'wait' });

    await page.getByRole('link', { name: 'Dashboard' }).click();
    await page.getByRole('link', { name: 'Patch jobs' }).click();
    const list = page.getByRole('table', { name: 'Patch jobs' });
    await list.locator(`tr[data-job-id="${done}"]`).getByRole('button').click();
    const detail = page.getByRole('region', { name: `Job ${done}` });
    const win1 = detail
      .getByRole('list', { name: 'Hosts in this job' })
      .getByRole('listitem', { name: 'win1' });
    await win1.getByText('Before → after (1 Windows update)').click();
    const versions = win1.getByRole('table', { name: 'Versions on win1' });
    expect(await versions.getByRole('columnheader').allTextContents()).toEqual(['KB', 'Before', 'After']);
    expect(await versions.textContent()).toContain('KB5034123not installedsucceeded');
    expect(await win1.getByLabel('Undo recipe for win1', { exact: true }).textContent()).toBe(
      'wusa /uninstall /kb:5034123 /quiet /norestart',
    );
    expect((await win1.textContent()) ?? '').not.toMatch(/package/i);
    await page.screenshot({ path: shot('ui-win-job.png'), fullPage: true });

    await list.locator(`tr[data-job-id="${waiting}"]`).getByRole('button').click();
    const running = page.getByRole('region', { name: `Job ${waiting}` });
    const win2 = running
      .getByRole('list', { name: 'Hosts in this job' })
      .getByRole('listitem', { name: 'win2' });
    await win2.waitFor();
    // Waiting for the receipt is the install: the bar is past the pre-checks, and says what it waits for.
    const bar = win2.getByRole('progressbar', { name: 'win2 progress' });
    expect(await bar.getAttribute('aria-valuenow')).toBe('1');
    expect(await bar.getAttribute('aria-valuetext')).toBe('installing (waiting for the PC’s receipt)');
    expect(await win2.textContent()).toContain('Planned: 1 Windows update');
  });
});
