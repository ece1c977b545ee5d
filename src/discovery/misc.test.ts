import { EventEmitter } from 'node:events';
import { createSocket } from 'node:dgram';
import makeMdns from 'multicast-dns';
import { describe, expect, it } from 'vitest';
import { matchHost } from './identity';
import { createMdnsBrowser, type MdnsSocketLike } from './mdns';
import { decodeNbstatResponse, encodeNbstatQuery, queryNetbios } from './netbios';
import { parsePingGroupRange, parsePingOutput } from './icmp';
import { PORT_PRESETS, parsePorts } from './ports';

/** A node-status answer laid out as RFC 1002 4.2.18 describes it (what Windows sends). */
function nbstatAnswer(id: number, names: [string, number, boolean][], mac: number[]): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x8400, 2); // response, authoritative
  header.writeUInt16BE(1, 6); // ANCOUNT
  const query = encodeNbstatQuery(id);
  const name = query.subarray(12, 46);
  const rr = Buffer.alloc(10);
  rr.writeUInt16BE(0x21, 0);
  rr.writeUInt16BE(1, 2);
  const entries = names.map(([n, suffix, group]) => {
    const e = Buffer.alloc(18, 0x20);
    e.write(n, 0, 'latin1');
    e[15] = suffix;
    e.writeUInt16BE(group ? 0x8400 : 0x0400, 16);
    return e;
  });
  const rdata = Buffer.concat([Buffer.from([names.length]), ...entries, Buffer.from(mac), Buffer.alloc(40)]);
  rr.writeUInt16BE(rdata.length, 8);
  return Buffer.concat([header, name, rr, rdata]);
}

describe('NetBIOS node status', () => {
  it('encodes the "*" NBSTAT query byte for byte', () => {
    const q = encodeNbstatQuery(0x1234);
    expect(q.toString('hex')).toBe(
      '12340000000100000000000020434b4141414141414141414141414141414141414141414141414141414141410000210001',
    );
  });

  it('decodes names, workgroup and MAC, and rejects garbage', () => {
    const answer = nbstatAnswer(
      7,
      [
        ['WIN11-PC', 0x00, false],
        ['WORKGROUP', 0x00, true],
        ['WIN11-PC', 0x20, false],
      ],
      [0x00, 0x15, 0x5d, 0x01, 0x02, 0x03],
    );
    expect(decodeNbstatResponse(answer, 7)).toEqual({
      name: 'WIN11-PC',
      workgroup: 'WORKGROUP',
      mac: '00:15:5d:01:02:03',
      names: [
        { name: 'WIN11-PC', suffix: 0, group: false },
        { name: 'WORKGROUP', suffix: 0, group: true },
        { name: 'WIN11-PC', suffix: 0x20, group: false },
      ],
    });
    expect(decodeNbstatResponse(answer, 8)).toBeNull(); // wrong transaction id
    expect(decodeNbstatResponse(answer.subarray(0, 40))).toBeNull();
    expect(decodeNbstatResponse(Buffer.alloc(3))).toBeNull();
    const hostile = nbstatAnswer(9, [['\u001b[2J\u0007evil', 0x00, false]], [0, 0, 0, 0, 0, 0]);
    const decoded = decodeNbstatResponse(hostile, 9)!;
    // eslint-disable-next-line no-control-regex
    expect(decoded.name).not.toMatch(/[\u0000-\u001f]/u);
    expect(decoded.mac).toBeNull(); // Samba sends a zero unit id
  });

  it('queries a responder bound on loopback', async () => {
    const responder = createSocket('udp4');
    await new Promise<void>((r) => responder.bind(0, '127.0.0.9', r));
    responder.on('message', (msg, remote) => {
      responder.send(
        nbstatAnswer(msg.readUInt16BE(0), [['FILESRV', 0, false]], [0, 0, 0, 0, 0, 0]),
        remote.port,
        remote.address,
      );
    });
    const { port } = responder.address();
    expect(await queryNetbios('127.0.0.9', { port, timeoutMs: 1000 })).toMatchObject({ name: 'FILESRV' });
    responder.close();
    expect(await queryNetbios('127.0.0.9', { port, timeoutMs: 100 })).toBeNull();
  });
});

describe('mDNS browse with an injected socket', () => {
  it('collects names, services and the device model per address', async () => {
    const fake = new EventEmitter() as EventEmitter & MdnsSocketLike;
    const asked: string[] = [];
    fake.query = (q) => {
      asked.push(q.questions[0]!.name);
      if (q.questions[0]!.name === '_services._dns-sd._udp.local') {
        setTimeout(() =>
          fake.emit(
            'response',
            { answers: [{ name: '_services._dns-sd._udp.local', type: 'PTR', data: '_smb._tcp.local' }] },
            { address: '127.0.0.20' },
          ),
        );
      }
      if (q.questions[0]!.name === '_smb._tcp.local') {
        setTimeout(() =>
          fake.emit(
            'response',
            {
              answers: [{ name: '_smb._tcp.local', type: 'PTR', data: 'Studio._smb._tcp.local' }],
              additionals: [
                { name: 'Studio._smb._tcp.local', type: 'SRV', data: { target: 'studio.local', port: 445 } },
                { name: 'studio.local', type: 'A', data: '127.0.0.20' },
                { name: 'Studio._device-info._tcp.local', type: 'TXT', data: [Buffer.from('model=Mac14,3')] },
              ],
            },
            { address: '127.0.0.20' },
          ),
        );
      }
    };
    fake.destroy = () => {};
    const browse = createMdnsBrowser({
      windowMs: 100,
      open: () => fake,
      serviceTypes: ['_services._dns-sd._udp.local'],
    });
    const hosts = await browse(new AbortController().signal);
    expect(asked).toEqual(['_services._dns-sd._udp.local', '_smb._tcp.local']);
    expect(hosts).toEqual([
      { address: '127.0.0.20', names: ['studio.local'], services: ['_smb._tcp'], model: 'Mac14,3' },
    ]);
  });
});

