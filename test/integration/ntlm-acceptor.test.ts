// Patchdeck's NTLM client against a real acceptor: gss-ntlmssp through python3-gssapi
// (test/winrm/ntlm-acceptor.py), standalone with an NTLM_USER_FILE, no domain controller.
// It checks the password, the MIC (its challenge carries MsvAvTimestamp), the channel
// bindings, and the real GSS wrap/unwrap that WinRM's HTTP encryption uses.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NtlmContext, NtlmError, decryptBody, encryptBody } from '../../src/remote/winrm/ntlm';
import { AvId, MIC_OFFSET, parseChallenge } from '../../src/remote/winrm/ntlm/messages';
import { startDomainController, withSambaLock, type DomainController } from '../winrm/samba-dc';

const SCRIPT = path.join(import.meta.dirname, '../winrm/ntlm-acceptor.py');
let dir = '';
let userFile = '';

interface Acceptor {
  ask(command: string, data?: Buffer): Promise<{ verb: string; data: Buffer; text: string }>;
  stop(): void;
}

const running = new Set<ChildProcessWithoutNullStreams>();

/** With a user file (standalone), or with null: then gss-ntlmssp asks the DC through winbind. */
function startAcceptor(channelBindings?: Buffer, users: string | null = userFile): Acceptor {
  const child = spawn(
    '/usr/bin/python3',
    [SCRIPT, ...(channelBindings ? [channelBindings.toString('hex')] : [])],
    {
      env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', ...(users ? { NTLM_USER_FILE: users } : {}) },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  running.add(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const waiting: Array<{ resolve: (line: string) => void; reject: (e: Error) => void }> = [];
  createInterface({ input: child.stdout }).on('line', (line) => waiting.shift()?.resolve(line));
  child.on('exit', (code) => {
    running.delete(child);
    for (const w of waiting.splice(0)) w.reject(new Error(`the acceptor exited (${code}): ${stderr}`));
  });
  return {
    ask(command, data) {
      return new Promise((resolve, reject) => {
        waiting.push({
          resolve: (line) => {
            const [verb = '', arg = ''] = line.split(' ', 2);
            const rest = line.slice(verb.length + 1);
            resolve({
              verb,
              data: arg && arg !== '-' && verb !== 'FAIL' ? Buffer.from(arg, 'base64') : Buffer.alloc(0),
              text: rest,
            });
          },
          reject,
        });
        child.stdin.write(`${command} ${data && data.length ? data.toString('base64') : '-'}\n`);
      });
    },
    stop() {
      child.stdin.end();
      if (child.pid && child.exitCode === null) child.kill('SIGTERM');
    },
  };
}

async function handshake(
  acceptor: Acceptor,
  ctx: NtlmContext,
  tamper?: (authenticate: Buffer) => void,
): Promise<{ verb: string; text: string; challenge: Buffer }> {
  const first = await acceptor.ask('STEP', ctx.negotiateMessage());
  expect(first.verb).toBe('CONTINUE');
  const authenticate = ctx.authenticateMessage(first.data);
  tamper?.(authenticate);
  const second = await acceptor.ask('STEP', authenticate);
  return { verb: second.verb, text: second.text, challenge: first.data };
}

const alice = (password = 'Secret-123') =>
  new NtlmContext({ domain: 'PATCHDECK', username: 'alice', password, workstation: 'PATCHDECK' });

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-ntlm-'));
  userFile = path.join(dir, 'users');
  fs.writeFileSync(userFile, 'PATCHDECK:alice:Secret-123\nPATCHDECK:bob:Other-456\n', { mode: 0o600 });
});

