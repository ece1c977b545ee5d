import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultRecentFile, readRecent, recordRecent, renameRecent, RECENT_LIMIT } from './recent';

const dirs: string[] = [];
function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-recent-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

const at = (i: number): string => new Date(Date.UTC(2026, 10, 1, 0, i)).toISOString();

describe('the recent workspaces list', () => {
  it('lives in the user data folder (PATCHDECK_DATA_DIR)', () => {
    expect(defaultRecentFile({ PATCHDECK_DATA_DIR: '/data/pd' })).toBe(
      path.join('/data/pd', 'recent-workspaces.json'),
    );
  });

  it('starts empty without a file, puts the newest first, keeps one entry per path, and caps the list', () => {
    const file = path.join(tempDir(), 'sub', 'recent.json');
    expect(readRecent(file)).toEqual({ entries: [], warning: null });
    for (let i = 0; i < RECENT_LIMIT + 5; i++)
      recordRecent(file, { path: `/clients/ws-${i}.sqlite`, siteName: `Site ${i}`, lastOpenedAt: at(i) });
    recordRecent(file, { path: '/clients/ws-10.sqlite', siteName: 'Site 10', lastOpenedAt: at(99) });
    const { entries, warning } = readRecent(file);
    expect(warning).toBeNull();
    expect(entries).toHaveLength(RECENT_LIMIT);
    expect(entries[0]).toEqual({ path: '/clients/ws-10.sqlite', siteName: 'Site 10', lastOpenedAt: at(99) });
    expect(entries.filter((e) => e.path === '/clients/ws-10.sqlite')).toHaveLength(1);
    expect(entries[1]!.path).toBe(`/clients/ws-${RECENT_LIMIT + 4}.sqlite`);
    expect(entries.some((e) => e.path === '/clients/ws-0.sqlite')).toBe(false);
    // Owner only, and no temp file left behind.
    if (process.platform !== 'win32') expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['recent.json']);
  });

  it('holds paths, site names and times only', () => {
    const file = path.join(tempDir(), 'recent.json');
    recordRecent(file, { path: '/a.sqlite', siteName: 'A', lastOpenedAt: at(1) });
    const stored = JSON.parse(fs.readFileSync(file, 'utf8')) as { version: number; workspaces: object[] };
    expect(stored.version).toBe(1);
    expect(Object.keys(stored.workspaces[0]!).sort()).toEqual(['lastOpenedAt', 'path', 'siteName']);
  });

  it.each([
    ['not JSON', '{"version":1,"workspaces":[{"path":'],
    ['another shape', '[1,2,3]'],
    ['a newer version', '{"version":2,"workspaces":[]}'],
    ['binary bytes', '\u0000\u0001\u00ff'],
  ])(
    'starts empty with a warning when the file is %s, and the next open writes a good one',
    (_what, text) => {
      const file = path.join(tempDir(), 'recent.json');
      fs.writeFileSync(file, text);
      const read = readRecent(file);
      expect(read.entries).toEqual([]);
      expect(read.warning).toMatch(/damaged; starting a new one/u);
      const recorded = recordRecent(file, { path: '/a.sqlite', siteName: '', lastOpenedAt: at(1) });
      expect(recorded.warning).toMatch(/damaged/u);
      expect(readRecent(file)).toEqual({
        entries: [{ path: '/a.sqlite', siteName: '', lastOpenedAt: at(1) }],
        warning: null,
      });
    },
  );

  it('refuses to read an oversized file and drops entries that are not well formed', () => {
    const dir = tempDir();
    const big = path.join(dir, 'big.json');
    fs.writeFileSync(big, `{"version":1,"workspaces":["${'x'.repeat(300 * 1024)}"]}`);
    expect(readRecent(big).warning).toMatch(/too big/u);
    const mixed = path.join(dir, 'mixed.json');
    fs.writeFileSync(
      mixed,
      JSON.stringify({
        version: 1,
        workspaces: [
          { path: 'relative.sqlite', siteName: '', lastOpenedAt: at(1) },
          { path: '/ok.sqlite', siteName: 'OK', lastOpenedAt: at(2) },
          { path: '/no-name.sqlite', lastOpenedAt: at(3) },
          'text',
          null,
          { path: '/ok.sqlite', siteName: 'older copy', lastOpenedAt: at(0) },
        ],
      }),
    );
    expect(readRecent(mixed)).toEqual({
      entries: [{ path: '/ok.sqlite', siteName: 'OK', lastOpenedAt: at(2) }],
      warning: null,
    });
  });

  it('an unreadable path (a folder) is a warning, never an error', () => {
    const dir = tempDir();
    expect(readRecent(dir).warning).toMatch(/could not be read/u);
  });

  it('renames the entry of one workspace and leaves the others', () => {
    const file = path.join(tempDir(), 'recent.json');
    recordRecent(file, { path: '/a.sqlite', siteName: 'A', lastOpenedAt: at(1) });
    recordRecent(file, { path: '/b.sqlite', siteName: 'B', lastOpenedAt: at(2) });
    renameRecent(file, '/a.sqlite', 'Acme Dental');
    renameRecent(file, '/unknown.sqlite', 'Nobody');
    expect(readRecent(file).entries.map((e) => [e.path, e.siteName])).toEqual([
      ['/b.sqlite', 'B'],
      ['/a.sqlite', 'Acme Dental'],
    ]);
  });
});
