/**
 * The Reports page in real Chromium over the browser carrier and the real report service: a
 * workspace with real audits (an older one and a newer one per host, so that first sightings and
 * overdue fixes come from audit history), a Debian tracker and KEV snapshot that judges them, an
 * approved and finished patch job, and an exception. The page previews both reports in its
 * script-less frame, exports HTML, JSON and CSV as browser downloads, and says in words when a
 * PDF cannot be made here, offering HTML.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { Download, Frame } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StepPreview, TargetPackage } from '../../src/api/schemas';
import { insertHost, listSteps, readSettings, setSiteName, updateJob, updateStep } from '../../src/db';
import { DEBIAN_12, packageFinding, recordAudit } from '../../src/db/testing/audits';
import { insertTestJob } from '../../src/db/testing/jobs';
import { enrichCurrentFindings } from '../../src/intel';
import { addAdvisory, addKev, addSource, dateAudit } from '../../src/intel/testing/snapshot';
import { systemClock } from '../../src/util';
import { presetPeriod } from '../../renderer/features/reports/period';
import { splitPreview } from '../../renderer/features/reports/preview-frame';
import { launchApp, type E2eApp } from './harness';

const shot = (name: string): string => path.resolve(`test-results/reports-page-${name}.png`);
const SCHEMAS = path.resolve('docs/schemas');
const DAY = 86_400_000;
const ago = (days: number): string => new Date(Date.now() - days * DAY).toISOString();

/** A host name as hostile as a DHCP lease can make it: it must reach the report as text. */
const HOSTILE = '<img src=x onerror="parent.pwned=1">reception';

// Real Debian 12 records: libwebp's heap overflow (DSA-5496, CVE-2023-4863, in CISA's KEV) and
// an OpenSSL fix (DSA-5532, CVE-2023-5363).
const WEBP = { name: 'libwebp7', from: '1.2.4-0.2', to: '1.2.4-0.2+deb12u1' };
const OPENSSL = { name: 'openssl', from: '3.0.11-1~deb12u1', to: '3.0.11-1~deb12u2' };

const update = (p: { name: string; from: string; to: string }, security = true) =>
  packageFinding({
    package: p.name,
    arch: 'amd64',
    installedVersion: p.from,
    availableVersion: p.to,
    repository: security ? 'bookworm-security' : 'bookworm-updates',
    security,
  });
const TZDATA = update({ name: 'tzdata', from: '2024a-0+deb12u1', to: '2025b-0+deb12u1' }, false);

let app: E2eApp;
const ids = { office: 0, reception: 0, files: 0, job: 0 };