describe('mDNS browse with a socket that cannot bind', () => {
  it('ends early with no hosts instead of crashing on the bind error', async () => {
    // Port taken on loopback without SO_REUSEADDR: multicast-dns emits EADDRINUSE as 'error'.
    // No multicast, and queries would only go to 127.0.0.1; the failed bind means none are sent.
    const holder = createSocket({ type: 'udp4', reuseAddr: false });
    await new Promise<void>((resolve) => holder.bind(0, '127.0.0.1', resolve));
    const { port } = holder.address();
    const errors: unknown[] = [];
    const record = (error: unknown): void => void errors.push(error);
    process.on('uncaughtException', record);
    try {
      const browse = createMdnsBrowser({
        windowMs: 5000,
        open: () =>
          makeMdns({
            port,
            ip: '127.0.0.1',
            interface: '127.0.0.1',
            multicast: false,
            reuseAddr: false,
          }) as unknown as MdnsSocketLike,
      });
      const started = performance.now();
      expect(await browse(new AbortController().signal)).toEqual([]);
      expect(performance.now() - started).toBeLessThan(2000);
      await new Promise((r) => setTimeout(r, 50));
      expect(errors).toEqual([]);
    } finally {
      process.off('uncaughtException', record);
      holder.close();
    }
  });
});

describe('matchHost (MAC, then host key, then name, then address)', () => {
  const known = [
    {
      id: 1,
      macs: ['00:1C:42:00:00:01'],
      hostKeyFingerprints: ['SHA256:aaa'],
      names: ['deb12.lab'],
      addresses: ['198.18.0.10'],
    },
    {
      id: 2,
      macs: [],
      hostKeyFingerprints: ['SHA256:bbb'],
      names: ['win11.lab'],
      addresses: ['198.18.0.11'],
    },
    { id: 3, names: ['printer.lab'], addresses: ['198.18.0.12'] },
  ];
  it('prefers the strongest identifier', () => {
    expect(matchHost({ address: '198.18.0.99', mac: '00-1c-42-00-00-01' }, known)).toEqual({
      hostId: 1,
      by: 'mac',
    });
    expect(matchHost({ address: '198.18.0.99', hostKeyFingerprints: ['SHA256:bbb'] }, known)).toEqual({
      hostId: 2,
      by: 'host-key',
    });
    expect(matchHost({ address: '198.18.0.99', names: ['PRINTER.lab.'] }, known)).toEqual({
      hostId: 3,
      by: 'name',
    });
    expect(matchHost({ address: '198.18.0.12' }, known)).toEqual({ hostId: 3, by: 'address' });
    expect(matchHost({ address: '198.18.0.200' }, known)).toBeNull();
  });
  it('does not merge a different machine that took an old address or name', () => {
    // New MAC at host 1's address: a different machine.
    expect(matchHost({ address: '198.18.0.10', mac: '00:1c:42:00:00:99' }, known)).toBeNull();
    // Same name, different host key: a reinstalled or different machine, not host 2.
    expect(
      matchHost({ address: '198.18.0.50', names: ['win11.lab'], hostKeyFingerprints: ['SHA256:zzz'] }, known),
    ).toBeNull();
    // Broadcast/zero MACs are not identities.
    expect(matchHost({ address: '198.18.0.12', mac: 'ff:ff:ff:ff:ff:ff' }, known)).toEqual({
      hostId: 3,
      by: 'address',
    });
  });
});

describe('small parsers', () => {
  it('reads ping output and ping_group_range', () => {
    expect(parsePingOutput('64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.045 ms')).toEqual({
      alive: true,
      ttl: 64,
      rttMs: 0.045,
    });
    expect(parsePingOutput('Request timeout')).toEqual({ alive: false, ttl: null, rttMs: null });
    expect(parsePingGroupRange('1\t0\n')).toEqual({ from: 1, to: 0 });
  });
  it('parses port lists and presets', () => {
    expect(parsePorts('quick')).toEqual([22, 3389, 5985, 445]);
    expect(parsePorts('22, 80 8000-8002,22')).toEqual([22, 80, 8000, 8001, 8002]);
    expect(parsePorts(PORT_PRESETS.default)).toHaveLength(10);
    expect(() => parsePorts('9-1')).toThrow(/ends before it starts/u);
    expect(() => parsePorts('')).toThrow(/No ports/u);
  });
});
