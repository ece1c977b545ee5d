import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCollectedOutput } from '../collectors';
import { fixture, fixturePath } from '../collectors/testing/fixtures';
import { Core } from '../core';
import { listFindings } from '../db';
import { createNodePlatform } from '../platform';
import { addAdvisory, addSource } from './testing/snapshot';

// The audit's one call after completeAudit: an offline collection (the real capture of a Debian 12
// machine) is judged as it is imported, dated by the host's clock, with no step of its own.

const SELF = 'offline/debian-12-self.root.txt';
let dir: string;
let core: Core;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pd-audit-enrich-'));
  core = new Core({ platform: createNodePlatform({ configDir: dir, useKeychain: false }), carrier: 'test' });
  await core.openWorkspace(join(dir, 'ws.sqlite'), { create: 'always' });
});
afterEach(async () => {
  await core.closeWorkspace();
  rmSync(dir, { recursive: true, force: true });
});

describe('an imported collection is judged against the snapshot', () => {
  it('its updates carry their CVEs, tier and due date from the collection’s own date', async () => {
    const parsed = await parseCollectedOutput(fixture(SELF));
    const u = parsed.result.updates.find((x) => x.installedVersion)!;
    const source = u.sourceName ?? u.name;
    const fixed = u.sourceAvailableVersion ?? u.availableVersion;
    const db = core.requireWorkspace().db;
    const tracker = addSource(db, { feed: 'debian-tracker', publisher: 'Debian' });
    addAdvisory(db, tracker, {
      feed: 'debian-tracker',
      advisoryId: `DEBIAN:CVE-2099-0001:${source}`,
      cves: ['CVE-2099-0001'],
      severity: 'high',
      // As the tracker has it: the rating is the release's own urgency (the record's is the highest of all releases).
      packages: [
        {
          ecosystem: 'Debian:12',
          package: source,
          nameKind: 'source',
          fixed,
          status: 'fixed',
          urgency: 'high',
        },
      ],
    });
    const imported = await core.call('audits.import', {
      base64: readFileSync(fixturePath(SELF)).toString('base64'),
    });
    const f = listFindings(db, imported.audit.id).find((x) => x.package === u.name)!;
    expect(f).toMatchObject({
      cves: ['CVE-2099-0001'],
      tier: 'high',
      firstSeenAt: '2026-11-28T01:03:30.000Z',
      dueAt: '2026-12-28T01:03:30.000Z',
    });
  });
});
