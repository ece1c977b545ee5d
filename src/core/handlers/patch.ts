import { getJob, listJobLog, listJobs, listSteps, readSettings } from '../../db';
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
import type { Handlers } from '../../api';
import { PatchdeckError } from '../../util';
import type { CoreContext } from '../context';

/** The patch service over the core's open workspace (deps are read per call: the workspace may change). */
export function patchService(core: CoreContext): PatchService {
  return {
    deps: () => {
      const { db } = core.requireWorkspace();
      return {
        db,
        secrets: core.platform.secrets,
        actor: readSettings(db).operatorName,
        events: core.events,
      };
    },
    tasks: () => core.requireWorkspace().tasks,
  };
}

type PatchHandlers = Pick<
  Handlers,
  | 'jobs.plan'
  | 'jobs.approve'
  | 'jobs.start'
  | 'jobs.list'
  | 'jobs.get'
  | 'jobs.cancel'
  | 'jobs.discard'
  | 'jobs.resume'
  | 'jobs.rerunFailed'
  | 'jobs.reboot'
  | 'hosts.reboot'
>;

/** Patch calls onto the patch capability (src/patch/service.ts). */
export function patchHandlers(core: CoreContext): PatchHandlers {
  const svc = patchService(core);
  const db = () => core.requireWorkspace().db;
  return {
    'jobs.plan': (args) => {
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
    'jobs.approve': ({ id }) => approveJob(svc.deps(), id),
    'jobs.start': ({ id, at, window }) => startJob(svc, id, { at, window }),
    'jobs.list': ({ limit }) => listJobs(db(), { limit }),
    'jobs.get': ({ id, eventsAfter, eventsLimit }) => {
      const job = getJob(db(), id);
      if (!job) throw new PatchdeckError('not-found', `Job ${id} does not exist.`);
      return {
        job,
        steps: listSteps(db(), id),
        events: listJobLog(db(), id, { afterId: eventsAfter, limit: eventsLimit }),
      };
    },
    'jobs.cancel': ({ id }) => cancelJob(svc, id),
    'jobs.discard': ({ id, planTaskId }) => discardJob(svc, id, planTaskId),
    'jobs.resume': ({ id }) => continueJob(svc, id, 'resume'),
    'jobs.rerunFailed': ({ id }) => continueJob(svc, id, 'failed'),
    'jobs.reboot': ({ id, hostIds }) => rebootJobHosts(svc, id, hostIds),
    'hosts.reboot': ({ hostIds, at }) => rebootHosts(svc, { hostIds, at }),
  };
}
