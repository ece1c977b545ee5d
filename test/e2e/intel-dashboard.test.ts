import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeAudit, insertHost, startAudit, type FindingInput } from '../../src/db';
import { packageFinding } from '../../src/db/testing/audits';
import { launchApp, type E2eApp } from './harness';

/**
 * Issue 13 in the window, in real Chromium over the real core: two AlmaLinux 9 hosts with pending
 * updates, then the real KEV catalogue, EPSS scores and three real ALSA advisories imported from
 * Settings → Advisories (the browser's file upload). The dashboard must show exactly what
 * dashboard.exposure answers (and what the files say); the Updates page's risk columns, filters
 * and risk sort must follow the snapshot; the evidence opens in one click and an exception added
 * there shows on the row and in the Exceptions list.
 */
const FIXTURES = path.resolve('test/fixtures/advisories');
const KEV = path.join(FIXTURES, 'kev/known_exploited_vulnerabilities.json');
const EPSS = path.join(FIXTURES, 'epss/epss_scores-2026-08-16.csv.gz');
const OSV_DIR = path.join(FIXTURES, 'osv-almalinux/almalinux9');
/** libwebp (CVE-2023-4863, known exploited), squid (Critical, three CVEs), grafana (Critical, one CVE). */
const OSV = ['ALSA-2023:5214.json', 'ALSA-2023:6266.json', 'ALSA-2023:4030.json'].map((f) =>
  path.join(OSV_DIR, f),
);
const SHOTS = path.resolve('test-results');

let app: E2eApp;
const hostIds: Record<string, number> = {};

interface OsvFacts {
  id: string;
  cves: string[];
  fixed: Map<string, string>;
}
function osvFacts(file: string): OsvFacts {
  const record = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    id: string;
    related?: string[];
    affected: { package: { name: string }; ranges: { events: { fixed?: string }[] }[] }[];
  };
  const fixed = new Map<string, string>();
  for (const a of record.affected)
    for (const r of a.ranges) for (const e of r.events) if (e.fixed) fixed.set(a.package.name, e.fixed);
  return { id: record.id, cves: [...(record.related ?? [])].sort(), fixed };
}

/** The EPSS scores of these CVEs as FIRST's file gives them. */
function epssOf(cves: string[]): Map<string, number> {
  const wanted = new Set(cves);
  const found = new Map<string, number>();
  for (const line of zlib.gunzipSync(fs.readFileSync(EPSS)).toString('utf8').split('\n')) {
    const [cve, score] = line.split(',');
    if (cve && wanted.has(cve)) found.set(cve, Number(score));
  }
  return found;
}
/** A score as the window shows it: a percentage cut to one decimal, never rounded up. */
const percent = (score: number): string => `${(Math.floor(score * 1000) / 10).toFixed(1)}%`;

const alma = (pkg: string, installed: string, available: string, extra: Partial<FindingInput> = {}) =>
  packageFinding({
    package: pkg,
    arch: 'x86_64',
    installedVersion: installed,
    availableVersion: available,
    repository: 'appstream',
    security: true,
    severity: 'important',
    ...extra,
  });

function seed(name: string, findings: FindingInput[]): void {
  const db = app.core.requireWorkspace().db;
  const host = insertHost(db, { name, address: `198.18.0.${60 + Object.keys(hostIds).length}` });
  hostIds[name] = host.id;
  const audit = startAudit(db, { hostId: host.id, taskId: null });
  completeAudit(db, audit, {
    osId: 'almalinux',
    osName: 'AlmaLinux',
    osVersion: '9.4',
    packageManager: 'dnf',
    kernel: null,
    metadataAgeSeconds: 60,
    rebootRequired: false,
    warnings: [],
    durationMs: 10,
    findings,
  });
}

let libwebp: OsvFacts;
let squid: OsvFacts;
let grafana: OsvFacts;

