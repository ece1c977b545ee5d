import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeAudit, insertHost, startAudit, type FindingInput } from '../../src/db';
import { packageFinding } from '../../src/db/testing/audits';
import { launchApp, type E2eApp } from './harness';

/**
 * The Updates page in real Chromium over a small mixed fleet seeded into the real workspace
 * file: sortable columns, filters, search by advisory and CVE id, the "package on N hosts"
 * view, "Patch these" into the wizard, and the CSV export.
 */
let app: E2eApp;
const ids: Record<string, number> = {};
const HOSTILE = '=HYPERLINK("http://evil.example","click")';
const COMMA = 'pkg,"quoted"';

const f = (pkg: string, overrides: Partial<FindingInput> = {}): FindingInput =>
  packageFinding({
    package: pkg,
    arch: 'amd64',
    installedVersion: '1.0-1',
    availableVersion: '1.0-2',
    repository: 'bookworm-security',
    ...overrides,
  });
const debianOpenssl = (arch = 'amd64') =>
  f('openssl', {
    arch,
    installedVersion: '3.0.11-1~deb12u1',
    availableVersion: '3.0.13-1~deb12u1',
    security: true,
    severity: 'important',
    advisories: ['DSA-5600-1', 'CVE-2026-1111'],
  });

function seed(
  name: string,
  tags: string[],
  os: { osId: string; osName: string; osVersion: string; packageManager: string },
  findings: FindingInput[],
) {
  const db = app.core.requireWorkspace().db;
  const host = insertHost(db, { name, address: `198.18.0.${20 + Object.keys(ids).length}` });
  ids[name] = host.id;
  db.prepare('UPDATE hosts SET tags = ? WHERE id = ?').run(JSON.stringify(tags), host.id);
  const audit = startAudit(db, { hostId: host.id, taskId: null });
  completeAudit(db, audit, {
    ...os,
    kernel: null,
    metadataAgeSeconds: 60,
    rebootRequired: false,
    warnings: [],
    durationMs: 10,
    findings,
  });
}

const DEBIAN = { osId: 'debian', osName: 'Debian GNU/Linux', osVersion: '12', packageManager: 'apt' };
const ROCKY = { osId: 'rocky', osName: 'Rocky Linux', osVersion: '9.3', packageManager: 'dnf' };

beforeAll(async () => {
  app = await launchApp();
  fs.mkdirSync(path.resolve('test-results'), { recursive: true });
  seed('web01', ['web', 'office'], DEBIAN, [
    debianOpenssl(),
    f('tzdata', { arch: 'all', repository: 'bookworm-updates', availableVersion: '2026a-0+deb12u1' }),
    f(HOSTILE, { repository: 'bookworm-updates' }),
    f(COMMA, { repository: 'bookworm-updates' }),
  ]);
  seed('web02', ['web'], DEBIAN, [
    debianOpenssl(),
    f('tzdata', { arch: 'all', repository: 'bookworm-updates', availableVersion: '2026a-0+deb12u1' }),
  ]);
  seed('mail01', ['office'], DEBIAN, [debianOpenssl('amd64'), debianOpenssl('i386')]);
  seed('db01', ['db'], ROCKY, [
    f('openssl', {
      arch: 'x86_64',
      installedVersion: '1:3.0.7-24.el9',
      availableVersion: '1:3.0.7-25.el9',
      repository: 'baseos',
      security: true,
      severity: 'critical',
      advisories: ['RHSA-2026:0101', 'CVE-2026-2222'],
    }),
    f('kernel', { arch: 'x86_64', repository: 'baseos', availableVersion: '5.14.0-362.24.1.el9_3' }),
  ]);
}, 60_000);
afterAll(async () => {
  await app?.close();
});

