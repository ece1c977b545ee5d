import { describe, expect, it } from 'vitest';
import { winrmTargetOf } from '.';
import { getHost, recordScanHost, startScan } from '../db';
import { createMemoryWorkspace } from '../db/workspace';

const svc = (port: number, state = 'open') => ({ port, state, service: null, banner: null });

describe('winrmTargetOf', () => {
  it('prefers HTTPS on 5986, else HTTP on 5985, else nothing', () => {
    expect(winrmTargetOf({ services: [svc(5985), svc(5986)] })).toEqual({ port: 5986, https: true });
    expect(winrmTargetOf({ services: [svc(22), svc(5985)] })).toEqual({ port: 5985, https: false });
    expect(winrmTargetOf({ services: [svc(22), svc(445)] })).toBeNull();
    expect(winrmTargetOf({ services: [] })).toBeNull();
    // Only an open port counts.
    expect(winrmTargetOf({ services: [svc(5986, 'closed'), svc(5985)] })).toEqual({
      port: 5985,
      https: false,
    });
  });

  it('reads the ports a scan recorded for a host', () => {
    const db = createMemoryWorkspace();
    const scanId = startScan(db, { taskId: null, targets: '198.18.0.7', ports: [5985, 5986], total: 1 });
    const { hostId } = recordScanHost(
      db,
      scanId,
      {
        address: '198.18.0.7',
        name: 'WIN1',
        nameSource: 'netbios',
        names: ['WIN1'],
        mac: null,
        macVendor: null,
        osFamily: 'windows',
        osName: null,
        osVersion: null,
        osConfidence: 0.6,
        osEvidence: [],
        management: ['winrm'],
        services: [{ port: 5985, state: 'open', service: 'winrm', banner: null }],
        openPorts: [5985],
        result: {},
      },
      null,
      { addToInventory: true },
    );
    const host = getHost(db, hostId)!;
    expect(host.management).toEqual(['winrm']);
    expect(winrmTargetOf(host)).toEqual({ port: 5985, https: false });
  });
});