async function seed(): Promise<void> {
  const db = app.core.requireWorkspace().db;
  setSiteName(db, 'Harbour Dental');
  const tracker = addSource(db, { feed: 'debian-tracker', publisher: 'Debian', publishedAt: ago(1) });
  const kev = addSource(db, { feed: 'kev', publisher: 'CISA', publishedAt: ago(1) });
  addAdvisory(db, tracker, {
    feed: 'debian-tracker',
    advisoryId: 'DEBIAN:CVE-2023-4863:libwebp',
    cves: ['CVE-2023-4863'],
    severity: 'high',
    packages: [
      { ecosystem: 'Debian:12', package: WEBP.name, nameKind: 'binary', fixed: WEBP.to, urgency: 'high' },
    ],
  });
  addAdvisory(db, tracker, {
    feed: 'debian-tracker',
    advisoryId: 'DEBIAN:CVE-2023-5363:openssl',
    cves: ['CVE-2023-5363'],
    severity: 'high',
    packages: [
      {
        ecosystem: 'Debian:12',
        package: OPENSSL.name,
        nameKind: 'binary',
        fixed: OPENSSL.to,
        urgency: 'high',
      },
    ],
  });
  addKev(db, kev, 'CVE-2023-4863', {
    dateAdded: '2023-09-13',
    dueDate: '2023-10-04',
    name: 'libwebp heap overflow',
  });

  ids.office = insertHost(db, { name: 'OFFICE-PC1', address: '198.18.0.21' }).id;
  ids.reception = insertHost(db, { name: HOSTILE, address: '198.18.0.22' }).id;
  ids.files = insertHost(db, { name: 'files01', address: '198.18.0.23' }).id;
  // A printer only discovered on the network (not in the inventory): the page offers "All hosts
  // (3)", and the reports cover those three, not it, though it was audited.
  const printer = insertHost(db, { name: 'lan-printer', address: '198.18.0.40', inInventory: false }).id;
  dateAudit(db, recordAudit(db, printer, DEBIAN_12, 'apt', [update(OPENSSL)]), ago(2));
  // Forty days ago every host was audited; OFFICE-PC1 and files01 already lacked the libwebp fix.
  dateAudit(db, recordAudit(db, ids.office, DEBIAN_12, 'apt', [update(WEBP), update(OPENSSL)]), ago(40));
  dateAudit(db, recordAudit(db, ids.reception, DEBIAN_12, 'apt', [update(OPENSSL)]), ago(40));
  dateAudit(db, recordAudit(db, ids.files, DEBIAN_12, 'apt', [update(WEBP)]), ago(40));

  // files01 is patched by a job planned (dry run) a day ago and approved today…
  const target: TargetPackage = {
    name: WEBP.name,
    arch: 'amd64',
    from: WEBP.from,
    to: WEBP.to,
    security: true,
  };
  ids.job = insertTestJob(db, [ids.files], { name: 'Patch files01: libwebp', packages: [target] });
  const [step] = listSteps(db, ids.job);
  const preview: StepPreview = {
    command: `apt-get -s install --only-upgrade ${WEBP.name}`,
    upgrades: [{ name: WEBP.name, arch: 'amd64', from: WEBP.from, to: WEBP.to }],
    newPackages: [],
    removals: [],
    skipped: [],
    ranAt: ago(1),
  };
  updateStep(db, step!.id, { phase: 'planned', preview });
  // Approved for real, so the audit log holds who approved the digest of exactly this plan.
  await app.core.call('jobs.approve', { id: ids.job });
  // …and then run at once, verified by the audit that followed it.
  const ranAt = new Date().toISOString();
  const verify = recordAudit(db, ids.files, DEBIAN_12, 'apt', [TZDATA]);
  updateStep(db, step!.id, {
    status: 'succeeded',
    phase: 'done',
    preview,
    before: { [WEBP.name]: WEBP.from },
    after: { [WEBP.name]: WEBP.to },
    verifyAuditId: verify,
    startedAt: ranAt,
    finishedAt: ranAt,
  });
  updateJob(db, ids.job, { status: 'succeeded', startedAt: ranAt, finishedAt: ranAt });
  // Today's audits: OFFICE-PC1 still lacks both fixes, reception the OpenSSL one.
  recordAudit(db, ids.office, DEBIAN_12, 'apt', [update(WEBP), update(OPENSSL), TZDATA]);
  recordAudit(db, ids.reception, DEBIAN_12, 'apt', [update(OPENSSL)]);
  enrichCurrentFindings(db, { clock: systemClock, settings: readSettings(db) });
  await app.core.call('exceptions.add', {
    scope: 'host-package',
    decision: 'defer',
    hostId: ids.reception,
    package: OPENSSL.name,
    reason: 'The imaging software is certified only with the current OpenSSL build',
    owner: 'Dana (practice manager)',
    expiresAt: new Date(Date.now() + 20 * DAY).toISOString(),
  });
}

beforeAll(async () => {
  app = await launchApp();
  await seed();
  await app.page.setViewportSize({ width: 1440, height: 1800 });
  fs.mkdirSync(path.resolve('test-results'), { recursive: true });
});
afterAll(async () => {
  delete process.env.PATCHDECK_CHROMIUM;
  await app?.close();
});

/** The preview frame's document, read by the page that owns it (the frame itself runs no script). */
async function previewText(): Promise<string> {
  return app.page.evaluate(() => document.querySelector('iframe')?.contentDocument?.body?.innerText ?? '');
}

