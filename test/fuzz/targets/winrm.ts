/**
 * Fuzz targets for the WinRM side's parsers of what a PC (or whatever answers on its port)
 * sends: the NTLM challenge and the server certificate, the MS-WSMV encrypted body, the XML
 * reader and the WS-Man reply readers, CLIXML, the Windows Update JSON and the patch task's
 * receipt. Seeds are real captures (test/fixtures/winrm/, test/fixtures/windows/) or, where
 * there is none, a message built the way the product or its tests build one. Each target lets
 * escape only the documented error of the code it feeds (NtlmError, XmlError, RemoteError,
 * ReceiptError); anything else is a bug in the parser.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { FIXTURES } from '../../../src/collectors/testing/fixtures';
import * as windows from '../../../src/collectors/windows/index';
import { RemoteError } from '../../../src/remote/errors';
import { decodeClixml, decodeClixmlEscapes, isClixml } from '../../../src/remote/winrm/clixml';
import { checkRelatesTo, faultOf, faultToError, isTimedOut } from '../../../src/remote/winrm/faults';
import {
  NtlmContext,
  NtlmError,
  channelBindingsHash,
  decryptBody,
  encryptBody,
  ntlmTokenOf,
  parseChallenge,
  parseSpnego,
} from '../../../src/remote/winrm/ntlm/index';
import { AvId } from '../../../src/remote/winrm/ntlm/messages';
import { testAcceptor } from '../../../src/remote/winrm/ntlm/testing';
import { WinrsShell } from '../../../src/remote/winrm/shell';
import {
  bodyOf,
  commandIdOf,
  headerOf,
  maxEnvelopeSizeOf,
  parseIdentify,
  relatesToOf,
  shellIdOf,
  type EnvelopeContext,
} from '../../../src/remote/winrm/soap';
import { ReplayTransport, parseRecording } from '../../../src/remote/winrm/testing';
import { XmlError, decodeEntities, findFirst, parseXml } from '../../../src/remote/winrm/xml';
import {
  parseReceipt,
  ReceiptError,
  receiptLines,
  receiptOutcome,
  undoRecipe,
} from '../../../src/patch/phases/windows/receipt';
import type { FuzzTarget } from '../target';
import { fixtureText, hostBytes, hostText } from '../mutate';

/** Keeps each target's input type while the list holds FuzzTarget (methods are bivariant). */
const define = <T>(target: FuzzTarget<T>): FuzzTarget<T> => target;

/** Runs `fn`, swallowing only the errors `allowed` accepts, so one input reaches every reader. */
function tolerate(allowed: (error: unknown) => boolean, fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    if (!allowed(error)) throw error;
  }
}

const isNtlmError = (error: unknown): boolean => error instanceof NtlmError;
const isXmlOrRemote = (error: unknown): boolean => error instanceof XmlError || error instanceof RemoteError;

function fixtureBytes(relative: string): Buffer {
  return readFileSync(join(FIXTURES, relative));
}

/** Bytes as a latin1 string for the line and character mutations, and back. */
const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');
const fromLatin1 = (text: string): Buffer => Buffer.from(text, 'latin1');

/** A message as raw bytes mutated, or as latin1 text mutated line by line (its headers). */
function hostMessage(messages: readonly Uint8Array[], words: readonly string[] = []): fc.Arbitrary<Buffer> {
  return fc.oneof(
    { weight: 3, arbitrary: hostBytes(messages).map((b) => Buffer.from(b)) },
    { weight: 2, arbitrary: hostText(messages.map(latin1), { words }).map(fromLatin1) },
  );
}

// ---------------------------------------------------------------------------------------------
// NTLM: the challenge (bare or inside SPNEGO) and the server certificate for channel bindings

/** A DER element: tag, definite length, content. */
function der(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  const length =
    n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, body]);
}

/** The NTLM challenge inside a SPNEGO NegTokenResp, as some servers answer "Negotiate". */
function spnegoResp(challenge: Buffer): Buffer {
  const ntlmOid = Buffer.from('2b0601040182370202 0a'.replace(/ /g, ''), 'hex'); // 1.3.6.1.4.1.311.2.2.10
  return der(
    0xa1,
    der(
      0x30,
      der(0xa0, der(0x0a, Buffer.from([1]))),
      der(0xa1, der(0x06, ntlmOid)),
      der(0xa2, der(0x04, challenge)),
    ),
  );
}

