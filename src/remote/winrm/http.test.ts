import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RemoteError } from '../errors';
import { HttpTransport } from './http';
import { decryptBody, encryptBody, ENCRYPTED_CONTENT_TYPE } from './ntlm';
import { AvId } from './ntlm/messages';
import { testAcceptor, type TestAcceptor } from './ntlm/testing';
import type { WinrmConnectOptions } from './types';

/**
 * HttpTransport against an in-process WinRM-like server holding the server side of NTLM (the
 * NTLM layer's test acceptor): the handshake per TCP connection, sealed bodies both ways, and what
 * the transport does when the server misbehaves. The real acceptor (gss-ntlmssp) is exercised in
 * test/integration/winrm-client.test.ts.
 */
const PASSWORD = 'Unit-Pa55word!';
const utf16 = (s: string): Buffer => Buffer.from(s, 'utf16le');

function avPairs() {
  const stamp = Buffer.alloc(8);
  stamp.writeBigUInt64LE(133_000_000_000_000_000n);
  return [
    { id: AvId.NbDomainName, value: utf16('PATCHDECK') },
    { id: AvId.NbComputerName, value: utf16('WIN1') },
    { id: AvId.DnsDomainName, value: utf16('patchdeck.test') },
    { id: AvId.DnsComputerName, value: utf16('win1.patchdeck.test') },
    { id: AvId.Timestamp, value: stamp },
  ];
}

type Reply = 'sealed' | 'plain' | 'bad-signature' | 'close-after' | 'status-404' | 'close-challenge';

interface FakeWinrm {
  port: number;
  handshakes: number;
  /** Answers to a challenge (Type 3 messages) received. */
  answers: number;
  plaintextBodies: number;
  received: string[];
  reply: Reply;
  close(): Promise<void>;
}

