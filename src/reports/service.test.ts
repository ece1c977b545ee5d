import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS } from '../api';
import { insertHost, listSteps, setSiteName, updateStep } from '../db';
import { DEBIAN_12, packageFinding, recordAudit } from '../db/testing/audits';
import { insertTestJob } from '../db/testing/jobs';
import { enrichAudit } from '../intel/enrich';
import { dateAudit } from '../intel/testing/snapshot';
import { createNodePlatform } from '../platform';
import { ManualClock } from '../util';
import { exportReport, previewReport, reportFileName, type ReportServiceDeps } from './service';
import { buildOwnerReport, type OwnerReport } from './owner';
import { HOSTILE_NAME, REPORT_NOW, reportWorkspace } from './testing/workspace';
import { resolveRange } from './types';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const tmp = (): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-report-'));
  dirs.push(d);
  return d;
};

function deps(overrides: Partial<ReportServiceDeps> = {}): ReportServiceDeps & { saved: string[] } {
  const { db } = reportWorkspace();
  setSiteName(db, 'Acme Dental');
  const saved: string[] = [];
  const node = createNodePlatform({ configDir: tmp(), passphrase: 'x' });
  return {
    db,
    clock: new ManualClock(REPORT_NOW),
    workspacePath: '/srv/acme.patchdeck',
    actor: 'Dana',
    patchdeckVersion: '0.1.0',
    platform: { kind: 'node', printToPdf: node.printToPdf, chooseFileToSave: node.chooseFileToSave },
    saved,
    ...overrides,
  };
}