const utf16 = (s: string): Buffer => Buffer.from(s, 'utf16le');
const FIXED_RANDOM = (n: number): Buffer => Buffer.alloc(n, 0x5a);
const FIXED_NOW = (): Date => new Date('2026-01-01T00:00:00Z');
const IDENTITY = { domain: 'PATCHDECK', username: 'alice', password: 'Secret-123' };

function testPairs(): { id: number; value: Buffer }[] {
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

const DC_CHALLENGE = fixtureBytes('winrm/ntlm/ntlm-messages/ntlm_challenge');
const ACCEPTOR = testAcceptor({ password: IDENTITY.password, avPairs: testPairs() });
const CHALLENGE_SEEDS: Buffer[] = [
  DC_CHALLENGE,
  spnegoResp(DC_CHALLENGE),
  ACCEPTOR.challenge,
  spnegoResp(ACCEPTOR.challenge),
  fixtureBytes('winrm/ntlm/ntlm-messages/initial_context_token_neg_token_init2'),
  fixtureBytes('winrm/ntlm/ntlm-messages/neg_token_resp'),
];

const CERTIFICATES: Buffer[] = readdirSync(join(FIXTURES, 'winrm/ntlm/certs'))
  .filter((f) => f.endsWith('.pem'))
  .sort()
  .map((f) => {
    const pem = fixtureText(join('winrm/ntlm/certs', f));
    return Buffer.from(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
  });

export const ntlmTargets: FuzzTarget[] = [
  define({
    name: 'winrm:ntlm-challenge',
    arbitrary: fc.record({
      token: hostBytes(CHALLENGE_SEEDS).map((b) => Buffer.from(b)),
      requireSealing: fc.boolean(),
      certificate: fc.option(
        hostBytes(CERTIFICATES).map((b) => Buffer.from(b)),
        { nil: undefined },
      ),
      targetName: fc.option(fc.constantFrom('HTTP/win1.patchdeck.test', ''), { nil: undefined }),
    }),
    run({ token, requireSealing, certificate, targetName }) {
      tolerate(isNtlmError, () => parseChallenge(token));
      tolerate(isNtlmError, () => parseSpnego(token));
      tolerate(isNtlmError, () => ntlmTokenOf(token));
      // A hostile certificate is read for its signature hash; it must not throw at all.
      if (certificate) channelBindingsHash(certificate);
      const ctx = new NtlmContext(IDENTITY, {
        requireSealing,
        serverCertificate: certificate,
        targetName,
        random: FIXED_RANDOM,
        now: FIXED_NOW,
      });
      ctx.negotiateMessage();
      const authenticate = ctx.authenticateMessage(token);
      if (authenticate.length === 0) throw new Error('an empty authenticate message');
      void ctx.serverIdentity;
      void ctx.exportedSessionKey;
      // After a hostile challenge the context seals (or refuses to, with its own error).
      ctx.wrap(Buffer.from('<s:Envelope/>'));
    },
    classified: isNtlmError,
  }),
];

// ---------------------------------------------------------------------------------------------
// MS-WSMV encrypted body: sealed by the server side of a real NTLM context, read by the client

/** A client context established against the test acceptor: the same keys on every call. */
function establishedClient(): NtlmContext {
  const ctx = new NtlmContext(IDENTITY, { random: FIXED_RANDOM, now: FIXED_NOW });
  ctx.negotiateMessage();
  ctx.authenticateMessage(ACCEPTOR.challenge);
  return ctx;
}

/** Server → client bodies, each sealed with sequence number 0 by a fresh acceptor. */
function sealedBodies(): Buffer[] {
  const soap = fixtureReplies().slice(0, 3);
  return soap.map((xml) => {
    const server = testAcceptor({ password: IDENTITY.password, avPairs: testPairs() });
    const client = new NtlmContext(IDENTITY, { random: FIXED_RANDOM, now: FIXED_NOW });
    const negotiate = client.negotiateMessage();
    server.accept(negotiate, client.authenticateMessage(server.challenge));
    return encryptBody(server, Buffer.from(xml, 'utf8'));
  });
}

const BODIES = sealedBodies();

export const encryptionTargets: FuzzTarget[] = [
  define({
    name: 'winrm:encrypted-body',
    arbitrary: hostMessage(BODIES, ['--Encrypted Boundary', 'OriginalContent:', 'Length=', 'Content-Type:']),
    setup() {
      // The seeds must open with the client's real keys, or the fuzz never reaches unwrap.
      for (const body of BODIES) decryptBody(establishedClient(), body);
    },
    run(body) {
      const plain = decryptBody(establishedClient(), body);
      if (plain.length === 0 && body.length === 0) throw new Error('an empty body decrypted');
    },
    classified: isNtlmError,
  }),
];

// ---------------------------------------------------------------------------------------------
// The XML reader and the WS-Man reply readers, on every recorded Windows reply

function fixtureReplies(): string[] {
  const dir = join(FIXTURES, 'winrm', 'wsman');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yml'))
    .sort()
    .flatMap((f) => parseRecording(readFileSync(join(dir, f), 'utf8')).map((m) => m.response));
}

/** One tag a line too, so the line mutations change elements rather than the whole document. */
const byTag = (xml: string): string => xml.replace(/></g, '>\n<');
const REPLIES = fixtureReplies();
/** The envelope's own tags stay, so most inputs reach the readers rather than the XML errors. */
const ENVELOPE_LINE = (line: string): boolean => /^<\/?s:Envelope[ >]/.test(line);
const XML_WORDS = [
  '<![CDATA[',
  ']]>',
  '<!--',
  '-->',
  '<!DOCTYPE x [<!ENTITY a "aa">]>',
  '<?xml version="1.0"?>',
  '&amp;',
  '&lt;',
  '&#x10FFFF;',
  '&#0;',
  '&#xD800;',
  '&a;',
  'xmlns:s=',
  '</s:Body>',
  '<s:Fault>',
  '<w:WSManFault Code="2150858793">',
  'State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"',
  '<rsp:ExitCode>',
  '<rsp:Stream Name="stderr">',
];

const CONTEXT: EnvelopeContext = {
  to: 'http://127.0.0.1:5985/wsman',
  maxEnvelopeSize: 153_600,
  operationTimeoutS: 20,
  sessionId: 'uuid:00000000-0000-4000-8000-000000000000',
};
const SHELL_OPERATIONS = ['create', 'command', 'send', 'receive', 'signal', 'delete', 'config'] as const;

/** One shell operation answered with `reply` (RelatesTo set to the request, as a PC would). */
async function shellAnswers(operation: (typeof SHELL_OPERATIONS)[number], reply: string, status: number) {
  const shell = new WinrsShell(new ReplayTransport([{ status, body: reply }]), CONTEXT, 'PC-1');
  const call = { timeoutMs: 1000 };
  const commandId = /CommandId="([^"]{1,100})"/.exec(reply)?.[1] ?? 'D3C3D95E-FA32-4D95-BEDF-3B7A81094D3B';
  switch (operation) {
    case 'create':
      return shell.create({}, call);
    case 'command':
      return shell.command('SHELL', 'ipconfig', false, call);
    case 'send':
      return shell.send('SHELL', commandId, Buffer.from('x'), true, call);
    case 'receive':
      return shell.receive('SHELL', commandId, call);
    case 'signal':
      return shell.signal('SHELL', commandId, 'terminate', call);
    case 'delete':
      return shell.delete('SHELL', call);
    case 'config':
      return shell.maxEnvelopeSize(call);
  }
}

