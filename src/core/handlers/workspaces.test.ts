/**
 * The workspaces.* calls through the real router over real workspace files and a real recent
 * list, with the gateway read by the real reader from /proc-format route and neighbour files
 * (fixtures: the test never looks at, let alone probes, a network). Audits are real tasks of the
 * real runner against 127.0.0.1 only: a real SSH server (ssh2's) replaying a real Debian capture,
 * and a port just closed.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Core } from '..';
import type { Task } from '../../api';
import { loadRecording, type RecordedRun } from '../../collectors/testing/exec';
import { fixturePath } from '../../collectors/testing/fixtures';
import { APPLICATION_ID, migrate, readWorkspaceMeta, trustHostKey } from '../../db';
import { parseProcNetArp } from '../../discovery';
import { createNodePlatform } from '../../platform';
import { startFakeSshHost, type FakeSshHost } from '../../remote/testing/ssh-host';
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

/** The recorded runs of a real Debian 12 audit (OS detection, then apt), by the sections they ask for. */
const RUNS: RecordedRun[] = [
  ...loadRecording(fixturePath('os/debian-12-self.detect.json')).runs,
  ...loadRecording(fixturePath('apt/debian-12-self-sources.collect.json')).runs,
];
const sectionsOf = (command: string): string =>
  [...command.matchAll(/@@PATCHDECK:[0-9a-f]{8,32}:begin:([\w-]+)/gu)].map((m) => m[1]).join(' ');
const nonceOf = (command: string): string | undefined => /@@PATCHDECK:([0-9a-f]{8,32}):/u.exec(command)?.[1];

let sshHost: FakeSshHost;
let closedPort = 0;
beforeAll(async () => {
  // A host that answers each framed script with the recorded run asking for the same sections
  // (the recording's nonce swapped for the one asked), and fails anything else.
  sshHost = await startFakeSshHost((command, channel) => {
    const run = RUNS.find((r) => {
      const asked = sectionsOf(command);
      const recorded = sectionsOf(r.command);
      return recorded === asked || (asked.startsWith(recorded) && asked.endsWith(' hostname'));
    });
    const now = nonceOf(command);
    const then = run && nonceOf(run.command);
    const swap = (text: string): string => (now && then ? text.split(then).join(now) : text);
    if (run) {
      channel.stderr.write(swap(run.stderr));
      channel.write(swap(run.stdout));
    }
    channel.exit(run ? (run.code ?? 1) : 127);
    channel.end();
  });
  closedPort = await new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
});
afterAll(() => sshHost.close());

const addCredential = (core: Core) =>
  core.call('credentials.add', {
    name: 'office',
    username: 'admin',
    kind: 'password',
    secret: 'office-pw-5c1e',
    scope: ['*'],
  });

/** Audits one host as a task of the workspace's real runner and returns the finished task. */
async function audit(core: Core, hostId: number): Promise<Task> {
  const { taskId } = await core.call('audits.start', { hostIds: [hostId] });
  const task = await core.requireWorkspace().tasks.wait(taskId);
  if (!task) throw new Error(`task ${taskId} has no record`);
  return task;
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

  it('learns a network only from an audit that reached its own host, then suggests that client', async () => {
    const acme = path.join(dir, 'acme.sqlite');
    const bakery = path.join(dir, 'bakery.sqlite');
    const core = newCore();
    const networks = (): unknown[] =>
      core.requireWorkspace().db.prepare('SELECT gateway_mac, gateway_address FROM workspace_networks').all();
    // The contractor's own office (the fixture's neighbour table: 3c:37:86:5e:aa:01), where both
    // clients' workspaces are opened: being open there teaches neither of them.
    onNetwork('192.168.1.1');
    await core.openWorkspace(acme, { create: 'always' });
    await core.call('workspaces.setSite', { siteName: 'Acme Dental' });
    await core.networkNoted();
    expect(networks()).toEqual([]);
    await core.openWorkspace(bakery, { create: 'always' });
    await core.call('workspaces.setSite', { siteName: 'Bakery' });
    await core.networkNoted();
    expect(networks()).toEqual([]);
    expect(await core.call('workspaces.suggestion')).toEqual({
      suggestion: null,
      gatewayMac: '3c:37:86:5e:aa:01',
    });

    // A failed audit in Bakery's workspace (its host's port is closed) is no evidence either.
    const down = await core.call('hosts.add', { name: 'till', address: '127.0.0.1', sshPort: closedPort });
    await addCredential(core);
    const failed = await audit(core, down.id);
    expect(failed).toMatchObject({ kind: 'audit', status: 'failed', outcome: 'failed' });
    await core.networkNoted();
    expect(networks()).toEqual([]);

    // An audit in Acme's workspace that reached Acme's own host (played by a real SSH server on
    // 127.0.0.1 answering with a real Debian capture): this network is Acme's.
    await core.openWorkspace(acme);
    const chair = await core.call('hosts.add', {
      name: 'chair1',
      address: '127.0.0.1',
      sshPort: sshHost.port,
    });
    trustHostKey(core.requireWorkspace().db, {
      hostId: chair.id,
      type: sshHost.keyType,
      fingerprint: sshHost.fingerprint,
      actor: 'test',
      reason: 'test',
    });
    await addCredential(core);
    const reached = await audit(core, chair.id);
    expect(reached).toMatchObject({ kind: 'audit', status: 'succeeded', outcome: 'succeeded' });
    await core.networkNoted();
    expect(networks()).toEqual([{ gateway_mac: '3c:37:86:5e:aa:01', gateway_address: '192.168.1.1' }]);
    expect(await core.call('workspaces.suggestion')).toEqual({
      suggestion: null,
      gatewayMac: '3c:37:86:5e:aa:01',
    });

    // Bakery's workspace open on Acme's network: the suggestion names Acme, and only suggests.
    await core.openWorkspace(bakery);
    await core.networkNoted();
    expect(networks()).toEqual([]);
    await core.closeWorkspace();
    const acmeBefore = sha(acme);
    await core.openWorkspace(bakery);
    await core.networkNoted();
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
