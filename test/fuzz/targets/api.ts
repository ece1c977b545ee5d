/**
 * The API's zod boundary, fuzzed over both carriers: random calls of every contract method
 * (arguments generated from its zod schema, near its limits, with junk at every level, plus
 * unknown methods and malformed messages) go through the real router
 *   - `api:browser-ws`: over the browser carrier's WebSocket, to a real carrier on 127.0.0.1
 *     serving a real core on a temporary workspace, as `patchdeck serve` does;
 *   - `api:electron-ipc`: into electron/ipc-handler.ts with fake invoke events (the Electron
 *     binary cannot run here), from the app's own frame and from foreign ones.
 * Every answer must be a well-formed envelope: a value the contract's result schema accepts, or
 * `{ ok: false, error: { code, message } }` with a code other than `internal` (an unexpected
 * throw inside a handler), the code the input calls for (unknown-method, bad-request,
 * forbidden), and no secret from the arguments in it.
 *
 * Network safety: methods whose handlers reach hosts or the file system are fuzzed at the
 * boundary only (VALIDATION_ONLY below): a call the schema would accept gets one unknown key,
 * so the router refuses it before the handler runs, and the answer must be that refusal. The
 * workspace holds loopback hosts only, generated addresses are loopback or lab ones, and
 * test/fuzz/loopback-guard.ts refuses (and reports) any connection, look-up or datagram beyond
 * loopback all the same.
 */
import '../loopback-guard';
import fc from 'fast-check';
import WebSocket from 'ws';
import { createIpcHandler, type InvokeEventLike } from '../../../electron/ipc-handler';
import { calls, isMethod, methodNames, type Method } from '../../../src/api/contract';
import { startFuzzApp, offlineFixtureTexts, type FuzzApp } from '../fuzz-app';
import { takeRefusedAttempts } from '../loopback-guard';
import { hostText } from '../mutate';
import type { FuzzTarget } from '../target';
import { arbitraryFor, junkJson } from '../zod-arbitrary';

/** Handlers that would connect to hosts, sweep networks or write files where the input says. */
export const VALIDATION_ONLY: Readonly<Record<string, string>> = {
  'workspace.create': 'creates a SQLite file at the path it is given',
  'workspace.open': 'opens, and may migrate, the file at the path it is given',
  'workspace.backup': 'writes a full copy of the workspace at every call',
  'hosts.trust': 'connects to the host over SSH to read its key',
  'credentials.test': 'logs in to the host over SSH',
  'audits.start': 'connects to hosts over SSH',
  'discovery.start': 'sweeps addresses: TCP, ARP, mDNS, NetBIOS, reverse DNS',
  'jobs.plan': 'starts dry runs over SSH',
  'jobs.start': 'runs a patch job over SSH',
  'jobs.resume': 're-audits and patches hosts over SSH',
  'jobs.rerunFailed': 're-runs a patch job over SSH',
  'jobs.reboot': 'reboots hosts of a patch job over SSH',
  'hosts.reboot': 'reboots hosts over SSH, now or from the scheduler',
  'schedules.runNow': 'starts a scheduled audit (SSH) or discovery sweep now',
  // Saved schedules are run later by the core's scheduler, past the argument check's reach.
  'schedules.create': 'saves an audit or sweep the scheduler will run on its own',
  'schedules.update': 'retimes or switches on an audit or sweep the scheduler will run',
  'advisories.import': 'reads the files and folders it names, or uploads the server holds',
  'advisories.update': "downloads feeds from the publishers' (or a mirror's) addresses",
  'advisories.exportBundle': 'writes a bundle to the path it names',
  'reports.export': 'writes a report to the path it names',
  'bundles.export': 'writes a bundle to the path it names',
  'bundles.import': 'reads the bundle file it names, or an upload the server holds',
  'handoff.exportAnsible': 'writes an inventory and playbook into the folder it names',
  'handoff.importAnsibleResults': 'reads the file it names and re-audits hosts over SSH',
};

/**
 * Handlers that run on whatever the generator makes. A method added to the contract later is
 * fuzzed at the boundary only until someone lists it here (or in VALIDATION_ONLY).
 */
