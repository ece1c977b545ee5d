import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finishScan, markInterruptedScans, startScan } from '../../src/db/scans';
import { launchApp, type E2eApp } from './harness';

/**
 * The Discover page against LOOPBACK only: every address typed here is in 127.0.0.0/8, and
 * reverse DNS is turned off on the page so no query leaves the machine.
 */
const SSH_ID = 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n';
let app: E2eApp;
const servers: net.Server[] = [];

function listen(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
}

beforeAll(async () => {
  // 127.0.0.20:22 answers like Debian 12's sshd; 127.0.0.21:80 is a small web server.
  const ssh = net.createServer((socket) => {
    socket.on('error', () => undefined);
    // Read what the client sends, as sshd does: the scan now also starts a key exchange (to
    // show the host key), and a socket whose input is never read never sees the client hang up.
    socket.resume();
    socket.end(SSH_ID);
  });
  const web = http.createServer((_req, res) => {
    res.writeHead(200, { Server: 'tiny-test/1.0', 'Content-Type': 'text/plain' });
    res.end('ok');
  });
  await listen(ssh, '127.0.0.20', 22);
  await listen(web, '127.0.0.21', 80);
  servers.push(ssh, web);
  app = await launchApp();
  fs.mkdirSync(path.resolve('test-results'), { recursive: true });
});
afterAll(async () => {
  await app?.close();
  for (const s of servers) await new Promise((r) => s.close(r));
});

async function fillTargets(targets: string, ports: string): Promise<void> {
  const { page } = app;
  await page.getByRole('link', { name: 'Discover' }).click();
  await page.getByRole('heading', { name: 'Discover', level: 1 }).waitFor();
  await page.getByLabel('Targets', { exact: true }).fill(targets);
  await page.getByLabel('Ports', { exact: true }).selectOption('custom');
  await page.getByLabel('Custom ports').fill(ports);
  await page.getByLabel('Probe timeout (ms)').fill('500');
  const rdns = page.getByLabel('Reverse DNS');
  if (await rdns.isChecked()) await rdns.uncheck();
}

