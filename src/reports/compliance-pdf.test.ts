import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findChromium, printWithChromium } from '../platform/node';
import { ManualClock } from '../util';
import { buildComplianceReport } from './compliance';
import { renderComplianceHtml } from './compliance-html';
import { REPORT_NOW, reportWorkspace } from './testing/workspace';
import { resolveRange } from './types';

// The compliance report printed by the real Chromium (playwright-core), then turned into PNG pages
// by poppler's pdftoppm under test-results/reports/compliance-*.png, to be looked at. CI installs
// both; without them this fails, it never skips.

const OUT = path.resolve(import.meta.dirname, '../../test-results/reports');

describe('the compliance report as PDF', () => {
  it('prints each host on its own A4 page, the cover first and the jobs, exceptions and log last', async () => {
    expect(findChromium(), 'Chromium is needed (PATCHDECK_CHROMIUM or /usr/bin/chromium)').not.toBeNull();
    const w = reportWorkspace();
    const clock = new ManualClock(REPORT_NOW);
    const report = buildComplianceReport(
      w.db,
      resolveRange(w.db, { from: '2026-11-01', to: '2026-11-30' }, clock),
      clock,
    );
    const html = renderComplianceHtml(report, {
      generatedAt: REPORT_NOW,
      generatedBy: 'auditor',
      siteName: 'Acme Dental',
      workspacePath: '/tmp/acme.patchdeck',
      patchdeckVersion: '0.0.0-test',
    });
    const pdf = await printWithChromium(html);
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    fs.mkdirSync(OUT, { recursive: true });
    for (const old of fs.readdirSync(OUT)) if (old.startsWith('compliance-')) fs.rmSync(path.join(OUT, old));
    const file = path.join(OUT, 'compliance.pdf');
    fs.writeFileSync(file, pdf);
    execFileSync('pdftoppm', ['-png', '-r', '60', file, path.join(OUT, 'compliance')]);
    const pages = fs
      .readdirSync(OUT)
      .filter((f) => /^compliance-\d+\.png$/u.test(f))
      .sort();
    // Cover + one page (at least) per host + the closing section.
    expect(pages.length).toBeGreaterThanOrEqual(report.hosts.length + 2);
    const png = fs.readFileSync(path.join(OUT, pages[0]!));
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([496, 702]);
    // Each host's section starts a page: its heading is on a page of its own, in report order.
    const text = execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' }).split('\f');
    const startPages = report.hosts.map((h) => text.findIndex((page) => page.includes(`host #${h.hostId}`)));
    expect(startPages.every((p) => p > 0)).toBe(true);
    expect(new Set(startPages).size).toBe(report.hosts.length);
    expect([...startPages].sort((a, b) => a - b)).toEqual(startPages);
    expect(text.join('')).toContain('Audit log excerpt');
  }, 90_000);
});
