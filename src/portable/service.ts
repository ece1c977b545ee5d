import fs from 'node:fs';
import type { Database } from 'better-sqlite3';
import type { CallContext, CallResult, EventBus, ParsedArgs } from '../api';
import { deliverFile, type Platform } from '../platform';
import { PatchdeckError, type Clock } from '../util';
import { buildPortableBundle } from './export';
import { MAX_BUNDLE_BYTES } from './format';
import { mergePortableBundle, verifyPortableBundle } from './import';

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
  /** The Patchdeck version written into the manifest. */
  patchdeckVersion: string;
}

/**
 * Writes the chosen hosts' bundle: to the path given, else (desktop) where the admin chooses in
 * the save dialog; elsewhere (browser, no path) the bytes go back for the browser to save.
 */
export async function exportPortableBundle(
  deps: PortableServiceDeps,
  args: ParsedArgs<'bundles.export'>,
  carrier: CallContext['carrier'],
): Promise<CallResult<'bundles.export'>> {
  const bundle = await buildPortableBundle(
    deps.db,
    { hostIds: args.hostIds, patchdeckVersion: deps.patchdeckVersion, createdBy: deps.actor },
    deps.clock,
  );
  const facts = {
    fileName: bundle.fileName,
    sha256: bundle.sha256,
    bytes: bundle.bytes.length,
    hosts: bundle.hosts,
  };
  const delivered = await deliverFile(deps.platform, carrier, {
    bytes: bundle.bytes,
    fileName: bundle.fileName,
    what: 'the bundle',
    title: 'Export a site bundle',
    filters: [{ name: 'Patchdeck bundle', extensions: ['pdbundle'] }],
    path: args.path,
  });
  return { ...facts, ...delivered };
}

function readBounded(file: string, name: string): Buffer {
  let size: number;
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile())
      throw new PatchdeckError('bad-request', `${name} is not a file; nothing was imported.`);
    size = stat.size;
  } catch (error) {
    if (error instanceof PatchdeckError) throw error;
    throw new PatchdeckError(
      'not-found',
      `${name} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}); nothing was imported.`,
    );
  }
  if (size > MAX_BUNDLE_BYTES)
    throw new PatchdeckError(
      'bad-request',
      `${name} is larger than a bundle may be (${MAX_BUNDLE_BYTES} bytes); nothing was imported.`,
    );
  return fs.readFileSync(file);
}

/** Reads a bundle from a path, an upload (browser mode) or the desktop's open dialog; checks all of it; merges it. */
export async function importPortableBundle(
  deps: PortableServiceDeps,
  args: ParsedArgs<'bundles.import'>,
  _carrier: CallContext['carrier'],
): Promise<CallResult<'bundles.import'>> {
  let bytes: Buffer;
  let name: string;
  if (args.upload) {
    const uploads = deps.uploads.claim([args.upload]);
    try {
      name = uploads[0]!.name;
      bytes = readBounded(uploads[0]!.path, name);
    } finally {
      deps.uploads.release(uploads);
    }
  } else {
    let file = args.path ?? null;
    if (!file) {
      file = await deps.platform.chooseFileToOpen({
        title: 'Import a site bundle',
        filters: [
          { name: 'Patchdeck bundle', extensions: ['pdbundle'] },
          { name: 'All files', extensions: ['*'] },
        ],
      });
      if (!file) throw new PatchdeckError('cancelled', 'No file chosen; nothing imported.');
    }
    name = file;
    bytes = readBounded(file, name);
  }
  const bundle = await verifyPortableBundle(deps.db, bytes, name);
  const result = await mergePortableBundle(deps.db, bundle, { name, actor: deps.actor, clock: deps.clock });
  if (result.imported) {
    for (const entity of ['hosts', 'audits', 'jobs'] as const) deps.events.emit('entity.changed', { entity });
  }
  return result;
}