export const EXECUTED: ReadonlySet<string> = new Set([
  'app.info',
  'workspace.current',
  'hosts.list',
  'hosts.get',
  'hosts.update',
  'hosts.remove',
  'hosts.add',
  'hosts.pendingKeys',
  'hosts.trustKeys',
  'hosts.keys',
  'credentials.list',
  'credentials.add',
  'credentials.remove',
  // Opens a file dialog only in the desktop app; everywhere else it refuses as unavailable.
  'credentials.chooseKeyFile',
  'audits.forHost',
  'audits.latest',
  'audits.diff',
  'audits.hotfixes',
  'audits.import',
  'findings.query',
  'findings.groups',
  'findings.facets',
  // Saves through a file dialog only in the desktop app; everywhere else it returns the CSV.
  'findings.exportCsv',
  'discovery.check',
  'discovery.propose',
  'scans.list',
  'scans.results',
  'networks.list',
  'networks.save',
  'networks.remove',
  'settings.get',
  'settings.set',
  'tasks.list',
  'tasks.cancel',
  'jobs.approve',
  'jobs.list',
  'jobs.get',
  'jobs.cancel',
  'jobs.discard',
  'schedules.list',
  'schedules.remove',
  'schedules.runs',
  'advisories.status',
  'findings.evidence',
  'findings.unfixed',
  'findings.priorities',
  'dashboard.exposure',
  'exceptions.list',
  'exceptions.add',
  'exceptions.remove',
  'reports.preview',
  'workspaces.recent',
  'workspaces.setSite',
  'workspaces.suggestion',
]);

/** discovery.check resolves the names it is given: the guard refuses each look-up, cleanly. */
const MAY_LOOK_UP_NAMES = new Set(['discovery.check']);

export const executes = (method: string): boolean => EXECUTED.has(method) && !(method in VALIDATION_ONLY);

// ------------------------------------------------------------------------------------------
// Inputs

const octet = fc.integer({ min: 0, max: 255 });
const loopbackIp = fc
  .tuple(octet, octet, fc.integer({ min: 1, max: 254 }))
  .map(([a, b, c]) => `127.${a}.${b}.${c}`);
const labIp = fc.integer({ min: 1, max: 254 }).map((d) => `198.18.0.${d}`);
/** Addresses a fuzzed host may get: loopback, the lab's range, or text that is none at all. */
const address = fc.oneof(
  { weight: 4, arbitrary: loopbackIp },
  { weight: 2, arbitrary: labIp },
  { weight: 1, arbitrary: fc.constantFrom('::1', 'localhost', '127.0.0.1') },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
);
/** Discovery targets: loopback and lab ranges in every notation, with junk. */
const targets = fc.oneof(
  { weight: 3, arbitrary: loopbackIp },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        // A forced /12 is expanded (a million addresses, over a second): now and then only.
        { weight: 12, arbitrary: fc.integer({ min: 14, max: 32 }) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 13 }) },
      )
      .chain((bits) => loopbackIp.map((ip) => `${ip}/${bits}`)),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 254 }).map((d) => `198.18.0.1-${d}`) },
  {
    weight: 1,
    arbitrary: fc
      .array(
        fc.oneof(
          loopbackIp,
          labIp,
          fc.constantFrom('127.0.0.0/24', '198.18.0.0/24', ',', ' ', '\n', '-', '/'),
        ),
        {
          maxLength: 12,
        },
      )
      .map((parts) => parts.join(' ')),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
);
const fixtures = offlineFixtureTexts();
const collection = hostText(fixtures);

const argsFor = (method: Method): fc.Arbitrary<unknown> =>
  arbitraryFor(calls[method].args, {
    address,
    targets,
    exclude: fc.oneof(targets, fc.constant('')),
    text: collection,
    base64: collection.map((t) => Buffer.from(t).toString('base64')),
  });

export interface ApiInput {
  method: unknown;
  args: unknown;
}
/** Every contract method, equally often, and now and then a name that is none. */
export const apiInput: fc.Arbitrary<ApiInput> = fc.oneof(
  ...methodNames.map((method) =>
    fc.oneof(
      { weight: 12, arbitrary: argsFor(method).map((args) => ({ method, args })) },
      { weight: 1, arbitrary: fc.constant({ method, args: undefined }) },
    ),
  ),
  fc.record({
    method: fc.oneof(
      fc.constantFrom(
        '__proto__',
        'constructor',
        'hasOwnProperty',
        'toString',
        'hosts',
        'hosts.',
        '.list',
        'app.info ',
      ),
      fc.string({ maxLength: 30 }),
      junkJson,
    ),
    args: junkJson,
  }),
);

/** What actually crosses the carrier: a boundary-only method's acceptable call gets a key too many. */
export function prepared(input: ApiInput): { payload: ApiInput; mustRefuse: boolean } {
  const { method, args } = input;
  if (isMethod(method) && !executes(method) && calls[method].args.safeParse(args ?? {}).success) {
    return { payload: { method, args: { ...(args as object), notRunByTheFuzzer: true } }, mustRefuse: true };
  }
  return { payload: input, mustRefuse: false };
}

