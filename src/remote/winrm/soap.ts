/**
 * WS-Man envelopes of the WinRS shell (MS-WSMV 3.1.4): Create, Command, Send, Receive, Signal,
 * Delete, a Get of the service configuration and the unauthenticated Identify, plus readers of
 * the replies. Every value put into an envelope is XML-escaped; every envelope carries a fresh
 * MessageID that the reply's RelatesTo must name.
 */
import { randomUUID } from 'node:crypto';
import { childOf, childrenOf, escapeXml, findFirst, pathOf, type XmlElement } from './xml';

export const NS = {
  s: 'http://www.w3.org/2003/05/soap-envelope',
  wsa: 'http://schemas.xmlsoap.org/ws/2004/08/addressing',
  wsman: 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd',
  wsmv: 'http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd',
  rsp: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell',
  wsmid: 'http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd',
} as const;

export const ACTION = {
  create: 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Create',
  delete: 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete',
  get: 'http://schemas.xmlsoap.org/ws/2004/09/transfer/Get',
  command: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command',
  send: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send',
  receive: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive',
  signal: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal',
} as const;

export const CMD_SHELL_URI = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd';
export const CONFIG_URI = 'http://schemas.microsoft.com/wbem/wsman/1/config';
const ANONYMOUS = 'http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous';
const SIGNAL_URI = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/';
const DONE_STATE = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done';

/** What every envelope of one session shares. */
export interface EnvelopeContext {
  /** The endpoint URL (`http://host:5985/wsman`). */
  to: string;
  maxEnvelopeSize: number;
  operationTimeoutS: number;
  /** `uuid:…`, one per session. */
  sessionId: string;
}

export interface Envelope {
  messageId: string;
  xml: string;
}

export function newMessageId(): string {
  return `uuid:${randomUUID().toUpperCase()}`;
}

interface EnvelopeParts {
  action: string;
  resourceUri: string;
  selectors?: Record<string, string>;
  options?: Array<{ name: string; value: string; mustComply?: boolean }>;
  body: string;
}

function envelope(ctx: EnvelopeContext, parts: EnvelopeParts): Envelope {
  const messageId = newMessageId();
  const options = parts.options?.length
    ? `<wsman:OptionSet s:mustUnderstand="true">${parts.options
        .map(
          (o) =>
            `<wsman:Option${o.mustComply ? ' MustComply="true"' : ''} Name="${escapeXml(o.name)}">${escapeXml(o.value)}</wsman:Option>`,
        )
        .join('')}</wsman:OptionSet>`
    : '';
  const selectors = parts.selectors
    ? `<wsman:SelectorSet>${Object.entries(parts.selectors)
        .map(([k, v]) => `<wsman:Selector Name="${escapeXml(k)}">${escapeXml(v)}</wsman:Selector>`)
        .join('')}</wsman:SelectorSet>`
    : '';
  const xml =
    `<s:Envelope xmlns:s="${NS.s}" xmlns:wsa="${NS.wsa}" xmlns:wsman="${NS.wsman}" xmlns:wsmv="${NS.wsmv}" xmlns:rsp="${NS.rsp}">` +
    '<s:Header>' +
    `<wsa:Action s:mustUnderstand="true">${escapeXml(parts.action)}</wsa:Action>` +
    '<wsmv:DataLocale s:mustUnderstand="false" xml:lang="en-US"/>' +
    '<wsman:Locale s:mustUnderstand="false" xml:lang="en-US"/>' +
    `<wsman:MaxEnvelopeSize s:mustUnderstand="true">${Math.floor(ctx.maxEnvelopeSize)}</wsman:MaxEnvelopeSize>` +
    `<wsa:MessageID>${messageId}</wsa:MessageID>` +
    `<wsman:OperationTimeout>PT${Math.max(1, Math.floor(ctx.operationTimeoutS))}S</wsman:OperationTimeout>` +
    `<wsa:ReplyTo><wsa:Address s:mustUnderstand="true">${ANONYMOUS}</wsa:Address></wsa:ReplyTo>` +
    `<wsman:ResourceURI s:mustUnderstand="true">${escapeXml(parts.resourceUri)}</wsman:ResourceURI>` +
    `<wsmv:SessionId s:mustUnderstand="false">${escapeXml(ctx.sessionId)}</wsmv:SessionId>` +
    `<wsa:To>${escapeXml(ctx.to)}</wsa:To>` +
    options +
    selectors +
    '</s:Header>' +
    `<s:Body>${parts.body}</s:Body>` +
    '</s:Envelope>';
  return { messageId, xml };
}

