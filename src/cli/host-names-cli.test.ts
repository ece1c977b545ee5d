/**
 * Host names are not unique (two admins may both call a machine `dc01`; a learned name is what
 * the machine announced). In real CLI processes over a real workspace file: every command that
 * takes hosts refuses a name several hosts answer to, lists the candidates by address and id, and
 * works when one is named by its address. Nothing here reaches a host.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixturePath } from '../collectors/testing/fixtures';
import { createWorkspace, insertHost, listAudits, listHosts, listJobs, openWorkspace } from '../db';
import { runCli } from './testing/run-cli';

let dir: string;
let ws: string;
let first = 0;
let second = 0;

const patchdeck = (...args: string[]) =>
  runCli(args, { workspace: ws, configDir: path.join(dir, 'config'), env: { PATCHDECK_PASSPHRASE: 'x' } });

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-cli-names-'));
  ws = path.join(dir, 'ws.sqlite');
  const db = createWorkspace(ws);
  first = insertHost(db, { name: 'dc01', address: '127.0.0.2' }).id;
  second = insertHost(db, { name: 'dc01', address: '127.0.0.3' }).id;
  insertHost(db, { name: 'web01', address: '127.0.0.4' });
  db.close();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const refusal = () =>
  `2 hosts answer to dc01: 127.0.0.2 (id ${first}), 127.0.0.3 (id ${second}). Name the one you mean by its address (or its id) instead of dc01`;

describe('a host name several hosts share', () => {
  it.each(
    [
      ['patch', 'dc01', '--yes'],
      ['audit', 'dc01'],
      ['findings', 'dc01'],
      ['hosts', 'reboot', 'dc01'],
      ['jobs', 'reboot', '1', 'dc01'],
      ['hosts', 'trust', 'dc01', '--show'],
      ['hosts', 'set-address', 'dc01', '127.0.0.9'],
      ['hosts', 'review-keys', '--hosts', 'web01,dc01'],
    ].map((args) => [args.join(' '), args] as const),
  )('is refused by `patchdeck %s`, with the candidates', async (_, args) => {
    const result = await patchdeck(...args);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(refusal());
    const db = openWorkspace(ws);
    try {
      expect(listJobs(db)).toEqual([]);
      expect(listAudits(db, first, 10)).toEqual([]);
      expect(listAudits(db, second, 10)).toEqual([]);
      expect(listHosts(db).map((h) => h.address)).toEqual(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    } finally {
      db.close();
    }
  });

  it('is refused by `patchdeck import --host`, which attaches nothing', async () => {
    const file = path.join(dir, 'collect.txt');
    fs.writeFileSync(file, fs.readFileSync(fixturePath('offline/debian-12-self.root.txt')));
    const result = await patchdeck('import', file, '--host', 'dc01');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `Several hosts answer to dc01: 127.0.0.2 (id ${first}), 127.0.0.3 (id ${second}). Choose the host by its address instead.`,
    );
    const db = openWorkspace(ws);
    try {
      expect(listAudits(db, first, 10)).toEqual([]);
      expect(listAudits(db, second, 10)).toEqual([]);
    } finally {
      db.close();
    }
  });

  it('picks the one named by its address', async () => {
    const result = await patchdeck('hosts', 'set-address', '127.0.0.3', '127.0.0.5');
    expect(result).toMatchObject({ code: 0 });
    expect(result.stdout).toContain('dc01: address 127.0.0.5.');
    const db = openWorkspace(ws);
    try {
      expect(listHosts(db).map((h) => [h.id, h.address])).toEqual([
        [first, '127.0.0.2'],
        [second, '127.0.0.5'],
        [expect.any(Number), '127.0.0.4'],
      ]);
    } finally {
      db.close();
    }
  });
});
