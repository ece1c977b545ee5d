/**
 * What a hostile host can make SshSession do with its output, against a real SSH server on
 * 127.0.0.1 (ssh2's) that plays that host:
 *  - floods stdout or stderr: the command fails as `output-too-large` once the limit is passed,
 *    the client stops taking data (counted on the wire by a TCP relay between the two), the
 *    streamed callbacks stop, and the same session runs the next command;
 *  - prints the session's secrets back (a terminal that echoes the sudo password typed into it,
 *    a secret split across two packets, a secret in stderr): every output path shows the mask.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Writable } from 'node:stream';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RemoteError } from './errors';
import { SECRET_MASK } from './redact';
import { DEFAULT_MAX_OUTPUT_BYTES, SshSession, type SshTarget } from './ssh';
import { ed25519KeyPair } from './testing/keys';

const MiB = 1024 * 1024;
const LOGIN_PASSWORD = 'login-pw-3f9a1c77';
const SUDO_PASSWORD = 'sudo-pw-8d02be41';
const PASSPHRASE = 'key-passphrase-6a1e90d3';

/** What the server saw of each command: the pty modes asked for, and bytes it managed to send. */
interface Seen {
  ptyModes: Record<string, unknown> | null;
  floodSent: number;
  stdin: string;
}
let seen: Seen[] = [];

/**
 * Writes until the command's count of bytes sent reaches `total`, honouring backpressure, so the
 * flood is only as fast as the client takes it.
 */
function flood(stream: Writable, total: number, record: Seen, done: () => void): void {
  const block = Buffer.alloc(32 * 1024, 0x41);
  let stopped = false;
  stream.on('close', () => (stopped = true));
  stream.on('error', () => (stopped = true));
  const pump = (): void => {
    while (!stopped && record.floodSent < total) {
      const n = Math.min(block.length, total - record.floodSent);
      record.floodSent += n;
      const last = record.floodSent === total;
      // After the last block has really gone out (ssh2 holds it until the window allows), exit.
      const more = stream.write(n === block.length ? block : block.subarray(0, n), last ? done : undefined);
      if (!more && !last) {
        stream.once('drain', pump);
        return;
      }
    }
  };
  pump();
}

/**
 * The server's commands, recognised inside the client's `env … sh -c '<command>'` line:
 *   flood-stdout N / flood-stderr N   print N bytes of 'A' on that stream, then exit 0
 *   flood-both N                      N bytes on stdout, then N on stderr
 *   echo ok                           print "ok"
 *   echo-stdin                        a terminal with echo on: what comes in goes back out
 *   split-secret                      the sudo password, cut across two packets
 *   stderr-secrets                    every secret of the session, on stderr, exit 1
 *   sudo … (no pty)                   sudo's requiretty refusal
 */
function handle(command: string, stream: ssh2.ServerChannel, pty: boolean, record: Seen): void {
  const finish = (code: number): void => {
    stream.exit(code);
    stream.end();
  };
  stream.on('error', () => undefined);
  const inner = /sh -c (.*)$/.exec(command)?.[1] ?? command;
  const sudo = command.startsWith('sudo ');
  if (sudo && !pty) {
    stream.stderr.write('sudo: sorry, you must have a tty to run sudo\n');
    finish(1);
    return;
  }
  const floodMatch = /flood-(stdout|stderr|both) (\d+)/.exec(inner);
  if (floodMatch) {
    const n = Number(floodMatch[2]);
    if (floodMatch[1] === 'both')
      flood(stream, n, record, () => flood(stream.stderr, 2 * n, record, () => finish(0)));
    else flood(floodMatch[1] === 'stdout' ? stream : stream.stderr, n, record, () => finish(0));
    return;
  }
  if (inner.includes('echo ok')) {
    stream.write('ok\n');
    finish(0);
    return;
  }
  if (inner.includes('echo-stdin')) {
    // A terminal with echo on, whatever the client asked for: what is typed is printed back
    // (CR LF, as a pty does), then the command's own output.
    let typed = '';
    stream.on('data', (chunk: Buffer) => {
      typed += chunk.toString('utf8');
      record.stdin = typed;
      if (typed.endsWith('\n')) {
        stream.write(typed.replace(/\n/g, '\r\n'));
        stream.write('done\r\n');
        finish(0);
      }
    });
    return;
  }
  if (inner.includes('split-secret')) {
    const cut = 6;
    stream.write(`before ${SUDO_PASSWORD.slice(0, cut)}`);
    // The rest in a later packet (its own SSH_MSG_CHANNEL_DATA, so its own chunk on the client).
    setTimeout(() => {
      stream.write(`${SUDO_PASSWORD.slice(cut)} after\n`);
      finish(0);
    }, 20);
    return;
  }
  if (inner.includes('stderr-secrets')) {
    stream.stderr.write(
      `Sorry, try again.\n${LOGIN_PASSWORD} ${SUDO_PASSWORD} ${PASSPHRASE}\nsudo: 1 incorrect password attempt\n`,
    );
    finish(1);
    return;
  }
  stream.stderr.write(`unknown command: ${inner}\n`);
  finish(127);
}