// ------------------------------------------------------------------------------------------
// The oracle

export class UncleanAnswer extends Error {}

const SECRET_FIELDS = ['secret', 'passphrase', 'sudoPassword'];

/**
 * Whether finding `secret` in an answer proves it was echoed. A secret that is a plain English
 * word ("arguments") also occurs in the router's own fixed sentences ("Invalid arguments for …"),
 * so only secrets with a character outside letters and punctuation, or long ones, count.
 */
export function mayBeEchoed(secret: string): boolean {
  return secret.length >= 8 && (/[^A-Za-z .,:;'-]/.test(secret) || secret.length >= 24);
}

/** Throws UncleanAnswer unless `answer` is what a correct router gives for `payload`. */
export function checkAnswer(payload: ApiInput, answer: unknown, expectedCode?: string): void {
  const fail = (why: string): never => {
    throw new UncleanAnswer(`${why}: ${JSON.stringify(answer)?.slice(0, 300)}`);
  };
  if (typeof answer !== 'object' || answer === null) fail('the answer is not an object');
  const envelope = answer as { ok?: unknown; value?: unknown; error?: { code?: unknown; message?: unknown } };
  const { method, args } = payload;
  const valid = isMethod(method) && calls[method].args.safeParse(args ?? {}).success;
  if (envelope.ok === true) {
    if (!isMethod(method)) fail('an unknown method succeeded');
    if (!valid) fail('arguments the schema refuses were accepted');
    if (expectedCode) fail(`expected ${expectedCode}, got a value`);
    if (!calls[method as Method].result.safeParse(envelope.value).success)
      fail(`${String(method)} returned a value outside its result schema`);
  } else if (envelope.ok === false) {
    const { code, message } = envelope.error ?? {};
    if (typeof code !== 'string' || !/^[a-z][a-z-]{1,40}$/.test(code)) fail('the error has no proper code');
    if (typeof message !== 'string' || message.trim() === '' || message.length > 4000)
      fail('the error has no proper message');
    if (code === 'internal') fail(`${String(method)} failed unexpectedly (an internal error)`);
    if (/\n\s+at .+:\d+:\d+/.test(message as string)) fail('the message holds a stack trace');
    const wanted =
      expectedCode ?? (!isMethod(method) ? 'unknown-method' : !valid ? 'bad-request' : undefined);
    if (wanted && code !== wanted) fail(`expected ${wanted}, got ${String(code)}`);
  } else fail('the answer has no ok flag');
  // No call ever returns a secret it was given.
  if (typeof args === 'object' && args !== null) {
    const text = JSON.stringify(answer);
    for (const field of SECRET_FIELDS) {
      const secret = (args as Record<string, unknown>)[field];
      if (
        typeof secret === 'string' &&
        mayBeEchoed(secret) &&
        text.includes(JSON.stringify(secret).slice(1, -1))
      )
        fail(`the answer repeats the ${field} it was given`);
    }
  }
}

function checkNetworkSafety(method: unknown): void {
  const attempts = takeRefusedAttempts();
  const allowed = typeof method === 'string' && MAY_LOOK_UP_NAMES.has(method);
  const unexpected = allowed ? attempts.filter((a) => !a.startsWith('a DNS look-up')) : attempts;
  if (unexpected.length)
    throw new UncleanAnswer(`${String(method)} tried to reach beyond loopback (refused): ${unexpected[0]}`);
}

// ------------------------------------------------------------------------------------------
// Over the browser carrier's WebSocket

let app: FuzzApp | null = null;
let socket: WebSocket | null = null;
let nextId = 1;
const waiting: ((message: unknown) => void)[] = [];

async function openSocket(): Promise<WebSocket> {
  if (socket && socket.readyState === WebSocket.OPEN) return socket;
  const { carrier } = app!;
  const ws = new WebSocket(
    `ws://127.0.0.1:${carrier.port}/api/ws`,
    ['patchdeck', `patchdeck.token.${carrier.token}`],
    {
      origin: `http://127.0.0.1:${carrier.port}`,
    },
  );
  ws.on('message', (data) => {
    let message: { type?: unknown };
    try {
      message = JSON.parse(String(data)) as { type?: unknown };
    } catch {
      message = { type: 'not-json', data: String(data).slice(0, 200) } as { type: unknown };
    }
    if (message.type === 'event') return;
    waiting.shift()?.(message);
  });
  ws.on('close', () => {
    for (const resolve of waiting.splice(0)) resolve({ type: 'closed' });
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('error', () => undefined);
  socket = ws;
  return ws;
}

export const apiOverWebSocket: FuzzTarget<ApiInput> = {
  name: 'api:browser-ws',
  arbitrary: apiInput,
  timeoutMs: 10_000,
  async setup() {
    app = await startFuzzApp('ws');
    await openSocket();
  },
  async teardown() {
    socket?.close();
    socket = null;
    await app?.close();
    app = null;
  },
  async run(input) {
    await app!.ensureWorkspace();
    const ws = await openSocket();
    const prepared_ = prepared(input);
    // What the server parses is the JSON text: judge the answer against that, not the object.
    const payload = JSON.parse(
      JSON.stringify({ method: prepared_.payload.method, args: prepared_.payload.args }) ?? '{}',
    ) as ApiInput;
    const mustRefuse = prepared_.mustRefuse;
    const id = nextId++;
    const reply = new Promise<unknown>((resolve) => waiting.push(resolve));
    ws.send(JSON.stringify({ id, method: payload.method, args: payload.args }));
    const message = (await reply) as { type?: unknown; id?: unknown };
    if (message.type !== 'result')
      throw new UncleanAnswer(`no result for the call: ${JSON.stringify(message).slice(0, 200)}`);
    if (message.id !== id) throw new UncleanAnswer(`the result carries id ${String(message.id)}, not ${id}`);
    const { type: _type, id: _id, ...envelope } = message;
    checkAnswer(payload, envelope, mustRefuse ? 'bad-request' : undefined);
    checkNetworkSafety(payload.method);
  },
  classified: () => false,
};

// ------------------------------------------------------------------------------------------
// Into the Electron IPC handler, with fake invoke events

const APP_URL = 'file:///opt/Patchdeck/resources/app.asar/out/renderer/index.html';
const OWN: InvokeEventLike = { sender: { id: 1 }, senderFrame: { url: APP_URL } };

interface IpcInput {
  event: InvokeEventLike;
  foreign: boolean;
  payload: unknown;
  call: ApiInput;
}
const ipcInput: fc.Arbitrary<IpcInput> = fc
  .tuple(
    fc.oneof(
      { weight: 12, arbitrary: fc.constant({ event: OWN, foreign: false }) },
      {
        weight: 1,
        arbitrary: fc
          .oneof(
            fc.constantFrom(
              'http://localhost:5173.evil.example/',
              `${APP_URL}.evil/`,
              'file:///tmp/index.html',
              'https://evil.example/',
              '',
            ),
            fc.webUrl(),
          )
          .map((url) => ({ event: { sender: { id: 1 }, senderFrame: { url } }, foreign: true })),
      },
      {
        weight: 1,
        arbitrary: fc.constant({
          event: { sender: { id: 2 }, senderFrame: { url: APP_URL } },
          foreign: true,
        }),
      },
      {
        weight: 1,
        arbitrary: fc.constant({ event: { sender: { id: 1 }, senderFrame: null }, foreign: true }),
      },
    ),
    apiInput,
    fc.oneof(
      { weight: 12, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.constantFrom<unknown>(null, 'app.info', [1, 2], 42, undefined, true) },
    ),
  )
  .map(([{ event, foreign }, call, notAnObject]) => ({
    event,
    foreign,
    call,
    payload: notAnObject === null ? call : notAnObject,
  }));

let handle: ReturnType<typeof createIpcHandler> | null = null;
let ipcApp: FuzzApp | null = null;

export const apiOverIpc: FuzzTarget<IpcInput> = {
  name: 'api:electron-ipc',
  arbitrary: ipcInput,
  timeoutMs: 10_000,
  async setup() {
    ipcApp = await startFuzzApp('ipc');
    handle = createIpcHandler({
      router: ipcApp.core.router,
      isTrustedSender: (sender) => sender.id === 1,
      appUrl: APP_URL,
    });
  },
  async teardown() {
    await ipcApp?.close();
    ipcApp = null;
  },
  async run(input) {
    await ipcApp!.ensureWorkspace();
    const isObject =
      typeof input.payload === 'object' && input.payload !== null && !Array.isArray(input.payload);
    const { payload, mustRefuse } = prepared(input.call);
    const sent = isObject ? payload : input.payload;
    const answer = await handle!(input.event, sent);
    const expected = input.foreign
      ? 'forbidden'
      : !isObject
        ? 'bad-request'
        : mustRefuse
          ? 'bad-request'
          : undefined;
    checkAnswer(isObject ? payload : { method: undefined, args: undefined }, answer, expected);
    checkNetworkSafety(payload.method);
  },
  classified: () => false,
};
