/**
 * WS-Man Identify in discovery. A tiny HTTP server on loopback plays a Windows WinRM listener:
 * `Server: Microsoft-HTTPAPI/2.0`, 401 to an anonymous POST, and a Windows Server 2019 Identify
 * reply (the recorded shape) to a POST carrying `WSMANIDENTIFY: unauthenticated`. A real scan
 * (Core, real workspace) asks it and records its product and version as OS evidence, and the
 * WinRM-only host merges across scans like any other.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { identifyEvidence, windowsRelease } from './wsman';
import { Core } from '../core';
import { createNodePlatform } from '../platform';

const IDENTIFY_REPLY = (productVersion: string): string =>
  '<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/><s:Body>' +
  '<wsmid:IdentifyResponse xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd">' +
  '<wsmid:ProtocolVersion>http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd</wsmid:ProtocolVersion>' +
  '<wsmid:ProductVendor>Microsoft Corporation</wsmid:ProductVendor>' +
  `<wsmid:ProductVersion>${productVersion}</wsmid:ProductVersion>` +
  '<wsmid:SecurityProfiles><wsmid:SecurityProfileName>http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/spnego-kerberos</wsmid:SecurityProfileName></wsmid:SecurityProfiles>' +
  '</wsmid:IdentifyResponse></s:Body></s:Envelope>';

describe('identifyEvidence', () => {
  const id = (productVersion: string, vendor = 'Microsoft Corporation') => ({
    vendor,
    productVersion,
    protocolVersion: 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd',
  });

  it('makes Microsoft’s stack Windows evidence, with the version and release the PC names', () => {
    expect(identifyEvidence(id('OS: 10.0.17763 SP: 0.0 Stack: 3.0'), 5985)).toEqual({
      family: 'windows',
      distribution: 'Windows',
      version: '10.0.17763',
      weight: 0.98,
      text: 'WS-Man Identify on 5985: Microsoft Corporation, OS: 10.0.17763 SP: 0.0 Stack: 3.0 → Windows 10.0.17763 (Windows Server 2019 / Windows 10 1809)',
    });
    expect(identifyEvidence(id('OS: 10.0.99999 SP: 0.0 Stack: 3.0'), 5986)?.text).toMatch(
      /→ Windows 10\.0\.99999$/,
    );
    expect(windowsRelease(20348)).toBe('Windows Server 2022');
    expect(windowsRelease(12345)).toBeNull();
  });

  it('says Windows without a version when an anonymous Identify names none (OS: 0.0.0)', () => {
    const e = identifyEvidence(id('OS: 0.0.0 SP: 0.0 Stack: 3.0'), 5985)!;
    expect(e).toMatchObject({ family: 'windows', distribution: 'Windows', weight: 0.95 });
    expect(e.version).toBeUndefined();
    expect(e.text).toMatch(/WS-Man stack 3\.0\); the version is not named to an anonymous Identify$/);
  });

  it('gives another vendor no weight, and cleans control characters and length', () => {
    expect(identifyEvidence(id('1.2', 'Openwsman Project'), 5985)).toEqual({
      family: 'unknown',
      weight: 0,
      text: 'WS-Man Identify on 5985: Openwsman Project 1.2',
    });
    expect(identifyEvidence(id('', ''), 5985)).toBeNull();
    const hostile = identifyEvidence(id(`OS: 10.0.1\u0007\n${'9'.repeat(100_000)}`), 5985)!;
    expect(hostile.text.length).toBeLessThan(400);
    expect([...hostile.text].some((c) => c < ' ')).toBe(false);
  });
});

describe('a scan asks WinRM listeners for WS-Man Identify', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('records Windows and its version from Identify, and merges the WinRM-only host on the next scan', async () => {
    const address = '127.0.0.59';
    const asked: string[] = [];
    let productVersion = 'OS: 10.0.17763 SP: 0.0 Stack: 3.0';
    const server = http.createServer((req, res) => {
      asked.push(`${req.method} ${req.url} ${req.headers.wsmanidentify ?? '-'}`);
      req.resume();
      req.on('end', () => {
        res.setHeader('Server', 'Microsoft-HTTPAPI/2.0');
        if (req.headers.wsmanidentify !== 'unauthenticated') {
          res.writeHead(401, { 'WWW-Authenticate': 'Negotiate', 'Content-Length': '0', Connection: 'close' });
          return void res.end();
        }
        const body = IDENTIFY_REPLY(productVersion);
        res.writeHead(200, { 'Content-Type': 'application/soap+xml;charset=UTF-8' });
        res.end(body);
      });
    });
    // 5985 itself, so the scan's own handshake table treats it as WinRM (a loopback address no
    // other test uses).
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(5985, address, resolve);
    });
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-wsman-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const core = new Core({
      platform: createNodePlatform({ configDir: path.join(dir, 'config'), useKeychain: false }),
      carrier: 'test',
    });
    await core.openWorkspace(path.join(dir, 'ws.sqlite'), { create: 'if-missing' });
    cleanups.push(() => core.closeWorkspace());

    const scan = async () => {
      const started = await core.call('discovery.start', {
        targets: address,
        ports: '5985',
        reverseDns: false,
        addToInventory: true,
      });
      expect((await core.requireWorkspace().tasks.wait(started.taskId))?.status).toBe('succeeded');
      return core.call('hosts.list', {});
    };

    const [host] = await scan();
    expect(asked).toContain('POST /wsman unauthenticated');
    expect(host).toMatchObject({
      address,
      osFamily: 'windows',
      osName: 'Windows',
      osVersion: '10.0.17763',
      management: ['winrm'],
    });
    expect(host!.osEvidence).toContain(
      'WS-Man Identify on 5985: Microsoft Corporation, OS: 10.0.17763 SP: 0.0 Stack: 3.0 → Windows 10.0.17763 (Windows Server 2019 / Windows 10 1809)',
    );

    // The PC was upgraded: the next scan finds the same host (by its address; no SSH key, no
    // MAC on loopback) and records the new version on it.
    productVersion = 'OS: 10.0.20348 SP: 0.0 Stack: 3.0';
    const again = await scan();
    expect(again).toHaveLength(1);
    expect(again[0]).toMatchObject({ id: host!.id, osVersion: '10.0.20348', management: ['winrm'] });
  });
});