beforeAll(async () => {
  for (const file of [KEV, EPSS, ...OSV])
    if (!fs.existsSync(file))
      throw new Error(
        `${file} is missing: the advisory fixtures are copied from ../shared (see its README.md).`,
      );
  [libwebp, squid, grafana] = OSV.map(osvFacts) as [OsvFacts, OsvFacts, OsvFacts];
  app = await launchApp();
  // The pages scroll inside the shell, so screenshots see one viewport: make it hold whole pages.
  await app.page.setViewportSize({ width: 1440, height: 2000 });
  fs.mkdirSync(SHOTS, { recursive: true });
  const webpFixed = libwebp.fixed.get('libwebp')!;
  seed('alma01', [
    alma('libwebp', '1.2.0-6.el9_1', webpFixed),
    alma('squid', '7:5.5-5.el9_2', squid.fixed.get('squid')!, { severity: 'critical' }),
    alma('grafana', '9.0.9-2.el9', grafana.fixed.get('grafana')!, { severity: 'critical' }),
    // A security update no imported advisory names: rated by the package manager only.
    alma('zlib', '1.2.11-40.el9', '1.2.11-41.el9', { severity: 'moderate' }),
    alma('tzdata', '2024a-1.el9', '2024b-1.el9', { security: false, severity: null }),
  ]);
  seed('alma02', [alma('libwebp', '1.2.0-6.el9_1', webpFixed)]);
}, 60_000);

afterAll(async () => {
  await app?.close();
});

/** The number on a dashboard card, by its label. */
async function card(label: string): Promise<number> {
  const text = await app.page
    .getByRole('group', { name: label, exact: true })
    .locator('.card-figure')
    .textContent();
  return Number((text ?? '').replace(/,/g, ''));
}