describe('Discover page (loopback only)', () => {
  it('checks the targets, streams live hosts with ports and OS guess, and adds one to the inventory', async () => {
    const { page, core } = app;
    await fillTargets('127.0.0.20-22', '22,80');
    await expect.poll(() => page.getByTestId('address-count').textContent()).toContain('3 addresses');
    await page.getByRole('button', { name: 'Start scan' }).click();

    const table = page.getByRole('table', { name: 'Discovered hosts' });
    const sshRow = table.locator('tr[data-address="127.0.0.20"]');
    const webRow = table.locator('tr[data-address="127.0.0.21"]');
    await sshRow.waitFor();
    await webRow.waitFor();
    await expect
      .poll(() => page.getByRole('status', { name: 'Scan status' }).textContent())
      .toMatch(/^succeeded/);
    await expect.poll(() => sshRow.locator('td').nth(3).textContent()).toContain('22/ssh');
    expect(await sshRow.locator('td').nth(3).textContent()).not.toContain('80');
    expect(await sshRow.locator('td').nth(2).textContent()).toMatch(/Debian.*12/);
    expect(await sshRow.locator('td').nth(4).textContent()).toBe('ssh');
    expect(await sshRow.getByText('new').count()).toBe(1);
    await expect.poll(() => webRow.locator('td').nth(3).textContent()).toContain('80');
    expect(await webRow.locator('td').nth(3).textContent()).not.toContain('22');

    // The evidence behind the OS guess opens on demand.
    await sshRow.locator('summary').click();
    expect(await sshRow.locator('ul.evidence').textContent()).toContain('OpenSSH');
    await page.screenshot({ path: path.resolve('test-results/discover-results.png'), fullPage: true });

    await page.getByRole('button', { name: 'Add 127.0.0.20 to inventory' }).click();
    await sshRow.getByText('In inventory').waitFor();
    const hosts = await core.call('hosts.list', {});
    const added = hosts.find((h) => h.address === '127.0.0.20');
    expect(added?.inInventory).toBe(true);
    expect(hosts.find((h) => h.address === '127.0.0.21')?.inInventory).toBe(false);

    // The scan is recorded in the past-scans list.
    const scans = await core.call('scans.list', {});
    expect(scans[0]?.status).toBe('completed');
    await page
      .getByRole('table', { name: 'Past scans' })
      .locator(`tr[data-scan-id="${scans[0]!.id}"]`)
      .waitFor();

    // The Hosts page shows the inventory host with what discovery learned.
    await page.getByRole('link', { name: 'Hosts' }).click();
    const hostsTable = page.getByRole('table', { name: 'Hosts' });
    const row = hostsTable.locator(`tr[data-host-id="${added!.id}"]`);
    await row.waitFor();
    expect(await row.textContent()).toMatch(/Debian/);
    expect(await row.getByRole('img', { name: 'Linux' }).count()).toBe(1);
    // The web server host was discovered but is not in the inventory: shown only on request.
    expect(await hostsTable.locator('tr[data-address="127.0.0.21"]').count()).toBe(0);
    await page.getByLabel('Show discovered hosts not in the inventory').check();
    await hostsTable.locator('tr[data-address="127.0.0.21"]').waitFor();
    await page.screenshot({ path: path.resolve('test-results/hosts-discovered.png'), fullPage: true });
  });

  it('proposes subnets without starting a scan', async () => {
    const { page, core } = app;
    const before = (await core.call('scans.list', {})).length;
    await page.getByRole('link', { name: 'Discover' }).click();
    await page.getByRole('button', { name: 'Propose my subnets' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: /Nothing is scanned|no IPv4 subnet/ })
      .waitFor();
    expect((await core.call('scans.list', {})).length).toBe(before);
    expect(await page.getByRole('status', { name: 'Scan status' }).textContent()).toMatch(/^succeeded/);
  });

  it('asks for confirmation above a /22 and cancels a large loopback sweep', async () => {
    const { page, core } = app;
    // 200 closed ports per address keeps this sweep busy for minutes, so the cancel is what stops it.
    await fillTargets('127.1.0.0/20', '1-200');
    await expect.poll(() => page.getByTestId('address-count').textContent()).toContain('4,094 addresses');
    const start = page.getByRole('button', { name: 'Start scan' });
    expect(await start.isDisabled()).toBe(true);
    await page.getByLabel(/Yes, scan all 4,094 addresses/).check();
    expect(await start.isDisabled()).toBe(false);
    await start.click();
    await expect
      .poll(async () =>
        (await core.call('tasks.list', { active: true })).some(
          (t) => t.kind === 'discovery' && t.progressDone > 0,
        ),
      )
      .toBe(true);
    await expect
      .poll(() => page.getByRole('status', { name: 'Scan status' }).textContent(), { timeout: 10_000 })
      .toMatch(/^Scanning/);
    await page.getByRole('button', { name: 'Cancel scan' }).click();
    await expect
      .poll(() => page.getByRole('status', { name: 'Scan status' }).textContent())
      .toMatch(/^cancelled/);
    const scan = (await core.call('scans.list', {}))[0]!;
    expect(scan.status).toBe('cancelled');
    expect(scan.addressesProbed).toBeLessThan(4094);
    // Counts are written one way everywhere, the task's summary too.
    const task = (await core.call('tasks.list', {})).find(
      (t) => t.kind === 'discovery' && t.status === 'cancelled',
    );
    expect(task?.summary).toMatch(/^cancelled after [\d,]+ of 4,094 addresses/);
    await expect
      .poll(() =>
        page
          .getByRole('table', { name: 'Past scans' })
          .locator(`tr[data-scan-id="${scan.id}"]`)
          .textContent(),
      )
      .toContain('cancelled');
    await page.screenshot({ path: path.resolve('test-results/discover-cancelled.png'), fullPage: true });
  });

  it('refuses more than a /16 unless forced', async () => {
    const { page } = app;
    await fillTargets('127.2.0.0/15', '9');
    const errors = page.getByRole('list', { name: 'Target errors' });
    await expect
      .poll(() => errors.textContent())
      .toBe('The targets hold 131,070 addresses, more than a /16 (65,536). Narrow them, or force the sweep.');
    expect(await page.getByRole('button', { name: 'Start scan' }).isDisabled()).toBe(true);
    const force = page.getByLabel('Scan more than a /16 anyway (force)');
    await force.check();
    await expect.poll(() => page.getByTestId('address-count').textContent()).toContain('131,070 addresses');
    await expect.poll(() => errors.count()).toBe(0);
    await force.uncheck();
    // Not started: nothing is scanned here.
  });

  it('refuses a /8 once, with no force offered, since forcing cannot lift it (issue 10, bug 7)', async () => {
    const { page } = app;
    await fillTargets('127.0.0.0/8', '9');
    const errors = page.getByRole('list', { name: 'Target errors' });
    await expect
      .poll(() => errors.textContent())
      .toBe(
        'The targets hold 16,777,214 addresses; Patchdeck sweeps at most 1,048,576 (a /12), forced or not. Narrow them.',
      );
    expect(await page.getByTestId('address-count').textContent()).toContain('16,777,214 addresses');
    expect(await page.getByLabel(/force/).count()).toBe(0);
    expect(await page.getByText(/16777214|16 777 214|65 536/).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Start scan' }).isDisabled()).toBe(true);
    await page.screenshot({ path: path.resolve('test-results/discover-refused-slash8.png') });
  });

  it('shows the results without scrolling in a 1280×800 window', async () => {
    const { page } = app;
    await page.setViewportSize({ width: 1280, height: 800 });
    try {
      await fillTargets('127.0.0.20-21', '22,80');
      await page.getByRole('button', { name: 'Start scan' }).click();
      const table = page.getByRole('table', { name: 'Discovered hosts' });
      await table.locator('tr[data-address="127.0.0.21"]').waitFor();
      await expect
        .poll(() => page.getByRole('status', { name: 'Scan status' }).textContent())
        .toMatch(/^succeeded/);
      await page.evaluate(() => window.scrollTo(0, 0));
      for (const el of await page.locator('main, .page, .content').all())
        await el.evaluate((node) => node.scrollTo(0, 0));
      // Both result rows lie inside the window as it opens, with nothing scrolled, above the
      // status bar that covers the bottom of the window.
      const bar = await page.getByRole('contentinfo', { name: 'Tasks' }).boundingBox();
      const visibleBottom = Math.min(800, bar?.y ?? 800);
      for (const address of ['127.0.0.20', '127.0.0.21']) {
        const box = await table.locator(`tr[data-address="${address}"]`).boundingBox();
        expect(box, address).not.toBeNull();
        if (box!.y + box!.height > visibleBottom)
          await page.screenshot({ path: path.resolve('test-results/discover-1280x800-overflow.png') });
        expect(box!.y + box!.height, address).toBeLessThanOrEqual(visibleBottom);
      }
      await page.screenshot({ path: path.resolve('test-results/discover-1280x800.png') });
    } finally {
      await page.setViewportSize({ width: 1280, height: 720 });
    }
  });

  it('saves, picks and removes a network', async () => {
    const { page, core } = app;
    await fillTargets('127.0.0.20-21', '22');
    await page.getByLabel('Save these targets as').fill('Loopback pair');
    await page.getByRole('button', { name: 'Save network' }).click();
    await expect
      .poll(async () => (await core.call('networks.list', {})).map((n) => n.name))
      .toContain('Loopback pair');
    await page.getByLabel('Targets', { exact: true }).fill('');
    const id = (await core.call('networks.list', {})).find((n) => n.name === 'Loopback pair')!.id;
    await page.getByLabel('Saved network', { exact: true }).selectOption(String(id));
    await expect.poll(() => page.getByLabel('Targets', { exact: true }).inputValue()).toBe('127.0.0.20-21');
    expect(await page.getByLabel('Custom ports').inputValue()).toBe('22');
    await page.getByRole('button', { name: 'Remove saved network' }).click();
    await expect.poll(async () => (await core.call('networks.list', {})).length).toBe(0);
  });

  it('shows a past scan again and adds all its hosts to the inventory', async () => {
    const { page, core } = app;
    await page.getByRole('link', { name: 'Discover' }).click();
    const first = (await core.call('scans.list', {})).at(-1)!;
    await page.getByRole('button', { name: `Show results of scan #${first.id}` }).click();
    await page.getByRole('heading', { name: `Results of scan #${first.id}` }).waitFor();
    const table = page.getByRole('table', { name: 'Discovered hosts' });
    await table.locator('tr[data-address="127.0.0.21"]').waitFor();
    await page.getByRole('button', { name: 'Add all to inventory' }).click();
    await expect
      .poll(() => table.getByText('In inventory').count())
      .toBe(await table.locator('tbody tr').count());
    const hosts = await core.call('hosts.list', {});
    for (const address of ['127.0.0.20', '127.0.0.21']) {
      expect(hosts.find((h) => h.address === address)?.inInventory).toBe(true);
    }
  });

  it('a past scan that failed or was interrupted says so when shown again, never "cancelled"', async () => {
    const { page, core } = app;
    const db = core.requireWorkspace().db;
    const failed = startScan(db, { taskId: null, targets: '127.0.0.30', ports: [22], total: 1 });
    finishScan(db, failed, 'failed', 'the sweep stopped');
    const interrupted = startScan(db, { taskId: null, targets: '127.0.0.31', ports: [22], total: 1 });
    markInterruptedScans(db);
    await page.getByRole('link', { name: 'Hosts' }).click();
    await page.getByRole('link', { name: 'Discover' }).click();
    const status = page.getByRole('status', { name: 'Scan status' });
    for (const [id, word] of [
      [failed, 'failed'],
      [interrupted, 'interrupted'],
    ] as const) {
      await page.getByRole('button', { name: `Show results of scan #${id}` }).click();
      await page.getByRole('heading', { name: `Results of scan #${id}` }).waitFor();
      await expect.poll(() => status.textContent()).toMatch(new RegExp(`^${word}:`));
    }
  });
});
