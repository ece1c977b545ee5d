import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  completeAudit,
  finishScan,
  recordScanHost,
  startAudit,
  startScan,
  type ObservedHost,
} from '../../src/db';
import { launchApp, type E2eApp } from './harness';

/**
 * Issue 10, bugs 4, 7 and 8 on the Hosts page: what the badges say after a completed and a
 * cancelled scan, when "new" clears, and Add host refusing a mistyped address. The scans are
 * recorded straight into the workspace (no traffic at all); the page reads them as it always does.
 */
let app: E2eApp;
beforeAll(async () => {
  app = await launchApp();
});
afterAll(async () => {
  await app?.close();
});

const observed = (address: string): ObservedHost => ({
  address,
  name: null,
  names: [],
  mac: null,
  macVendor: null,
  osFamily: 'linux',
  osName: 'Debian GNU/Linux',
  osVersion: '12',
  osConfidence: 0.5,
  osEvidence: [],
  management: ['ssh'],
  services: [],
  openPorts: [22],
  result: {},
});

function recordScan(
  addresses: string[],
  found: { address: string; hostId?: number }[],
  status: 'completed' | 'cancelled',
): number[] {
  const db = app.core.requireWorkspace().db;
  const scanId = startScan(db, {
    taskId: null,
    targets: 'lab',
    ports: [22],
    total: addresses.length,
    addresses,
  });
  const ids = found.map(
    (f) => recordScanHost(db, scanId, observed(f.address), f.hostId ?? null, { addToInventory: true }).hostId,
  );
  finishScan(db, scanId, status);
  return ids;
}

async function openHosts(): Promise<void> {
  const { page } = app;
  await page.getByRole('link', { name: 'Dashboard' }).click();
  await page.getByRole('link', { name: 'Hosts' }).click();
  await page.getByRole('table', { name: 'Hosts' }).waitFor();
}

const row = (address: string) =>
  app.page.getByRole('table', { name: 'Hosts' }).locator(`tr[data-address="${address}"]`);

describe('Hosts page: scan badges and Add host', () => {
  it('a cancelled scan marks nobody "not seen"; "new" clears once a host is audited', async () => {
    const lab = Array.from({ length: 253 }, (_, i) => `198.18.0.${i + 1}`);
    const eight = lab.slice(0, 8);
    const ids = recordScan(
      lab,
      eight.map((address) => ({ address })),
      'completed',
    );
    // A second scan of the /24, cancelled after 8 of 253 addresses: it found the same 8 again.
    recordScan(
      lab,
      eight.map((address, i) => ({ address, hostId: ids[i] })),
      'cancelled',
    );
    await openHosts();
    for (const address of eight) {
      await row(address).waitFor();
      expect(await row(address).getByText('not seen in last scan').count(), address).toBe(0);
      expect(await row(address).getByText('new', { exact: true }).count(), address).toBe(1);
    }
    // A completed scan that covered .8 and did not find it says so; nobody else.
    recordScan(lab.slice(7, 20), [], 'completed');
    const db = app.core.requireWorkspace().db;
    const auditId = startAudit(db, { hostId: ids[0]!, taskId: null, refreshed: false });
    completeAudit(db, auditId, {
      osId: 'debian',
      osName: 'Debian GNU/Linux',
      osVersion: '12',
      kernel: null,
      packageManager: 'apt',
      metadataAgeSeconds: 0,
      rebootRequired: false,
      warnings: [],
      durationMs: 1,
      findings: [],
    });
    await openHosts();
    await expect.poll(() => row('198.18.0.8').getByText('not seen in last scan').count()).toBe(1);
    expect(await app.page.getByText('not seen in last scan').count()).toBe(1);
    // Audited: no longer new. The others are still new: nothing has dealt with them.
    expect(await row('198.18.0.1').getByText('new', { exact: true }).count()).toBe(0);
    expect(await row('198.18.0.2').getByText('new', { exact: true }).count()).toBe(1);
    await app.page.screenshot({ path: path.resolve('test-results/hosts-scan-badges.png'), fullPage: true });
  });

  it('Add host refuses 999.1.1.1 in words, before and after sending', async () => {
    const { page, core } = app;
    const before = (await core.call('hosts.list', {})).length;
    await openHosts();
    await page.getByRole('button', { name: 'Add host…' }).click();
    const form = page.getByRole('form', { name: 'Add host' });
    await form.getByLabel('Host name').fill('web01');
    await form.getByLabel('Address (optional)').fill('999.1.1.1');
    await expect
      .poll(() => form.getByRole('alert').textContent())
      .toBe(
        'Address: “999.1.1.1” is not a valid IPv4 address: four numbers from 0 to 255, such as 198.18.0.11.',
      );
    expect(await form.getByRole('button', { name: 'Add host' }).isDisabled()).toBe(true);
    expect(await form.getByLabel('Address (optional)').getAttribute('aria-invalid')).toBe('true');
    await page.screenshot({ path: path.resolve('test-results/hosts-add-invalid-address.png') });
    await form.getByLabel('Address (optional)').fill('198.18.0.99');
    expect(await form.getByRole('alert').count()).toBe(0);
    await form.getByRole('button', { name: 'Add host' }).click();
    await row('198.18.0.99').waitFor();
    expect((await core.call('hosts.list', {})).length).toBe(before + 1);
  });
});
