/**
 * The browser carrier's framing, fuzzed over real TCP connections to a real carrier on
 * 127.0.0.1 (with a real core and workspace behind it, as `patchdeck serve` runs):
 *   - `carrier:http-bytes`: raw bytes, and real requests (static files, API calls, the launch
 *     exchange, WebSocket handshakes, the legacy token redirect) mutated byte by byte and split
 *     into several writes;
 *   - `carrier:ws-frames`: after a valid, authenticated handshake, WebSocket frames of every
 *     kind — bad opcodes, reserved bits, unmasked or fragmented frames, lying lengths, invalid
 *     UTF-8, oversized control frames and close codes — and raw bytes.
 * The server must never crash (an uncaught error in this worker is one), must answer or close
 * every connection within a few seconds, must answer in well-formed HTTP (and WebSocket frames
 * after a 101), must never hand out the token to a request that did not present it, and must
 * keep serving: every 25th input is followed by a plain request that must get its page.
 *
 * Each connection comes from its own loopback source address (127.a.b.c), so that 100 000
 * connections do not run out of ephemeral ports while the closed ones linger in TIME_WAIT.
 */
import '../loopback-guard';
import net from 'node:net';
import fc from 'fast-check';
import { startFuzzApp, type FuzzApp } from '../fuzz-app';
import type { FuzzTarget } from '../target';

export class UncleanConnection extends Error {}

const ANSWER_OR_CLOSE_MS = 3000;
let httpApp: FuzzApp | null = null;
let wsApp: FuzzApp | null = null;
let connections = 0;

function sourceAddress(): string {
  const n = connections++;
  return `127.${1 + (n % 250)}.${Math.floor(n / 250) % 256}.${1 + (Math.floor(n / 64_000) % 250)}`;
}

export interface Exchange {
  received: Buffer;
  closed: boolean;
  /** The client socket's own error (a reset, a refused connection), if any. */
  error?: string;
}

/**
 * Writes `chunks` one by one (optionally after reading up to the end of an HTTP head, as a
 * WebSocket client must), then ends its side and waits for the server to close, up to
 * ANSWER_OR_CLOSE_MS. With `halfClose` it ends at once, as a hostile client may (Node's HTTP
 * server then drops the request, allowing no half-open connections); otherwise it ends once
 * the server has been quiet for a moment, so that answers that take a few turns (a static
 * file, an API call) are read whole.
 */
function exchange(
  port: number,
  chunks: Buffer[],
  options: { afterHead?: Buffer; halfClose?: boolean; patienceMs?: number } = {},
): Promise<Exchange> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress: sourceAddress() });
    const parts: Buffer[] = [];
    let size = 0;
    let settled = false;
    let ended = false;
    let closeTimer: NodeJS.Timeout | undefined;
    let error: string | undefined;
    let quietTimer: NodeJS.Timeout | undefined;
    const finish = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(closeTimer);
      clearTimeout(quietTimer);
      socket.destroy();
      resolve({ received: Buffer.concat(parts), closed, error });
    };
    const end = (): void => {
      if (ended) return;
      ended = true;
      clearTimeout(quietTimer);
      socket.end();
      closeTimer = setTimeout(() => finish(false), ANSWER_OR_CLOSE_MS);
    };
    const quietFor = (ms: number): void => {
      clearTimeout(quietTimer);
      if (!ended) quietTimer = setTimeout(end, ms);
    };
    let sentBody = options.afterHead === undefined;
    const sendBody = (): void => {
      sentBody = true;
      for (const chunk of chunks) socket.write(chunk);
      if (options.halfClose) end();
      else quietFor(options.patienceMs ?? 40);
    };
    socket.on('data', (data: Buffer) => {
      // Keep what the checks need: the head, and a bounded amount of frames.
      if (size < 256 * 1024) parts.push(data);
      size += data.length;
      if (!sentBody) {
        if (Buffer.concat(parts).includes('\r\n\r\n')) sendBody();
      } else if (!options.halfClose) {
        if (!options.afterHead && responseComplete(Buffer.concat(parts))) quietFor(1);
        else quietFor(15);
      }
    });
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () => finish(true));
    socket.on('connect', () => {
      if (options.afterHead) {
        socket.write(options.afterHead);
        quietFor(ANSWER_OR_CLOSE_MS);
      } else sendBody();
    });
  });
}

