import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTargets, sweep, type HostResult, type SweepOptions } from './index';

// Loopback only: every server binds to 127.0.0.x and every sweep targets 127.0.0.0/8.
const SSH_PORT = 22022;
const WINRM_PORT = 25985;
const RDP_PORT = 23389;
const winrm401 = readFileSync(new URL('../../test/fixtures/banners/httpapi-401.http', import.meta.url));

const servers: Server[] = [];
const sockets = new Set<Socket>();
let sshd: ChildProcess | null = null;

function listen(host: string, port: number, onConnection: (socket: Socket) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {});
      onConnection(socket);
    });
    server.once('error', reject);
    server.listen(port, host, () => resolve());
    servers.push(server);
  });
}

// Quiet sweeps: nothing leaves loopback (no DNS, no NetBIOS, no mDNS, no neighbour reads).
const loopbackOnly: SweepOptions = {
  ports: [SSH_PORT, WINRM_PORT, RDP_PORT],
  banners: { [SSH_PORT]: 'ssh', [WINRM_PORT]: 'winrm', [RDP_PORT]: 'rdp' },
  neighbours: false,
  reverseDns: false,
  netbios: false,
  icmp: false,
  mdns: false,
  bannerTimeoutMs: 600,
};

const realSshd =
  existsSync('/usr/sbin/sshd') && process.getuid?.() === 0 && existsSync('/etc/ssh/ssh_host_ed25519_key');

beforeAll(async () => {
  // 127.0.0.2: an SSH server that identifies itself like Debian 12 and then waits.
  await listen('127.0.0.2', SSH_PORT, (s) => s.write('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n'));
  // 127.0.0.3: WinRM as HTTP.sys answers it (the real 401 bytes), after reading the request.
  await listen('127.0.0.3', WINRM_PORT, (s) => s.once('data', () => s.end(winrm401)));
  // 127.0.0.3: RDP X.224 connection confirm selecting CredSSP.
  await listen('127.0.0.3', RDP_PORT, (s) =>
    s.once('data', () => s.write(Buffer.from('030000130ed000001234000201080002000000', 'hex'))),
  );
  // 127.0.0.4: hostile SSH: a megabyte line of control characters and invalid UTF-8, never ending.
  await listen('127.0.0.4', SSH_PORT, (s) => {
    const junk = Buffer.alloc(1 << 20);
    for (let i = 0; i < junk.length; i++) junk[i] = [0x1b, 0x07, 0xff, 0xc3, 0x00, 0x41][i % 6]!;
    s.write(Buffer.concat([Buffer.from('SSH-2.0-'), junk]));
  });
  // 127.0.0.4: WinRM port that accepts and never says a word.
  await listen('127.0.0.4', WINRM_PORT, () => {});
  // 127.0.0.4: "RDP" that trickles one byte every 100 ms forever.
  await listen('127.0.0.4', RDP_PORT, (s) => {
    const t = setInterval(() => s.write('x'), 100);
    s.on('close', () => clearInterval(t));
  });
  if (realSshd) {
    sshd = spawn(
      '/usr/sbin/sshd',
      ['-D', '-e', '-p', String(SSH_PORT), '-o', 'ListenAddress=127.0.0.6', '-o', 'PidFile=none'],
      {
        stdio: 'ignore',
      },
    );
    await new Promise((r) => setTimeout(r, 400));
  }
});

