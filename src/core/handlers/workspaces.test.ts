/**
 * The workspaces.* calls through the real router over real workspace files and a real recent
 * list, with the gateway read by the real reader from /proc-format route and neighbour files
 * (fixtures: the test never looks at, let alone probes, a network).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Core } from '..';
import { APPLICATION_ID, migrate, readWorkspaceMeta } from '../../db';
import { parseProcNetArp } from '../../discovery';
import { createNodePlatform } from '../../platform';
import type { Logger } from '../../util';
import { readRecent, systemGatewayReader, type GatewayReader } from '../../workspaces';

const FIXTURES = path.resolve(import.meta.dirname, '../../workspaces/fixtures');
const ARP = fs.readFileSync(path.join(FIXTURES, 'proc-net-arp'), 'utf8');

let dir: string;
let recentFile: string;
let routeFile: string;
const warnings: string[] = [];
const logger: Logger = {
  info: () => undefined,
  warn: (message) => void warnings.push(message),
  error: () => undefined,
  redact: () => undefined,
  close: () => undefined,
};
const cores: Core[] = [];

/** A route file whose default gateway is `address` (the kernel's little-endian hex). */
function onNetwork(address: string): void {
  const hex = address
    .split('.')
    .reverse()
    .map((o) => Number(o).toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase();
  fs.writeFileSync(
    routeFile,
    `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\nwlan0\t00000000\t${hex}\t0003\t0\t0\t600\t00000000\t0\t0\t0\n`,
  );
}

function newCore(options: { gatewayReader?: GatewayReader; recent?: string | null } = {}): Core {
  const core = new Core({
    platform: createNodePlatform({ configDir: dir, useKeychain: false }),
    carrier: 'test',
    logger,
    recentFile: options.recent === undefined ? recentFile : options.recent,
    watchNetwork: true,
    gatewayReader:
      options.gatewayReader ??
      systemGatewayReader({ platform: 'linux', routeFile, neighbours: async () => parseProcNetArp(ARP) }),
  });
  cores.push(core);
  return core;
}

const sha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-workspaces-'));
  recentFile = path.join(dir, 'data', 'recent-workspaces.json');
  routeFile = path.join(dir, 'route');
  warnings.length = 0;
});
afterEach(async () => {
  for (const core of cores.splice(0)) await core.closeWorkspace();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('workspaces as clients', () => {
  it('records each opened workspace in the recent list, newest first, with its site name', async () => {
    const core = newCore();
    const a = path.join(dir, 'acme.sqlite');
    const b = path.join(dir, 'bakery.sqlite');
    onNetwork('192.168.1.1');
    await core.openWorkspace(a, { create: 'always' });
    expect(await core.call('workspaces.setSite', { siteName: '  Acme Dental\n' })).toEqual({
      siteName: 'Acme Dental',
    });
    expect(readWorkspaceMeta(core.requireWorkspace().db).siteName).toBe('Acme Dental');
    await core.openWorkspace(b, { create: 'always' });
    await core.call('workspaces.setSite', { siteName: 'Bakery' });

    const recent = await core.call('workspaces.recent');
    expect(recent.map((r) => [r.path, r.siteName, r.exists, r.current])).toEqual([
      [b, 'Bakery', true, true],
      [a, 'Acme Dental', true, false],
    ]);
    // The list file holds paths and names only.
    expect(readRecent(recentFile).entries.map((e) => e.siteName)).toEqual(['Bakery', 'Acme Dental']);

    // A workspace that moved away is listed as missing, with the name it last had.
    await core.closeWorkspace();
    fs.renameSync(a, path.join(dir, 'moved.sqlite'));
    const after = await core.call('workspaces.recent');
    expect(after.map((r) => [r.siteName, r.exists, r.current])).toEqual([
      ['Bakery', true, false],
      ['Acme Dental', false, false],
    ]);
  });

  it('suggests the client whose network this is, and never opens or writes it by itself', async () => {
    const acme = path.join(dir, 'acme.sqlite');
    const bakery = path.join(dir, 'bakery.sqlite');
    const core = newCore();
    onNetwork('192.168.1.1'); // the fixture's neighbour table: 3c:37:86:5e:aa:01
    await core.openWorkspace(acme, { create: 'always' });
    await core.call('workspaces.setSite', { siteName: 'Acme Dental' });
    await core.networkNoted();
    expect(core.requireWorkspace().db.prepare('SELECT gateway_mac FROM workspace_networks').all()).toEqual([
      { gateway_mac: '3c:37:86:5e:aa:01' },
    ]);
    // Acme's own network: nothing to suggest.
    expect(await core.call('workspaces.suggestion')).toEqual({
      suggestion: null,
      gatewayMac: '3c:37:86:5e:aa:01',
    });

    // At the office (a network the table does not know): Bakery's workspace, no suggestion.
    onNetwork('10.9.9.1');
    await core.openWorkspace(bakery, { create: 'always' });
    await core.call('workspaces.setSite', { siteName: 'Bakery' });
    await core.networkNoted();
    expect(await core.call('workspaces.suggestion')).toEqual({ suggestion: null, gatewayMac: null });

    // Back on Acme's network with Bakery's workspace open: the suggestion names Acme, even though
    // Bakery's workspace has now noted this gateway too (Acme saw it first).
    onNetwork('192.168.1.1');
    await core.closeWorkspace();
    await core.openWorkspace(bakery);
    await core.networkNoted();
    const acmeBefore = sha(acme);
    const suggestion = await core.call('workspaces.suggestion');
    expect(suggestion).toEqual({
      suggestion: {
        path: acme,
        siteName: 'Acme Dental',
        gatewayMac: '3c:37:86:5e:aa:01',
        gatewayAddress: '192.168.1.1',
      },
      gatewayMac: '3c:37:86:5e:aa:01',
    });
    // Only a suggestion: the open workspace is still Bakery's, and Acme's file is untouched.
    expect(core.requireWorkspace().path).toBe(bakery);
    expect(sha(acme)).toBe(acmeBefore);
    expect(fs.existsSync(`${acme}-wal`) ? fs.statSync(`${acme}-wal`).size : 0).toBe(0);
    const recent = await core.call('workspaces.recent');
    expect(recent.find((r) => r.current)?.path).toBe(bakery);
  });

  it('reads an older workspace in the recent list without migrating it', async () => {
    const old = path.join(dir, 'old.sqlite');
    const raw = new BetterSqlite3(old);
    raw.pragma(`application_id = ${APPLICATION_ID}`);
    migrate(raw, 13);
    raw.close();
    fs.mkdirSync(path.dirname(recentFile), { recursive: true });
    fs.writeFileSync(
      recentFile,
      JSON.stringify({
        version: 1,
        workspaces: [{ path: old, siteName: 'Old client', lastOpenedAt: '2026-01-01T00:00:00.000Z' }],
      }),
    );
    const core = newCore();
    onNetwork('192.168.1.1');
    await core.openWorkspace(path.join(dir, 'new.sqlite'), { create: 'always' });
    expect((await core.call('workspaces.recent')).map((r) => [r.siteName, r.exists])).toEqual([
      ['', true],
      ['Old client', true],
    ]);
    expect((await core.call('workspaces.suggestion')).suggestion).toBeNull();
    const check = new BetterSqlite3(old, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(13);
    check.close();
  });

  it('opens a workspace whatever state the recent list is in, and says so in a warning', async () => {
    fs.mkdirSync(path.dirname(recentFile), { recursive: true });
    fs.writeFileSync(recentFile, '{"version":1,"workspaces":[');
    const core = newCore();
    const file = path.join(dir, 'ws.sqlite');
    await core.openWorkspace(file, { create: 'always' });
    expect(warnings.some((w) => /damaged; starting a new one/u.test(w))).toBe(true);
    expect(readRecent(recentFile).entries.map((e) => e.path)).toEqual([file]);

    // A list that cannot be written at all (its folder is a file) does not stop an open either.
    const blocked = newCore({ recent: path.join(file, 'recent.json') });
    await blocked.openWorkspace(path.join(dir, 'other.sqlite'), { create: 'always' });
    expect(warnings.some((w) => /could not be written/u.test(w))).toBe(true);
    expect((await blocked.call('workspaces.recent')).map((r) => r.current)).toEqual([true]);
  });

  it('keeps no list and notes no network unless the carrier asks', async () => {
    let reads = 0;
    const core = new Core({
      platform: createNodePlatform({ configDir: dir, useKeychain: false }),
      carrier: 'browser',
      gatewayReader: async () => {
        reads++;
        return null;
      },
    });
    cores.push(core);
    await core.openWorkspace(path.join(dir, 'ws.sqlite'), { create: 'always' });
    await core.networkNoted();
    expect(reads).toBe(0);
    expect(core.recentFile).toBeNull();
    expect(fs.existsSync(recentFile)).toBe(false);
  });

  it('needs an open workspace to name a site, and refuses an over-long one', async () => {
    const core = newCore();
    await expect(core.call('workspaces.setSite', { siteName: 'X' })).rejects.toThrow(/No workspace is open/u);
    await core.openWorkspace(path.join(dir, 'ws.sqlite'), { create: 'always' });
    await expect(core.call('workspaces.setSite', { siteName: 'x'.repeat(201) })).rejects.toThrow();
  });
});
