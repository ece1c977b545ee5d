/** listJobs on a real in-memory workspace: the status filter comes before the limit, the counts come with the rows. */
import type { Database } from 'better-sqlite3';
import { beforeEach, describe, expect, it } from 'vitest';
import type { PatchJob } from '../api/schemas';
import { insertHost } from './hosts';
import { getJob, listJobs, listSteps, updateJob, updateStep } from './patch-jobs';
import { insertTestJob } from './testing/jobs';
import { createMemoryWorkspace } from './workspace';

let db: Database;
let hostIds: number[];

beforeEach(() => {
  db = createMemoryWorkspace();
  hostIds = ['web01', 'web02', 'web03'].map((name) => insertHost(db, { name, address: '127.0.0.1' }).id);
});

function job(name: string, status: PatchJob['status'], hosts = hostIds.length): number {
  const id = insertTestJob(db, hostIds.slice(0, hosts), { name, selection: { mode: 'all' } });
  updateJob(db, id, { status });
  return id;
}

describe('listJobs', () => {
  it('filters by status before it applies the limit', () => {
    const scheduled = job('nightly', 'scheduled');
    job('drafted later', 'draft');
    job('drafted last', 'draft');
    expect(listJobs(db, { limit: 1, status: ['scheduled'] }).map((j) => j.id)).toEqual([scheduled]);
    expect(listJobs(db, { limit: 2, status: ['draft', 'scheduled'] }).map((j) => j.name)).toEqual([
      'drafted last',
      'drafted later',
    ]);
    expect(listJobs(db, { status: ['running'] })).toEqual([]);
  });

  it('lists newest first with the same step counts getJob reports, in one statement', () => {
    const a = job('three hosts', 'failed');
    const b = job('one host', 'succeeded', 1);
    const empty = job('no hosts', 'draft', 0);
    const [s1, s2, s3] = listSteps(db, a);
    updateStep(db, s1!.id, { status: 'failed' });
    updateStep(db, s2!.id, { status: 'reboot-pending' });
    updateStep(db, s3!.id, { status: 'succeeded' });
    updateStep(db, listSteps(db, b)[0]!.id, { status: 'succeeded' });

    const prepare = db.prepare.bind(db);
    let statements = 0;
    db.prepare = ((sql: string) => {
      statements++;
      return prepare(sql);
    }) as typeof db.prepare;
    const jobs = listJobs(db);
    db.prepare = prepare as typeof db.prepare;

    expect(statements).toBe(1);
    expect(jobs.map((j) => j.id)).toEqual([empty, b, a]);
    expect(jobs[2]!.counts).toEqual({ failed: 1, 'reboot-pending': 1, succeeded: 1 });
    expect(jobs[1]!.counts).toEqual({ succeeded: 1 });
    expect(jobs[0]!.counts).toEqual({});
    expect(jobs).toEqual([getJob(db, empty), getJob(db, b), getJob(db, a)]);
  });
});
