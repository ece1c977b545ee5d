import type { Database } from 'better-sqlite3';
import type { CallContext, CallResult, EventBus, ParsedArgs } from '../api';
import type { Platform } from '../platform';
import { PatchdeckError, type Clock } from '../util';

/** What the bundle calls need of the workspace and the platform. */
export interface PortableServiceDeps {
  db: Database;
  events: EventBus;
  platform: Pick<Platform, 'kind' | 'chooseFileToOpen' | 'chooseFileToSave'>;
  /** Browser-mode uploads, claimed by id (src/core/uploads.ts). */
  uploads: {
    claim(ids: readonly string[]): { path: string; name: string }[];
    release(uploads: readonly { path: string; name: string }[]): void;
  };
  clock: Clock;
  actor: string;
}

export async function exportPortableBundle(
  _deps: PortableServiceDeps,
  _args: ParsedArgs<'bundles.export'>,
  _carrier: CallContext['carrier'],
): Promise<CallResult<'bundles.export'>> {
  throw new PatchdeckError('unavailable', 'Portable bundles are not built yet.');
}

export async function importPortableBundle(
  _deps: PortableServiceDeps,
  _args: ParsedArgs<'bundles.import'>,
  _carrier: CallContext['carrier'],
): Promise<CallResult<'bundles.import'>> {
  throw new PatchdeckError('unavailable', 'Portable bundles are not built yet.');
}