export interface CreateShellOptions {
  /** 65001 = UTF-8 output. */
  codepage?: number;
  noProfile?: boolean;
  environment?: Record<string, string>;
  workingDirectory?: string;
}

export function createShellEnvelope(ctx: EnvelopeContext, options: CreateShellOptions = {}): Envelope {
  const opts: EnvelopeParts['options'] = [];
  if (options.noProfile) opts.push({ name: 'WINRS_NOPROFILE', value: 'TRUE', mustComply: true });
  if (options.codepage !== undefined) opts.push({ name: 'WINRS_CODEPAGE', value: String(options.codepage) });
  const env = Object.entries(options.environment ?? {});
  const body =
    '<rsp:Shell>' +
    (options.workingDirectory
      ? `<rsp:WorkingDirectory>${escapeXml(options.workingDirectory)}</rsp:WorkingDirectory>`
      : '') +
    '<rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams>' +
    (env.length
      ? `<rsp:Environment>${env
          .map(([k, v]) => `<rsp:Variable Name="${escapeXml(k)}">${escapeXml(v)}</rsp:Variable>`)
          .join('')}</rsp:Environment>`
      : '') +
    '</rsp:Shell>';
  return envelope(ctx, { action: ACTION.create, resourceUri: CMD_SHELL_URI, options: opts, body });
}

export interface CommandOptions {
  command: string;
  arguments?: string[];
  /** TRUE: the process's stdin is the console; FALSE: a pipe (needed to stream a script in). */
  consoleModeStdin: boolean;
  skipCmdShell?: boolean;
}

export function commandEnvelope(ctx: EnvelopeContext, shellId: string, options: CommandOptions): Envelope {
  return envelope(ctx, {
    action: ACTION.command,
    resourceUri: CMD_SHELL_URI,
    selectors: { ShellId: shellId },
    options: [
      { name: 'WINRS_CONSOLEMODE_STDIN', value: options.consoleModeStdin ? 'TRUE' : 'FALSE' },
      { name: 'WINRS_SKIP_CMD_SHELL', value: options.skipCmdShell ? 'TRUE' : 'FALSE' },
    ],
    body:
      `<rsp:CommandLine><rsp:Command>${escapeXml(options.command)}</rsp:Command>` +
      (options.arguments ?? []).map((a) => `<rsp:Arguments>${escapeXml(a)}</rsp:Arguments>`).join('') +
      '</rsp:CommandLine>',
  });
}

export function sendEnvelope(
  ctx: EnvelopeContext,
  shellId: string,
  commandId: string,
  chunk: Buffer,
  end: boolean,
): Envelope {
  return envelope(ctx, {
    action: ACTION.send,
    resourceUri: CMD_SHELL_URI,
    selectors: { ShellId: shellId },
    body:
      `<rsp:Send><rsp:Stream Name="stdin" CommandId="${escapeXml(commandId)}"${end ? ' End="true"' : ''}>` +
      `${chunk.toString('base64')}</rsp:Stream></rsp:Send>`,
  });
}

/**
 * Most stdin bytes one Send may carry: the envelope's headers take about 2 KiB, base64 grows the
 * payload by 4/3; a wide margin keeps the request under the host's MaxEnvelopeSize.
 */
export function sendChunkBytes(maxEnvelopeSize: number): number {
  return Math.max(1024, Math.floor((maxEnvelopeSize - 4096) / 4) * 3);
}

export function receiveEnvelope(ctx: EnvelopeContext, shellId: string, commandId: string): Envelope {
  return envelope(ctx, {
    action: ACTION.receive,
    resourceUri: CMD_SHELL_URI,
    selectors: { ShellId: shellId },
    options: [{ name: 'WSMAN_CMDSHELL_OPTION_KEEPALIVE', value: 'TRUE' }],
    body: `<rsp:Receive><rsp:DesiredStream CommandId="${escapeXml(commandId)}">stdout stderr</rsp:DesiredStream></rsp:Receive>`,
  });
}

export function signalEnvelope(
  ctx: EnvelopeContext,
  shellId: string,
  commandId: string,
  code: 'terminate' | 'ctrl_c',
): Envelope {
  return envelope(ctx, {
    action: ACTION.signal,
    resourceUri: CMD_SHELL_URI,
    selectors: { ShellId: shellId },
    body: `<rsp:Signal CommandId="${escapeXml(commandId)}"><rsp:Code>${SIGNAL_URI}${code}</rsp:Code></rsp:Signal>`,
  });
}

export function deleteEnvelope(ctx: EnvelopeContext, shellId: string): Envelope {
  return envelope(ctx, {
    action: ACTION.delete,
    resourceUri: CMD_SHELL_URI,
    selectors: { ShellId: shellId },
    body: '',
  });
}