async function startFakeWinrm(): Promise<FakeWinrm> {
  const contexts = new WeakMap<Socket, { acceptor: TestAcceptor; negotiate?: Buffer; accepted: boolean }>();
  const state: FakeWinrm = {
    port: 0,
    handshakes: 0,
    answers: 0,
    plaintextBodies: 0,
    received: [],
    reply: 'sealed',
    close: async () => {},
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const socket = req.socket;
      if (state.reply === 'status-404') {
        res.statusCode = 404;
        return res.end();
      }
      const auth = /^Negotiate (.+)$/.exec(req.headers.authorization ?? '');
      if (auth) {
        const token = Buffer.from(auth[1]!, 'base64');
        if (token[8] === 1) {
          state.handshakes++;
          const acceptor = testAcceptor({ password: PASSWORD, avPairs: avPairs() });
          contexts.set(socket, { acceptor, negotiate: token, accepted: false });
          res.statusCode = 401;
          res.setHeader('WWW-Authenticate', `Negotiate ${acceptor.challenge.toString('base64')}`);
          if (state.reply === 'close-challenge') res.setHeader('Connection', 'close');
          return res.end();
        }
        state.answers++;
        const ctx = contexts.get(socket);
        try {
          if (!ctx?.negotiate) throw new Error('no negotiate on this connection');
          ctx.acceptor.accept(ctx.negotiate, token);
          ctx.accepted = true;
          res.statusCode = 200;
        } catch {
          res.statusCode = 401;
        }
        return res.end();
      }
      const ctx = contexts.get(socket);
      if (!ctx?.accepted) {
        res.statusCode = 401;
        res.setHeader('WWW-Authenticate', 'Negotiate');
        return res.end();
      }
      if (!String(req.headers['content-type']).startsWith('multipart/encrypted')) {
        state.plaintextBodies++;
        res.statusCode = 400;
        return res.end();
      }
      const plain = decryptBody(
        {
          unwrap: (signature, sealed) => {
            const out = ctx.acceptor.unwrap(signature, sealed);
            if (!out) throw new Error('bad signature');
            return out;
          },
        },
        body,
      ).toString('utf8');
      state.received.push(plain);
      const answer = Buffer.from(`<echo>${plain.length}</echo>`);
      if (state.reply === 'plain') {
        res.setHeader('Content-Type', 'application/soap+xml;charset=UTF-8');
        return res.end(answer);
      }
      let sealed = encryptBody(ctx.acceptor, answer);
      if (state.reply === 'bad-signature') {
        sealed = Buffer.from(sealed);
        const at = sealed.indexOf(Buffer.from('application/octet-stream')) + 60;
        sealed[at] = sealed[at]! ^ 0xff;
      }
      res.setHeader('Content-Type', ENCRYPTED_CONTENT_TYPE);
      if (state.reply === 'close-after') res.setHeader('Connection', 'close');
      res.end(sealed);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

function options(port: number, overrides: Partial<WinrmConnectOptions> = {}): WinrmConnectOptions {
  return {
    host: '127.0.0.1',
    port,
    https: false,
    label: 'WIN1',
    login: { method: 'ntlm', domain: 'PATCHDECK', username: 'alice', password: PASSWORD },
    pinnedNtlmIdentities: ['ntlm:WIN1.PATCHDECK.TEST/PATCHDECK'],
    connectTimeoutMs: 5_000,
    maxOutputBytes: 1024 * 1024,
    ...overrides,
  };
}

describe('HttpTransport (NTLM over HTTP)', () => {
  let fake: FakeWinrm | null = null;
  let transport: HttpTransport | null = null;
  afterEach(async () => {
    transport?.close();
    await fake?.close();
    fake = null;
    transport = null;
  });

  it('authenticates once per connection and seals every body both ways', async () => {
    fake = await startFakeWinrm();
    transport = new HttpTransport(options(fake.port));
    await transport.open(5_000);
    expect(transport.identity).toEqual({
      type: 'ntlm-identity',
      fingerprint: 'ntlm:WIN1.PATCHDECK.TEST/PATCHDECK',
      publicKey: null,
    });
    const first = await transport.exchange('<a>one</a>', { timeoutMs: 5_000 });
    const second = await transport.exchange('<a>second</a>', { timeoutMs: 5_000 });
    expect([first.body, second.body]).toEqual(['<echo>10</echo>', '<echo>13</echo>']);
    expect(fake.received).toEqual(['<a>one</a>', '<a>second</a>']);
    expect(fake.handshakes).toBe(1);
    expect(fake.plaintextBodies).toBe(0);
  });

  it('a connection the PC closed is authenticated again before the next body (sequence numbers restart)', async () => {
    fake = await startFakeWinrm();
    transport = new HttpTransport(options(fake.port));
    await transport.open(5_000);
    fake.reply = 'close-after';
    await transport.exchange('<a>1</a>', { timeoutMs: 5_000 });
    fake.reply = 'sealed';
    expect((await transport.exchange('<a>2</a>', { timeoutMs: 5_000 })).body).toBe('<echo>8</echo>');
    expect(fake.handshakes).toBe(2);
  });

  it('sends no answer to a challenge whose connection the PC closes (it would go out on a new one)', async () => {
    fake = await startFakeWinrm();
    fake.reply = 'close-challenge';
    transport = new HttpTransport(options(fake.port));
    const error = (await transport.open(5_000).catch((e: unknown) => e)) as RemoteError;
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.kind).toBe('unreachable');
    expect(error.message).toBe(
      'WIN1 closed the WinRM connection after its NTLM challenge (NTLM needs one kept-alive connection); no answer was sent.',
    );
    expect(fake.answers).toBe(0);
  });

  it('an unpinned identity stops before the Type 3; a wrong password is auth-failed', async () => {
    fake = await startFakeWinrm();
    transport = new HttpTransport(options(fake.port, { pinnedNtlmIdentities: [] }));
    const unknown = (await transport.open(5_000).catch((e: unknown) => e)) as RemoteError;
    expect(unknown.kind).toBe('host-key-unknown');
    transport.close();
    transport = new HttpTransport(
      options(fake.port, {
        login: { method: 'ntlm', domain: 'PATCHDECK', username: 'alice', password: 'wrong' },
      }),
    );
    const wrong = (await transport.open(5_000).catch((e: unknown) => e)) as RemoteError;
    expect(wrong.kind).toBe('auth-failed');
    expect(wrong.message).toBe('WIN1 refused the Windows credentials (wrong user or password).');
    expect(fake.received).toEqual([]);
  });

  it('refuses a plaintext reply on the sealed channel and a reply whose signature is wrong', async () => {
    fake = await startFakeWinrm();
    transport = new HttpTransport(options(fake.port));
    await transport.open(5_000);
    fake.reply = 'plain';
    const plain = (await transport
      .exchange('<a/>', { timeoutMs: 5_000 })
      .catch((e: unknown) => e)) as RemoteError;
    expect(plain.kind).toBe('command-failed');
    expect(plain.message).toBe(
      'WIN1 answered a sealed WinRM message without encryption (HTTP 200); the reply was not used.',
    );
    fake.reply = 'bad-signature';
    const bad = (await transport
      .exchange('<a/>', { timeoutMs: 5_000 })
      .catch((e: unknown) => e)) as RemoteError;
    expect(bad.kind).toBe('command-failed');
    expect(bad.message).toMatch(/^WIN1 sent a WinRM reply that does not decrypt/);
  });

  it('a PC that answered and then refuses connections is called restarting, not "WinRM not enabled"', async () => {
    fake = await startFakeWinrm();
    transport = new HttpTransport(options(fake.port));
    await transport.open(5_000);
    await fake.close();
    // The kept-alive socket may still look open: its first use fails as a closed connection.
    const first = (await transport
      .exchange('<a/>', { timeoutMs: 5_000 })
      .catch((e: unknown) => e)) as RemoteError;
    expect(first.kind).toBe('unreachable');
    const error = (await transport
      .exchange('<a/>', { timeoutMs: 5_000 })
      .catch((e: unknown) => e)) as RemoteError;
    expect(error.kind).toBe('unreachable');
    expect(error.message).toBe(
      `WIN1 refused the WinRM connection on port ${fake.port}, which answered earlier in this session: the PC or its WinRM service may be restarting.`,
    );
  });

  it('no /wsman (HTTP 404) says WinRM is not enabled and names winrm quickconfig', async () => {
    fake = await startFakeWinrm();
    fake.reply = 'status-404';
    transport = new HttpTransport(options(fake.port));
    const error = (await transport.open(5_000).catch((e: unknown) => e)) as RemoteError;
    expect(error.kind).toBe('unreachable');
    expect(error.message).toContain('WinRM is not enabled on the PC: run `winrm quickconfig`');
  });
});
