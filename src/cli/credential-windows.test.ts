/**
 * `patchdeck credential add --windows` in real CLI processes over a real workspace file: the
 * password comes from standard input, is sealed (in no byte of the file, never printed), and
 * `credential list` shows the Windows kind. What a Windows credential cannot have is refused.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runCli } from './testing/run-cli';

let dir: string;
const password = 'Office-Pc-Pass-93ad51';
const cli = (args: string[], input?: string) =>
  runCli(args, {
    configDir: path.join(dir, 'cfg'),
    workspace: path.join(dir, 'ws.sqlite'),
    env: { NO_COLOR: '1' },
    ...(input === undefined ? {} : { input }),
  });

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-cli-wincred-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

it('adds a Windows credential with its password from stdin, lists its kind, never shows the password', async () => {
  const added = await cli(
    [
      'credential',
      'add',
      '--windows',
      '--name',
      'office',
      '--user',
      'PATCHDECK\\alice',
      '--password-stdin',
      '--scope',
      'tag:windows',
    ],
    `${password}\n`,
  );
  expect(added.stderr).toBe('');
  expect(added.stdout).toBe('Added credential office (windows, user PATCHDECK\\alice) for tag:windows.\n');
  expect(added.code).toBe(0);

  const listed = await cli(['credential', 'list']);
  expect(listed.code).toBe(0);
  expect(listed.stdout).toMatch(/office\s+PATCHDECK\\alice\s+windows\s+no\s+tag:windows/);
  const json = await cli(['--json', 'credential', 'list']);
  expect(JSON.parse(json.stdout)).toMatchObject([
    { name: 'office', kind: 'windows', username: 'PATCHDECK\\alice' },
  ]);
  for (const out of [added, listed, json]) expect(out.stdout + out.stderr).not.toContain(password);

  const files = ['ws.sqlite', 'ws.sqlite-wal'].map((f) => path.join(dir, f)).filter((f) => fs.existsSync(f));
  const bytes = Buffer.concat(files.map((f) => fs.readFileSync(f)));
  expect(bytes.includes(Buffer.from('PATCHDECK\\alice'))).toBe(true);
  expect(bytes.includes(Buffer.from(password))).toBe(false);
});

it.each([
  [['--user', 'PATCHDECK\\bob'], undefined, /needs its password: pipe it in with --password-stdin/],
  [['--user', 'PATCHDECK\\bob', '--agent'], undefined, /use --windows with --password-stdin only/],
  [['--user', 'PATCHDECK\\bob', '--password-stdin', '--sudo-password-stdin'], 'x\n', /--password-stdin only/],
  [['--user', 'bob', '--password-stdin'], 'pw\n', /“bob” is not a Windows account \(it names no domain\)/],
  [
    ['--user', '.\\bob', '--password-stdin', '--trust-on-first-use'],
    'pw\n',
    /never trusts an endpoint on first use/,
  ],
])('refuses credential add --windows %j with a clear sentence, adding nothing', async (args, input, why) => {
  const out = await cli(['credential', 'add', '--windows', '--name', 'bad', ...args], input);
  expect(out.stderr).toMatch(why);
  expect(out.code).toBe(2);
  const listed = await cli(['--json', 'credential', 'list']);
  expect((JSON.parse(listed.stdout) as { name: string }[]).map((c) => c.name)).not.toContain('bad');
});
