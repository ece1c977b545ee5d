/**
 * Test support for the patch service: a service over a real in-memory workspace and a real task
 * runner, and an approved job as a plan and its approval leave it.
 */
import type { Database } from 'better-sqlite3';
import { EventBus } from '../../api/event-bus';
import {
  appendAuditLog,
  createMemoryWorkspace,
  insertHost,
  listSteps,
  updateJob,
  updateStep,
} from '../../db';
import { ACME_SECURITY_UPDATE, insertTestJob } from '../../db/testing/jobs';
import { TaskRunner } from '../../tasks';
import type { Clock } from '../../util/clock';
import { planDigest, type PatchDeps } from '../plan';
import type { PatchService } from '../service';

export interface MemoryPatchService {
  db: Database;
  tasks: TaskRunner;
  svc: PatchService;
}

/**
 * A patch service acting as 'admin' with no secret store: hosts without a credential stop at
 * their connection, so no secret is ever read. Shut `tasks` down and close `db` after the test.
 */
export function memoryPatchService(clock?: Clock): MemoryPatchService {
  const db = createMemoryWorkspace();
  const events = new EventBus();
  const tasks = new TaskRunner(db, events);
  const deps: PatchDeps = { db, secrets: {} as PatchDeps['secrets'], actor: 'admin', events };
  const svc: PatchService = { deps: () => deps, tasks: () => tasks };
  if (clock) svc.clock = clock;
  return { db, tasks, svc };
}

/**
 * An approved job over `hosts` new hosts (web01, web02, …), each a queued step.
 * `withUpdate`: each step carries an update and its approved dry run, as a planned job's do.
 */
export function insertApprovedJob(db: Database, hosts = 0, withUpdate = false): number {
  const hostIds = Array.from(
    { length: hosts },
    (_, i) => insertHost(db, { name: `web0${i + 1}`, address: '127.0.0.1' }).id,
  );
  const id = insertTestJob(db, hostIds, { packages: withUpdate ? [ACME_SECURITY_UPDATE] : [] });
  if (withUpdate)
    for (const s of listSteps(db, id))
      updateStep(db, s.id, {
        phase: 'approved',
        preview: {
          command: 'apt-get -s install --only-upgrade acme-tool',
          upgrades: [{ name: 'acme-tool', arch: 'all', from: '1.0-1', to: '1.0-1+deb12u1' }],
          newPackages: [],
          removals: [],
          skipped: [],
          ranAt: '2026-03-01T11:00:00.000Z',
        },
      });
  updateJob(db, id, { status: 'approved', approvedBy: 'admin', approvedAt: '2026-03-01T12:00:00Z' });
  appendAuditLog(db, {
    actor: 'admin',
    action: 'job.approve',
    entityType: 'patch_job',
    entityId: id,
    details: { digest: planDigest(db, id) },
  });
  return id;
}
