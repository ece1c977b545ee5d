import { listJobs, readSettings } from '../../db';
import {
  approveJob,
  cancelJob,
  continueJob,
  discardJob,
  jobDetail,
  rebootHosts,
  rebootJobHosts,
  planJob,
  startJob,
  type PatchService,
} from '../../patch';
import type { Handlers } from '../../api';
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
    'jobs.plan': (args) => planJob(svc, args),
    'jobs.approve': ({ id }) => approveJob(svc.deps(), id),
    'jobs.start': ({ id, at, window }) => startJob(svc, id, { at, window }),
    'jobs.list': ({ limit }) => listJobs(db(), { limit }),
    'jobs.get': ({ id, logAfter, logLimit }) => jobDetail(db(), id, { afterId: logAfter, limit: logLimit }),
    'jobs.cancel': ({ id }) => cancelJob(svc, id),
    'jobs.discard': ({ id, planTaskId }) => discardJob(svc, id, planTaskId),
    'jobs.resume': ({ id }) => continueJob(svc, id, 'resume'),
    'jobs.rerunFailed': ({ id }) => continueJob(svc, id, 'failed'),
    'jobs.reboot': ({ id, hostIds }) => rebootJobHosts(svc, id, hostIds),
    'hosts.reboot': ({ hostIds, at }) => rebootHosts(svc, { hostIds, at }),
  };
}
