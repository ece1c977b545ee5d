import { getJob, listJobEvents, listJobs, listSteps, readSettings } from '../../db';
import {
  approveJob,
  cancelJob,
  continueJob,
  discardJob,
  rebootHosts,
  rebootJobHosts,
  planJob,
  startJob,
  type PatchService,
} from '../../patch';
import type { CallArgs } from '../../api/contract';
import { PatchdeckError } from '../../util/errors';
import type { Core } from '../core';

/** The patch service over the core's open workspace (deps are read per call: the workspace may change). */
export function patchService(core: Core): PatchService {
  return {
    deps: () => {
      const { db } = core.requireWorkspace();
      return {
        db,
        secrets: core.options.platform.secrets,
        actor: readSettings(db).operatorName,
        events: core.events,
      };
    },
    tasks: () => core.requireWorkspace().tasks,
  };
}

export function patchHandlers(core: Core) {
  const svc = patchService(core);
  const db = () => core.requireWorkspace().db;
  return {
    'jobs.plan': (args: CallArgs<'jobs.plan'>) => {
      const settings = readSettings(db());
      return planJob(svc, {
        hostIds: args.hostIds,
        selection: args.selection,
        rebootPolicy: args.rebootPolicy ?? settings.rebootPolicy,
        onFailure: args.onFailure ?? 'continue',
        concurrency: args.concurrency ?? 16,
        name: args.name,
        options: args.options,
      });
    },
    'jobs.approve': ({ id }: { id: number }) => approveJob(svc.deps(), id),
    'jobs.start': ({ id, at, window }: CallArgs<'jobs.start'>) => startJob(svc, id, { at, window }),
    'jobs.list': ({ limit }: { limit?: number }) => listJobs(db(), { limit }),
    'jobs.get': ({ id, eventsAfter, eventsLimit }: CallArgs<'jobs.get'>) => {
      const job = getJob(db(), id);
      if (!job) throw new PatchdeckError('not-found', `Job ${id} does not exist.`);
      return {
        job,
        steps: listSteps(db(), id),
        events: listJobEvents(db(), id, { afterId: eventsAfter, limit: eventsLimit }),
      };
    },
    'jobs.cancel': ({ id }: { id: number }) => cancelJob(svc, id),
    'jobs.discard': ({ id, planTaskId }: CallArgs<'jobs.discard'>) => discardJob(svc, id, planTaskId),
    'jobs.resume': ({ id }: { id: number }) => continueJob(svc, id, 'resume'),
    'jobs.rerunFailed': ({ id }: { id: number }) => continueJob(svc, id, 'failed'),
    'jobs.reboot': ({ id, hostIds }: CallArgs<'jobs.reboot'>) => rebootJobHosts(svc, id, hostIds),
    'hosts.reboot': ({ hostIds, at }: CallArgs<'hosts.reboot'>) => rebootHosts(svc, { hostIds, at }),
  };
}