describe('advisories, risk and exceptions in the window', () => {
  it('says plainly that no advisories are imported and points to Settings → Advisories', async () => {
    const { page } = app;
    await page.getByRole('link', { name: 'Updates' }).click();
    const note = page.getByRole('note', { name: 'No advisories imported' });
    await note.waitFor();
    expect(await note.textContent()).toContain('Settings → Advisories');
    expect(await note.textContent()).not.toMatch(/patchdeck |npm /);
    await note.getByRole('button', { name: 'Settings → Advisories' }).click();
    await page
      .getByRole('region', { name: 'Advisories' })
      .getByRole('heading', { name: 'Advisories' })
      .waitFor();
    expect(await page.evaluate(() => window.location.hash)).toBe('#/settings');
  });

  it('imports the real feed files and shows each with its date and age in Settings → Advisories', async () => {
    const { page } = app;
    const section = page.getByRole('region', { name: 'Advisories' });
    const upload = section.getByLabel('Advisory files to import');
    // The real KEV catalogue (1.2 MB) and EPSS scores (2.7 MB), each bigger than one API message
    // (1 MiB), uploaded through the page: streamed to the carrier's upload route, then imported by id.
    expect(fs.statSync(KEV).size).toBeGreaterThan(1024 * 1024);
    expect(fs.statSync(EPSS).size).toBeGreaterThan(1024 * 1024);
    await upload.setInputFiles([KEV, EPSS]);
    const status = section.getByRole('status');
    await expect.poll(() => status.textContent(), { timeout: 60_000 }).toMatch(/^Import succeeded/);
    const afterFeeds = await app.core.call('advisories.status', {});
    expect(afterFeeds.counts.kev).toBe(
      (JSON.parse(fs.readFileSync(KEV, 'utf8')) as { vulnerabilities: unknown[] }).vulnerabilities.length,
    );
    expect(afterFeeds.feeds.map((f) => f.fileName).sort()).toEqual([path.basename(EPSS), path.basename(KEV)]);
    // The uploads were deleted once imported.
    expect(app.core.uploads.pending).toBe(0);
    // Then the OSV records, uploaded the same way.
    await upload.setInputFiles(OSV);
    await expect
      .poll(async () => (await app.core.call('advisories.status', {})).counts.advisories, { timeout: 60_000 })
      .toBe(OSV.length);
    await expect.poll(() => status.textContent(), { timeout: 60_000 }).toMatch(/^Import succeeded/);
    const feeds = section.getByRole('table', { name: 'Advisory feeds' });
    await feeds.locator('[data-feed="kev"]').waitFor();
    expect(await feeds.locator('[data-feed="kev"]').textContent()).toContain('2025-08-25');
    expect(await feeds.locator('[data-feed="epss"]').textContent()).toContain('2026-08-16');
    const answer = await app.core.call('advisories.status', {});
    for (const f of answer.feeds) {
      const row = feeds.locator(`tr:has-text("${f.fileName}")`).first();
      expect(await row.textContent()).toContain(`${f.ageDays.toLocaleString('en')} day`);
      expect(await row.textContent()).toContain(f.sha256.slice(0, 12));
      if (f.stale) expect(await row.textContent()).toContain('stale');
    }
    // The KEV catalogue is a year old: the window warns, as advisories.status does.
    for (const w of answer.warnings)
      expect(await section.getByRole('list', { name: 'Advisory warnings' }).textContent()).toContain(w);
    await page.screenshot({ path: path.join(SHOTS, 'intel-settings-advisories.png'), fullPage: true });
  });

  it('the dashboard shows the figures dashboard.exposure answers, and they are what the files say', async () => {
    const { page } = app;
    await page.getByRole('link', { name: 'Dashboard' }).click();
    const exposure = await app.core.call('dashboard.exposure', {});
    // Ground truth from the files: libwebp fixes CVE-2023-4863 (in KEV) on both hosts; squid and
    // grafana are rated Critical by AlmaLinux; zlib has no advisory, so its moderate rating stands.
    expect(exposure.byTier).toEqual({ kev: 2, critical: 2, high: 0, medium: 1, low: 0 });
    expect(exposure.open).toBe(5);
    // CISA's due date for CVE-2023-4863 (2023-10-04) passed long ago: both libwebp updates are overdue.
    expect(exposure.overdue).toBe(2);
    await page.getByRole('region', { name: 'Exposure' }).waitFor();
    await expect.poll(() => card('Known exploited')).toBe(exposure.byTier.kev);
    expect(await card('Critical')).toBe(exposure.byTier.critical);
    expect(await card('High')).toBe(exposure.byTier.high);
    expect(await card('Medium')).toBe(exposure.byTier.medium);
    expect(await card('Low')).toBe(exposure.byTier.low);
    expect(await card('Overdue')).toBe(exposure.overdue);
    expect(await card('Due this week')).toBe(exposure.dueThisWeek);
    expect(await card('Under an exception')).toBe(exposure.excepted);
    const first = page.getByRole('table', { name: 'Patch these first list' });
    const packages = await first
      .locator('tbody tr')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-package')));
    expect(packages).toEqual(exposure.patchFirst.map((p) => p.package));
    expect(packages[0]).toBe('libwebp');
    const exposed = page.getByRole('table', { name: 'Most exposed hosts list' });
    expect(await exposed.locator('tbody tr').first().getAttribute('data-host-id')).toBe(
      String(exposure.mostExposed[0]!.hostId),
    );
    await page
      .getByRole('figure', { name: 'Open security updates over time' })
      .locator('canvas')
      .first()
      .waitFor();
    expect(await page.getByRole('note', { name: 'No advisories imported' }).count()).toBe(0);
    await page.screenshot({ path: path.join(SHOTS, 'intel-dashboard.png'), fullPage: true });
  });

  it('"Patch these first" opens the patch wizard with those packages and hosts chosen', async () => {
    const { page } = app;
    const exposure = await app.core.call('dashboard.exposure', {});
    await page.getByRole('button', { name: 'Patch these first' }).click();
    const wizard = page.getByRole('region', { name: 'New patch job' });
    await wizard.waitFor();
    const hosts = wizard.getByRole('table', { name: 'Hosts to patch' });
    await expect
      .poll(async () => ({
        alma01: await hosts.getByRole('checkbox', { name: 'Patch alma01' }).isChecked(),
        alma02: await hosts.getByRole('checkbox', { name: 'Patch alma02' }).isChecked(),
      }))
      .toEqual({ alma01: true, alma02: true });
    const chosen = () =>
      wizard
        .getByRole('list', { name: 'Packages to patch' })
        .getByRole('checkbox')
        .evaluateAll((boxes) =>
          boxes
            .filter((b) => (b as HTMLInputElement).checked)
            .map((b) => b.closest('label')?.querySelector('.mono')?.textContent)
            .sort(),
        );
    await expect.poll(chosen).toEqual(exposure.patchFirst.map((p) => p.package).sort());
  });

  it('the Updates page shows tier, due, CVEs, KEV and EPSS; its filters and risk order follow the snapshot', async () => {
    const { page } = app;
    await page.getByRole('link', { name: 'Updates' }).click();
    const table = page.getByRole('table', { name: 'Updates' });
    const rowOf = (host: string, pkg: string) =>
      table.locator(`[role=row]:has(a:text-is("${host}")):has(.cell-package:text-is("${pkg}"))`);
    await rowOf('alma01', 'libwebp').waitFor();
    const webp = rowOf('alma01', 'libwebp');
    expect(await webp.locator('.cell-tier').textContent()).toBe('Known exploited');
    expect(await webp.locator('.cell-kev').textContent()).toBe('KEV');
    expect(await webp.locator('.cell-cves').textContent()).toBe('CVE-2023-4863');
    const scores = epssOf([...libwebp.cves, ...squid.cves]);
    expect(await webp.locator('.cell-epss').textContent()).toBe(percent(scores.get('CVE-2023-4863')!));
    // Overdue is said in words, not only in colour.
    expect(await webp.locator('.cell-due').textContent()).toMatch(/^overdue since \d{4}-\d{2}-\d{2}/);
    const squidRow = rowOf('alma01', 'squid');
    expect(await squidRow.locator('.cell-tier').textContent()).toBe('Critical');
    // The row shows the highest EPSS score of its CVEs.
    expect(await squidRow.locator('.cell-epss').textContent()).toBe(
      percent(Math.max(...squid.cves.map((c) => scores.get(c)!))),
    );
    expect(await squidRow.locator('.cell-cves').textContent()).toBe(
      `${squid.cves.slice(0, 2).join(', ')} +1`,
    );
    expect(await squidRow.locator('.cell-due').textContent()).toMatch(
      /^due \d{4}-\d{2}-\d{2} \(in 1[45] d\)$/,
    );
    expect(await rowOf('alma01', 'tzdata').locator('.cell-tier').textContent()).toBe('—');

    const shown = () =>
      table
        .locator('[role=row][data-finding-id]')
        .evaluateAll((rows) =>
          rows.map(
            (r) =>
              `${r.querySelector('.cell-host')?.textContent}:${r.querySelector('.cell-package')?.textContent}`,
          ),
        );
    const filters = page.getByRole('group', { name: 'Filters' });
    await filters.getByLabel('Known exploited only').check();
    await expect.poll(() => shown().then((s) => s.sort())).toEqual(['alma01:libwebp', 'alma02:libwebp']);
    await filters.getByLabel('Known exploited only').uncheck();
    await filters.getByLabel('Overdue only').check();
    await expect.poll(() => shown().then((s) => s.sort())).toEqual(['alma01:libwebp', 'alma02:libwebp']);
    await filters.getByLabel('Overdue only').uncheck();
    await filters.getByLabel('Tier').selectOption('critical');
    await expect.poll(() => shown().then((s) => s.sort())).toEqual(['alma01:grafana', 'alma01:squid']);
    await filters.getByLabel('Tier').selectOption('');
    await filters.getByLabel('EPSS at least (%)').fill('90');
    await expect.poll(() => shown().then((s) => s.sort())).toEqual(['alma01:libwebp', 'alma02:libwebp']);
    await filters.getByLabel('EPSS at least (%)').fill('');
    await expect.poll(() => shown().then((s) => s.length)).toBe(6);

    // By risk: known exploited first, then critical, then the rest; what has no tier last.
    await page.getByLabel('Order').selectOption('risk');
    const ranked = await app.core.call('findings.query', { sort: 'risk', limit: 50 });
    await expect.poll(shown).toEqual(ranked.rows.map((f) => `${f.hostName}:${f.package}`));
    const order = await shown();
    expect(order.slice(0, 2).sort()).toEqual(['alma01:libwebp', 'alma02:libwebp']);
    expect(order.slice(2, 4).sort()).toEqual(['alma01:grafana', 'alma01:squid']);
    expect(order[5]).toBe('alma01:tzdata');
    await page.screenshot({ path: path.join(SHOTS, 'intel-updates-risk.png'), fullPage: true });
  });

  it('opens the evidence in one click and records an exception from it, which the row and the list show', async () => {
    const { page } = app;
    const table = page.getByRole('table', { name: 'Updates' });
    await table.getByRole('button', { name: 'Evidence of libwebp x86_64 on alma01' }).click();
    const panel = page.getByRole('dialog', { name: 'Evidence' });
    const cve = panel.getByRole('region', { name: 'CVE-2023-4863' });
    await cve.waitFor();
    const kev = (
      JSON.parse(fs.readFileSync(KEV, 'utf8')) as {
        vulnerabilities: { cveID: string; dateAdded: string; dueDate: string }[];
      }
    ).vulnerabilities.find((v) => v.cveID === 'CVE-2023-4863')!;
    const text = (await cve.textContent()) ?? '';
    expect(text).toContain(`in CISA's KEV catalogue since ${kev.dateAdded}`);
    expect(text).toContain('Catalogue dated 2025-08-25');
    expect(text).toContain('scores of 2026-08-16');
    const evidence = cve.getByRole('table', { name: 'Evidence for CVE-2023-4863' });
    const row = evidence.locator('tbody tr').first();
    const osvSha = crypto.createHash('sha256').update(fs.readFileSync(OSV[0]!)).digest('hex');
    const rowText = (await row.textContent()) ?? '';
    expect(rowText).toContain(libwebp.id);
    expect(rowText).toContain(libwebp.fixed.get('libwebp')!);
    expect(rowText).toContain('ALSA-2023:5214.json');
    expect(rowText).toContain(osvSha.slice(0, 12));
    expect(rowText).toContain('libwebp');
    expect(await panel.textContent()).toMatch(/Known exploited/);
    await page.screenshot({ path: path.join(SHOTS, 'intel-evidence.png'), fullPage: true });

    await panel.getByRole('button', { name: 'Accept or defer…' }).click();
    const form = panel.getByRole('form', { name: 'Accept or defer' });
    await form
      .getByLabel('Reason')
      .fill('Vendor build of the image is pending; the web UI is off on this host');
    await form.getByLabel('Owner').fill('Ops team');
    const expiryDay = await form.getByLabel('Expires on (UTC)').inputValue();
    await form.getByRole('button', { name: 'Defer until then' }).click();
    await expect
      .poll(() => panel.getByRole('status').textContent())
      .toMatch(/^Deferred until \d{4}-\d{2}-\d{2}; it covers 1 update now\.$/);
    // The end of the chosen day in UTC, as the CLI has it, whatever the machine's time zone.
    expect((await app.core.call('exceptions.list', {}))[0]!.expiresAt).toBe(`${expiryDay}T23:59:59.000Z`);
    await panel.getByRole('button', { name: 'Close' }).click();

    const webp = table.locator('[role=row]:has(a:text-is("alma01")):has(.cell-package:text-is("libwebp"))');
    await expect.poll(() => webp.locator('.badge.exception').textContent()).toBe('deferred');
    // Deferred: the row says to when, and what it was due before, not "due … (today)".
    const until = (await app.core.call('exceptions.list', {}))[0]!.expiresAt.slice(0, 10);
    expect(await webp.locator('.cell-due').textContent()).toBe(
      `deferred to ${until} (was due ${kev.dueDate})`,
    );
    expect(await webp.locator('.cell-due').textContent()).not.toContain('overdue');
    const list = page.getByRole('table', { name: 'Exceptions list' });
    await list.locator('tbody tr').first().waitFor();
    const listText = (await list.locator('tbody tr').first().textContent()) ?? '';
    expect(listText).toContain('Deferred');
    expect(listText).toContain('libwebp');
    expect(listText).toContain('alma01');
    expect(listText).toContain('Ops team');
    const filters = page.getByRole('group', { name: 'Filters' });
    await filters.getByLabel('Exception').selectOption('yes');
    await expect.poll(() => table.locator('[role=row][data-finding-id]').count()).toBe(1);
    await page.screenshot({ path: path.join(SHOTS, 'intel-exception.png'), fullPage: true });
    await filters.getByLabel('Exception').selectOption('');

    await list.getByRole('button', { name: /^Remove the exception for libwebp/ }).click();
    await expect
      .poll(() => page.getByRole('region', { name: 'Exceptions' }).getByRole('status').textContent())
      .toContain('Exception removed');
    await expect.poll(() => webp.locator('.badge.exception').count()).toBe(0);
  });

  it('host detail shows the same risk columns for its host', async () => {
    const { page } = app;
    await page.evaluate((id) => (window.location.hash = `#/hosts/${id}`), hostIds.alma01!);
    const section = page.getByRole('region', { name: 'Security updates by risk' });
    const table = section.getByRole('table', { name: 'Security updates of this host' });
    await table.locator('[data-finding-id]').first().waitFor();
    const rows = await table
      .locator('[data-finding-id]')
      .evaluateAll((r) =>
        r.map(
          (x) => `${x.querySelector('.mono')?.textContent}|${x.querySelector('.cell-tier')?.textContent}`,
        ),
      );
    expect(rows.slice(0, 1)).toEqual(['libwebp|Known exploited']);
    expect(rows.slice(1, 3).sort()).toEqual(['grafana|Critical', 'squid|Critical']);
    expect(rows).toHaveLength(4);
    await page.screenshot({ path: path.join(SHOTS, 'intel-host-detail.png'), fullPage: true });
  });

  it('SLA days saved in Settings move the due dates shown; Export bundle downloads the snapshot it names', async () => {
    const { page } = app;
    await page.getByRole('link', { name: 'Settings' }).click();
    await page.getByLabel('Critical: days to patch').fill('5');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Settings saved.' }).count()).toBe(1);
    await page.getByRole('link', { name: 'Updates' }).click();
    const squidRow = page
      .getByRole('table', { name: 'Updates' })
      .locator('[role=row]:has(a:text-is("alma01")):has(.cell-package:text-is("squid"))');
    await expect
      .poll(() => squidRow.locator('.cell-due').textContent())
      .toMatch(/^due \d{4}-\d{2}-\d{2} \(in [45] d\)$/);

    await page.getByRole('link', { name: 'Settings' }).click();
    const section = page.getByRole('region', { name: 'Advisories' });
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      section.getByRole('button', { name: 'Export bundle' }).click(),
    ]);
    const saved = path.join(app.dir, download.suggestedFilename());
    await download.saveAs(saved);
    const bytes = fs.readFileSync(saved);
    expect(bytes.subarray(0, 2).toString('latin1')).toBe('PK');
    const said = (await section.getByRole('status').textContent()) ?? '';
    expect(said).toContain(download.suggestedFilename());
    expect(said).toContain(`sha256 ${crypto.createHash('sha256').update(bytes).digest('hex').slice(0, 12)}`);
    expect(said).toMatch(/downloaded\.$/);
  });
});
