import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failAudit, insertHost, startAudit } from '../../src/db';
import { launchApp, type E2eApp } from './harness';

/**
 * A host's detail is a page of its own (#/hosts/<id>): a URL the browser's back button leaves,
 * opened at its top rather than below a long table; the dashboard's failed audits link to it.
 */
let app: E2eApp;
const ids: number[] = [];

beforeAll(async () => {
  app = await launchApp();
  fs.mkdirSync(path.resolve('test-results'), { recursive: true });
  const db = app.core.requireWorkspace().db;
  // Enough rows that the last one is well below the fold of the page.
  for (let h = 0; h < 80; h++)
    ids.push(insertHost(db, { name: `node${String(h).padStart(2, '0')}`, address: `198.18.0.${h + 10}` }).id);
  const broken = startAudit(db, { hostId: ids[79]!, taskId: null });
  failAudit(db, broken, {
    kind: 'unreachable',
    message: 'connect ECONNREFUSED 198.18.0.89:22',
    durationMs: 5,
  });
});
afterAll(async () => {
  await app?.close();
});

const scrollTop = (app: E2eApp) => app.page.locator('main.content').evaluate((el) => el.scrollTop);

describe('host detail route', () => {
  it('opens a host at the top of its own page, and back returns to the list', async () => {
    const { page } = app;
    await page.getByRole('link', { name: 'Hosts' }).click();
    const table = page.getByRole('table', { name: 'Hosts' });
    const last = table.locator(`tr[data-host-id="${ids[79]}"]`);
    await last.scrollIntoViewIfNeeded();
    expect(await scrollTop(app)).toBeGreaterThan(200);
    const link = last.getByRole('link', { name: 'node79', exact: true });
    expect(await link.getAttribute('href')).toBe(`#/hosts/${ids[79]}`);
    await link.click();
    const detail = page.getByRole('region', { name: 'Host detail: node79' });
    await detail.waitFor();
    expect(new URL(page.url()).hash).toBe(`#/hosts/${ids[79]}`);
    // Its own page: the table is gone and the detail's heading is at the top, not below the table.
    await expect(table.count()).resolves.toBe(0);
    await expect.poll(() => scrollTop(app)).toBe(0);
    expect(await page.getByRole('heading', { name: 'node79', level: 1 }).isVisible()).toBe(true);

    await page.goBack();
    await table.waitFor();
    expect(new URL(page.url()).hash).toBe('#/hosts');
    await expect(page.getByRole('region', { name: 'Host detail: node79' }).count()).resolves.toBe(0);

    await page.goForward();
    await detail.waitFor();
    await page.getByRole('button', { name: 'All hosts' }).click();
    await table.waitFor();
    expect(new URL(page.url()).hash).toBe('#/hosts');
  });

  it('opens a host typed or pasted as a URL, and says so when the host does not exist', async () => {
    const { page } = app;
    const base = page.url().split('#')[0]!;
    await page.goto(`${base}#/hosts/${ids[3]}`);
    await page.getByRole('region', { name: 'Host detail: node03' }).waitFor();
    await page.goto(`${base}#/hosts/999999`);
    await page.getByRole('alert').filter({ hasText: 'No host #999999' }).waitFor();
  });

  it('links a failed audit on the dashboard to its host', async () => {
    const { page } = app;
    await page.getByRole('link', { name: 'Dashboard' }).click();
    const failed = page.getByRole('region', { name: 'Failed audits list' });
    const link = failed.getByRole('link', { name: 'node79' });
    await link.waitFor();
    expect(await link.getAttribute('href')).toBe(`#/hosts/${ids[79]}`);
    await link.click();
    await page.getByRole('region', { name: 'Host detail: node79' }).waitFor();
    await expect.poll(() => scrollTop(app)).toBe(0);
    await page.screenshot({ path: path.resolve('test-results/host-route.png') });
    await page.goBack();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  });
});