async function previewFrame(): Promise<Frame> {
  const handle = await app.page.waitForSelector('iframe[title="Report preview"]');
  const frame = await handle.contentFrame();
  if (!frame) throw new Error('the preview frame has no document');
  return frame;
}

async function download(start: () => Promise<void>): Promise<{ file: Download; text: string }> {
  const [file] = await Promise.all([app.page.waitForEvent('download'), start()]);
  const saved = path.join(app.dir, file.suggestedFilename());
  await file.saveAs(saved);
  return { file, text: fs.readFileSync(saved, 'utf8') };
}

describe('the Reports page', () => {
  it('opens with the last 30 days, every host, and says what Preview will show', async () => {
    const { page } = app;
    await page.getByRole('link', { name: 'Reports' }).click();
    await page.getByRole('heading', { name: 'Reports', level: 1 }).waitFor();
    const expected = presetPeriod('last30', Date.now())!;
    expect(await page.getByLabel('From', { exact: true }).inputValue()).toBe(expected.from);
    expect(await page.getByLabel('To', { exact: true }).inputValue()).toBe(expected.to);
    expect(await page.getByRole('radio', { name: 'Owner report' }).isChecked()).toBe(true);
    await page.getByRole('radio', { name: /^All hosts \(3\)$/ }).waitFor();
    await page.getByText('press Preview to see it here').waitFor();
    await page.screenshot({ path: shot('empty'), fullPage: true });
  });

  it('a preset fills in its dates; a period that ends before it starts is refused in words', async () => {
    const { page } = app;
    await page.getByLabel('Period', { exact: true }).selectOption('lastQuarter');
    const quarter = presetPeriod('lastQuarter', Date.now())!;
    expect(await page.getByLabel('From', { exact: true }).inputValue()).toBe(quarter.from);
    expect(await page.getByLabel('To', { exact: true }).inputValue()).toBe(quarter.to);
    await page.getByLabel('From', { exact: true }).fill('2026-11-20');
    await page.getByLabel('To', { exact: true }).fill('2026-11-10');
    expect(await page.getByLabel('Period', { exact: true }).inputValue()).toBe('custom');
    await page.getByRole('button', { name: 'Preview' }).click();
    await expect
      .poll(() => page.getByRole('alert').allTextContents())
      .toContain('The period starts (2026-11-20) after it ends (2026-11-10).');
    await page.getByLabel('Period', { exact: true }).selectOption('last30');
  });

  it('previews the owner report in a frame that runs no script, with its own styles', async () => {
    const { page } = app;
    await page.getByRole('button', { name: 'Preview' }).click();
    const frame = await previewFrame();
    await frame.waitForSelector('h1');
    const sandbox = await page.getAttribute('iframe[title="Report preview"]', 'sandbox');
    expect(sandbox).toBe('allow-same-origin');
    const text = await previewText();
    expect(text).toContain('OFFICE-PC1');
    expect(text).toContain('Harbour Dental');
    // The inventory's three machines, and libwebp7, pending on files01 in an audit taken before
    // the advisory data and installed by the job, counted as the security update it was.
    expect(text).not.toContain('lan-printer');
    expect(text).toMatch(/\b2 of 3 machines have security updates waiting\b/u);
    expect(text).toContain(
      '1 update was installed on 1 machine (seen in the audits of the period); it was a security update.',
    );
    // The hostile name is text: no element of it, and its handler never ran.
    expect(text).toContain(HOSTILE);
    expect(
      await page.evaluate(() => {
        const doc = document.querySelector('iframe')!.contentDocument!;
        return doc.querySelectorAll('img[onerror], script').length;
      }),
    ).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    // The report's CSS reached the frame through the CSSOM (htmlDocument's h1 is 18pt = 24px),
    // and the window's CSP reported nothing (the harness fails the run on any CSP error).
    expect(
      await page.evaluate(() => {
        const doc = document.querySelector('iframe')!.contentDocument!;
        return getComputedStyle(doc.querySelector('h1')!).fontSize;
      }),
    ).toBe('24px');
    // The frame shows the whole report: as tall as its document.
    const [frameHeight, docHeight] = await page.evaluate(() => {
      const f = document.querySelector('iframe')!;
      return [f.getBoundingClientRect().height, f.contentDocument!.documentElement.scrollHeight];
    });
    expect(frameHeight).toBeGreaterThanOrEqual(docHeight);
    await page.screenshot({ path: shot('owner'), fullPage: true });
  });

  it('exports the owner report as HTML: the document the preview showed, downloaded with its name', async () => {
    const { page } = app;
    await page.getByLabel('Format', { exact: true }).selectOption('html');
    const { file, text } = await download(() => page.getByRole('button', { name: 'Export' }).click());
    const period = presetPeriod('last30', Date.now())!;
    expect(file.suggestedFilename()).toBe(`patchdeck-owner-${period.from}_${period.to}.html`);
    expect(text).toMatch(/^<!doctype html>/iu);
    expect(text).toContain("default-src 'none'");
    expect(text).not.toMatch(/<script/iu);
    expect(text).toContain('&lt;img src=x onerror=');
    // The same report as the preview: the same text, once the frame's copy is read back.
    const shown = await previewText();
    for (const line of ['OFFICE-PC1', 'files01', 'Harbour Dental']) {
      expect(shown).toContain(line);
      expect(text).toContain(line);
    }
    await page
      .getByRole('status')
      .filter({ hasText: `Downloaded ${file.suggestedFilename()}` })
      .waitFor();
  });

  it('when no Chromium can print a PDF, says so in words and offers the same report as HTML', async () => {
    const { page } = app;
    process.env.PATCHDECK_CHROMIUM = path.join(app.dir, 'no-chromium-here');
    try {
      await page.getByLabel('Format', { exact: true }).selectOption('pdf');
      await page.getByRole('button', { name: 'Export' }).click();
      const alert = page.getByRole('alert').filter({ hasText: 'A PDF cannot be made on this computer' });
      await alert.waitFor();
      expect(await alert.textContent()).toContain('Export the report as HTML instead');
      // Window words: the CLI's flag is not something to type here.
      expect(await alert.textContent()).not.toContain('--format');
      await page.screenshot({ path: shot('pdf-unavailable'), fullPage: true });
      const { file, text } = await download(() =>
        alert.getByRole('button', { name: 'Export as HTML instead' }).click(),
      );
      expect(file.suggestedFilename()).toMatch(/^patchdeck-owner-.*\.html$/u);
      expect(text).toMatch(/^<!doctype html>/iu);
      expect(await page.getByLabel('Format', { exact: true }).inputValue()).toBe('html');
    } finally {
      delete process.env.PATCHDECK_CHROMIUM;
    }
  });

  it('with the local Chromium, the PDF export downloads a PDF', async () => {
    const { page } = app;
    await page.getByLabel('Format', { exact: true }).selectOption('pdf');
    const [file] = await Promise.all([
      page.waitForEvent('download', { timeout: 60_000 }),
      page.getByRole('button', { name: 'Export' }).click(),
    ]);
    const saved = path.join(app.dir, file.suggestedFilename());
    await file.saveAs(saved);
    expect(file.suggestedFilename()).toMatch(/^patchdeck-owner-.*\.pdf$/u);
    expect(fs.readFileSync(saved).subarray(0, 5).toString('latin1')).toBe('%PDF-');
    await page
      .getByRole('status')
      .filter({ hasText: `Downloaded ${file.suggestedFilename()}` })
      .waitFor();
    await page.screenshot({ path: shot('pdf-downloaded') });
  });
  it('previews the compliance report for chosen hosts only, and says when the choice changed', async () => {
    const { page } = app;
    await page.getByRole('radio', { name: 'Compliance report' }).check();
    await page.getByRole('note').filter({ hasText: 'The choices changed since this preview' }).waitFor();
    await page.getByRole('radio', { name: /^Chosen hosts/ }).check();
    const list = page.getByRole('list', { name: 'Hosts to report on' });
    await list.getByRole('checkbox', { name: 'OFFICE-PC1' }).check();
    await list.getByRole('checkbox', { name: 'files01' }).check();
    await page.getByRole('button', { name: 'Preview' }).click();
    await expect.poll(() => page.getByRole('note').filter({ hasText: 'choices changed' }).count()).toBe(0);
    await expect.poll(previewText).toContain('files01');
    const text = await previewText();
    expect(text).toContain('OFFICE-PC1');
    expect(text).not.toContain('reception');
    expect(text).toContain(`#${ids.job}`);
    expect(await page.getByText(/2 hosts ·/u).count()).toBe(1);
    // The content pane scrolls inside the shell: a viewport as tall as the report shows it whole.
    const height = await page.evaluate(
      () => document.querySelector('iframe')!.getBoundingClientRect().bottom,
    );
    await page.setViewportSize({ width: 1440, height: Math.ceil(height) + 80 });
    await page.screenshot({ path: shot('compliance') });
    await page.setViewportSize({ width: 1440, height: 1800 });
  });

  it('exports the compliance report as JSON that its published schema accepts', async () => {
    const { page } = app;
    await page.getByLabel('Format', { exact: true }).selectOption('json');
    const { file, text } = await download(() => page.getByRole('button', { name: 'Export' }).click());
    expect(file.suggestedFilename()).toMatch(
      /^patchdeck-compliance-\d{4}-\d{2}-\d{2}_\d{4}-\d{2}-\d{2}\.json$/u,
    );
    const json = JSON.parse(text) as { $schema: string; schemaVersion: number; report: unknown };
    expect(json.$schema).toBe('https://patchdeck.invalid/schemas/report-compliance-1.json');
    expect(json.schemaVersion).toBe(1);
    expect(text).toContain('OFFICE-PC1');
    expect(text).not.toContain('reception');
    const schema = JSON.parse(fs.readFileSync(path.join(SCHEMAS, 'report-compliance.schema.json'), 'utf8'));
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const validate = ajv.compile(schema);
    expect(validate(json.report), JSON.stringify(validate.errors?.slice(0, 5))).toBe(true);
  });

  it('exports a CSV table of the chosen hosts', async () => {
    const { page } = app;
    await page.getByLabel('Format', { exact: true }).selectOption('csv');
    await page.getByLabel('Table', { exact: true }).selectOption('hosts');
    const { file, text } = await download(() => page.getByRole('button', { name: 'Export' }).click());
    expect(file.suggestedFilename()).toMatch(/\.csv$/u);
    const rows = text.trim().split(/\r?\n/u);
    expect(rows).toHaveLength(3);
    expect(text).toContain('OFFICE-PC1');
    expect(text).toContain('files01');
  });
});

describe('the preview split', () => {
  it('takes out style elements and style attributes, and nothing that only looks like them', () => {
    const html =
      '<!doctype html><html><head><style>h1{color:red}</style></head><body>' +
      '<p title="a style=" class="x">one</p><div style="width: 40%; font-family: &quot;DejaVu Sans&quot;">two</div>' +
      '<svg><style>rect{fill:blue}</style><rect style=\'height:5px\'/></svg><p>style="text"</p></body></html>';
    const parts = splitPreview(html);
    expect(parts.css).toBe('h1{color:red}\nrect{fill:blue}');
    expect(parts.inline).toEqual(['width: 40%; font-family: "DejaVu Sans"', 'height:5px']);
    expect(parts.html).not.toMatch(/<style|<div style|<rect style/u);
    expect(parts.html).toContain('<p title="a style=" class="x">one</p>');
    expect(parts.html).toContain('<div data-pd-style="0">two</div>');
    expect(parts.html).toContain('<rect data-pd-style="1"/>');
    expect(parts.html).toContain('<p>style="text"</p>');
  });
});
