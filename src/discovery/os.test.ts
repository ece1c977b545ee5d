import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { inferOs, managementChannel, sshEvidence } from './os';
import { parseHttpHead, parseSshIdentification } from './protocols';
import type { ServiceInfo } from './tcp';

const fixtures = new URL('../../test/fixtures/banners/', import.meta.url);
const rows = readFileSync(new URL('ssh-banners.tsv', fixtures), 'utf8')
  .split('\n')
  .filter((l) => l && !l.startsWith('#'))
  .map((l) => l.split('\t') as [string, string, string]);

const ssh = (banner: string): ServiceInfo => ({
  port: 22,
  kind: 'ssh',
  identification: parseSshIdentification(Buffer.from(`${banner}\r\n`), true)!,
});

describe('OS inference on real SSH banners (test/fixtures/banners)', () => {
  it.each(rows)('%s → %s (%s)', (banner, expected) => {
    const guess = inferOs({ services: [ssh(banner)], openPorts: [22] });
    if (expected === 'embedded Linux') {
      expect(guess.name).toBe('embedded Linux');
    } else if (expected === 'network device') {
      expect(guess.family).toBe('network-device');
    } else {
      expect(guess.name).toBe(expected);
    }
    expect(guess.evidence[0]).toContain(banner);
    expect(guess.confidence).toBeGreaterThan(0);
    expect(guess.confidence).toBeLessThanOrEqual(1);
  });

  it('explains the Debian 12 example from the brief', () => {
    const guess = inferOs({ services: [ssh('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3')] });
    expect(guess).toMatchObject({
      family: 'linux',
      distribution: 'Debian',
      version: '12',
      name: 'Debian 12',
    });
    expect(guess.confidence).toBeGreaterThanOrEqual(0.9);
    expect(guess.evidence).toEqual([
      'SSH banner says "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3" → Debian 12 (+deb12 security update)',
    ]);
  });

  it('is unsure about a bare OpenSSH version, and says so', () => {
    const rhel = inferOs({ services: [ssh('SSH-2.0-OpenSSH_8.7')] });
    expect(rhel.confidence).toBeLessThan(0.5);
    expect(inferOs({ services: [ssh('SSH-2.0-OpenSSH_9.1')] })).toMatchObject({
      family: 'unknown',
      confidence: 0,
    });
  });

  it('finds the banner even when the KEXINIT packet follows in the same read (dropbear)', () => {
    const bytes = readFileSync(new URL('dropbear-with-kexinit.bin', fixtures));
    const id = parseSshIdentification(bytes);
    expect(id).toMatchObject({ protoVersion: '2.0', software: 'dropbear_2016.74', comments: null });
    expect(sshEvidence(id!)[0]!.text).toMatch(/Dropbear/u);
  });

  it('treats hostile banners as text: control characters escaped, length capped, no throw', () => {
    const hostile = Buffer.concat([
      Buffer.from('SSH-2.0-Evil\u001b[2J\u0007 '),
      Buffer.alloc(10_000, 0xff),
      Buffer.from('\r\n'),
    ]);
    const id = parseSshIdentification(hostile, true)!;
    expect(id.raw.length).toBeLessThanOrEqual(255);
    // eslint-disable-next-line no-control-regex
    expect(id.raw).not.toMatch(/[\u0000-\u001f]/u);
    expect(() => inferOs({ services: [{ port: 22, kind: 'ssh', identification: id }] })).not.toThrow();
    expect(parseSshIdentification(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'), true)).toBeNull();
    expect(parseSshIdentification(Buffer.from('SSH-2.0-OpenSSH_9.2p1'))).toBeNull(); // no newline yet
  });
});

describe('Windows evidence and management channels', () => {
  const winrmHead = parseHttpHead(readFileSync(new URL('httpapi-401.http', fixtures)))!;
  const winrm: ServiceInfo = {
    port: 5985,
    kind: 'http',
    tls: false,
    status: winrmHead.status,
    server: winrmHead.headers.server ?? null,
    authenticate: winrmHead.headers['www-authenticate'] ?? null,
    winrm: true,
  };

  it('parses the real HTTP.sys 401', () => {
    expect(winrmHead.status).toBe(401);
    expect(winrmHead.headers.server).toBe('Microsoft-HTTPAPI/2.0');
    expect(winrmHead.headers['www-authenticate']).toBe('Negotiate, NTLM');
  });

  it('combines WinRM, RDP and SMB into a confident Windows guess', () => {
    const guess = inferOs({
      services: [
        winrm,
        { port: 3389, kind: 'rdp', selected: 'credssp', failure: null },
        { port: 445, kind: 'smb', version: 2, dialect: '3.0.2', signingRequired: false },
      ],
      openPorts: [135, 139, 445, 3389, 5985],
    });
    expect(guess).toMatchObject({ family: 'windows', name: 'Windows' });
    expect(guess.confidence).toBeGreaterThan(0.95);
    expect(guess.evidence).toHaveLength(3);
  });

  it('lowers confidence when the evidence disagrees', () => {
    const mixed = inferOs({ services: [ssh('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3'), winrm] });
    const clean = inferOs({ services: [ssh('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3')] });
    expect(mixed.confidence).toBeLessThan(clean.confidence);
  });

  it('names the management channel', () => {
    expect(managementChannel([winrm])).toBe('winrm');
    expect(managementChannel([ssh('SSH-2.0-OpenSSH_for_Windows_8.1'), winrm])).toBe('both');
    expect(managementChannel([ssh('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3')])).toBe('ssh');
    expect(
      managementChannel([{ port: 5985, kind: 'unknown', expected: 'winrm', note: 'no HTTP answer' }]),
    ).toBe('none');
    expect(inferOs({})).toMatchObject({ family: 'unknown', confidence: 0, evidence: [] });
  });
});
