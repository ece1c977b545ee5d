import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseProcNetArp, readSystemNeighbours } from '../discovery';
import {
  gatewayFrom,
  parseProcNetRoute,
  parseRouteGetDefault,
  parseRoutePrint,
  systemGatewayReader,
} from './gateway';

const FIXTURES = path.join(import.meta.dirname, 'fixtures');
const routeFixture = path.join(FIXTURES, 'proc-net-route');
const arpFixture = fs.readFileSync(path.join(FIXTURES, 'proc-net-arp'), 'utf8');

describe('the default gateway', () => {
  it('reads the default routes of a /proc/net/route file, best metric first, gateways only', () => {
    expect(parseProcNetRoute(fs.readFileSync(routeFixture, 'utf8'))).toEqual([
      { address: '172.18.0.254', interfaceName: 'eth0', metric: 100 },
      { address: '192.168.1.1', interfaceName: 'wlan0', metric: 600 },
    ]);
  });

  it('takes the first default gateway the neighbour table knows (an incomplete row is no MAC)', async () => {
    const read = systemGatewayReader({
      platform: 'linux',
      routeFile: routeFixture,
      neighbours: async () => parseProcNetArp(arpFixture),
    });
    expect(await read()).toEqual({ address: '192.168.1.1', mac: '3c:37:86:5e:aa:01' });
  });

  it('gives null, never an error, without a route file or without the gateway in the neighbour table', async () => {
    const missing = systemGatewayReader({
      platform: 'linux',
      routeFile: path.join(FIXTURES, 'no-such-file'),
      neighbours: async () => parseProcNetArp(arpFixture),
    });
    expect(await missing()).toBeNull();
    const unknown = systemGatewayReader({
      platform: 'linux',
      routeFile: routeFixture,
      neighbours: async () => [],
    });
    expect(await unknown()).toBeNull();
    const failing = systemGatewayReader({
      platform: 'linux',
      routeFile: routeFixture,
      neighbours: () => Promise.reject(new Error('no table')),
    });
    expect(await failing()).toBeNull();
  });

  it("agrees with this machine's own route and neighbour tables (read locally, nothing sent)", async () => {
    if (process.platform !== 'linux') throw new Error('this test reads /proc/net/route (Linux)');
    const neighbours = await readSystemNeighbours();
    const routes = parseProcNetRoute(fs.readFileSync('/proc/net/route', 'utf8'));
    const expected = gatewayFrom(
      routes.map((r) => r.address),
      neighbours,
    );
    expect(await systemGatewayReader({ neighbours: async () => neighbours })()).toEqual(expected);
    // The same check with a route file naming a neighbour this machine really has.
    const real = neighbours.find((n) => n.address.includes('.'));
    if (real) {
      const hex = real.address
        .split('.')
        .reverse()
        .map((o) => Number(o).toString(16).padStart(2, '0'))
        .join('')
        .toUpperCase();
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-route-'));
      try {
        const file = path.join(dir, 'route');
        fs.writeFileSync(
          file,
          `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n` +
            `${real.interfaceName ?? 'eth0'}\t00000000\t${hex}\t0003\t0\t0\t0\t00000000\t0\t0\t0\n`,
        );
        const read = systemGatewayReader({
          platform: 'linux',
          routeFile: file,
          neighbours: async () => neighbours,
        });
        expect(await read()).toEqual({ address: real.address, mac: real.mac });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it('reads the macOS and Windows route printouts (untested on those systems)', () => {
    expect(
      parseRouteGetDefault(
        '   route to: default\ndestination: default\n       mask: default\n    gateway: 10.0.0.1\n  interface: en0\n',
      ),
    ).toBe('10.0.0.1');
    expect(parseRouteGetDefault('route: writing to routing socket: not in table\n')).toBeNull();
    const windows = [
      'IPv4 Route Table',
      '===========================================================================',
      'Active Routes:',
      'Network Destination        Netmask          Gateway       Interface  Metric',
      '          0.0.0.0          0.0.0.0      192.168.0.1    192.168.0.23     35',
      '          0.0.0.0          0.0.0.0         10.8.0.1        10.8.0.6     25',
      'Persistent Routes:',
      '  None',
    ].join('\r\n');
    expect(parseRoutePrint(windows)).toEqual(['10.8.0.1', '192.168.0.1']);
  });

  it('reads a hostile route table in bounded time and memory (one long line, many lines)', () => {
    expect(parseProcNetRoute(`h\n${'x\t'.repeat(500_000)}`)).toEqual([]);
    const many = `h\n${'eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n'.repeat(100_000)}`;
    expect(parseProcNetRoute(many).length).toBeLessThan(5000);
    expect(parseRoutePrint(' 0.0.0.0 '.repeat(200_000))).toEqual([]);
  });
});
