/**
 * The workspace switcher in real Chromium over the browser carrier: client workspaces as real
 * files, the recent list as a real file of the test's own, and the gateway read by the real
 * reader from /proc-format route and neighbour tables (fixtures: no network is looked at).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, insertHost, readWorkspaceMeta, setSiteName } from '../../src/db';
import { parseProcNetArp } from '../../src/discovery';
import { readRecent, recordGateway, recordRecent, systemGatewayReader } from '../../src/workspaces';
import { launchApp, type E2eApp } from './harness';

const FIXTURES = path.resolve(import.meta.dirname, '../../src/workspaces/fixtures');
const sha256 = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const shot = (name: string): string => path.resolve(`test-results/workspaces-${name}.png`);

let app: E2eApp;
let home: string;
let recentFile: string;
let acme: string;
let missing: string;

beforeAll(async () => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-e2e-clients-'));
  recentFile = path.join(home, 'data', 'recent-workspaces.json');
  // Acme's workspace audited its hosts here before, at Acme, whose gateway is the fixture's
  // 192.168.1.1: it learned that gateway.
  acme = path.join(home, 'acme.sqlite');
  const db = createWorkspace(acme);
  setSiteName(db, 'Acme Dental');
  insertHost(db, { name: 'acme-pc1', address: '198.18.0.41' });
  recordGateway(db, { address: '192.168.1.1', mac: '3c:37:86:5e:aa:01' }, '2026-10-01T09:00:00.000Z');
  db.close();
  recordRecent(recentFile, { path: acme, siteName: 'Acme Dental', lastOpenedAt: '2026-10-01T09:00:00.000Z' });
  missing = path.join(home, 'unplugged-drive', 'old-client.sqlite');
  recordRecent(recentFile, {
    path: missing,
    siteName: 'Old Client',
    lastOpenedAt: '2026-09-01T09:00:00.000Z',
  });
  app = await launchApp({
    core: {
      recentFile,
      watchNetwork: true,
      gatewayReader: systemGatewayReader({
        platform: 'linux',
        routeFile: path.join(FIXTURES, 'proc-net-route'),
        neighbours: async () => parseProcNetArp(fs.readFileSync(path.join(FIXTURES, 'proc-net-arp'), 'utf8')),
      }),
    },
  });
  await app.page.setViewportSize({ width: 1280, height: 800 });
});
afterAll(async () => {
  await app?.close();
  fs.rmSync(home, { recursive: true, force: true });
});

describe('workspaces as clients', () => {
  it("suggests Acme's workspace on Acme's network, and opens nothing until asked", async () => {
    const { page, core } = app;
    const own = core.requireWorkspace().path;
    const acmeBefore = sha256(acme);
    await page.reload();
    const banner = page.getByRole('region', { name: 'Workspace suggestion' });
    await expect
      .poll(() => banner.innerText())
      .toContain("This looks like Acme Dental's network. Open Acme Dental's workspace?");
    await page.screenshot({ path: shot('suggestion') });
    // Only a question: the open workspace is still this one, and Acme's file was not opened.
    expect(core.requireWorkspace().path).toBe(own);
    expect(sha256(acme)).toBe(acmeBefore);
    expect(await page.locator('.workspace-name').innerText()).toBe(path.basename(own));
    // "Not now" puts it away and still changes nothing.
    await banner.getByRole('button', { name: 'Not now' }).click();
    await expect.poll(() => banner.count()).toBe(0);
    expect(core.requireWorkspace().path).toBe(own);
  });

  it('names the site, lists the recent workspaces (missing ones marked), and switches on Open', async () => {
    const { page, core } = app;
    const own = core.requireWorkspace().path;
    await page.getByRole('button', { name: /^Workspace: .* Switch workspace$/u }).click();
    const dialog = page.getByRole('dialog', { name: 'Workspaces' });
    await dialog.getByLabel('Site name').fill('Bakery <b>&</b> Co');
    await dialog.getByRole('button', { name: 'Save site name' }).click();
    await expect
      .poll(() => dialog.getByRole('status').innerText())
      .toBe('Site name saved: Bakery <b>&</b> Co.');
    expect(readWorkspaceMeta(core.requireWorkspace().db).siteName).toBe('Bakery <b>&</b> Co');
    expect(await page.locator('.workspace-site').innerText()).toBe('Bakery <b>&</b> Co');
    expect(readRecent(recentFile).entries.find((e) => e.path === own)?.siteName).toBe('Bakery <b>&</b> Co');

    const recent = dialog.getByRole('region', { name: 'Recent workspaces' }).getByRole('listitem');
    await expect.poll(() => recent.count()).toBe(2);
    expect(await recent.nth(0).innerText()).toContain('Acme Dental');
    expect(await recent.nth(1).innerText()).toMatch(/Old Client[\s\S]*missing/u);
    expect(await recent.nth(1).getByRole('button').count()).toBe(0);
    await page.screenshot({ path: shot('switcher') });

    await dialog.getByRole('button', { name: 'Open Acme Dental' }).click();
    await expect
      .poll(() =>
        page
          .locator('.workspace-site')
          .innerText()
          .catch(() => ''),
      )
      .toBe('Acme Dental');
    expect(core.requireWorkspace().path).toBe(acme);
    // On its own network, Acme's workspace suggests nothing.
    expect(await page.getByRole('region', { name: 'Workspace suggestion' }).count()).toBe(0);
    await page.getByRole('link', { name: 'Hosts' }).click();
    await expect.poll(() => page.getByRole('table', { name: 'Hosts' }).innerText()).toContain('acme-pc1');
  });

  it('creates a new workspace from a typed path and records it in the recent list', async () => {
    const { page, core } = app;
    const file = path.join(home, 'new-client.sqlite');
    await page.getByRole('button', { name: /^Workspace: .* Switch workspace$/u }).click();
    const dialog = page.getByRole('dialog', { name: 'Workspaces' });
    await dialog.getByRole('button', { name: 'New workspace…' }).click();
    await dialog.getByLabel('New workspace file').fill(file);
    await dialog.getByRole('button', { name: 'Create and open' }).click();
    await expect
      .poll(() =>
        page
          .locator('.workspace-name')
          .innerText()
          .catch(() => ''),
      )
      .toBe('new-client.sqlite');
    expect(core.requireWorkspace().path).toBe(file);
    expect(readRecent(recentFile).entries.map((e) => path.basename(e.path))).toEqual([
      'new-client.sqlite',
      'acme.sqlite',
      'ws.sqlite',
      'old-client.sqlite',
    ]);
    // A new workspace on Acme's network learns nothing by being open: the suggestion names Acme again.
    await page.reload();
    await expect
      .poll(() =>
        page
          .getByRole('region', { name: 'Workspace suggestion' })
          .innerText()
          .catch(() => ''),
      )
      .toContain('Acme Dental');

    // A path that cannot be created is refused in words, and nothing switches.
    await page.getByRole('button', { name: /^Workspace: .* Switch workspace$/u }).click();
    const again = page.getByRole('dialog', { name: 'Workspaces' });
    await again.getByRole('button', { name: 'New workspace…' }).click();
    await again.getByLabel('New workspace file').fill(file);
    await again.getByRole('button', { name: 'Create and open' }).click();
    await expect
      .poll(() => again.getByRole('alert').innerText())
      .toMatch(/^Create failed: .*already exists/u);
    expect(core.requireWorkspace().path).toBe(file);
    await page.screenshot({ path: shot('create-refused') });
  });
});

describe('site bundles from the switcher', () => {
  it('exports this site as a download and imports it into another client workspace, honestly reporting a second import', async () => {
    const { page, core } = app;
    // The new client's workspace (open now) gets a host and a name; its bundle goes to Acme.
    insertHost(core.requireWorkspace().db, { name: 'newclient-pc1', address: '198.18.0.51' });
    await page.reload();
    const switcher = page.getByRole('button', { name: /^Workspace: .* Switch workspace$/u });
    await switcher.click();
    let dialog = page.getByRole('dialog', { name: 'Workspaces' });
    await dialog.getByLabel('Site name').fill('New Client');
    await dialog.getByRole('button', { name: 'Save site name' }).click();
    await expect.poll(() => dialog.getByRole('status').innerText()).toContain('Site name saved');
    const download = page.waitForEvent('download');
    await dialog.getByRole('button', { name: 'Export site bundle…' }).click();
    const file = path.join(home, 'new-client.pdbundle');
    const made = await download;
    await made.saveAs(file);
    expect(made.suggestedFilename()).toMatch(/\.pdbundle$/u);
    await expect
      .poll(() => dialog.getByRole('status').innerText())
      .toMatch(/^Site bundle .*\.pdbundle \(1 host, .* downloaded\.$/u);

    await dialog.getByRole('button', { name: 'Open Acme Dental' }).click();
    await expect
      .poll(() =>
        page
          .locator('.workspace-site')
          .innerText()
          .catch(() => ''),
      )
      .toBe('Acme Dental');
    await switcher.click();
    dialog = page.getByRole('dialog', { name: 'Workspaces' });
    await dialog.getByLabel('Bundle to import').setInputFiles(file);
    await expect
      .poll(() =>
        dialog
          .getByRole('status')
          .innerText()
          .catch(() => ''),
      )
      .toMatch(/^Imported the bundle from “New Client”: added 1 host(?:,|\.| and)/u);
    await page.screenshot({ path: shot('bundle-imported') });
    const names = (
      core.requireWorkspace().db.prepare('SELECT name FROM hosts ORDER BY name').all() as { name: string }[]
    ).map((r) => r.name);
    expect(names).toEqual(['acme-pc1', 'newclient-pc1']);

    await dialog.getByLabel('Bundle to import').setInputFiles(file);
    await expect
      .poll(() =>
        dialog
          .getByRole('status')
          .innerText()
          .catch(() => ''),
      )
      .toBe('This bundle from “New Client” was already imported: nothing changed.');
    await page.screenshot({ path: shot('bundle-again') });
    expect(core.requireWorkspace().db.prepare('SELECT COUNT(*) AS n FROM hosts').get()).toEqual({ n: 2 });

    // Acme's bundle back into the new client's workspace: its own host is matched, not duplicated.
    const back = page.waitForEvent('download');
    await dialog.getByRole('button', { name: 'Export site bundle…' }).click();
    const acmeBundle = path.join(home, 'acme.pdbundle');
    await (await back).saveAs(acmeBundle);
    await dialog.getByRole('button', { name: 'Open New Client' }).click();
    await expect
      .poll(() =>
        page
          .locator('.workspace-site')
          .innerText()
          .catch(() => ''),
      )
      .toBe('New Client');
    await switcher.click();
    dialog = page.getByRole('dialog', { name: 'Workspaces' });
    await dialog.getByLabel('Bundle to import').setInputFiles(acmeBundle);
    await expect
      .poll(() =>
        dialog
          .getByRole('status')
          .innerText()
          .catch(() => ''),
      )
      .toMatch(
        /^Imported the bundle from “Acme Dental”: added 1 host\b.*; 1 host already here was matched\.$/u,
      );
    expect(await dialog.getByRole('list', { name: 'Matched hosts' }).innerText()).toMatch(
      /^newclient-pc1 — already here \(matched by /u,
    );
    await page.screenshot({ path: shot('bundle-matched') });
    const here = (
      core.requireWorkspace().db.prepare('SELECT name FROM hosts ORDER BY name').all() as { name: string }[]
    ).map((r) => r.name);
    expect(here).toEqual(['acme-pc1', 'newclient-pc1']);
  });
});