const rowsOf = () => app.page.getByRole('table', { name: 'Updates' }).locator('[data-finding-id]');
const total = () => app.page.getByTestId('total-updates').textContent();
/** "host package arch" of each row on screen, in order. */
async function rowSummaries(): Promise<string[]> {
  await rowsOf().first().waitFor();
  return rowsOf().evaluateAll((rows) =>
    rows.map((row) =>
      ['.cell-host', '.cell-package', '.cell-arch']
        .map((c) => row.querySelector(c)?.textContent?.trim() ?? '?')
        .join(' '),
    ),
  );
}

describe('the Updates page', () => {
  it('By package shows every row its package name, with the architecture in a column of its own', async () => {
    const { page } = app;
    await page.getByRole('link', { name: 'Updates' }).click();
    await expect.poll(total).toBe('10');
    await page.getByLabel('Order').selectOption('package');
    const cells = rowsOf().locator('.cell-package');
    await expect.poll(() => cells.first().textContent()).toMatch(/^=HYPERLINK/);
    const openssl = await cells.evaluateAll((els) =>
      els
        .filter((el) => el.textContent?.startsWith('openssl'))
        .map((el) => ({ text: el.textContent, color: getComputedStyle(el).color })),
    );
    // Five openssl rows in a run: none blanked, none with ":amd64" glued to the name.
    expect(openssl).toHaveLength(5);
    for (const cell of openssl) {
      expect(cell.text).toBe('openssl');
      expect(cell.color).not.toMatch(/rgba\(0, 0, 0, 0\)|transparent/);
    }
    const summaries = await rowSummaries();
    expect(summaries.filter((s) => s.includes(' openssl '))).toEqual([
      'db01 openssl x86_64',
      'mail01 openssl amd64',
      'mail01 openssl i386',
      'web01 openssl amd64',
      'web02 openssl amd64',
    ]);
    expect(summaries).toContain('web01 tzdata all');
  });

  it('sorts by a column header, both ways', async () => {
    const { page } = app;
    const header = (name: string) => page.getByRole('columnheader', { name, exact: true });
    await page.getByRole('button', { name: 'Host', exact: true }).click();
    await expect.poll(() => header('Host').getAttribute('aria-sort')).toBe('ascending');
    await expect.poll(async () => (await rowSummaries())[0]).toBe('db01 openssl x86_64');
    await page.getByRole('button', { name: 'Host', exact: true }).click();
    await expect.poll(() => header('Host').getAttribute('aria-sort')).toBe('descending');
    await expect.poll(async () => (await rowSummaries())[0]).toMatch(/^web02 /);
    expect(await header('Package').getAttribute('aria-sort')).toBe('none');

    await page.getByRole('button', { name: 'Repository', exact: true }).click();
    await expect.poll(() => header('Repository').getAttribute('aria-sort')).toBe('ascending');
    const repos = () =>
      rowsOf().evaluateAll((rows) => rows.map((r) => r.querySelector('.cell-repo')?.textContent));
    await expect.poll(async () => (await repos()).slice(0, 2)).toEqual(['baseos', 'baseos']);

    await page.getByRole('button', { name: 'Security', exact: true }).click();
    await expect.poll(async () => (await rowSummaries())[0]).toBe('db01 openssl x86_64');
    expect(await rowsOf().first().textContent()).toContain('critical');
    await page.getByRole('button', { name: 'Security', exact: true }).click();
    await expect.poll(() => header('Security').getAttribute('aria-sort')).toBe('descending');
    await expect.poll(async () => rowsOf().first().textContent()).not.toContain('security');
  });

  it('filters by severity, OS, repository, host and tag', async () => {
    const { page } = app;
    const filters = page.getByRole('group', { name: 'Filters' });
    await filters.getByLabel('Severity', { exact: true }).selectOption('critical');
    await expect.poll(total).toBe('1');
    expect(await rowSummaries()).toEqual(['db01 openssl x86_64']);
    await filters.getByLabel('Severity', { exact: true }).selectOption('');

    await filters.getByLabel('OS', { exact: true }).selectOption('Rocky Linux 9.3');
    await expect.poll(total).toBe('2');
    expect((await rowSummaries()).every((s) => s.startsWith('db01 '))).toBe(true);
    await filters.getByLabel('OS', { exact: true }).selectOption('Debian GNU/Linux 12');
    await expect.poll(total).toBe('8');
    await filters.getByLabel('OS', { exact: true }).selectOption('');

    await filters.getByLabel('Repository', { exact: true }).selectOption('bookworm-updates');
    await expect.poll(total).toBe('4');
    await filters.getByLabel('Repository', { exact: true }).selectOption('');

    await filters.getByLabel('Host', { exact: true }).selectOption({ label: 'mail01' });
    await expect.poll(total).toBe('2');
    expect(await rowSummaries()).toEqual(['mail01 openssl amd64', 'mail01 openssl i386']);
    await filters.getByLabel('Host', { exact: true }).selectOption('');

    await filters.getByLabel('Tag', { exact: true }).selectOption('web');
    await expect.poll(total).toBe('6');
    expect((await rowSummaries()).every((s) => /^web0[12] /.test(s))).toBe(true);
    // Filters combine.
    await filters.getByLabel('Security updates only').check();
    await expect.poll(total).toBe('2');
    expect(await page.getByTestId('hosts-with-updates').textContent()).toBe('2');
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await expect.poll(total).toBe('10');
    expect(await filters.getByLabel('Tag', { exact: true }).inputValue()).toBe('');
    expect(await filters.getByLabel('Security updates only').isChecked()).toBe(false);
  });

  it('searches advisory and CVE ids as well as package and host names', async () => {
    const { page } = app;
    const search = page.getByRole('searchbox', { name: 'Search updates' });
    await search.fill('CVE-2026-2222');
    await expect.poll(total).toBe('1');
    expect(await rowSummaries()).toEqual(['db01 openssl x86_64']);
    await search.fill('dsa-5600-1');
    await expect.poll(total).toBe('4');
    await search.fill('RHSA-2026:0101');
    await expect.poll(total).toBe('1');
    await search.fill('CVE-2026-1111');
    await expect.poll(total).toBe('4');
    expect((await rowSummaries()).every((s) => s.includes(' openssl '))).toBe(true);
    await search.fill('');
    await expect.poll(total).toBe('10');
  });

  it('groups by package: one row per package with the hosts it is pending on, in light and dark', async () => {
    const { page, core } = app;
    await page.getByLabel('Show').selectOption('packages');
    const table = page.getByRole('table', { name: 'Updates by package' });
    const row = (name: string) => table.locator(`[data-package="${name}"]`);
    await row('openssl').waitFor();
    await expect.poll(() => page.getByTestId('packages-with-updates').textContent()).toBe('5');
    expect(await total()).toBe('10');
    expect(await row('openssl').locator('.cell-hosts').textContent()).toBe('on 4 hosts');
    expect(await row('openssl').locator('.cell-arch').textContent()).toBe('amd64, i386, x86_64');
    expect(await row('openssl').locator('.cell-package').textContent()).toBe('openssl');
    expect(await row('openssl').textContent()).toContain('critical');
    expect(await row('openssl').locator('.cell-advisories').textContent()).toBe(
      'CVE-2026-1111, CVE-2026-2222, DSA-5600-1, RHSA-2026:0101',
    );
    expect(await row('tzdata').locator('.cell-hosts').textContent()).toBe('on 2 hosts');
    expect(await row('tzdata').locator('.cell-arch').textContent()).toBe('all');
    expect(await row('tzdata').locator('.cell-version').textContent()).toBe('2026a-0+deb12u1');
    // The filters apply before grouping.
    await page
      .getByRole('group', { name: 'Filters' })
      .getByLabel('Tag', { exact: true })
      .selectOption('office');
    await expect.poll(() => row('openssl').locator('.cell-hosts').textContent()).toBe('on 2 hosts');
    await expect.poll(() => row('tzdata').locator('.cell-hosts').textContent()).toBe('on 1 host');
    await page.getByRole('group', { name: 'Filters' }).getByLabel('Tag', { exact: true }).selectOption('');
    await page.getByRole('button', { name: 'Hosts', exact: true }).click();
    await expect
      .poll(() => table.locator('[data-package]').first().getAttribute('data-package'))
      .toBe('openssl');
    await expect.poll(() => row('openssl').locator('.cell-hosts').textContent()).toBe('on 4 hosts');
    await page.screenshot({ path: path.resolve('test-results/updates-by-package.png'), fullPage: true });
    // The theme as an admin sets it, in Settings; the Updates page keeps its view meanwhile.
    const theme = async (value: 'dark' | 'light') => {
      await page.getByRole('link', { name: 'Settings' }).click();
      await page.getByLabel('Theme').selectOption(value);
      await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe(value);
      await expect.poll(async () => (await core.call('settings.get', {})).theme).toBe(value);
      await page.getByRole('link', { name: 'Updates' }).click();
    };
    await theme('dark');
    await table.locator('[data-package="openssl"]').waitFor();
    await page.screenshot({ path: path.resolve('test-results/updates-by-package-dark.png'), fullPage: true });
    await theme('light');
  });

  it('"Patch these" opens the patch wizard with the selected hosts and packages chosen', async () => {
    const { page } = app;
    await page.getByRole('link', { name: 'Updates' }).click();
    await page.getByLabel('Show').selectOption('packages');
    await page
      .getByRole('table', { name: 'Updates by package' })
      .locator('[data-package="tzdata"]')
      .waitFor();
    expect(await page.getByRole('button', { name: 'Patch these' }).isDisabled()).toBe(true);
    await page.getByRole('checkbox', { name: 'Select tzdata on 2 hosts' }).check();
    await page.getByRole('checkbox', { name: 'Select kernel on 1 host' }).check();
    expect(await page.getByTestId('selected-count').textContent()).toBe(
      '2 rows selected: 2 packages on 3 hosts',
    );
    await page.getByRole('button', { name: 'Patch these' }).click();

    const wizard = page.getByRole('region', { name: 'New patch job' });
    await wizard.waitFor();
    await expect.poll(() => page.evaluate(() => window.location.hash)).toBe('#/jobs');
    const hosts = wizard.getByRole('table', { name: 'Hosts to patch' });
    const checked = async () => {
      const result: Record<string, boolean> = {};
      for (const name of ['web01', 'web02', 'db01', 'mail01'])
        result[name] = await hosts.getByRole('checkbox', { name: `Patch ${name}` }).isChecked();
      return result;
    };
    await expect.poll(checked).toEqual({ web01: true, web02: true, db01: true, mail01: false });
    expect(await wizard.getByRole('radio', { name: 'Chosen packages' }).isChecked()).toBe(true);
    const chosenPackages = () =>
      wizard
        .getByRole('list', { name: 'Packages to patch' })
        .getByRole('checkbox')
        .evaluateAll((boxes) =>
          boxes
            .filter((b) => (b as HTMLInputElement).checked)
            .map((b) => b.closest('label')?.querySelector('.mono')?.textContent)
            .sort(),
        );
    await expect.poll(chosenPackages).toEqual(['kernel', 'tzdata']);
    await page.screenshot({
      path: path.resolve('test-results/updates-patch-these-wizard.png'),
      fullPage: true,
    });
    await wizard.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('button', { name: 'New patch job' }).waitFor();

    // From the list of each update: exactly that host and that package.
    await page.getByRole('link', { name: 'Updates' }).click();
    await page.getByLabel('Show').selectOption('updates');
    await page.getByRole('checkbox', { name: 'Select openssl amd64 on mail01' }).check();
    await page.getByRole('button', { name: 'Patch these' }).click();
    await wizard.waitFor();
    await expect.poll(checked).toEqual({ web01: false, web02: false, db01: false, mail01: true });
    await expect.poll(chosenPackages).toEqual(['openssl']);
    await wizard.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('button', { name: 'New patch job' }).waitFor();
  });

  it('exports what is filtered as CSV, every cell quoted and no cell a formula', async () => {
    const { page } = app;
    await page.getByRole('link', { name: 'Updates' }).click();
    await page.getByLabel('Show').selectOption('updates');
    await page
      .getByRole('group', { name: 'Filters' })
      .getByLabel('Tag', { exact: true })
      .selectOption('office');
    await expect.poll(total).toBe('6');
    await page.getByLabel('Order').selectOption('host');
    await expect.poll(async () => (await rowSummaries())[0]).toMatch(/^mail01 /);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Export CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^patchdeck-updates-\d{4}-\d\d-\d\d\.csv$/);
    const text = fs.readFileSync((await download.path())!, 'utf8');
    const lines = text.split('\r\n');
    expect(lines.at(-1)).toBe('');
    expect(lines[0]).toBe(
      '"Host","Address","OS","Package","Arch","Kind","Installed","Available","Repository","Security","Severity","Vendor severity","Advisories","Held","Reboot required","Tier","Due","CVEs","Known exploited","EPSS"',
    );
    expect(lines).toHaveLength(1 + 6 + 1);
    const body = lines.slice(1, -1);
    expect(body.every((l) => /^"(mail01|web01)",/.test(l))).toBe(true);
    expect(body[0]).toMatch(
      /^"mail01","198\.18\.0\.\d+","Debian GNU\/Linux 12","openssl","amd64","package","3\.0\.11-1~deb12u1","3\.0\.13-1~deb12u1","bookworm-security","yes","important","","DSA-5600-1 CVE-2026-1111","no","","","","","no",""$/,
    );
    // The hostile name is text: an apostrophe first, quotes doubled.
    expect(text).toContain(`"'=HYPERLINK(""http://evil.example"",""click"")"`);
    expect(text).toContain(`"pkg,""quoted"""`);
    for (const line of body)
      for (const cell of line.slice(1, -1).split('","')) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
    await page.getByText('Exported 6 updates as CSV.').waitFor();
  });
});