afterAll(async () => {
  if (sshd?.pid) process.kill(sshd.pid, 'SIGTERM');
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

describe('sweep on loopback', () => {
  it('finds the fake servers, reads their banners and classifies them', async () => {
    const targets = await parseTargets('127.0.0.0/29');
    expect(targets.addresses).toHaveLength(6);
    const streamed: HostResult[] = [];
    const progress: { probed: number; total: number; found: number }[] = [];
    const started = Date.now();
    const summary = await sweep(targets.addresses, loopbackOnly, {
      onHost: (h) => streamed.push(h),
      onProgress: (p) => progress.push(p),
    });
    expect(summary.status).toBe('completed');
    expect(Date.now() - started).toBeLessThan(3000);

    // Loopback answers RST everywhere, so every address is alive (closed ports prove it).
    expect(summary.hosts.map((h) => h.address)).toEqual(targets.addresses);
    expect(streamed).toHaveLength(6);
    const byAddress = new Map(summary.hosts.map((h) => [h.address, h]));

    const debian = byAddress.get('127.0.0.2')!;
    expect(debian.openPorts).toEqual([SSH_PORT]);
    expect(debian.ports.find((p) => p.port === WINRM_PORT)?.state).toBe('closed');
    expect(debian.os).toMatchObject({ name: 'Debian 12', family: 'linux' });
    expect(debian.management).toBe('ssh');

    const windows = byAddress.get('127.0.0.3')!;
    expect(windows.openPorts).toEqual([RDP_PORT, WINRM_PORT].sort((a, b) => a - b));
    expect(windows.services).toContainEqual(
      expect.objectContaining({ kind: 'http', winrm: true, status: 401, server: 'Microsoft-HTTPAPI/2.0' }),
    );
    expect(windows.services).toContainEqual(expect.objectContaining({ kind: 'rdp', selected: 'credssp' }));
    expect(windows.os.family).toBe('windows');
    expect(windows.management).toBe('winrm');

    const hostile = byAddress.get('127.0.0.4')!;
    expect(hostile.openPorts).toEqual([SSH_PORT, RDP_PORT, WINRM_PORT].sort((a, b) => a - b));
    for (const s of hostile.services) {
      const text = JSON.stringify(s);
      expect(text.length).toBeLessThan(1000);
      // eslint-disable-next-line no-control-regex
      expect(text).not.toMatch(/[\u0000-\u001f\u007f]/u);
    }
    expect(hostile.services.find((s) => s.port === WINRM_PORT)).toMatchObject({
      kind: 'unknown',
      note: 'no HTTP answer (timeout)',
    });
    expect(hostile.services.find((s) => s.port === RDP_PORT)).toMatchObject({ kind: 'unknown' });

    const empty = byAddress.get('127.0.0.5')!;
    expect(empty.openPorts).toEqual([]);
    expect(empty.aliveBy).toEqual(['tcp-closed']);
    expect(empty.management).toBe('none');

    if (realSshd) {
      const real = byAddress.get('127.0.0.6')!;
      // This machine's own sshd (Debian 12 container): the banner must say so.
      expect(real.services[0]).toMatchObject({ kind: 'ssh' });
      expect(real.os).toMatchObject({ family: 'linux', name: 'Debian 12' });
    }

    const last = progress.at(-1)!;
    expect(last).toEqual({ probed: 6, total: 6, found: 6 });
    expect(progress.map((p) => p.probed)).toEqual([...progress.map((p) => p.probed)].sort((a, b) => a - b));
  });

  it('bounds the wait on an open port that never speaks by the banner timeout', async () => {
    // Loopback always answers SYNs (SYN-ACK or RST), so a filtered port cannot be staged here;
    // the lab suite covers filtered/dead addresses. This checks the silent-peer deadline.
    const summary = await sweep(['127.0.0.4'], {
      ...loopbackOnly,
      ports: [WINRM_PORT],
      bannerTimeoutMs: 300,
    });
    expect(summary.hosts[0]!.services[0]).toMatchObject({
      kind: 'unknown',
      note: 'no HTTP answer (timeout)',
    });
    expect(summary.durationMs).toBeLessThan(1500);
  });

  it('cancels a long sweep within a second and says so', async () => {
    const controller = new AbortController();
    const addresses = (await parseTargets('127.1.0.0/16')).addresses; // 65 534 addresses × 3 ports
    let found = 0;
    const run = sweep(addresses, loopbackOnly, { signal: controller.signal, onHost: () => found++ });
    await new Promise((r) => setTimeout(r, 300));
    const abortedAt = Date.now();
    controller.abort();
    const summary = await run;
    const stoppedIn = Date.now() - abortedAt;
    expect(summary.status).toBe('cancelled');
    expect(stoppedIn).toBeLessThan(1000);
    expect(summary.probed).toBeLessThan(addresses.length);
    expect(summary.hosts.length).toBe(found);
    // Nothing keeps running after the promise settled.
    const before = found;
    await new Promise((r) => setTimeout(r, 200));
    expect(found).toBe(before);
  });

  it('cancels while banner reads are waiting on a silent peer', async () => {
    const controller = new AbortController();
    const run = sweep(
      ['127.0.0.4'],
      { ...loopbackOnly, bannerTimeoutMs: 30_000 },
      { signal: controller.signal },
    );
    await new Promise((r) => setTimeout(r, 200));
    const abortedAt = Date.now();
    controller.abort();
    const summary = await run;
    expect(Date.now() - abortedAt).toBeLessThan(1000);
    expect(summary.status).toBe('cancelled');
  });

  it('reports no progress once a cancelled sweep has settled', async () => {
    const controller = new AbortController();
    let settled = false;
    let lateReports = 0;
    const run = sweep(
      ['127.0.0.4'],
      { ...loopbackOnly, bannerTimeoutMs: 30_000 },
      {
        signal: controller.signal,
        onProgress: () => {
          if (settled) lateReports++;
        },
      },
    );
    await new Promise((r) => setTimeout(r, 200));
    controller.abort();
    expect((await run).status).toBe('cancelled');
    settled = true;
    await new Promise((r) => setTimeout(r, 100));
    expect(lateReports).toBe(0);
  });

  it('merges injected neighbour, PTR, NetBIOS and mDNS answers into the host', async () => {
    const summary = await sweep(['127.0.0.2', '127.0.0.7'], {
      ...loopbackOnly,
      neighbours: async () => [
        { address: '127.0.0.2', mac: '00:1c:42:00:00:02', interfaceName: 'lo', state: 'REACHABLE' },
      ],
      reverseDns: async (a) => (a === '127.0.0.2' ? ['deb12.lab.\u001b[31m'] : []),
      netbios: async (a) =>
        a === '127.0.0.2' ? { name: 'DEB12', workgroup: 'WORKGROUP', mac: null, names: [] } : null,
      mdns: async () => [
        {
          address: '127.0.0.2',
          names: ['deb12.local'],
          services: ['_ssh._tcp', '_workstation._tcp'],
          model: null,
        },
      ],
      names: [{ name: 'deb12.lab', addresses: ['127.0.0.2'] }],
    });
    const host = summary.hosts.find((h) => h.address === '127.0.0.2')!;
    expect(host.mac).toBe('00:1c:42:00:00:02');
    expect(host.macVendor).toBe('Parallels, Inc.');
    expect(host.names).toEqual([
      { name: 'deb12.lab', source: 'target' },
      { name: 'deb12.lab.\\x1b[31m', source: 'ptr' },
      { name: 'DEB12', source: 'netbios' },
      { name: 'deb12.local', source: 'mdns' },
    ]);
    expect(host.mdns).toEqual({ services: ['_ssh._tcp', '_workstation._tcp'], model: null });
    expect(host.netbios?.workgroup).toBe('WORKGROUP');
  });

  it('finishes when the progress callback throws', async () => {
    const rejections: unknown[] = [];
    const record = (error: unknown): void => void rejections.push(error);
    process.on('unhandledRejection', record);
    try {
      const run = sweep(['127.0.0.5'], loopbackOnly, {
        onProgress: () => {
          throw new Error('the progress store is gone');
        },
      });
      const summary = await Promise.race([run, new Promise<null>((r) => setTimeout(() => r(null), 3000))]);
      expect(summary?.status).toBe('completed');
      expect(summary?.hosts.map((h) => h.address)).toEqual(['127.0.0.5']);
      await new Promise((r) => setTimeout(r, 50));
      expect(rejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', record);
    }
  });

  it("reads the SSH host key while the address's other ports are still being probed", async () => {
    // 127.0.0.9: SSH answers at once; the WinRM port accepts and stays silent until the host
    // key has been asked for, then answers. Had the key read waited for every port to settle,
    // the WinRM check would have given up (banner timeout) before anyone asked for the key.
    const silent: Socket[] = [];
    await listen('127.0.0.9', SSH_PORT, (s) => s.write('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n'));
    await listen('127.0.0.9', WINRM_PORT, (s) => void silent.push(s));
    let keyAsked = false;
    const summary = await sweep(['127.0.0.9'], {
      ...loopbackOnly,
      ports: [SSH_PORT, WINRM_PORT],
      bannerTimeoutMs: 5000,
      sshHostKey: async (address, port) => {
        keyAsked = true;
        for (const s of silent) s.end(winrm401);
        return address === '127.0.0.9' && port === SSH_PORT
          ? { type: 'ssh-ed25519', fingerprint: 'SHA256:test', publicKey: 'AAAA' }
          : null;
      },
    });
    expect(keyAsked).toBe(true);
    const host = summary.hosts[0]!;
    expect(host.sshHostKey).toEqual({
      type: 'ssh-ed25519',
      fingerprint: 'SHA256:test',
      publicKey: 'AAAA',
      port: SSH_PORT,
    });
    expect(host.services.find((s) => s.port === WINRM_PORT)).toMatchObject({ kind: 'http', winrm: true });
  });

  it('refuses bad port specs with a readable error', async () => {
    await expect(sweep(['127.0.0.2'], { ports: '22,abc' })).rejects.toThrow(/"abc" is not a port/u);
    await expect(sweep(['127.0.0.2'], { ports: [70000] })).rejects.toThrow(/outside 1–65535/u);
  });
});