describe('the report service', () => {
  it('previews the owner report: the same document an HTML export writes', async () => {
    const d = deps();
    const preview = previewReport(d, { kind: 'owner', from: '2026-11-01', to: '2026-11-30' });
    expect(preview).toMatchObject({
      title: "Owner's summary",
      from: '2026-11-01',
      to: '2026-11-30',
      hostCount: 5,
    });
    expect(preview.html).toContain('Acme Dental');
    expect(preview.html).toContain('Made by Dana with Patchdeck 0.1.0');
    const file = path.join(tmp(), 'owner.html');
    const out = await exportReport(
      d,
      { kind: 'owner', from: '2026-11-01', to: '2026-11-30', format: 'html', path: file },
      'cli',
    );
    expect(out).toEqual({
      path: file,
      fileName: 'patchdeck-owner-2026-11-01_2026-11-30.html',
      mediaType: 'text/html; charset=utf-8',
      bytes: fs.statSync(file).size,
    });
    expect(fs.readFileSync(file, 'utf8')).toBe(preview.html);
  });

  it('in browser mode the bytes come back as base64 with the file name, and nothing is written', async () => {
    const d = deps();
    const out = await exportReport(d, { kind: 'owner', to: '2026-11-30', format: 'html' }, 'browser');
    expect(out.path).toBeNull();
    expect(out.fileName).toBe('patchdeck-owner-2026-10-31_2026-11-30.html');
    expect(Buffer.from(out.base64!, 'base64').toString('utf8')).toBe(
      previewReport(d, { kind: 'owner', to: '2026-11-30' }).html,
    );
  });

  it('the desktop asks where to save, and a cancelled dialog writes nothing', async () => {
    const asked: string[] = [];
    const d = deps({
      platform: {
        kind: 'electron',
        printToPdf: async () => Buffer.from('%PDF-1.4 test'),
        chooseFileToSave: async (o) => {
          asked.push(o.defaultPath ?? '');
          return null;
        },
      },
    });
    const out = await exportReport(d, { kind: 'owner', to: '2026-11-30', format: 'pdf' }, 'electron');
    expect(asked).toEqual(['patchdeck-owner-2026-10-31_2026-11-30.pdf']);
    expect(out).toMatchObject({ path: null, mediaType: 'application/pdf' });
    expect(out.base64).toBeUndefined();
  });

  it('a PDF printed by Chromium is written where asked', async () => {
    const d = deps();
    const file = path.join(tmp(), 'owner.pdf');
    const out = await exportReport(d, { kind: 'owner', to: '2026-11-30', format: 'pdf', path: file }, 'cli');
    expect(out.path).toBe(file);
    expect(fs.readFileSync(file).subarray(0, 5).toString('latin1')).toBe('%PDF-');
  }, 90_000);

  it('a printer that fails gives a sentence offering HTML, and writes nothing', async () => {
    const d = deps({
      platform: {
        kind: 'node',
        printToPdf: async () => {
          throw new Error('no display');
        },
        chooseFileToSave: async () => null,
      },
    });
    const file = path.join(tmp(), 'x.pdf');
    await expect(
      exportReport(d, { kind: 'owner', to: '2026-11-30', format: 'pdf', path: file }, 'cli'),
    ).rejects.toThrow(
      'The PDF could not be made here (no display). Export it as HTML instead (--format html) and print that from a browser.',
    );
    expect(fs.existsSync(file)).toBe(false);
  });

  it('the compliance report previews through its own template, and CSV and JSON export the same range', async () => {
    const d = deps();
    const preview = previewReport(d, { kind: 'compliance', from: '2026-11-01', to: '2026-11-30' });
    expect(preview.title).toBe('Compliance report');
    expect(preview.html).toContain('OFFICE-PC3');
    expect(preview.html).not.toContain(HOSTILE_NAME);
    const csv = await exportReport(
      d,
      { kind: 'compliance', from: '2026-11-01', to: '2026-11-30', format: 'csv', table: 'hosts' },
      'browser',
    );
    expect(csv).toMatchObject({
      fileName: 'patchdeck-compliance-2026-11-01_2026-11-30-hosts.csv',
      mediaType: 'text/csv; charset=utf-8',
    });
    const rows = Buffer.from(csv.base64!, 'base64').toString('utf8').trim().split(/\r?\n/u);
    expect(rows).toHaveLength(1 + 5);
    const json = await exportReport(
      d,
      { kind: 'owner', from: '2026-11-01', to: '2026-11-30', format: 'json' },
      'browser',
    );
    const doc = JSON.parse(Buffer.from(json.base64!, 'base64').toString('utf8')) as Record<string, unknown>;
    expect(doc).toMatchObject({
      $schema: 'https://patchdeck.invalid/schemas/report-owner-1.json',
      schemaVersion: 1,
      meta: { generatedBy: 'Dana', siteName: 'Acme Dental', generatedAt: REPORT_NOW },
    });
    const range = resolveRange(d.db, { from: '2026-11-01', to: '2026-11-30' }, d.clock);
    expect(doc.report).toEqual(buildOwnerReport(d.db, range, d.clock));
  });

  it('covers the inventory when no host is chosen, in every kind and format; a host chosen by id is in whatever its inventory flag', async () => {
    const d = deps();
    // A host only discovered on the network, audited (a pending security update) and in a job step.
    const found = insertHost(d.db, { name: 'found-on-lan', address: '192.0.2.99', inInventory: false }).id;
    const audit = recordAudit(d.db, found, DEBIAN_12, 'apt', [
      packageFinding({
        package: 'sudo',
        arch: 'amd64',
        installedVersion: '1',
        availableVersion: '2',
        repository: 'bookworm-security',
        security: true,
      }),
    ]);
    dateAudit(d.db, audit, '2026-11-21T09:00:00.000Z');
    enrichAudit(d.db, audit, { clock: d.clock, settings: DEFAULT_SETTINGS });
    const job = insertTestJob(d.db, [found], { name: 'Found host job' });
    updateStep(d.db, listSteps(d.db, job)[0]!.id, {
      status: 'succeeded',
      finishedAt: '2026-11-22T10:00:00.000Z',
    });
    const period = { from: '2026-11-01', to: '2026-11-30' };
    const inventory = (
      d.db.prepare('SELECT count(*) AS n FROM hosts WHERE in_inventory = 1').get() as { n: number }
    ).n;
    expect(inventory).toBe(5);
    const text = async (args: Omit<Parameters<typeof exportReport>[1], 'path'>) =>
      Buffer.from((await exportReport(d, args, 'browser')).base64!, 'base64').toString('utf8');

    for (const kind of ['owner', 'compliance'] as const) {
      const preview = previewReport(d, { kind, ...period });
      expect(preview.hostCount).toBe(inventory);
      expect(preview.html).not.toContain('found-on-lan');
    }
    const owner = JSON.parse(await text({ kind: 'owner', ...period, format: 'json' })) as {
      report: OwnerReport;
    };
    expect(owner.report.hostIds).toBeNull();
    expect(owner.report.machines.total).toBe(inventory);
    expect(owner.report.fixed.jobs.map((j) => j.name)).not.toContain('Found host job');
    const compliance = JSON.parse(await text({ kind: 'compliance', ...period, format: 'json' })) as {
      report: { hosts: { hostId: number }[]; jobs: { name: string }[] };
    };
    expect(compliance.report.hosts.map((h) => h.hostId)).not.toContain(found);
    expect(compliance.report.hosts).toHaveLength(inventory);
    expect(compliance.report.jobs.map((j) => j.name)).not.toContain('Found host job');
    for (const table of ['hosts', 'findings', 'jobs'] as const)
      expect(await text({ kind: 'compliance', ...period, format: 'csv', table })).not.toContain(
        'found-on-lan',
      );

    // Chosen by id, it is in, alone.
    const chosen = { kind: 'owner' as const, ...period, hostIds: [found] };
    expect(previewReport(d, chosen).hostCount).toBe(1);
    const mine = JSON.parse(await text({ ...chosen, format: 'json' })) as { report: OwnerReport };
    expect(mine.report.machines).toMatchObject({ total: 1, audited: 1, exposed: 1 });
    expect(mine.report.fixed.jobs.map((j) => j.name)).toEqual(['Found host job']);
    const rows = (await text({ ...chosen, kind: 'compliance', format: 'csv', table: 'hosts' }))
      .trim()
      .split(/\r?\n/u);
    expect(rows).toHaveLength(2);
    expect(rows[1]).toContain('found-on-lan');
  });

  it('names files by kind, period and table', () => {
    expect(reportFileName('compliance', { from: '2026-11-01', to: '2026-11-30' }, 'csv', 'hosts')).toBe(
      'patchdeck-compliance-2026-11-01_2026-11-30-hosts.csv',
    );
    expect(reportFileName('owner', { from: '2026-11-01', to: '2026-11-30' }, 'json')).toBe(
      'patchdeck-owner-2026-11-01_2026-11-30.json',
    );
  });

  it('refuses a host that is not in the workspace, and a period that ends before it starts', () => {
    const d = deps();
    expect(() => previewReport(d, { kind: 'owner', hostIds: [999] })).toThrow('No host with id 999');
    expect(() => previewReport(d, { kind: 'owner', from: '2026-12-01', to: '2026-11-01' })).toThrow(
      'starts (2026-12-01) after it ends (2026-11-01)',
    );
  });
});
