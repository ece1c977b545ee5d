import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobOptions } from '../../src/api/schemas';
import { completeAudit, insertHost, insertJob, startAudit, trustHostKey, updateJob } from '../../src/db';
import type { Locator } from 'playwright-core';
import { launchApp, type E2eApp } from './harness';

/**
 * The dashboard's getting-started checklist over a real workspace that grows step by step, from
 * empty to patched: each step's state and counts, its one button, and audit never offered before
 * a credential exists (dashboard, Hosts page, host detail).
 */
let app: E2eApp;
beforeAll(async () => {
  app = await launchApp();
  fs.mkdirSync(path.resolve('test-results'), { recursive: true });
});
afterAll(async () => {
  await app?.close();
});

const checklist = () => app.page.getByRole('group', { name: 'Getting started' });
const step = (id: string) => checklist().locator(`li[data-step="${id}"]`);
const states = async () =>
  Object.fromEntries(
    await Promise.all(
      ['hosts', 'credential', 'keys', 'audit', 'patch'].map(
        async (id) => [id, await step(id).getAttribute('data-state')] as const,
      ),
    ),
  );
const inView = (locator: Locator) =>
  locator.evaluate((el) => {
    const box = el.getBoundingClientRect();
    return box.bottom > 0 && box.top < window.innerHeight;
  });
async function openDashboard(): Promise<void> {
  // Away and back: the dashboard reads the workspace again when it opens.
  await app.page.getByRole('link', { name: 'Updates' }).click();
  await app.page.getByRole('link', { name: 'Dashboard' }).click();
  await step('hosts').waitFor({ state: 'attached' });
}