describe('the Updates page at scale', () => {
  let big: E2eApp;
  const HOSTS = 50;
  const PACKAGES = 2000; // 100 000 findings, 2 000 packages
  beforeAll(async () => {
    big = await launchApp();
    const db = big.core.requireWorkspace().db;
    db.transaction(() => {
      for (let h = 0; h < HOSTS; h++) {
        const host = insertHost(db, { name: `srv${String(h).padStart(2, '0')}` });
        const audit = startAudit(db, { hostId: host.id, taskId: null });
        const findings: FindingInput[] = [];
        // Package i is pending on the hosts h <= i % HOSTS, so counts differ from package to package.
        for (let i = 0; i < PACKAGES; i++)
          if (h <= i % HOSTS)
            findings.push(
              f(`pkg-${String(i).padStart(4, '0')}`, {
                security: i % 5 === 0,
                advisories: i % 5 === 0 ? [`CVE-2026-${10000 + i}`] : [],
              }),
            );
        completeAudit(db, audit, {
          ...DEBIAN,
          kernel: null,
          metadataAgeSeconds: 1,
          rebootRequired: false,
          warnings: [],
          durationMs: 1,
          findings,
        });
      }
    })();
  }, 120_000);
  afterAll(async () => {
    await big?.close();
  });

  it('groups tens of thousands of findings by package in a virtualized list that pages as it scrolls', async () => {
    const { page } = big;
    // Package i is on (i % 50) + 1 hosts: 40 rounds of 1 + 2 + … + 50.
    const findings = (PACKAGES / HOSTS) * ((HOSTS * (HOSTS + 1)) / 2);
    await page.getByRole('link', { name: 'Updates' }).click();
    await expect
      .poll(() => page.getByTestId('total-updates').textContent())
      .toBe(findings.toLocaleString('en'));
    await page.getByLabel('Show').selectOption('packages');
    await expect.poll(() => page.getByTestId('packages-with-updates').textContent()).toBe('2,000');
    const table = page.getByRole('table', { name: 'Updates by package' });
    expect(await table.getAttribute('aria-rowcount')).toBe('2001');
    await page.getByRole('button', { name: 'Hosts', exact: true }).click();
    await expect
      .poll(() => table.locator('[aria-rowindex="2"] .cell-hosts').textContent())
      .toBe('on 50 hosts');
    const scroller = page.getByRole('rowgroup', { name: 'Update rows' });
    await scroller.evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
    await expect
      .poll(() => table.locator('[aria-rowindex="2001"] .cell-hosts').textContent())
      .toBe('on 1 host');
    expect(await table.getByRole('row').count()).toBeLessThan(120);
    // Search by CVE id reaches into the grouped rows too.
    await page.getByRole('searchbox', { name: 'Search updates' }).fill('CVE-2026-11995');
    await expect.poll(() => page.getByTestId('packages-with-updates').textContent()).toBe('1');
    expect(await table.locator('[data-package]').first().getAttribute('data-package')).toBe('pkg-1995');
    expect(await table.locator('[data-package="pkg-1995"] .cell-hosts').textContent()).toBe('on 46 hosts');
  });

  it('the virtualised list of each update counts every row and shows at any depth the rows the API returns there', async () => {
    const { page, core } = big;
    await page.getByRole('link', { name: 'Updates' }).click();
    await page.getByRole('searchbox', { name: 'Search updates' }).fill('');
    await page.getByLabel('Show').selectOption('updates');
    await page.getByLabel('Order').selectOption('package');
    const table = page.getByRole('table', { name: 'Updates' });
    const api = async (offset: number) =>
      (await core.call('findings.query', { offset, limit: 1, sort: 'package', direction: 'asc' })).rows[0]!;
    const { total } = await core.call('findings.query', { offset: 0, limit: 1, sort: 'package' });
    expect(total).toBe(51_000);
    await expect.poll(() => table.getAttribute('aria-rowcount')).toBe(String(total + 1));
    const scroller = page.getByRole('rowgroup', { name: 'Update rows' });
    /** The row at 0-based `index`, once loaded: its finding id, host and package. */
    const rowAt = async (index: number) => {
      const row = table.locator(`[aria-rowindex="${index + 2}"][data-finding-id]`);
      await row.waitFor({ timeout: 15_000 });
      return {
        id: Number(await row.getAttribute('data-finding-id')),
        host: await row.locator('.cell-host').textContent(),
        package: await row.locator('.cell-package').textContent(),
      };
    };
    for (const index of [0, 25_017, total - 1]) {
      // Row `index` sits at index × 36 px (fixed row height); scroll it to the top of the view.
      await scroller.evaluate((el, top) => el.scrollTo({ top }), index * 36);
      const expected = await api(index);
      expect(await rowAt(index)).toEqual({
        id: expected.id,
        host: expected.hostName,
        package: expected.package,
      });
      // Only the rows in view and a few either side are in the DOM, each counted in order.
      const indexes = await table
        .locator('[role="row"][aria-rowindex]')
        .evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('aria-rowindex'))));
      expect(indexes.length).toBeLessThan(120);
      expect(indexes.slice(1)).toEqual(indexes.slice(1).map((_, i) => indexes[1]! + i));
      expect(indexes.slice(1)).toContain(index + 2);
    }
    // The very last row is the API's last one, and nothing is below it.
    expect(await table.locator(`[aria-rowindex="${total + 2}"]`).count()).toBe(0);
    // A word typed without pauses ends on the answer to the whole word, not to a prefix.
    await page.getByRole('searchbox', { name: 'Search updates' }).pressSequentially('pkg-1995');
    const answer = await core.call('findings.query', {
      offset: 0,
      limit: 1,
      sort: 'package',
      search: 'pkg-1995',
    });
    await expect
      .poll(() => page.getByTestId('total-updates').textContent())
      .toBe(answer.total.toLocaleString('en'));
    expect((await rowAt(0)).id).toBe(answer.rows[0]!.id);
    await expect.poll(() => table.getAttribute('aria-rowcount')).toBe(String(answer.total + 1));
  });
});
