import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  cachedNeighbourReader,
  isLocallyAdministeredMac,
  macVendor,
  normalizeMac,
  parseArpA,
  parseIpNeigh,
  parseProcNetArp,
} from './neighbours';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../test/fixtures/neighbours/${name}`, import.meta.url), 'utf8');

describe('neighbour table parsers on captured output', () => {
  it('reads /proc/net/arp, keeping only complete entries', () => {
    expect(parseProcNetArp(fixture('linux-proc-net-arp.txt'))).toEqual([
      { address: '192.0.2.1', mac: '02:fc:00:00:00:05', interfaceName: 'eth0', state: null },
    ]);
    const incomplete =
      'IP address       HW type     Flags       HW address            Mask     Device\n' +
      '198.18.0.9       0x1         0x0         00:00:00:00:00:00     *        br0\n' +
      '198.18.0.10      0x1         0x6         00:1c:42:00:00:0a     *        br0\n';
    expect(parseProcNetArp(incomplete)).toEqual([
      { address: '198.18.0.10', mac: '00:1c:42:00:00:0a', interfaceName: 'br0', state: 'PERMANENT' },
    ]);
  });

  it('reads ip neigh, skipping FAILED, NOARP and multicast rows', () => {
    expect(parseIpNeigh(fixture('linux-ip-neigh.txt'))).toEqual([
      { address: '192.0.2.1', mac: '02:fc:00:00:00:05', interfaceName: 'eth0', state: 'STALE' },
    ]);
    expect(parseIpNeigh(fixture('linux-ip-neigh-nud-all.txt'))).toEqual([
      { address: '192.0.2.1', mac: '02:fc:00:00:00:05', interfaceName: 'eth0', state: 'STALE' },
    ]);
    expect(
      parseIpNeigh(
        'fe80::1c42:ff:fe00:8 dev br0 lladdr 00:1c:42:00:00:08 router REACHABLE\n198.18.0.7 dev br0 INCOMPLETE\n',
      ),
    ).toEqual([
      { address: 'fe80::1c42:ff:fe00:8', mac: '00:1c:42:00:00:08', interfaceName: 'br0', state: 'REACHABLE' },
    ]);
  });

  it('reads net-tools and macOS arp -a (short octets padded, incomplete skipped)', () => {
    expect(parseArpA(fixture('linux-net-tools-arp-a.txt'))).toEqual([
      { address: '192.0.2.1', mac: '02:fc:00:00:00:05', interfaceName: 'eth0', state: null },
    ]);
    const mac = parseArpA(fixture('macos-arp-a.txt'));
    expect(mac).toHaveLength(5);
    expect(mac[0]).toEqual({
      address: '192.168.1.1',
      mac: '00:18:01:8f:23:ed',
      interfaceName: 'en1',
      state: null,
    });
  });

  it('reads Windows arp -a, dropping broadcast and multicast rows', () => {
    expect(parseArpA(fixture('windows-2003-arp-a.txt'))).toEqual([
      { address: '10.0.0.99', mac: '00:e0:98:00:7c:dc', interfaceName: '10.0.0.1', state: 'dynamic' },
    ]);
    expect(parseArpA(fixture('windows-10-arp-a-layout.txt'))).toEqual([
      { address: '172.16.11.1', mac: '00:40:95:d1:29:6c', interfaceName: '172.16.11.104', state: 'dynamic' },
    ]);
  });

  it('survives garbage', () => {
    const junk = '\u0000\u001b[2J'.repeat(1000) + '\n? (999.1.1.1) at zz:zz on x\n(1.2.3.4) at';
    expect(parseArpA(junk)).toEqual([]);
    expect(parseIpNeigh(junk)).toEqual([]);
    expect(parseProcNetArp(junk)).toEqual([]);
  });
});

describe('MAC helpers', () => {
  it('normalises the common spellings', () => {
    expect(normalizeMac('0:18:1:8f:23:ed')).toBe('00:18:01:8f:23:ed');
    expect(normalizeMac('00-E0-98-00-7C-DC')).toBe('00:e0:98:00:7c:dc');
    expect(normalizeMac('001c.4200.0008')).toBe('00:1c:42:00:00:08');
    expect(normalizeMac('001C42000008')).toBe('00:1c:42:00:00:08');
    expect(normalizeMac('00:1c:42:00:00')).toBeNull();
    expect(normalizeMac('00:1c-42:00:00:08')).toBeNull();
  });

  it('finds vendors in the IEEE table, longest prefix first', () => {
    expect(macVendor('00:1c:42:00:00:08')).toBe('Parallels, Inc.');
    expect(macVendor('b8:27:eb:12:34:56')).toBe('Raspberry Pi Foundation');
    expect(macVendor('00:0c:29:ab:cd:ef')).toBe('VMware, Inc.');
    // 10:06:48 is an MA-L-less prefix split into MA-M blocks: 1006480 → FLEXTRONICS…
    expect(macVendor('10:06:48:01:02:03')).toMatch(/FLEXTRONICS/u);
    expect(macVendor('02:fc:00:00:00:05')).toBeNull(); // locally administered
    expect(isLocallyAdministeredMac('02:fc:00:00:00:05')).toBe(true);
    expect(macVendor('not a mac')).toBeNull();
  });

  it('shares one table read between callers within the TTL', async () => {
    let reads = 0;
    const reader = cachedNeighbourReader(async () => {
      reads++;
      return [];
    }, 10_000);
    await Promise.all([reader(), reader(), reader()]);
    expect(reads).toBe(1);
    await reader.refresh();
    expect(reads).toBe(2);
  });
});