afterAll(() => {
  for (const child of running) if (child.exitCode === null) child.kill('SIGTERM');
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('NTLM against gss-ntlmssp', () => {
  it('authenticates with the right password; both sides derive the same session key', async () => {
    const acceptor = startAcceptor();
    try {
      const ctx = alice();
      const result = await handshake(acceptor, ctx);
      expect(result.verb).toBe('DONE');
      expect(ctx.established).toBe(true);
      const key = await acceptor.ask('KEY');
      expect(key.verb).toBe('KEY');
      expect(key.data.equals(ctx.exportedSessionKey)).toBe(true);
      // Standalone gss-ntlmssp sends a timestamp: the client had to send a MIC, and it was checked.
      expect(parseChallenge(result.challenge).avPairs.some((p) => p.id === AvId.Timestamp)).toBe(true);
    } finally {
      acceptor.stop();
    }
  });

  it('is refused with a wrong password, and with an unknown user', async () => {
    for (const ctx of [
      alice('wrong-password'),
      new NtlmContext({ domain: 'PATCHDECK', username: 'mallory', password: 'Secret-123' }),
    ]) {
      const acceptor = startAcceptor();
      try {
        const result = await handshake(acceptor, ctx);
        expect(result.verb).toBe('FAIL');
        expect(result.text).toMatch(/GSS|Permission denied|failure/i);
      } finally {
        acceptor.stop();
      }
    }
  });

  it('is refused when the MIC is wrong (the acceptor checks it)', async () => {
    const acceptor = startAcceptor();
    try {
      const result = await handshake(acceptor, alice(), (m) => {
        m[MIC_OFFSET]! ^= 0xff;
      });
      expect(result.verb).toBe('FAIL');
    } finally {
      acceptor.stop();
    }
  });

  it('passes the acceptor’s TLS channel binding check with the right certificate, fails with another', async () => {
    // An ECDSA-with-SHA384 certificate: RFC 5929 says its own hash, SHA-384, is used.
    const certificate = new X509Certificate(
      fs.readFileSync(path.join(import.meta.dirname, '../fixtures/winrm/ntlm/certs/ecdsa-sha384.pem')),
    ).raw;
    const bindings = Buffer.concat([
      Buffer.from('tls-server-end-point:'),
      createHash('sha384').update(certificate).digest(),
    ]);
    for (const [presented, expected] of [
      [certificate, 'DONE'],
      [
        new X509Certificate(
          fs.readFileSync(path.join(import.meta.dirname, '../fixtures/winrm/ntlm/certs/rsa-sha256.pem')),
        ).raw,
        'FAIL',
      ],
    ] as const) {
      const acceptor = startAcceptor(bindings);
      try {
        const ctx = new NtlmContext(
          { domain: 'PATCHDECK', username: 'alice', password: 'Secret-123' },
          { serverCertificate: presented },
        );
        expect((await handshake(acceptor, ctx)).verb).toBe(expected);
      } finally {
        acceptor.stop();
      }
    }
  });

  it('seals both ways with the acceptor’s real GSS wrap/unwrap, sequence numbers advancing', async () => {
    const acceptor = startAcceptor();
    try {
      const ctx = alice();
      expect((await handshake(acceptor, ctx)).verb).toBe('DONE');
      for (let i = 0; i < 6; i++) {
        const request = Buffer.from(`<s:Envelope>request ${i} ${'ü'.repeat(i * 500)}</s:Envelope>`);
        const { signature, sealed } = ctx.wrap(request);
        expect(signature.readUInt32LE(12)).toBe(i);
        const plain = await acceptor.ask('UNWRAP', Buffer.concat([signature, sealed]));
        expect(plain.verb).toBe('PLAIN');
        expect(plain.data.equals(request)).toBe(true);

        const reply = Buffer.from(`<s:Envelope>reply ${i}</s:Envelope>`);
        const wrapped = await acceptor.ask('WRAP', reply);
        expect(wrapped.data.readUInt32LE(12)).toBe(i);
        // Framed as WinRM frames it, then read back through the client's body parser.
        const body = encryptBody(
          { wrap: () => ({ signature: wrapped.data.subarray(0, 16), sealed: wrapped.data.subarray(16) }) },
          reply,
        );
        expect(decryptBody(ctx, body).equals(reply)).toBe(true);
      }
    } finally {
      acceptor.stop();
    }
  });

  it('refuses a tampered reply, and the acceptor refuses a tampered request', async () => {
    const acceptor = startAcceptor();
    try {
      const ctx = alice();
      expect((await handshake(acceptor, ctx)).verb).toBe('DONE');
      const { signature, sealed } = ctx.wrap(Buffer.from('request'));
      sealed[0]! ^= 1;
      expect((await acceptor.ask('UNWRAP', Buffer.concat([signature, sealed]))).verb).toBe('FAIL');
      const wrapped = await acceptor.ask('WRAP', Buffer.from('reply'));
      wrapped.data[20]! ^= 1;
      expect(() => ctx.unwrap(wrapped.data.subarray(0, 16), wrapped.data.subarray(16))).toThrow(NtlmError);
    } finally {
      acceptor.stop();
    }
  });
});

describe('NTLM against gss-ntlmssp backed by a Samba AD domain controller (winbind)', () => {
  withSambaLock();
  let dc: DomainController | null = null;
  beforeAll(async () => {
    dc = await startDomainController();
  }, 300_000);
  afterAll(async () => {
    await dc?.stop();
  });

  const domainAlice = (password: string) =>
    new NtlmContext({ domain: 'PATCHDECK', username: 'alice', password, workstation: 'PATCHDECK' });

  it('authenticates against the DC, whose challenge carries MsvAvTimestamp, and seals both ways', async () => {
    const acceptor = startAcceptor(undefined, null);
    try {
      const ctx = domainAlice(dc!.users.alice);
      const result = await handshake(acceptor, ctx);
      expect(`${result.verb} ${result.text}`).toBe('DONE -');
      const pairs = parseChallenge(result.challenge).avPairs;
      expect(pairs.some((p) => p.id === AvId.Timestamp)).toBe(true);
      expect(ctx.serverIdentity?.netbiosDomain).toBe('PATCHDECK');
      const request = Buffer.from('<s:Envelope>to the domain</s:Envelope>');
      const { signature, sealed } = ctx.wrap(request);
      expect((await acceptor.ask('UNWRAP', Buffer.concat([signature, sealed]))).data.equals(request)).toBe(
        true,
      );
      const wrapped = await acceptor.ask('WRAP', Buffer.from('from the domain'));
      expect(ctx.unwrap(wrapped.data.subarray(0, 16), wrapped.data.subarray(16)).toString()).toBe(
        'from the domain',
      );
    } finally {
      acceptor.stop();
    }
  });

  it('is refused by the DC with a wrong password or a wrong MIC', async () => {
    for (const [ctx, tamper] of [
      [domainAlice('not-her-password'), undefined],
      [domainAlice(dc!.users.alice), (m: Buffer) => void (m[MIC_OFFSET + 3]! ^= 0x40)],
    ] as const) {
      const acceptor = startAcceptor(undefined, null);
      try {
        expect((await handshake(acceptor, ctx, tamper)).verb).toBe('FAIL');
      } finally {
        acceptor.stop();
      }
    }
  });

  /** Samba's own NTLMSSP server (ntlm_auth's squid helper): a second acceptor, not gss-ntlmssp. */
  async function ntlmAuth(
    ctx: NtlmContext,
    tamper?: (m: Buffer) => void,
  ): Promise<{ result: string; key: string | null }> {
    const child = spawn(
      'ntlm_auth',
      ['--helper-protocol=squid-2.5-ntlmssp', `--configfile=${path.join(dc!.dir, 'etc/smb.conf')}`],
      {
        env: { PATH: '/usr/bin:/bin:/usr/sbin', LANG: 'C.UTF-8' },
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    try {
      const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
      const ask = async (line: string): Promise<string> => {
        child.stdin.write(`${line}\n`);
        const next = await lines.next();
        if (next.done) throw new Error('ntlm_auth exited');
        return next.value as string;
      };
      const tt = await ask(`YR ${ctx.negotiateMessage().toString('base64')}`);
      expect(tt.startsWith('TT ')).toBe(true);
      const authenticate = ctx.authenticateMessage(Buffer.from(tt.slice(3), 'base64'));
      tamper?.(authenticate);
      const result = await ask(`KK ${authenticate.toString('base64')}`);
      const key = result.startsWith('AF ') ? (await ask('GK')).replace(/^GK /, '') : null;
      return { result, key };
    } finally {
      child.stdin.end();
      if (child.exitCode === null) child.kill('SIGTERM');
    }
  }

  it('Samba’s ntlm_auth accepts the same login and exports the same session key (GK)', async () => {
    const ctx = domainAlice(dc!.users.alice);
    const { result, key } = await ntlmAuth(ctx);
    expect(result).toBe('AF PATCHDECK\\alice');
    expect(key).toBe(ctx.exportedSessionKey.toString('base64'));
    expect((await ntlmAuth(domainAlice('not-her-password'))).result).toMatch(/^NA /);
    const tampered = await ntlmAuth(domainAlice(dc!.users.alice), (m) => void (m[MIC_OFFSET + 7]! ^= 0x10));
    expect(tampered.result).toMatch(/^(NA|BH) /);
  });
});
