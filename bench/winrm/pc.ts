/**
 * The benchmark's PC behind the test bed's sealed endpoint (test/winrm/endpoint.ts, backend mode),
 * run as a process of its own so its work is not counted as the client's. It answers a cmd shell
 * in Windows' recorded shapes: `echo <text>` prints the text; a PowerShell script sent on stdin
 * (the Windows Update audit) prints the Windows Update JSON of `WUA_JSON` (or the file named in
 * PATCHDECK_BENCH_WUA) once its search time, PATCHDECK_BENCH_SEARCH_MS, has passed. Prints its port on stdout, then serves until killed.
 */
import fs from 'node:fs';
import http from 'node:http';
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
} from '../../test/winrm/soap-replies';

/** How long this PC's Windows Update search takes (a real one takes seconds to minutes). */
const searchMs = Number(process.env.PATCHDECK_BENCH_SEARCH_MS ?? 0);
const wua = process.env.PATCHDECK_BENCH_WUA ? fs.readFileSync(process.env.PATCHDECK_BENCH_WUA, 'utf8') : '';

interface Command {
  output: Buffer;
  stdin: Buffer[];
  waitsForStdin: boolean;
  /** When the script's output is ready (the search ends). */
  readyAt: number;
}

const commands = new Map<string, Command>();
let next = 0;

/** Windows holds a Receive until output is ready (within its OperationTimeout, 20 s here). */
function later(soap: string): { delayMs: number } {
  const req = parseRequest(soap);
  const c = req.action === ACTIONS.receive ? commands.get(req.commandId ?? '') : undefined;
  return { delayMs: c && !c.waitsForStdin ? Math.max(0, Math.min(c.readyAt - Date.now(), 20_000)) : 0 };
}

function answer(soap: string): { status: number; body: string } {
  const req = parseRequest(soap);
  const id = req.messageId;
  switch (req.action) {
    case ACTIONS.create:
      return { status: 200, body: createShellResponse(id, `BENCH-SHELL-${++next}`) };
    case ACTIONS.get:
      return { status: 200, body: configResponse(id, { maxEnvelopeSizeKb: 500 }) };
    case ACTIONS.command: {
      const commandId = `BENCH-CMD-${++next}`;
      const line = [req.command ?? '', ...(req.arguments ?? [])].join(' ');
      const echo = /^echo (.*)$/i.exec(line);
      commands.set(commandId, {
        output: Buffer.from(echo ? `${echo[1]}\r\n` : ''),
        stdin: [],
        waitsForStdin: /powershell/i.test(line),
        readyAt: 0,
      });
      return { status: 200, body: commandResponse(id, commandId) };
    }
    case ACTIONS.send: {
      const c = commands.get(req.commandId ?? '');
      if (c && req.stdin) c.stdin.push(req.stdin);
      if (c && req.stdinEnd) {
        c.waitsForStdin = false;
        c.output = Buffer.from(wua);
        c.readyAt = Date.now() + searchMs;
      }
      return { status: 200, body: sendResponse(id) };
    }
    case ACTIONS.receive: {
      const c = commands.get(req.commandId ?? '');
      if (!c)
        return { status: 200, body: receiveResponse(id, req.commandId ?? '', { done: { exitCode: 1 } }) };
      if (c.waitsForStdin) return { status: 200, body: receiveResponse(id, req.commandId ?? '') };
      commands.delete(req.commandId ?? '');
      return {
        status: 200,
        body: receiveResponse(id, req.commandId ?? '', { stdout: c.output, done: { exitCode: 0 } }),
      };
    }
    case ACTIONS.signal:
      commands.delete(req.commandId ?? '');
      return { status: 200, body: signalResponse(id) };
    case ACTIONS.delete:
      return { status: 200, body: deleteResponse(id) };
    default:
      return { status: 500, body: '' };
  }
}

const server = http.createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (d: Buffer) => chunks.push(d));
  request.on('end', () => {
    const soap = Buffer.concat(chunks).toString('utf8');
    setTimeout(() => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify(answer(soap)));
    }, later(soap).delayMs);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
});
