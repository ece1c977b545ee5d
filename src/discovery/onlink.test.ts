/**
 * ARP-first host discovery: which targets count as on-link (this machine's route table, its
 * interfaces' ARP flag) and the fallbacks to scanning every address. The lab test
 * (test/integration/discovery-arp.test.ts) proves the real path on real hosts; here a real TCP
 * listener on loopback stands for a live host while the machine's tables are replaced.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  onLinkInterface,
  parseArpComplete,
  parseProcNetRoute,
  planArpFirst,
  systemArpFirst,
  type ArpFirstSystem,
} from './onlink';
import { sweep } from './sweep';

// /proc/net/route as Linux prints it: a default route via 192.0.2.1 and two on-link /24s.
const ROUTES = [
  'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
  'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0',
  'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
  'labbr0\t000012C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
  'wg0\t00000A0A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0',
  'eth0\t00000A0A\t010200C0\t0003\t0\t0\t0\t00FFFFFF\t0\t0\t0',
  'down0\t0000A8C0\t00000000\t0000\t0\t0\t0\t00FFFFFF\t0\t0\t0',
  '$(rm -rf)\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
].join('\n');

describe('which targets are on a directly connected segment', () => {
  const routes = parseProcNetRoute(ROUTES);

  it('reads the route table, skipping routes that are down and interface names that are not names', () => {
    expect(routes.map((r) => r.iface)).toEqual(['eth0', 'eth0', 'labbr0', 'wg0', 'eth0']);
  });

  it('takes the longest prefix: on-link without a gateway, not on-link through a router', () => {
    expect(onLinkInterface('198.18.0.77', routes)).toBe('labbr0');
    expect(onLinkInterface('192.0.2.9', routes)).toBe('eth0');
    expect(onLinkInterface('203.0.113.5', routes)).toBeNull(); // the default route has a gateway
    expect(onLinkInterface('10.10.3.4', routes)).toBe('wg0'); // the /16 without gateway
    expect(onLinkInterface('10.10.0.4', routes)).toBeNull(); // the /24 inside it goes via a router
    expect(onLinkInterface('192.168.0.4', routes)).toBeNull(); // only a route that is down
    expect(onLinkInterface('fe80::1', routes)).toBeNull();
    expect(onLinkInterface('not an address', routes)).toBeNull();
  });

  it('reads which neighbours answered: complete entries only', () => {
    const table = [
      'IP address       HW type     Flags       HW address            Mask     Device',
      '198.18.0.11      0x1         0x2         02:50:44:4c:00:0b     *        labbr0',
      '198.18.0.12      0x1         0x0         00:00:00:00:00:00     *        labbr0',
      '198.18.0.13      0x1         0x6         02:50:44:4c:00:0d     *        labbr0',
      'garbage',
    ].join('\n');
    expect([...parseArpComplete(table)]).toEqual(['198.18.0.11', '198.18.0.13']);
  });

  it('splits targets: on-link ARP links first; this machine, NOARP links and routed targets directly', async () => {
    const system = fakeSystem({ usesArp: (i) => i !== 'wg0', local: ['198.18.0.1'] });
    const plan = await planArpFirst(['198.18.0.1', '198.18.0.2', '10.10.3.4', '203.0.113.5', '::1'], system);
    expect(plan).toEqual({
      viaArp: ['198.18.0.2'],
      direct: ['198.18.0.1', '10.10.3.4', '203.0.113.5', '::1'],
      interfaces: ['labbr0'],
    });
    expect(
      await planArpFirst(['198.18.0.2'], fakeSystem({ routes: () => Promise.reject(new Error('no /proc')) })),
    ).toBeNull();
  });

  it('on this machine, loopback is never ARP-first (the sweep tests scan it as before)', async () => {
    const plan = await planArpFirst(['127.0.0.1'], systemArpFirst());
    expect(plan === null || plan.direct.includes('127.0.0.1')).toBe(true);
  });
});

describe('sweep falls back to scanning every address', () => {
  const servers: net.Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });
  const listen = async (): Promise<number> => {
    const server = net.createServer((socket) => socket.destroy());
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.2', r));
    return (server.address() as net.AddressInfo).port;
  };
  // 127.0.0.2 pretends to be on an ARP link; its "neighbour table" is whatever the test says.
  const onLinkLoopback = (over: Partial<FakeOptions>): ArpFirstSystem =>
    fakeSystem({
      routes: () =>
        Promise.resolve(
          `${ROUTES.split('\n')[0]}\nlab0\t0000007F\t00000000\t0001\t0\t0\t0\t000000FF\t0\t0\t0`,
        ),
      ...over,
    });

  it('when not one on-link address answered ARP: the table may not tell the truth, so all are scanned', async () => {
    const port = await listen();
    const summary = await sweep(['127.0.0.2', '127.0.0.3'], {
      ports: [port],
      banners: false,
      neighbours: false,
      reverseDns: false,
      arpFirst: {
        floorMs: 20,
        rttFactor: 1,
        system: onLinkLoopback({ arp: () => Promise.resolve('header\n') }),
      },
    });
    expect(summary.hosts.map((h) => [h.address, h.openPorts])).toEqual([
      ['127.0.0.2', [port]],
      ['127.0.0.3', []],
    ]);
    expect(summary.stats.connects).toBe(2);
    expect(summary.stats.arp).toBeUndefined();
    expect(summary.notes.join()).toMatch(/no address answered ARP on lab0: every address was port-scanned/);
  });

  it('when the neighbour table cannot be read: every address is scanned', async () => {
    const port = await listen();
    const summary = await sweep(['127.0.0.2'], {
      ports: [port],
      banners: false,
      neighbours: false,
      reverseDns: false,
      arpFirst: { system: onLinkLoopback({ arp: () => Promise.reject(new Error('EACCES')) }) },
    });
    expect(summary.hosts.map((h) => h.openPorts)).toEqual([[port]]);
    expect(summary.notes.join()).toMatch(/neighbour table could not be read/);
  });

  it('scans only what answered: an address missing from the table is not port-scanned', async () => {
    const port = await listen();
    const triggered: string[] = [];
    const summary = await sweep(['127.0.0.2', '127.0.0.3', '127.0.0.4'], {
      ports: [port],
      banners: false,
      neighbours: false,
      reverseDns: false,
      arpFirst: {
        floorMs: 20,
        rttFactor: 1,
        system: onLinkLoopback({
          arp: () => Promise.resolve('header\n127.0.0.2 0x1 0x2 02:00:00:00:00:02 * lab0\n'),
          trigger: (a) => triggered.push(a),
        }),
      },
    });
    expect(summary.hosts.map((h) => h.address)).toEqual(['127.0.0.2']);
    expect(summary.stats.connects).toBe(1);
    expect(summary.probed).toBe(3);
    expect(summary.stats.arp).toMatchObject({ asked: 3, answered: 1, skipped: 2 });
    // One datagram each: the kernel does the asking (and the asking again).
    expect(triggered).toEqual(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
  });

  it('arpFirst: false scans every address, as before', async () => {
    const port = await listen();
    const summary = await sweep(['127.0.0.2', '127.0.0.3'], {
      ports: [port],
      banners: false,
      neighbours: false,
      reverseDns: false,
      arpFirst: false,
    });
    expect(summary.stats.connects).toBe(2);
    expect(summary.hosts.map((h) => h.address)).toEqual(['127.0.0.2', '127.0.0.3']);
  });
});

interface FakeOptions {
  routes: () => Promise<string>;
  usesArp: (iface: string) => boolean;
  local: string[];
  arp: () => Promise<string>;
  trigger: (address: string) => void;
}

function fakeSystem(over: Partial<FakeOptions>): ArpFirstSystem {
  return {
    routes: over.routes ?? (() => Promise.resolve(ROUTES)),
    usesArp: (iface) => Promise.resolve((over.usesArp ?? (() => true))(iface)),
    localAddresses: () => over.local ?? [],
    arpTable: over.arp ?? (() => Promise.resolve('header\n')),
    trigger: over.trigger ?? (() => {}),
    close: () => {},
  };
}