export const wsmanTargets: FuzzTarget[] = [
  define({
    name: 'winrm:wsman-replies',
    arbitrary: fc.record({
      reply: fc.oneof(
        { weight: 4, arbitrary: hostText(REPLIES.map(byTag), { words: XML_WORDS, protect: ENVELOPE_LINE }) },
        { weight: 1, arbitrary: hostText(REPLIES, { words: XML_WORDS }) },
      ),
      operation: fc.constantFrom(...SHELL_OPERATIONS),
      status: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, fc.constantFrom(200, 400, 500)),
      limits: fc.record({
        maxChars: fc.integer({ min: 1, max: 400_000 }),
        maxDepth: fc.integer({ min: 1, max: 64 }),
        maxElements: fc.integer({ min: 1, max: 100_000 }),
      }),
    }),
    async run({ reply, operation, status, limits }) {
      tolerate(isXmlOrRemote, () => decodeEntities(reply.slice(0, 4096)));
      tolerate(isXmlOrRemote, () => parseXml(reply, limits));
      let root;
      try {
        root = parseXml(reply);
      } catch (error) {
        if (!(error instanceof XmlError)) throw error;
      }
      if (root) {
        // The pure readers never throw: they answer null or a value.
        headerOf(root);
        bodyOf(root);
        relatesToOf(root);
        shellIdOf(root);
        commandIdOf(root);
        maxEnvelopeSizeOf(root);
        parseIdentify(root);
        findFirst(root, 'Stream');
        const fault = faultOf(root);
        if (fault) {
          isTimedOut(fault);
          faultToError(fault, 'PC-1', 'run the command');
        }
        tolerate(isXmlOrRemote, () => checkRelatesTo(root, 'uuid:X', 'PC-1'));
      }
      // The shell reads the reply as it would from the wire: parse, RelatesTo, fault, readers.
      const code = status || (reply.includes(':Fault>') ? 500 : 200);
      await shellAnswers(operation, reply, code);
    },
    classified: isXmlOrRemote,
  }),
];

