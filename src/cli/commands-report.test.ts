import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Core } from '../core';
import { setSiteName } from '../db';
import { createNodePlatform } from '../platform';
import { fillReportWorkspace, HOSTILE_NAME } from '../reports/testing/workspace';
import { runCli } from './testing/run-cli';

// `patchdeck report …` as a real process over a real workspace file (the report tests' client).

let dir: string;
let ws: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-report-cli-'));
  ws = path.join(dir, 'acme.sqlite');
  const core = new Core({
    platform: createNodePlatform({ configDir: dir, useKeychain: false }),
    carrier: 'test',
  });
  await core.openWorkspace(ws, { create: 'always' });
  const db = core.requireWorkspace().db;
  fillReportWorkspace(db);
  setSiteName(db, 'Acme Dental');
  await core.closeWorkspace();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const PERIOD = ['--from', '2026-11-01', '--to', '2026-11-30'];

describe('patchdeck report', () => {
  it('owner --format html writes the self-contained document and says where', async () => {
    const out = path.join(dir, 'owner.html');
    const r = await runCli(['report', 'owner', ...PERIOD, '--format', 'html', '--out', out], {
      configDir: dir,
      workspace: ws,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`Wrote ${out} (${fs.statSync(out).size} bytes, text/html; charset=utf-8).\n`);
    const html = fs.readFileSync(out, 'utf8');
    expect(html).toContain('Acme Dental · 1 Nov 2026 – 30 Nov 2026');
    expect(html).toContain('Install the 2 known-exploited fixes on OFFICE-PC3 and 1 other now');
    expect(html).not.toContain(HOSTILE_NAME);
    expect(html).not.toMatch(/<script/iu);
  });

  it('owner --format pdf prints it with the local Chromium', async () => {
    const out = path.join(dir, 'owner.pdf');
    const r = await runCli(['report', 'owner', ...PERIOD, '--format', 'pdf', '--out', out], {
      configDir: dir,
      workspace: ws,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(fs.readFileSync(out).subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const text = execFileSync('pdftotext', [out, '-'], { encoding: 'utf8' });
    expect(text).toContain("Security updates: owner's summary");
  }, 90_000);

  it('compliance --format html, csv (each table) and json write what they say', async () => {
    const html = path.join(dir, 'compliance.html');
    const h = await runCli(['report', 'compliance', ...PERIOD, '--format', 'html', '--out', html], {
      configDir: dir,
      workspace: ws,
    });
    expect(h.stderr).toBe('');
    expect(h.code).toBe(0);
    expect(fs.readFileSync(html, 'utf8')).toContain('OFFICE-PC3');
    for (const table of ['findings', 'hosts', 'jobs']) {
      const csv = path.join(dir, `${table}.csv`);
      const r = await runCli(
        ['report', 'compliance', ...PERIOD, '--format', 'csv', '--table', table, '--out', csv],
        { configDir: dir, workspace: ws },
      );
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('text/csv');
      const lines = fs.readFileSync(csv, 'utf8').trim().split(/\r?\n/u);
      expect(lines.length).toBeGreaterThan(1);
    }
    const json = path.join(dir, 'owner.json');
    const j = await runCli(['report', 'owner', ...PERIOD, '--format', 'json', '--out', json], {
      configDir: dir,
      workspace: ws,
    });
    expect(j.code).toBe(0);
    const doc = JSON.parse(fs.readFileSync(json, 'utf8')) as {
      $schema: string;
      meta: { siteName: string };
      report: { kind: string; machines: { total: number } };
    };
    expect(doc.$schema).toBe('https://patchdeck.invalid/schemas/report-owner-1.json');
    expect(doc.meta.siteName).toBe('Acme Dental');
    expect(doc.report).toMatchObject({ kind: 'owner', machines: { total: 5 } });
  }, 60_000);

  it('--hosts narrows the report to the machines named', async () => {
    const out = path.join(dir, 'srv-a.html');
    const r = await runCli(
      ['report', 'owner', ...PERIOD, '--hosts', 'srv-a', '--format', 'html', '--out', out],
      { configDir: dir, workspace: ws },
    );
    expect(r.code).toBe(0);
    const html = fs.readFileSync(out, 'utf8');
    expect(html).toContain('<b>1</b><span>machine</span>');
    expect(html).not.toContain('OFFICE-PC3');
  });

  it('without Chromium it fails with a sentence offering --format html, and writes nothing', async () => {
    const out = path.join(dir, 'none.pdf');
    const r = await runCli(['report', 'owner', '--format', 'pdf', '--out', out], {
      configDir: dir,
      workspace: ws,
      env: { PATCHDECK_CHROMIUM: '/nonexistent/chromium' },
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'No Chromium was found to make the PDF (PATCHDECK_CHROMIUM=/nonexistent/chromium does not exist). Export the report as HTML instead (--format html)',
    );
    expect(fs.existsSync(out)).toBe(false);
  });

  it('refuses an unknown kind, format or table with a sentence', async () => {
    const out = path.join(dir, 'x');
    const kind = await runCli(['report', 'weekly', '--format', 'html', '--out', out], {
      configDir: dir,
      workspace: ws,
    });
    expect(kind.code).not.toBe(0);
    expect(kind.stderr).toContain('The report weekly is not one of the choices.');
    const format = await runCli(['report', 'owner', '--format', 'docx', '--out', out], {
      configDir: dir,
      workspace: ws,
    });
    expect(format.stderr).toContain('The format docx is not one of the choices.');
    const table = await runCli(['report', 'owner', '--format', 'html', '--table', 'hosts', '--out', out], {
      configDir: dir,
      workspace: ws,
    });
    expect(table.stderr).toContain('--table goes with --format csv only.');
    expect(fs.existsSync(out)).toBe(false);
  });
});
