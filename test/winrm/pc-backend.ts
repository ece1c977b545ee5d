// A Windows PC behind the test bed's backend mode (test/winrm/endpoint.ts): the endpoint decrypts
// each sealed request and POSTs its SOAP here; this answers in the recorded Windows shapes
// (soap-replies.ts) with what the in-memory PC (src/patch/testing/fake-pc.ts) prints for the
// command or the PowerShell script the request carried. `{ drop: true }` makes the endpoint close
// the TCP connection without an answer: the PC dropping the session (a network-driver update) or
// going down for its restart.
import http from 'node:http';
import type net from 'node:net';
import { randomUUID } from 'node:crypto';
import { RemoteError } from '../../src/remote';
import type { FakePc } from '../../src/patch/testing/fake-pc';
import {
  ACTIONS,
  commandResponse,
  configResponse,
  createShellResponse,
  deleteResponse,
  parseRequest,
  receiveResponse,
  sendResponse,
  signalResponse,
} from './soap-replies';

interface Command {
  line: string;
  stdin: Buffer[];
  stdinDone: boolean;
  answered: boolean;
}

export interface PcBackend {
  url: string;
  /** Requests answered with a drop. */
  drops(): number;
  close(): Promise<void>;
}

/** Lets the flow's PowerShell run on the fake PC: the client streams it base64-encoded through stdin. */
function scriptOf(stdin: Buffer[]): string {
  return Buffer.from(Buffer.concat(stdin).toString('ascii').trim(), 'base64').toString('utf8');
}

export function startPcBackend(pc: FakePc): Promise<PcBackend> {
  const commands = new Map<string, Command>();
  let drops = 0;
  const answer = (body: string): { status: number; body: string } | { drop: true } => {
    // The PC is away (driver replaced, restarting): nothing it receives is answered.
    if (pc.away > 0) {
      pc.away--;
      return { drop: true };
    }
    const q = parseRequest(body);
    if (q.action === ACTIONS.create)
      return { status: 200, body: createShellResponse(q.messageId, randomUUID().toUpperCase()) };
    if (q.action === ACTIONS.command) {
      const id = randomUUID().toUpperCase();
      const line = [q.command ?? '', ...(q.arguments ?? [])].join(' ').trim();
      commands.set(id, {
        line,
        stdin: [],
        stdinDone: q.options.WINRS_CONSOLEMODE_STDIN === 'TRUE',
        answered: false,
      });
      return { status: 200, body: commandResponse(q.messageId, id) };
    }
    if (q.action === ACTIONS.send) {
      const c = commands.get(q.commandId ?? '');
      if (c) {
        c.stdin.push(q.stdin ?? Buffer.alloc(0));
        if (q.stdinEnd) c.stdinDone = true;
      }
      return { status: 200, body: sendResponse(q.messageId) };
    }
    if (q.action === ACTIONS.receive) {
      const c = commands.get(q.commandId ?? '');
      if (!c || c.answered)
        return {
          status: 200,
          body: receiveResponse(q.messageId, q.commandId ?? '', { done: { exitCode: 0 } }),
        };
      c.answered = true;
      let out: { stdout: string; stderr: string; code: number };
      try {
        out = c.line.startsWith('powershell.exe ') ? pc.powershell(scriptOf(c.stdin)) : pc.command(c.line);
      } catch (error) {
        if (error instanceof RemoteError && error.kind === 'unreachable') {
          drops++;
          return { drop: true };
        }
        throw error;
      }
      return {
        status: 200,
        body: receiveResponse(q.messageId, q.commandId ?? '', {
          stdout: Buffer.from(out.stdout, 'utf8'),
          stderr: Buffer.from(out.stderr, 'utf8'),
          done: { exitCode: out.code },
        }),
      };
    }
    if (q.action === ACTIONS.get)
      return { status: 200, body: configResponse(q.messageId, { maxEnvelopeSizeKb: 500 }) };
    if (q.action === ACTIONS.signal) return { status: 200, body: signalResponse(q.messageId) };
    if (q.action === ACTIONS.delete) return { status: 200, body: deleteResponse(q.messageId) };
    return { status: 500, body: '' };
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let reply: ReturnType<typeof answer>;
      try {
        reply = answer(Buffer.concat(chunks).toString('utf8'));
      } catch (error) {
        reply = { status: 500, body: '' };
        console.error('pc-backend:', error);
      }
      if ('drop' in reply) drops++;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(reply));
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
        drops: () => drops,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      }),
    ),
  );
}
