import fs from 'node:fs';
import { PatchdeckError } from '../util';
import type { Platform } from './types';

/** One exported file and how to offer it. */
export interface FileToDeliver {
  bytes: Buffer;
  fileName: string;
  /** What the file is, for the refusal: 'the bundle', 'the report'. */
  what: string;
  /** The save dialog's title and filters. */
  title: string;
  filters: { name: string; extensions: string[] }[];
  /** Where the caller asked for it; none: the dialog (desktop) or the bytes back (elsewhere). */
  path?: string | null | undefined;
}

/**
 * Writes an export to the path given, else (an Electron call on the Electron platform) where the
 * admin chooses in the save dialog; elsewhere (browser, CLI without a path) the bytes go back as
 * base64 for the caller to save. `path: null` without base64 means the dialog was cancelled.
 */
export async function deliverFile(
  platform: Pick<Platform, 'kind' | 'chooseFileToSave'>,
  carrier: string,
  file: FileToDeliver,
): Promise<{ path: string | null; base64?: string }> {
  let target = file.path ?? null;
  if (!target && (carrier !== 'electron' || platform.kind !== 'electron'))
    return { path: null, base64: file.bytes.toString('base64') };
  if (!target) {
    target = await platform.chooseFileToSave({
      title: file.title,
      defaultPath: file.fileName,
      filters: file.filters,
    });
    if (!target) return { path: null };
  }
  try {
    fs.writeFileSync(target, file.bytes);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new PatchdeckError(
      'unavailable',
      `Could not write ${file.what} to ${target} (${code}); nothing was exported.`,
    );
  }
  return { path: target };
}