describe('first-run checklist', () => {
  it('on an empty workspace: hosts come next, audit and patch are blocked and offer no button', async () => {
    const { page } = app;
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    await step('hosts').waitFor();
    expect(await checklist().evaluate((el) => (el as HTMLDetailsElement).open)).toBe(true);
    expect(await checklist().getByTestId('checklist-progress').textContent()).toBe('0 of 5 steps done');
    expect(await states()).toEqual({
      hosts: 'next',
      credential: 'todo',
      keys: 'blocked',
      audit: 'blocked',
      patch: 'blocked',
    });
    expect(await step('audit').textContent()).toContain('Needs hosts in the inventory first.');
    await expect(step('audit').getByRole('button').count()).resolves.toBe(0);
    await expect(step('patch').getByRole('button').count()).resolves.toBe(0);
    await page.screenshot({ path: path.resolve('test-results/first-run-empty.png') });
    await step('hosts').getByRole('button', { name: 'Discover hosts' }).click();
    await page.getByRole('heading', { name: 'Discover', level: 1 }).waitFor();
  });

  it('with hosts but no credential: audit is not offered anywhere, and the button leads to Settings', async () => {
    const { page, core } = app;
    const db = core.requireWorkspace().db;
    const a = insertHost(db, { name: 'office-pc1', address: '198.18.0.31' });
    insertHost(db, { name: 'office-pc2', address: '198.18.0.32' });
    await openDashboard();
    expect(await states()).toEqual({
      hosts: 'done',
      credential: 'next',
      keys: 'todo',
      audit: 'blocked',
      patch: 'blocked',
    });
    expect(await step('hosts').textContent()).toContain('2 hosts in the inventory.');
    expect(await step('keys').textContent()).toContain('0 of 2 hosts trusted, 2 not read yet.');
    expect(await step('audit').textContent()).toContain('Needs a credential first');
    await expect(step('audit').getByRole('button').count()).resolves.toBe(0);

    // The Hosts page offers no audit either, but says why and leads to the credential form.
    await page.getByRole('link', { name: 'Hosts' }).click();
    const row = page.getByRole('table', { name: 'Hosts' }).locator(`tr[data-host-id="${a.id}"]`);
    const note = page.getByRole('note', { name: 'No credential' });
    await note.waitFor();
    await expect(page.getByRole('button', { name: /^Audit all/ }).count()).resolves.toBe(0);
    expect(await row.getByRole('button', { name: 'Audit office-pc1' }).isDisabled()).toBe(true);
    await row.getByRole('link', { name: 'office-pc1', exact: true }).click();
    expect(await page.getByRole('button', { name: 'Audit this host' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'All hosts' }).click();
    await note.getByRole('button', { name: 'Add a credential' }).click();
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor();
    await expect.poll(() => inView(page.getByRole('heading', { name: 'Credentials' }))).toBe(true);

    await openDashboard();
    await step('credential').getByRole('button', { name: 'Add a credential' }).click();
    await page.getByRole('form', { name: 'Add credential' }).waitFor();
    // It opens Settings at the credential form, not at the theme far above it.
    await expect.poll(() => inView(page.getByRole('heading', { name: 'Credentials' }))).toBe(true);
    expect(await page.locator('main.content').evaluate((el) => el.scrollTop)).toBeGreaterThan(0);
  });

  it('offers audit once a credential exists, then patch once a host is audited; folds when all is done', async () => {
    const { page, core } = app;
    const db = core.requireWorkspace().db;
    await core.call('credentials.add', { name: 'office key', username: 'root', kind: 'agent' });
    await openDashboard();
    await expect
      .poll(() => states())
      .toEqual({
        hosts: 'done',
        credential: 'done',
        keys: 'next',
        audit: 'todo',
        patch: 'blocked',
      });
    expect(await step('credential').textContent()).toContain('1 credential saved.');
    await step('audit').getByRole('button', { name: 'Audit hosts' }).click();
    const auditAll = page.getByRole('button', { name: 'Audit all (2)' });
    await auditAll.waitFor();
    expect(await auditAll.isEnabled()).toBe(true);
    await expect(page.getByRole('note', { name: 'No credential' }).count()).resolves.toBe(0);

    const hosts = (await core.call('hosts.list', {})).filter((h) => h.inInventory);
    for (const [i, host] of hosts.entries())
      trustHostKey(db, {
        hostId: host.id,
        type: 'ssh-ed25519',
        fingerprint: `SHA256:${String(i).repeat(43)}`,
        actor: 'admin',
      });
    completeAudit(db, startAudit(db, { hostId: hosts[0]!.id, taskId: null }), {
      osId: 'debian',
      osName: 'Debian GNU/Linux',
      osVersion: '12',
      kernel: '6.1.0',
      packageManager: 'apt',
      metadataAgeSeconds: 60,
      rebootRequired: false,
      warnings: [],
      durationMs: 1,
      findings: [],
    });
    await openDashboard();
    await expect
      .poll(() => states())
      .toEqual({
        hosts: 'done',
        credential: 'done',
        keys: 'done',
        audit: 'done',
        patch: 'next',
      });
    expect(await step('keys').textContent()).toContain('2 of 2 hosts trusted.');
    expect(await step('audit').textContent()).toContain('1 of 2 hosts audited.');
    expect(await step('patch').textContent()).toContain('No patch job yet');

    const jobId = insertJob(db, {
      name: 'Patch office-pc1',
      selection: { mode: 'security' },
      rebootPolicy: 'never',
      onFailure: 'continue',
      concurrency: 4,
      options: JobOptions.parse({}),
      steps: [{ hostId: hosts[0]!.id, packages: [], packageManager: 'apt' }],
    });
    updateJob(db, jobId, { status: 'succeeded', finishedAt: new Date().toISOString() });
    await openDashboard();
    await expect
      .poll(() => checklist().getByTestId('checklist-progress').textContent())
      .toBe('all 5 steps done');
    // Folded to one line, and still there to open.
    expect(await checklist().evaluate((el) => (el as HTMLDetailsElement).open)).toBe(false);
    await checklist().locator('summary').click();
    expect(await step('patch').textContent()).toContain('1 patch job run: 1 succeeded, 0 failed.');
    await page.screenshot({ path: path.resolve('test-results/first-run-done.png') });
  });
});