// ---------------------------------------------------------------------------------------------
// CLIXML: PowerShell's serialized error stream

/**
 * The recorded PowerShell failure (test_client_execute_ps_failure.yml): its PSRP fragments
 * (21-byte fragment header, 40-byte message header, then CLIXML), base64-decoded. PowerShell's
 * stderr CLIXML (`#< CLIXML` and `<Objs><S S="Error">…`) is built from the ErrorRecord's own
 * text, which carries the serializer's `_x000D__x000A_` escapes and entities as Windows wrote them.
 */
function clixmlSeeds(): string[] {
  const recording = parseRecording(fixtureText('winrm/wsman/test_client_execute_ps_failure.yml'));
  const fragments: string[] = [];
  for (const m of recording) {
    for (const match of m.response.matchAll(/<rsp:Stream[^>]*>([A-Za-z0-9+/=]+)<\/rsp:Stream>/g)) {
      const bytes = Buffer.from(match[1]!, 'base64');
      if (bytes.length > 61)
        fragments.push(
          bytes
            .subarray(61)
            .toString('utf8')
            .replace(/^\ufeff/, ''),
        );
    }
  }
  const error = fragments.find((x) => x.includes('ErrorRecord')) ?? '';
  const lines = [...error.matchAll(/<ToString>([^<]*)<\/ToString>/g)].map((m) => m[1]!);
  const ns = 'xmlns="http://schemas.microsoft.com/powershell/2004/04"';
  const stderr =
    `#< CLIXML\r\n<Objs Version="1.1.0.1" ${ns}>` +
    lines.map((l) => `<S S="Error">${l}_x000D__x000A_</S>`).join('') +
    '<S S="Warning">careful_x000D__x000A_</S><Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T></TN></Obj>' +
    '</Objs>';
  return [stderr, `${stderr}\r\n${stderr}`, ...fragments.map((f) => `#< CLIXML\r\n${f}`)];
}

const CLIXML = clixmlSeeds().flatMap((text) => [text, byTag(text)]);

export const clixmlTargets: FuzzTarget[] = [
  define({
    name: 'winrm:clixml',
    arbitrary: fc.record({
      text: hostText(CLIXML, { words: [...XML_WORDS, '#< CLIXML', '_x000D_', '_xD83D_', '_xDE00_', '_x'] }),
      maxChars: fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: 5000 })),
    }),
    run({ text, maxChars }) {
      isClixml(text);
      decodeClixmlEscapes(text);
      const decoded = decodeClixml(text, maxChars);
      if (typeof decoded !== 'string') throw new Error('decodeClixml returned no text');
    },
    // Documented: anything that does not parse comes back as it came, never thrown.
    classified: () => false,
  }),
];

// ---------------------------------------------------------------------------------------------
// Windows Update JSON and the patch task's receipt: structured mutations of real JSON

/** Values a hostile PC can put anywhere in a JSON document. */
const HOSTILE_VALUE: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom<unknown>(
    null,
    true,
    0,
    -1,
    2.5,
    1e308,
    -2145124318,
    4294967296,
    '',
    '0x80240024',
    '0x',
    'KB',
    '\u0000\u001b[31m\u202e',
    'x'.repeat(20_000),
    [],
    [[[[[]]]]],
    {},
    JSON.parse('{"__proto__":{"polluted":1}}'),
    { toString: 1 },
    { valueOf: {}, toString: {} },
    { length: 1e9 },
  ),
);

type PathStep = string | number;

/** Every path to a value inside `value` (the root is []). */
function pathsOf(value: unknown, prefix: PathStep[] = [], out: PathStep[][] = []): PathStep[][] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => pathsOf(v, [...prefix, i], out));
  else if (typeof value === 'object' && value !== null)
    for (const [k, v] of Object.entries(value)) pathsOf(v, [...prefix, k], out);
  return out;
}

type Edit = { at: number; op: 'set' | 'delete' | 'wrap' | 'add'; value: unknown; key: string };

