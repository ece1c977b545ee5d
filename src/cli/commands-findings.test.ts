import { FINDINGS_CSV_COLUMNS } from '../audit/findings-csv';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Core } from '../core';
import { completeAudit, failAudit, insertHost, startAudit, type FindingInput } from '../db';
import { packageFinding } from '../db/testing/audits';
import { createNodePlatform } from '../platform';
import { runCli } from './testing/run-cli';

// `patchdeck findings` as a real process over a real workspace file with recorded audits.
const HOSTILE = '=HYPERLINK("http://evil.example/","click"),x';

let dir: string;
let file: string;

function finding(name: string, extra: Partial<FindingInput> = {}): FindingInput {
  return packageFinding({
    package: name,
    arch: 'amd64',
    installedVersion: '1.0',
    availableVersion: '1.1',
    repository: 'main',
    ...extra,
  });
}

function audited(core: Core, hostId: number, findings: FindingInput[]): void {
  const db = core.requireWorkspace().db;
  const id = startAudit(db, { hostId, taskId: null });
  completeAudit(db, id, {
    osId: 'debian',
    osName: 'Debian GNU/Linux',
    osVersion: '12',
    kernel: null,
    packageManager: 'apt',
    metadataAgeSeconds: 60,
    rebootRequired: false,
    warnings: [],
    durationMs: 10,
    findings,
  });
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-findings-'));
  file = path.join(dir, 'ws.sqlite');
  const core = new Core({
    platform: createNodePlatform({ configDir: dir, useKeychain: false }),
    carrier: 'test',
  });
  await core.openWorkspace(file, { create: 'always' });
  const db = core.requireWorkspace().db;
  const web1 = insertHost(db, { name: 'web1', address: '198.18.0.11' });
  const web2 = insertHost(db, { name: 'web2', address: '198.18.0.12' });
  const db3 = insertHost(db, { name: 'db3', address: '198.18.0.13' });
  insertHost(db, { name: 'new4', address: '198.18.0.14' });
  audited(core, web1.id, [
    finding('pd-lib'),
    finding('openssl', {
      security: true,
      severity: 'critical',
      advisories: ['DSA-1', 'CVE-2024-1', 'CVE-2024-2', 'CVE-2024-3'],
    }),
  ]);
  audited(core, web2.id, [
    finding('curl', { security: true, severity: 'important', advisories: ['DSA-2'] }),
    finding(HOSTILE, { repository: '+cmd|"/c calc"!A1' }),
  ]);
  audited(core, db3.id, [finding('zlib')]);
  const failed = startAudit(db, { hostId: db3.id, taskId: null });
  failAudit(db, failed, {
    status: 'failed',
    kind: 'unreachable',
    message: 'db3 cannot be reached on the network.',
    stderr: '',
    durationMs: 5,
  });
  await core.closeWorkspace();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const patchdeck = (...args: string[]) =>
  runCli(args, { workspace: file, configDir: path.join(dir, 'config') });

/** RFC 4180, strictly: every cell must be quoted (the exporter quotes all of them). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  for (const line of text.split('\r\n').filter(Boolean)) {
    const cells: string[] = [];
    let rest = line;
    while (rest.length) {
      const match = /^"((?:[^"]|"")*)"(,|$)/.exec(rest);
      if (!match) throw new Error(`not a quoted CSV cell: ${rest}`);
      cells.push(match[1]!.replace(/""/g, '"'));
      rest = rest.slice(match[0].length);
    }
    rows.push(cells);
  }
  return rows;
}

describe('patchdeck findings', () => {
  it('lists every pending update of the latest audits, security first, and says what is missing', async () => {
    const { code, stdout, stderr } = await patchdeck('findings');
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    const order = ['openssl', 'curl', 'pd-lib', 'zlib'].map((p) =>
      lines.findIndex((l) => l.includes(` ${p} `)),
    );
    expect(order.every((i) => i > 0)).toBe(true);
    expect(order[0]).toBeLessThan(order[1]!); // critical before important
    expect(order[1]).toBeLessThan(order[2]!); // security before the rest
    expect(order[1]).toBeLessThan(order[3]!);
    expect(stdout).toContain('DSA-1 CVE-2024-1 CVE-2024-2 +1');
    expect(stdout).toContain('5 pending updates on 3 hosts, 2 security.');
    // db3's newest audit failed: its updates are from the one before, and it says so.
    expect(stderr).toMatch(
      /db3: its latest audit failed \(db3 cannot be reached on the network\); updates listed for it, if any, are from its last successful audit/,
    );
    expect(stderr).toMatch(/new4: not audited yet/);
  });

  it('narrows to named hosts and to security updates', async () => {
    const { code, stdout } = await patchdeck('findings', 'web2', 'web1', '--security-only', '--json');
    expect(code).toBe(0);
    const rows = JSON.parse(stdout) as { hostName: string; package: string; security: boolean }[];
    expect(rows.map((r) => [r.hostName, r.package])).toEqual([
      ['web1', 'openssl'],
      ['web2', 'curl'],
    ]);
    const one = await patchdeck('findings', 'web1');
    expect(one.stdout).toContain('openssl');
    expect(one.stdout).not.toContain('curl');
    expect(one.stdout).toContain('2 pending updates on 1 host, 1 security.');
  });

  it('writes CSV a spreadsheet reads as text: quoted cells, formulas defused', async () => {
    const { code, stdout } = await patchdeck('findings', 'web2', '--csv');
    expect(code).toBe(0);
    const rows = parseCsv(stdout);
    // The same columns as the window's Export CSV.
    expect(rows[0]).toEqual([...FINDINGS_CSV_COLUMNS]);
    expect(rows).toHaveLength(3);
    const col = (name: (typeof FINDINGS_CSV_COLUMNS)[number]) => FINDINGS_CSV_COLUMNS.indexOf(name);
    const hostile = rows.find((r) => r[col('Package')]!.includes('HYPERLINK'))!;
    expect(hostile[col('Package')]).toBe(`'${HOSTILE}`);
    expect(hostile[col('Repository')]).toBe(`'+cmd|"/c calc"!A1`);
    expect(hostile[col('Address')]).toBe('198.18.0.12');
    expect(rows[1]![col('Package')]).toBe('curl'); // security first here too
  });

  it('refuses --json with --csv, and names unknown hosts', async () => {
    expect((await patchdeck('--json', 'findings', '--csv')).code).toBe(2);
    const unknown = await patchdeck('findings', 'nosuch');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('No host named nosuch');
  });
});
