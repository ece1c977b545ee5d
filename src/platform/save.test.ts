import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deliverFile } from './save';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'patchdeck-save-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const bytes = Buffer.from('the export\n');
const file = (extra: { path?: string }) => ({
  bytes,
  fileName: 'export.txt',
  what: 'the export',
  title: 'Save the export',
  filters: [{ name: 'Text', extensions: ['txt'] }],
  ...extra,
});

/** A desktop platform whose save dialog answers `answer` and remembers what it was asked. */
function desktop(answer: string | null) {
  const asked: unknown[] = [];
  return {
    asked,
    platform: {
      kind: 'electron' as const,
      chooseFileToSave: (options: unknown) => {
        asked.push(options);
        return Promise.resolve(answer);
      },
    },
  };
}

describe('deliverFile', () => {
  it('writes to the path given, on any carrier, without a dialog', async () => {
    const target = path.join(dir, 'given.txt');
    const { platform, asked } = desktop(null);
    expect(await deliverFile(platform, 'browser', file({ path: target }))).toEqual({ path: target });
    expect(fs.readFileSync(target)).toEqual(bytes);
    expect(asked).toEqual([]);
  });

  it('hands the bytes back as base64 outside the desktop', async () => {
    const { platform, asked } = desktop(path.join(dir, 'never.txt'));
    const back = await deliverFile(platform, 'browser', file({}));
    expect(back).toEqual({ path: null, base64: bytes.toString('base64') });
    const node = await deliverFile({ ...platform, kind: 'node' }, 'electron', file({}));
    expect(node.base64).toBe(bytes.toString('base64'));
    expect(asked).toEqual([]);
    expect(fs.existsSync(path.join(dir, 'never.txt'))).toBe(false);
  });

  it('asks the desktop where to save, and a cancelled dialog writes nothing', async () => {
    const target = path.join(dir, 'chosen.txt');
    const chosen = desktop(target);
    expect(await deliverFile(chosen.platform, 'electron', file({}))).toEqual({ path: target });
    expect(fs.readFileSync(target)).toEqual(bytes);
    expect(chosen.asked).toEqual([
      {
        title: 'Save the export',
        defaultPath: 'export.txt',
        filters: [{ name: 'Text', extensions: ['txt'] }],
      },
    ]);
    expect(await deliverFile(desktop(null).platform, 'electron', file({}))).toEqual({ path: null });
  });

  it('refuses a path it cannot write with one sentence naming it', async () => {
    const target = path.join(dir, 'no-such-folder', 'x.txt');
    await expect(deliverFile(desktop(null).platform, 'cli', file({ path: target }))).rejects.toMatchObject({
      code: 'unavailable',
      message: `Could not write the export to ${target} (ENOENT); nothing was exported.`,
    });
  });
});