function applyEdits(seed: unknown, edits: readonly Edit[]): unknown {
  let doc = JSON.parse(JSON.stringify(seed)) as unknown;
  for (const edit of edits) {
    // A copy: the hostile constants are shared between inputs and must not grow cycles.
    const e = { ...edit, value: JSON.parse(JSON.stringify(edit.value) ?? 'null') as unknown };
    const paths = pathsOf(doc);
    const path = paths[e.at % paths.length]!;
    if (path.length === 0) {
      if (e.op === 'set') doc = e.value;
      continue;
    }
    let parent = doc as Record<PathStep, unknown>;
    for (const step of path.slice(0, -1)) parent = parent[step] as Record<PathStep, unknown>;
    const last = path[path.length - 1]!;
    if (e.op === 'set') parent[last] = e.value;
    else if (e.op === 'delete') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else if (e.op === 'wrap') parent[last] = [parent[last]];
    else if (typeof parent[last] === 'object' && parent[last] !== null && !Array.isArray(parent[last]))
      Object.defineProperty(parent[last], e.key, {
        value: e.value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return doc;
}

/** A JSON document with its values changed, removed, wrapped or added to, as text. */
function hostJson(seeds: readonly unknown[]): fc.Arbitrary<string> {
  const edit: fc.Arbitrary<Edit> = fc.record({
    at: fc.nat(),
    op: fc.constantFrom('set', 'set', 'delete', 'wrap', 'add'),
    value: HOSTILE_VALUE,
    key: fc.constantFrom('__proto__', 'toString', 'constructor', 'kb', 'updates', 'x'),
  });
  return fc
    .tuple(fc.constantFrom(...seeds), fc.array(edit, { minLength: 1, maxLength: 6 }))
    .map(([seed, edits]) => JSON.stringify(applyEdits(seed, edits)) ?? 'null');
}

const WUA_SEED = fixtureText('windows/constructed-wua-v2.stdout');
const WUA_MARK = 'PATCHDECK-WUA-JSON:';
const WUA_JSON = JSON.parse(WUA_SEED.slice(WUA_SEED.indexOf(WUA_MARK) + WUA_MARK.length)) as unknown;

export const wuaTargets: FuzzTarget[] = [
  define({
    name: 'winrm:wua',
    arbitrary: fc.oneof(
      hostText([WUA_SEED], { words: [WUA_MARK, '"updates":', '"kb":', '"hresult":', 'null'] }),
      hostJson([WUA_JSON]).map((json) => `${WUA_MARK}${json}\n`),
    ),
    run(stdout) {
      const data = windows.parseWuaOutput(stdout);
      if (!data) return;
      windows.windowsFindings(data);
      windows.policyWarnings(data.policy);
      windows.windowsOsOf(data.os);
    },
    classified: () => false,
  }),
];

const ID = '8f1c2d3e-4b5a-4c6d-8e7f-901234567890';
const ID2 = '0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d';
const JOB_STEP = '12-34';
/** A receipt as the SYSTEM task writes it (built as src/patch/phases/windows/receipt.test.ts does). */
const RECEIPT = {
  version: 1,
  jobStep: JOB_STEP,
  finishedAt: 1767225600,
  rebootRequired: false,
  resultCode: 2,
  hresult: '0x00000000',
  error: null,
  updates: [
    {
      updateId: ID.toUpperCase(),
      revision: 201,
      kb: ['5034441'],
      title: '2026-01 Cumulative Update for Windows 11 Version 23H2 for x64-based Systems (KB5034441)',
      resultCode: 2,
      hresult: '0x00000000',
      rebootRequired: true,
      uninstallable: true,
    },
    { updateId: ID2, kb: 5035000, resultCode: 4, hresult: -2145124318 },
    { updateId: 'c0ffee00-0000-4000-8000-000000000000', kb: [], resultCode: 0, hresult: '0x80240024' },
  ],
};
const RECEIPT_ONE = { ...RECEIPT, updates: RECEIPT.updates[0] };

export const receiptTargets: FuzzTarget[] = [
  define({
    name: 'winrm:receipt',
    arbitrary: fc.oneof(
      { weight: 3, arbitrary: hostJson([RECEIPT, RECEIPT_ONE]) },
      {
        weight: 1,
        arbitrary: hostText([JSON.stringify(RECEIPT, null, 2), `\ufeff${JSON.stringify(RECEIPT_ONE)}`]),
      },
    ),
    run(text) {
      const receipt = parseReceipt(text, JOB_STEP);
      receiptLines(receipt);
      const outcome = receiptOutcome(receipt, [ID, ID2, 'c0ffee00-0000-4000-8000-000000000000']);
      undoRecipe(outcome.installed);
    },
    classified: (error) => error instanceof ReceiptError,
  }),
];
