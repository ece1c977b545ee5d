import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium, printWithChromium } from '../platform/node';
import { isPatchdeckError, ManualClock } from '../util';
import { buildOwnerReport } from './owner';
import { renderOwnerHtml } from './owner-html';
import { REPORT_NOW, reportWorkspace } from './testing/workspace';
import { resolveRange } from './types';

// The owner report printed by the real Chromium (through playwright-core), then turned into PNG
// pages by poppler's pdftoppm, kept under test-results/reports/ to be looked at. CI installs
// both; without them the suite fails, it never skips.

const OUT = path.resolve(import.meta.dirname, '../../test-results/reports');

describe('PDF from the local Chromium', () => {
  let server: http.Server;
  let hits = 0;
  let port = 0;
  beforeAll(async () => {
    expect(findChromium(), 'Chromium is needed (PATCHDECK_CHROMIUM or /usr/bin/chromium)').not.toBeNull();
    server = http.createServer((_req, res) => {
      hits += 1;
      res.end('x');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('prints the owner report on A4 pages (one or two), and the pages show it', async () => {
    const { db } = reportWorkspace();
    const clock = new ManualClock(REPORT_NOW);
    const report = buildOwnerReport(
      db,
      resolveRange(db, { from: '2026-11-01', to: '2026-11-30' }, clock),
      clock,
    );
    const html = renderOwnerHtml(report, {
      generatedAt: REPORT_NOW,
      generatedBy: 'Dana',
      siteName: 'Acme Dental',
      workspacePath: '/srv/acme.patchdeck',
      patchdeckVersion: '0.1.0',
    });
    const pdf = await printWithChromium(html);
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    fs.mkdirSync(OUT, { recursive: true });
    for (const old of fs.readdirSync(OUT)) if (old.startsWith('owner-')) fs.rmSync(path.join(OUT, old));
    const file = path.join(OUT, 'owner.pdf');
    fs.writeFileSync(file, pdf);
    execFileSync('pdftoppm', ['-png', '-r', '60', file, path.join(OUT, 'owner')]);
    const pages = fs.readdirSync(OUT).filter((f) => /^owner-\d+\.png$/u.test(f));
    expect(pages.length).toBeGreaterThanOrEqual(1);
    expect(pages.length).toBeLessThanOrEqual(2);
    // A4 at 60 dpi: 496 × 702 pixels (PNG width and height at bytes 16..23).
    const png = fs.readFileSync(path.join(OUT, pages[0]!));
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([496, 702]);
    const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
    expect(text).toContain('What to do next');
    expect(text).toContain('Install the 2 known-exploited fixes on OFFICE-PC3');
  }, 90_000);

  it('the page makes no request: a document that asks a local server for an image reaches nothing', async () => {
    const before = hits;
    // No CSP here on purpose: the printer itself must refuse the request.
    const pdf = await printWithChromium(
      `<!doctype html><html><body><p>hello</p><img src="http://127.0.0.1:${port}/track.png"><link rel="stylesheet" href="http://127.0.0.1:${port}/x.css"></body></html>`,
    );
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(hits).toBe(before);
  }, 90_000);

  it('without Chromium it says so and offers HTML', async () => {
    const error = await printWithChromium('<p>x</p>', { PATCHDECK_CHROMIUM: '/nonexistent/chromium' }).catch(
      (e: unknown) => e,
    );
    expect(isPatchdeckError(error)).toBe(true);
    expect((error as Error).message).toBe(
      'No Chromium was found to make the PDF (PATCHDECK_CHROMIUM=/nonexistent/chromium does not exist). Export the report as HTML instead (--format html) and print it from a browser.',
    );
    expect((error as { code?: string }).code).toBe('unavailable');
  });
});