let server: ssh2.Server;
let port = 0;

beforeAll(async () => {
  const { private: hostKey } = ed25519KeyPair();
  server = new ssh2.Server({ hostKeys: [hostKey] }, (client) => {
    client.on('error', () => undefined);
    client.on('authentication', (ctx) =>
      ctx.method === 'password' || ctx.method === 'publickey'
        ? ctx.accept()
        : ctx.reject(['password', 'publickey']),
    );
    client.on('session', (acceptSession) => {
      const session = acceptSession();
      let pty = false;
      const record: Seen = { ptyModes: null, floodSent: 0, stdin: '' };
      session.on('pty', (accept, _reject, info) => {
        pty = true;
        record.ptyModes = { ...info.modes };
        accept?.();
      });
      session.on('exec', (accept, _reject, info) => {
        seen.push(record);
        handle(info.command, accept(), pty, record);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  seen = [];
});

/** A TCP relay on 127.0.0.1 in front of the server that counts the bytes it hands the client. */
async function relay(): Promise<{ port: number; toClient: () => number; close: () => Promise<void> }> {
  let toClient = 0;
  const sockets = new Set<net.Socket>();
  const front = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    upstream.on('data', (chunk: Buffer) => (toClient += chunk.length));
    upstream.pipe(client);
    client.pipe(upstream);
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  return {
    port: (front.address() as AddressInfo).port,
    toClient: () => toClient,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        front.close(() => resolve());
      }),
  };
}

const target = (overrides: Partial<SshTarget> = {}): SshTarget => ({
  host: '127.0.0.1',
  port,
  username: 'operator',
  auth: { kind: 'password', password: LOGIN_PASSWORD },
  sudoPassword: SUDO_PASSWORD,
  pinnedKeys: [],
  trustOnFirstUse: true,
  label: 'flooder',
  ...overrides,
});

describe('a command that prints without end', () => {
  const cases = [
    { stream: 'stdout', limit: undefined },
    { stream: 'stderr', limit: 4 * MiB },
  ] as const;
  for (const { stream, limit } of cases) {
    const cap = limit ?? DEFAULT_MAX_OUTPUT_BYTES;
    it(`fails as output-too-large when ${stream} passes ${cap / MiB} MiB, and the session goes on`, async () => {
      const wire = await relay();
      const session = await SshSession.connect(
        target({ port: wire.port, ...(limit ? { maxOutputBytes: limit } : {}) }),
      );
      try {
        // Bounded, so code that buffers everything finishes (and fails the assertions) instead
        // of exhausting memory: the limit and 16 MiB more.
        const total = cap + 16 * MiB;
        let streamed = 0;
        const count = (chunk: string): void => {
          streamed += chunk.length;
        };
        const before = wire.toClient();
        const failure = await session
          .run(`flood-${stream} ${total}`, { onStdout: count, onStderr: count })
          .then(
            () => null,
            (error: unknown) => error,
          );
        expect(failure).toBeInstanceOf(RemoteError);
        expect((failure as RemoteError).kind).toBe('output-too-large');
        expect((failure as RemoteError).message).toBe(
          `flooder: the command printed more than ${cap / MiB} MiB (stdout and stderr together); ` +
            'Patchdeck stopped reading and closed it. A host that floods its output is misbehaving; if this much ' +
            'output is expected, raise the limit (setting: Most output per command, maxCommandOutputMiB).',
        );
        // The streamed callbacks saw at most the limit, and stopped there.
        expect(streamed).toBeLessThanOrEqual(cap);
        // The next command runs on the same session: only that command's channel was closed.
        expect(session.isOpen).toBe(true);
        await expect(session.run('echo ok')).resolves.toMatchObject({ stdout: 'ok\n', code: 0 });
        // What reached the client: the limit, plus at most what the SSH window let the server
        // have in flight when the channel was closed (2 MiB in ssh2) — never the whole flood.
        const received = wire.toClient() - before;
        expect(received).toBeGreaterThan(cap);
        expect(received).toBeLessThan(cap + 4 * MiB);
        // And the server was stopped: it never got to hand over the whole flood.
        expect(seen[0]!.floodSent).toBeLessThan(total);
      } finally {
        session.close();
        await wire.close();
      }
    });
  }

  it('counts stdout and stderr together, and keeps output under the limit intact', async () => {
    const session = await SshSession.connect(target({ maxOutputBytes: 3 * MiB }));
    try {
      const ok = await session.run(`flood-stdout ${3 * MiB}`);
      expect(ok.stdout.length).toBe(3 * MiB);
      expect(ok.code).toBe(0);
      await expect(session.run(`flood-stderr ${3 * MiB + 1}`)).rejects.toMatchObject({
        kind: 'output-too-large',
        message: expect.stringMatching(/^flooder: the command printed more than 3 MiB/),
      });
      // 2 MiB on each stream: under the limit each, over it together.
      await expect(session.run(`flood-both ${2 * MiB}`)).rejects.toMatchObject({ kind: 'output-too-large' });
      const both = await session.run(`flood-both ${MiB}`);
      expect([both.stdout.length, both.stderr.length]).toEqual([MiB, MiB]);
    } finally {
      session.close();
    }
  });
});

describe('secrets a host prints back', () => {
  it('asks for a terminal without echo, and masks a sudo password an echoing one prints', async () => {
    const session = await SshSession.connect(target());
    const chunks: string[] = [];
    try {
      const result = await session.run('echo-stdin', { sudo: true, onStdout: (c) => chunks.push(c) });
      // First without a terminal (refused: requiretty), then in one. (That the terminal is asked
      // for with echo off is seen in the lab, with OpenSSH's sshd: ssh2's server misreads modes.)
      const ptyRun = seen.find((s) => s.ptyModes)!;
      // The password did go in — and came back out masked.
      expect(ptyRun.stdin).toBe(`${SUDO_PASSWORD}\n`);
      expect(result.stdout).toBe(`${SECRET_MASK}\ndone\n`);
      expect(chunks.join('')).toBe(`${SECRET_MASK}\r\ndone\r\n`);
    } finally {
      session.close();
    }
  });

  it('masks a secret cut across two chunks, in the result and in what is streamed', async () => {
    const session = await SshSession.connect(target());
    const chunks: string[] = [];
    try {
      const result = await session.run('split-secret', { onStdout: (c) => chunks.push(c) });
      expect(result.stdout).toBe(`before ${SECRET_MASK} after\n`);
      expect(chunks.join('')).toBe(`before ${SECRET_MASK} after\n`);
      // Streaming did not wait for the end: "before " was handed out with the first packet.
      expect(chunks.length).toBeGreaterThanOrEqual(2);
      expect(chunks[0]).toBe('before ');
      for (const c of chunks) expect(c).not.toContain(SUDO_PASSWORD.slice(0, 6));
    } finally {
      session.close();
    }
  });

  it('masks every secret of the session in stderr, streamed stderr and error messages', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-redact-'));
    const keyFile = path.join(dir, 'id');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', PASSPHRASE, '-f', keyFile]);
    const sessions = [
      await SshSession.connect(target()),
      await SshSession.connect(
        target({
          auth: { kind: 'key', privateKey: fs.readFileSync(keyFile, 'utf8'), passphrase: PASSPHRASE },
          sudoPassword: null,
        }),
      ),
    ];
    fs.rmSync(dir, { recursive: true, force: true });
    try {
      const [withPassword, withKey] = sessions as [SshSession, SshSession];
      const streamed: string[] = [];
      const plain = await withPassword.run('stderr-secrets', { onStderr: (c) => streamed.push(c) });
      expect(plain.stderr).toBe(
        `Sorry, try again.\n${SECRET_MASK} ${SECRET_MASK} ${PASSPHRASE}\nsudo: 1 incorrect password attempt\n`,
      );
      expect(streamed.join('')).toBe(plain.stderr);
      // Through sudo (in a terminal, as requiretty wants), the refusal becomes a RemoteError.
      const error = await withPassword.run('stderr-secrets', { sudo: true }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RemoteError);
      const text = `${(error as RemoteError).message}\n${(error as RemoteError).stderr}`;
      expect(text).toContain(SECRET_MASK);
      for (const secret of [LOGIN_PASSWORD, SUDO_PASSWORD]) expect(text).not.toContain(secret);
      // The key session's own secret is its passphrase.
      const keyed = await withKey.run('stderr-secrets');
      expect(keyed.stderr).toContain(`${LOGIN_PASSWORD} ${SUDO_PASSWORD} ${SECRET_MASK}\n`);
    } finally {
      for (const s of sessions) s.close();
    }
  });
});