/** Whether `data` ends with a whole HTTP response (by its Content-Length, or chunked). */
export function responseComplete(data: Buffer): boolean {
  let at = 0;
  let complete = false;
  while (at < data.length) {
    const headEnd = data.indexOf('\r\n\r\n', at);
    if (headEnd < 0) return false;
    const head = data.subarray(at, headEnd).toString('latin1');
    const bodyStart = headEnd + 4;
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
    if (status === 101) return true;
    const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1];
    if (status === 304 || status === 204 || (status >= 100 && status < 200)) at = bodyStart;
    else if (length !== undefined) {
      if (data.length < bodyStart + Number(length)) return false;
      at = bodyStart + Number(length);
    } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      const last = data.indexOf('\r\n0\r\n\r\n', bodyStart - 2);
      if (last < 0) return false;
      at = last + 7;
    } else return false; // ends when the server closes
    complete = true;
  }
  return complete;
}

/** A plain request after the fuzzing: the carrier must still serve its page. */
async function assertStillServing(port: number): Promise<void> {
  const started = performance.now();
  const { received, closed, error } = await exchange(
    port,
    [Buffer.from(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`)],
    { patienceMs: 2000 },
  );
  if (!received.toString('latin1').startsWith('HTTP/1.1 200 '))
    throw new UncleanConnection(
      `the carrier stopped serving (${error ?? (closed ? 'closed' : 'silent')} after ${Math.round(performance.now() - started)} ms): ${JSON.stringify(received.toString('latin1').slice(0, 80))}`,
    );
}

export function checkHttpAnswer(request: Buffer, { received, closed }: Exchange, token: string): void {
  if (received.length === 0 && !closed)
    throw new UncleanConnection(`no answer and no close within ${ANSWER_OR_CLOSE_MS} ms`);
  if (received.length > 0 && !received.toString('latin1').startsWith('HTTP/1.1 '))
    throw new UncleanConnection(
      `an answer that is no HTTP/1.1 response: ${JSON.stringify(received.toString('latin1').slice(0, 60))}`,
    );
  if (!request.includes(token) && received.includes(token))
    throw new UncleanConnection('the token went to a request that did not present it');
}

// ------------------------------------------------------------------------------------------
// HTTP bytes

/** Real requests; {P} is the port, {T} the token. */
const REQUESTS = [
  'GET / HTTP/1.1\r\nHost: 127.0.0.1:{P}\r\n\r\n',
  'HEAD /index.html HTTP/1.1\r\nHost: localhost:{P}\r\nConnection: close\r\n\r\n',
  'GET /app.js HTTP/1.1\r\nHost: 127.0.0.1:{P}\r\n\r\nGET /missing HTTP/1.1\r\nHost: 127.0.0.1:{P}\r\n\r\n',
  'GET /..%2f..%2fetc%2fpasswd HTTP/1.1\r\nHost: 127.0.0.1:{P}\r\n\r\n',
  'GET /?token={T} HTTP/1.1\r\nHost: 127.0.0.1:{P}\r\n\r\n',
  'GET /.//evil.com/?token={T} HTTP/1.1\r\nHost: 127.0.0.1:{P}\r\n\r\n',
  'GET /?token=wrong HTTP/1.1\r\nHost: 127.0.0.1:{P}\r\n\r\n',
  'POST /api/call HTTP/1.1\r\nHost: 127.0.0.1:{P}\r\nAuthorization: Bearer {T}\r\nContent-Type: application/json\r\nContent-Length: 35\r\n\r\n{"method":"app.info","args":{}}    ',
  'POST /api/call HTTP/1.1\r\nHost: 127.0.0.1:{P}\r\nAuthorization: Bearer {T}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n{"method":"hosts\r\n10\r\n.list","args":{}\r\n1\r\n}\r\n0\r\n\r\n',
  'POST /api/call HTTP/1.1\r\nHost: 127.0.0.1:{P}\r\nAuthorization: Bearer {T}\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"method":"settings.get","args":null}   ',
  'POST /api/call HTTP/1.1\r\nHost: 127.0.0.1:{P}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
  'POST /api/call HTTP/1.1\r\nHost: 127.0.0.1:{P}\r\nAuthorization: Bearer {T}\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}',
  'POST /api/launch HTTP/1.1\r\nHost: 127.0.0.1:{P}\r\nOrigin: http://127.0.0.1:{P}\r\nContent-Type: application/json\r\nContent-Length: 14\r\n\r\n{"code":"abc"}',
  'GET /api/ws HTTP/1.1\r\nHost: 127.0.0.1:{P}\r\nOrigin: http://127.0.0.1:{P}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: patchdeck, patchdeck.token.{T}\r\n\r\n',
  'GET /api/ws HTTP/1.1\r\nHost: 127.0.0.1:{P}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
  'GET /elsewhere HTTP/1.1\r\nHost: 127.0.0.1:{P}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
  'GET http://[ HTTP/1.1\r\nHost: 127.0.0.1:{P}\r\n\r\n',
  'OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1:{P}\r\n\r\n',
  'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n',
  'GET / HTTP/1.0\r\n\r\n',
  'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
  'DELETE /api/call HTTP/1.1\r\nHost: evil.example:{P}\r\nOrigin: http://evil.example\r\n\r\n',
];
const NASTY = [
  '\r\n',
  '\n',
  '\r',
  '\0',
  ' ',
  '\t',
  '\r\n\r\n',
  ':',
  '%',
  '\u00ff',
  'Transfer-Encoding: chunked\r\n',
  'Content-Length: 99999999\r\n',
  'Host: 127.0.0.1:{P}\r\n',
  '{T}',
  'Upgrade: websocket\r\n',
];

type Edit =
  | { kind: 'flip'; at: number; value: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'repeat'; at: number; length: number; times: number }
  | { kind: 'cut'; at: number };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom(...NASTY), fc.string({ unit: 'binary', maxLength: 16 })),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({
    kind: fc.constant('repeat' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 40 }),
    times: fc.integer({ min: 2, max: 200 }),
  }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
);

function applyEdit(bytes: Buffer, e: Edit): Buffer {
  const at = bytes.length === 0 ? 0 : e.at % (bytes.length + 1);
  switch (e.kind) {
    case 'flip':
      if (bytes.length === 0) return bytes;
      return Buffer.concat([
        bytes.subarray(0, at % bytes.length),
        Buffer.from([e.value]),
        bytes.subarray((at % bytes.length) + 1),
      ]);
    case 'insert':
      return Buffer.concat([bytes.subarray(0, at), Buffer.from(e.text, 'latin1'), bytes.subarray(at)]);
    case 'delete':
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + e.length)]);
    case 'repeat': {
      const piece = bytes.subarray(at, at + e.length);
      return Buffer.concat([
        bytes.subarray(0, at),
        ...Array<Buffer>(e.times).fill(piece),
        bytes.subarray(at),
      ]);
    }
    case 'cut':
      return bytes.subarray(0, at);
  }
}

export interface HttpInput {
  /** A real request to mutate (index into REQUESTS), or null for raw bytes. */
  request: number | null;
  edits: Edit[];
  raw: Uint8Array;
  /** Where the bytes are split into separate writes. */
  splits: number[];
  /** End the connection right after the bytes, before any answer. */
  halfClose: boolean;
}

const httpInput: fc.Arbitrary<HttpInput> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      request: fc.integer({ min: 0, max: REQUESTS.length - 1 }),
      // Unchanged requests too, so that the paths behind the parser are reached as often as its errors.
      edits: fc.oneof(
        { weight: 2, arbitrary: fc.constant<Edit[]>([]) },
        { weight: 5, arbitrary: fc.array(edit, { minLength: 1, maxLength: 3 }) },
      ),
      raw: fc.constant(new Uint8Array()),
      splits: fc.array(fc.nat(), { maxLength: 3 }),
      halfClose: fc.boolean(),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      request: fc.constant(null),
      edits: fc.constant<Edit[]>([]),
      raw: fc.uint8Array({ maxLength: 4096 }),
      splits: fc.array(fc.nat(), { maxLength: 3 }),
      halfClose: fc.boolean(),
    }),
  },
);

const fill = (template: string, port: number, token: string): string =>
  template.replaceAll('{P}', String(port)).replaceAll('{T}', token);

function split(bytes: Buffer, at: number[]): Buffer[] {
  const cuts = [...new Set(at.map((a) => (bytes.length ? a % bytes.length : 0)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const cut of cuts) {
    if (cut > from) chunks.push(bytes.subarray(from, cut));
    from = Math.max(from, cut);
  }
  chunks.push(bytes.subarray(from));
  return chunks.filter((c) => c.length > 0);
}

let httpInputs = 0;

export const carrierHttp: FuzzTarget<HttpInput> = {
  name: 'carrier:http-bytes',
  arbitrary: httpInput,
  timeoutMs: 10_000,
  async setup() {
    httpApp = await startFuzzApp('http');
  },
  async teardown() {
    await httpApp?.close();
    httpApp = null;
  },
  async run(input) {
    const { port, token } = httpApp!.carrier;
    let bytes =
      input.request === null
        ? Buffer.from(input.raw)
        : Buffer.from(fill(REQUESTS[input.request]!, port, token), 'latin1');
    for (const e of input.edits)
      bytes = Buffer.from(fill(applyEdit(bytes, e).toString('latin1'), port, token), 'latin1');
    const answer = await exchange(port, split(bytes, input.splits), { halfClose: input.halfClose });
    checkHttpAnswer(bytes, answer, token);
    if (++httpInputs % 25 === 0) await assertStillServing(port);
  },
  classified: () => false,
};

// ------------------------------------------------------------------------------------------
// WebSocket frames

export interface Frame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  /** How the length is written: as the payload needs, forced wide, or a lie. */
  length: 'natural' | 'wide16' | 'wide64' | 'lie';
  lie: number;
  payload: Uint8Array;
}

const jsonCall = fc
  .tuple(
    fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.constant(null)),
    fc.constantFrom('app.info', 'hosts.list', 'settings.get', 'tasks.list', 'nope.nothing', '__proto__'),
    fc.oneof(fc.constant({}), fc.jsonValue({ maxDepth: 2 })),
  )
  .map(([id, method, args]) => new TextEncoder().encode(JSON.stringify({ id, method, args })));

const payload = fc.oneof(
  { weight: 3, arbitrary: jsonCall },
  { weight: 2, arbitrary: fc.string({ maxLength: 200 }).map((s) => new TextEncoder().encode(s)) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  // A close frame: a status code (valid or not) and a reason (maybe not UTF-8).
  {
    weight: 1,
    arbitrary: fc
      .tuple(
        fc.constantFrom(1000, 1001, 1005, 1006, 1015, 0, 999, 2999, 3000, 4999, 5000, 65535),
        fc.uint8Array({ maxLength: 130 }),
      )
      .map(([code, reason]) => new Uint8Array([code >> 8, code & 255, ...reason])),
  },
);

const frame: fc.Arbitrary<Frame> = fc.record({
  fin: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  rsv: fc.oneof(
    { weight: 8, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 7 }) },
  ),
  opcode: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(1, 2) },
    { weight: 2, arbitrary: fc.constantFrom(0, 8, 9, 10) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) },
  ),
  masked: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  length: fc.oneof(
    { weight: 8, arbitrary: fc.constant('natural' as const) },
    { weight: 1, arbitrary: fc.constantFrom('wide16' as const, 'wide64' as const, 'lie' as const) },
  ),
  lie: fc.oneof(fc.nat(), fc.constantFrom(2 ** 31, 2 ** 53 - 1, 2 * 1024 * 1024)),
  payload,
});

export function encodeFrame(f: Frame): Buffer {
  const body = Buffer.from(f.payload);
  const declared = f.length === 'lie' ? f.lie : body.length;
  const head: number[] = [(f.fin ? 0x80 : 0) | ((f.rsv & 7) << 4) | (f.opcode & 15)];
  const maskBit = f.masked ? 0x80 : 0;
  if (f.length === 'wide64' || declared > 0xffff) {
    head.push(maskBit | 127);
    const wide = Buffer.alloc(8);
    wide.writeBigUInt64BE(BigInt(declared));
    head.push(...wide);
  } else if (f.length === 'wide16' || declared > 125) {
    head.push(maskBit | 126, declared >> 8, declared & 255);
  } else head.push(maskBit | declared);
  if (!f.masked) return Buffer.concat([Buffer.from(head), body]);
  const key = [0x37, 0xfa, 0x21, 0x3d];
  const masked = Buffer.from(body.map((b, i) => b ^ key[i % 4]!));
  return Buffer.concat([Buffer.from([...head, ...key]), masked]);
}

/** Checks what the server sent after its 101: unmasked frames with defined opcodes, JSON text. */
export function checkServerFrames(data: Buffer): void {
  let at = 0;
  while (at + 2 <= data.length) {
    const opcode = data[at]! & 15;
    const masked = (data[at + 1]! & 0x80) !== 0;
    let length = data[at + 1]! & 127;
    let offset = at + 2;
    if (length === 126) {
      if (offset + 2 > data.length) return;
      length = data.readUInt16BE(offset);
      offset += 2;
    } else if (length === 127) {
      if (offset + 8 > data.length) return;
      length = Number(data.readBigUInt64BE(offset));
      offset += 8;
    }
    if (masked) throw new UncleanConnection('the server sent a masked frame');
    if (![0, 1, 2, 8, 9, 10].includes(opcode))
      throw new UncleanConnection(`the server sent opcode ${opcode}`);
    if (offset + length > data.length) return; // cut by our bounded buffer
    if (opcode === 1) {
      const text = data.subarray(offset, offset + length).toString('utf8');
      let message: { type?: unknown };
      try {
        message = JSON.parse(text) as { type?: unknown };
      } catch {
        throw new UncleanConnection(`the server sent text that is not JSON: ${text.slice(0, 80)}`);
      }
      if (!['result', 'event', 'error'].includes(String(message.type)))
        throw new UncleanConnection(`the server sent a message of type ${String(message.type)}`);
      if (message.type === 'result' && (message as { error?: { code?: unknown } }).error?.code === 'internal')
        throw new UncleanConnection(`an internal error: ${text.slice(0, 200)}`);
    }
    at = offset + length;
  }
}

export interface WsInput {
  frames: Frame[];
  /** Raw bytes after the frames (or instead of them). */
  trailing: Uint8Array;
  splits: number[];
  halfClose: boolean;
}

const wsInput: fc.Arbitrary<WsInput> = fc.record({
  frames: fc.array(frame, { minLength: 0, maxLength: 6 }),
  trailing: fc.oneof(
    { weight: 4, arbitrary: fc.constant(new Uint8Array()) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  ),
  splits: fc.array(fc.nat(), { maxLength: 3 }),
  halfClose: fc.boolean(),
});

let wsInputs = 0;

export const carrierWebSocket: FuzzTarget<WsInput> = {
  name: 'carrier:ws-frames',
  arbitrary: wsInput,
  timeoutMs: 10_000,
  async setup() {
    wsApp = await startFuzzApp('frames');
  },
  async teardown() {
    await wsApp?.close();
    wsApp = null;
  },
  async run(input) {
    const { port, token } = wsApp!.carrier;
    const handshake = Buffer.from(
      `GET /api/ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: http://127.0.0.1:${port}\r\n` +
        'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: patchdeck, patchdeck.token.${token}\r\n\r\n`,
    );
    const bytes = Buffer.concat([...input.frames.map(encodeFrame), Buffer.from(input.trailing)]);
    const answer = await exchange(port, split(bytes, input.splits), {
      afterHead: handshake,
      halfClose: input.halfClose,
    });
    checkHttpAnswer(handshake, answer, token);
    const text = answer.received.toString('latin1');
    if (!text.startsWith('HTTP/1.1 101 '))
      throw new UncleanConnection(`the handshake was refused: ${JSON.stringify(text.slice(0, 60))}`);
    const headEnd = answer.received.indexOf('\r\n\r\n');
    const head = answer.received.subarray(0, headEnd).toString('latin1');
    if (head.includes(token)) throw new UncleanConnection('the handshake answer echoes the token');
    checkServerFrames(answer.received.subarray(headEnd + 4));
    if (++wsInputs % 25 === 0) await assertStillServing(port);
  },
  classified: () => false,
};
