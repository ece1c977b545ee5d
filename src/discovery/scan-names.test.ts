import { describe, expect, it } from 'vitest';
import type { HostResult } from './sweep';
import { observedFromResult } from './scan';

const result = (names: HostResult['names']): HostResult => ({
  address: '198.18.0.40',
  aliveBy: ['tcp-open'],
  ports: [],
  openPorts: [],
  services: [],
  mac: null,
  macVendor: null,
  names,
  netbios: null,
  mdns: null,
  icmp: null,
  os: { family: 'unknown', name: 'unknown', distribution: null, version: null, confidence: 0, evidence: [] },
  management: 'none',
  rttMs: null,
  notes: [],
  sshHostKey: null,
});

describe('the name a scan gives a host (issue 10, bug 8)', () => {
  it('is the best-ranked usable name, with its source', () => {
    const observed = observedFromResult(
      result([
        { name: 'h40.lab.example', source: 'ptr' },
        { name: 'printer.local', source: 'mdns' },
        { name: 'PRN-40', source: 'netbios' },
      ]),
    );
    expect(observed).toMatchObject({ name: 'PRN-40', nameSource: 'netbios' });
    expect(observed.names).toEqual(['PRN-40', 'printer.local', 'h40.lab.example']);
  });

  it('skips names that are not plain host names and falls back to the next source', () => {
    const observed = observedFromResult(
      result([
        { name: 'h40.lab.example', source: 'ptr' },
        { name: 'localhost', source: 'mdns' },
        { name: 'BAD NAME\u001b[2J', source: 'netbios' },
      ]),
    );
    expect(observed).toMatchObject({ name: 'h40.lab.example', nameSource: 'ptr' });
  });

  it('has no name when no source gave a usable one', () => {
    expect(observedFromResult(result([{ name: '10.0.0.1', source: 'ptr' }]))).toMatchObject({
      name: null,
      nameSource: undefined,
    });
  });
});
