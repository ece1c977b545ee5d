import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execOnHost, labStatus, labUp, resetHost, type LabInventory } from '../lab';
import { describeAsRoot } from '../lab/testkit';
import { launchApp, type E2eApp } from '../e2e/harness';
import { assertLabRoute, enrolLab, waitForTask } from './support';

/**
 * The patch wizard and the Jobs page end to end: real Chromium, the real browser carrier, real
 * lab hosts over SSH with real apt. The outcome is checked with a fresh audit, not with what the
 * page or the job says.
 */
const shot = (name: string): string => path.resolve('test-results', name);

describeAsRoot('patching lab hosts from the wizard in Chromium', () => {
  let lab: LabInventory;
  let app: E2eApp;
  let ids: Map<string, number>;

  const securityPending = async (hostId: number): Promise<string[]> =>
    (await app.core.call('findings.query', { hostId, securityOnly: true, limit: 1000 })).rows
      .filter((f) => f.installedVersion !== null)
      .map((f) => f.package)
      .sort();

  const auditAll = async (): Promise<void> => {
    assertLabRoute(lab);
    const { taskId } = await app.core.call('audits.start', { hostIds: [...ids.values()] });
    expect((await waitForTask(app.core, taskId)).status).toBe('succeeded');
  };

  beforeAll(async () => {
    lab = await labUp({ hosts: 2, profile: 'security' });
    for (const host of lab.hosts) await resetHost(host.name);
    lab = labStatus();
    assertLabRoute(lab);
    app = await launchApp();
    fs.mkdirSync(path.resolve('test-results'), { recursive: true });
    await app.page.setViewportSize({ width: 1400, height: 1100 });
    ids = await enrolLab(app.core, lab);
    // One host already waits for a reboot (an earlier update): the wizard must say what happens to it.
    await execOnHost(lab.hosts[0]!.name, [
      'sh',
      '-c',
      'echo "*** System restart required ***" > /run/reboot-required',
    ]);
    await auditAll();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('select hosts, security only, review the dry run, reboot never, confirm: the job succeeds live and a re-audit finds no security update left', async () => {
    const { page, core } = app;
    const names = lab.hosts.map((h) => h.name);
    for (const name of names)
      expect(await securityPending(ids.get(name)!)).toEqual(['acme-firmware', 'acme-tool']);

    await page.getByRole('link', { name: 'Patch jobs' }).click();
    await page.getByRole('button', { name: 'New patch job' }).click();
    const wizard = page.getByRole('region', { name: 'New patch job' });
    for (const name of names) await wizard.getByLabel(`Patch ${name}`).check();
    await wizard.getByLabel('Security updates only').check();
    await wizard.getByRole('button', { name: 'Review dry run' }).click();

    // The dry run on each host, as the host's own apt says it.
    for (const name of names) {
      const preview = wizard.getByRole('article', { name: `Dry run on ${name}` });
      await preview.getByText('will change').waitFor({ timeout: 120_000 });
      const changes = preview.getByRole('table', { name: `Changes on ${name}` });
      for (const pkg of ['acme-tool', 'acme-firmware'])
        await changes.getByRole('row', { name: new RegExp(`^${pkg} `) }).waitFor();
      expect(await changes.getByRole('row', { name: /acme-lib/ }).count()).toBe(0);
    }
    await page.screenshot({ path: shot('jobs-lab-review.png'), fullPage: true });
    await wizard.getByRole('button', { name: 'Next: schedule and reboot' }).click();
    const note = wizard.getByTestId('pending-reboot-note');
    await wizard.getByLabel(/Reboot: If required/).check();
    await expect(note.textContent()).resolves.toBe(
      `1 selected host is already waiting for a reboot (${names[0]}): they reboot before installing.`,
    );
    await wizard.getByLabel(/Reboot: Never/).check();
    await expect(note.textContent()).resolves.toBe(
      `1 selected host is already waiting for a reboot (${names[0]}): with “Never” they are patched without it.`,
    );
    await wizard.getByLabel('Now', { exact: true }).check();
    await wizard.getByRole('button', { name: 'Next: confirm' }).click();
    // Settings say "if required": the plan is made again with "never"; same dry run, so no second review.
    const approve = wizard.getByRole('button', { name: 'Approve and start' });
    await approve.waitFor({ timeout: 120_000 });
    await wizard.getByText(`2 hosts: ${names.join(', ')}`).waitFor();
    await page.screenshot({ path: shot('jobs-lab-confirm.png'), fullPage: true });
    await approve.click();

    // The Jobs page follows the run: log lines arrive while the job is running.
    await expect
      .poll(async () => (await core.call('jobs.list', {})).some((j) => j.approvedBy !== null), {
        timeout: 30_000,
      })
      .toBe(true);
    const job = (await core.call('jobs.list', {})).find((j) => j.approvedBy !== null)!;
    expect(job.rebootPolicy).toBe('never');
    expect(job.selection).toEqual({ mode: 'security' });
    const detail = page.getByRole('region', { name: `Job ${job.id}` });
    await detail.waitFor();
    const badge = detail.locator('.detail-head .badge');
    const lines = detail.getByRole('log', { name: 'Log lines' }).locator('.log-line');
    let linesWhileRunning = 0;
    const deadline = Date.now() + 240_000;
    for (;;) {
      const status = await badge.textContent();
      if (status === 'running') linesWhileRunning = Math.max(linesWhileRunning, await lines.count());
      if (['succeeded', 'installed, reboot pending', 'failed', 'cancelled'].includes(status ?? '')) break;
      if (Date.now() > deadline) throw new Error(`job ${job.id} still ${status}`);
      await page.waitForTimeout(100);
    }
    // The verdict is on the page; the audit that refreshes the hosts' findings follows it in the
    // same task, and writes its own lines to the job's log.
    await waitForTask(core, (await core.call('jobs.get', { id: job.id })).job.taskId!);
    const final = await core.call('jobs.get', { id: job.id });
    expect(
      final.job.status,
      JSON.stringify(final.steps.map((s) => [s.hostName, s.status, s.errorKind, s.errorMessage])),
    ).toBe('succeeded');
    // Reboot "never": the hosts are patched and wait for their reboot, so the job does not read "succeeded".
    await expect(badge.textContent()).resolves.toBe('installed, reboot pending');
    expect(linesWhileRunning).toBeGreaterThan(0);
    await expect.poll(() => lines.count()).toBe(final.log.length);

    for (const name of names) {
      const host = detail.getByRole('listitem', { name });
      const bar = host.getByRole('progressbar', { name: `${name} progress` });
      // acme-firmware asks for a reboot and the policy is "never": installed, not "succeeded".
      await expect(bar.getAttribute('aria-valuetext')).resolves.toBe(
        'installed, verified; waits for a reboot',
      );
      await host.locator('.badge', { hasText: 'installed, reboot pending' }).waitFor();
      await host.getByText(/Versions before → after/).click();
      const versions = host.getByRole('table', { name: `Versions on ${name}` });
      await versions.getByRole('row', { name: /^acme-tool 1\.0-1 1\.0-1\+deb12u1$/ }).waitFor();
      const step = final.steps.find((s) => s.hostName === name)!;
      expect(step.undoRecipe).toBeTruthy();
      await expect(host.getByLabel(`Undo recipe for ${name}`, { exact: true }).textContent()).resolves.toBe(
        step.undoRecipe,
      );
    }
    await page.screenshot({ path: shot('jobs-lab-succeeded.png'), fullPage: true });

    // Proof from the hosts themselves: a fresh audit finds no security update left.
    await auditAll();
    for (const name of names) expect(await securityPending(ids.get(name)!)).toEqual([]);
  });
});