/** A Get of the service configuration (winrm/config): its MaxEnvelopeSizekb. */
export function getConfigEnvelope(ctx: EnvelopeContext): Envelope {
  return envelope(ctx, { action: ACTION.get, resourceUri: CONFIG_URI, body: '' });
}

export const IDENTIFY_XML =
  `<s:Envelope xmlns:s="${NS.s}" xmlns:wsmid="${NS.wsmid}"><s:Header/>` +
  '<s:Body><wsmid:Identify/></s:Body></s:Envelope>';

// ---------------------------------------------------------------- replies

export function headerOf(root: XmlElement): XmlElement | null {
  return childOf(root, 'Header');
}

export function bodyOf(root: XmlElement): XmlElement | null {
  return childOf(root, 'Body');
}

export function relatesToOf(root: XmlElement): string | null {
  const text = pathOf(root, 'Header', 'RelatesTo')?.text.trim();
  return text ? text : null;
}

/** The ShellId of a CreateResponse (the Shell element, else the selector of ResourceCreated). */
export function shellIdOf(root: XmlElement): string | null {
  const body = bodyOf(root);
  const fromShell = pathOf(body, 'Shell', 'ShellId')?.text.trim();
  if (fromShell) return fromShell;
  const selectors = childrenOf(findFirst(body, 'SelectorSet'), 'Selector');
  const selector = selectors.find((s) => s.attributes.Name === 'ShellId')?.text.trim();
  return selector ? selector : null;
}

export function commandIdOf(root: XmlElement): string | null {
  const text = pathOf(bodyOf(root), 'CommandResponse', 'CommandId')?.text.trim();
  return text ? text : null;
}

export interface ReceiveChunk {
  stdout: Buffer[];
  stderr: Buffer[];
  done: boolean;
  /** Set when done; null when the host gave no exit code. */
  exitCode: number | null;
}

/** Streams of a ReceiveResponse for one command; streams of other commands are ignored. */
export function parseReceive(root: XmlElement, commandId: string): ReceiveChunk {
  const response = childOf(bodyOf(root), 'ReceiveResponse');
  if (!response) throw new Error('the reply to Receive has no ReceiveResponse');
  const out: ReceiveChunk = { stdout: [], stderr: [], done: false, exitCode: null };
  for (const stream of childrenOf(response, 'Stream')) {
    const id = stream.attributes.CommandId;
    if (id !== undefined && id.toUpperCase() !== commandId.toUpperCase()) continue;
    const data = stream.text.trim();
    if (data === '') continue;
    if (!/^[A-Za-z0-9+/=\s]*$/.test(data)) throw new Error('a Receive stream is not base64');
    const bytes = Buffer.from(data, 'base64');
    if (stream.attributes.Name === 'stdout') out.stdout.push(bytes);
    else if (stream.attributes.Name === 'stderr') out.stderr.push(bytes);
  }
  const state = childOf(response, 'CommandState');
  if (state && (state.attributes.State ?? '') === DONE_STATE) {
    out.done = true;
    const code = childOf(state, 'ExitCode')?.text.trim();
    // Windows exit codes are unsigned 32-bit (0xC0000005…); keep them as the number it printed.
    out.exitCode = code && /^-?[0-9]{1,10}$/.test(code) ? Number(code) : null;
  }
  return out;
}

/** MaxEnvelopeSizekb of a winrm/config Get reply, in bytes; null when absent or odd. */
export function maxEnvelopeSizeOf(root: XmlElement): number | null {
  const text = findFirst(bodyOf(root), 'MaxEnvelopeSizekb')?.text.trim();
  if (!text || !/^[0-9]{1,7}$/.test(text)) return null;
  const kb = Number(text);
  return kb >= 32 && kb <= 1024 * 1024 ? kb * 1024 : null;
}

export interface IdentifyResult {
  vendor: string;
  productVersion: string;
  protocolVersion: string;
}

function cleanText(text: string | undefined, max = 200): string {
  return (
    (text ?? '')
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ')
      .trim()
      .slice(0, max)
  );
}

export function parseIdentify(root: XmlElement): IdentifyResult | null {
  const response = findFirst(bodyOf(root), 'IdentifyResponse');
  if (!response) return null;
  const vendor = cleanText(childOf(response, 'ProductVendor')?.text);
  const productVersion = cleanText(childOf(response, 'ProductVersion')?.text);
  const protocolVersion = cleanText(childOf(response, 'ProtocolVersion')?.text);
  if (!vendor && !productVersion && !protocolVersion) return null;
  return { vendor, productVersion, protocolVersion };
}
