// Windows-shaped WS-Man replies for fake PCs behind the test bed's backend mode, and a parser of the
// requests a client sends. The reply shapes (namespace prefixes, header order, the Stream/CommandState
// layout) are those of the replies a real Windows Server recorded (test/fixtures/winrm/wsman/). The faults
// are not in the recordings: their shape follows MS-WSMAN/MS-WSMV (s:Fault with s:Code/s:Subcode,
// s:Reason, s:Detail/f:WSManFault Code=…), with the codes Windows uses.
import { randomUUID } from 'node:crypto';

export const NS = {
  shell: 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell',
  transfer: 'http://schemas.xmlsoap.org/ws/2004/09/transfer',
  wsman: 'http://schemas.dmtf.org/wbem/wsman/1/wsman',
} as const;

export const ACTIONS = {
  create: `${NS.transfer}/Create`,
  delete: `${NS.transfer}/Delete`,
  get: `${NS.transfer}/Get`,
  command: `${NS.shell}/Command`,
  send: `${NS.shell}/Send`,
  receive: `${NS.shell}/Receive`,
  signal: `${NS.shell}/Signal`,
} as const;

export const SIGNALS = {
  terminate: `${NS.shell}/signal/terminate`,
  ctrlC: `${NS.shell}/signal/ctrl_c`,
} as const;

/** WSManFault codes Windows sends (winerror.h: ERROR_WSMAN_*; plain Win32 codes for the others). */
export const WSMAN_CODES = {
  timedOut: 2150858793, // 0x80338029 ERROR_WSMAN_OPERATION_TIMEDOUT: "issue Receive again"
  shellNotFound: 2150858843, // 0x8033805B ERROR_WINRS_SHELL_NOT_FOUND (w:InvalidSelectors)
  invalidParameter: 87, // ERROR_INVALID_PARAMETER (w:InvalidParameter)
  accessDenied: 5, // ERROR_ACCESS_DENIED (w:AccessDenied)
} as const;

/** Windows declares the transfer namespace (x:) on some replies only (Create, Command, Signal; not Receive, Delete). */
function envelopeOpen(transfer: boolean, shell: boolean): string {
  return (
    '<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope" ' +
    'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" ' +
    (transfer ? 'xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer" ' : '') +
    'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" ' +
    (shell ? 'xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell" ' : '') +
    'xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd">'
  );
}

export function xmlEscape(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]};`,
  );
}

function xmlUnescape(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|apos|#\d{1,7}|#x[0-9a-fA-F]{1,6});/g, (_, e: string) => {
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    if (named[e]) return named[e];
    return String.fromCodePoint(e.startsWith('#x') ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
  });
}

function envelope(
  action: string,
  relatesTo: string,
  body: string,
  ns: { transfer: boolean; shell: boolean } = { transfer: true, shell: true },
): string {
  return (
    `${envelopeOpen(ns.transfer, ns.shell)}<s:Header><a:Action>${action}</a:Action>` +
    `<a:MessageID>uuid:${randomUUID().toUpperCase()}</a:MessageID>` +
    '<a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To>' +
    `<a:RelatesTo>${xmlEscape(relatesTo)}</a:RelatesTo></s:Header><s:Body>${body}</s:Body></s:Envelope>`
  );
}

export function createShellResponse(
  relatesTo: string,
  shellId: string,
  address = 'http://win1:5985/wsman',
): string {
  const id = xmlEscape(shellId);
  return envelope(
    `${NS.transfer}/CreateResponse`,
    relatesTo,
    `<x:ResourceCreated><a:Address>${xmlEscape(address)}</a:Address><a:ReferenceParameters>` +
      `<w:ResourceURI>${NS.shell}/cmd</w:ResourceURI><w:SelectorSet><w:Selector Name="ShellId">${id}</w:Selector>` +
      '</w:SelectorSet></a:ReferenceParameters></x:ResourceCreated>' +
      `<rsp:Shell xmlns:rsp="${NS.shell}"><rsp:ShellId>${id}</rsp:ShellId>` +
      `<rsp:ResourceUri>${NS.shell}/cmd</rsp:ResourceUri><rsp:Owner>alice</rsp:Owner>` +
      '<rsp:ClientIP>127.0.0.1</rsp:ClientIP><rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut>' +
      '<rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams>' +
      '<rsp:ShellRunTime>P0DT0H0M0S</rsp:ShellRunTime><rsp:ShellInactivity>P0DT0H0M0S</rsp:ShellInactivity>' +
      '</rsp:Shell>',
  );
}

export function commandResponse(relatesTo: string, commandId: string): string {
  return envelope(
    `${NS.shell}/CommandResponse`,
    relatesTo,
    `<rsp:CommandResponse><rsp:CommandId>${xmlEscape(commandId)}</rsp:CommandId></rsp:CommandResponse>`,
  );
}

export function sendResponse(relatesTo: string): string {
  return envelope(`${NS.shell}/SendResponse`, relatesTo, '<rsp:SendResponse/>');
}

/**
 * A ReceiveResponse. Without `done` the command is still running (State …/Running, no End markers), as
 * Windows sends when output is ready before the command ends. With `done` both streams end and the exit
 * code follows, as in the recordings. Big output is split into Stream elements of `chunkBytes`.
 */
export function receiveResponse(
  relatesTo: string,
  commandId: string,
  options: { stdout?: Buffer; stderr?: Buffer; done?: { exitCode: number }; chunkBytes?: number } = {},
): string {
  const id = xmlEscape(commandId);
  const chunk = options.chunkBytes ?? 32 * 1024;
  const streams: string[] = [];
  for (const name of ['stdout', 'stderr'] as const) {
    const data = options[name];
    for (let at = 0; data && at < data.length; at += chunk) {
      const part = data.subarray(at, at + chunk).toString('base64');
      streams.push(`<rsp:Stream Name="${name}" CommandId="${id}">${part}</rsp:Stream>`);
    }
    if (options.done) streams.push(`<rsp:Stream Name="${name}" CommandId="${id}" End="true"></rsp:Stream>`);
  }
  const state = options.done
    ? `<rsp:CommandState CommandId="${id}" State="${NS.shell}/CommandState/Done">` +
      `<rsp:ExitCode>${options.done.exitCode}</rsp:ExitCode></rsp:CommandState>`
    : `<rsp:CommandState CommandId="${id}" State="${NS.shell}/CommandState/Running"></rsp:CommandState>`;
  return envelope(
    `${NS.shell}/ReceiveResponse`,
    relatesTo,
    `<rsp:ReceiveResponse>${streams.join('')}${state}</rsp:ReceiveResponse>`,
    { transfer: false, shell: true },
  );
}

export function signalResponse(relatesTo: string): string {
  return envelope(`${NS.shell}/SignalResponse`, relatesTo, '<rsp:SignalResponse/>');
}

export function deleteResponse(relatesTo: string): string {
  return envelope(`${NS.transfer}/DeleteResponse`, relatesTo, '', { transfer: false, shell: false });
}

/** The answer to a Get of winrm/config (documented shape, not recorded): what MaxEnvelopeSize the host allows. */
export function configResponse(relatesTo: string, options: { maxEnvelopeSizeKb: number }): string {
  return envelope(
    `${NS.transfer}/GetResponse`,
    relatesTo,
    '<cfg:Config xmlns:cfg="http://schemas.microsoft.com/wbem/wsman/1/config">' +
      `<cfg:MaxEnvelopeSizekb>${options.maxEnvelopeSizeKb}</cfg:MaxEnvelopeSizekb>` +
      '<cfg:MaxTimeoutms>60000</cfg:MaxTimeoutms><cfg:MaxBatchItems>32000</cfg:MaxBatchItems>' +
      '</cfg:Config>',
  );
}

export interface FaultSpec {
  /** The s:Subcode value, e.g. 'w:TimedOut', 'w:InvalidSelectors', 'w:InvalidParameter', 'w:AccessDenied'. */
  code: string;
  /** f:WSManFault Code (a WSMan HRESULT as unsigned decimal, or a Win32 error code). */
  wsmanCode: number;
  text: string;
  /** s:Receiver (the service's trouble, e.g. a timeout) or s:Sender (the request's). Default by code. */
  role?: 's:Sender' | 's:Receiver';
  machine?: string;
}

/** A WS-Man fault as Windows sends it (with HTTP 500). */
export function fault(relatesTo: string, spec: FaultSpec): string {
  const role = spec.role ?? (spec.code === 'w:TimedOut' ? 's:Receiver' : 's:Sender');
  const text = xmlEscape(spec.text);
  return envelope(
    `${NS.wsman}/fault`,
    relatesTo,
    `<s:Fault><s:Code><s:Value>${role}</s:Value><s:Subcode><s:Value>${xmlEscape(spec.code)}</s:Value>` +
      `</s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">${text}</s:Text></s:Reason><s:Detail>` +
      `<f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="${spec.wsmanCode}" ` +
      `Machine="${xmlEscape(spec.machine ?? 'win1.patchdeck.test')}"><f:Message>${text}</f:Message>` +
      '</f:WSManFault></s:Detail></s:Fault>',
  );
}

export function timedOutFault(relatesTo: string): string {
  return fault(relatesTo, {
    code: 'w:TimedOut',
    wsmanCode: WSMAN_CODES.timedOut,
    text: 'The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  ',
  });
}

export function shellNotFoundFault(relatesTo: string, shellId: string): string {
  return fault(relatesTo, {
    code: 'w:InvalidSelectors',
    wsmanCode: WSMAN_CODES.shellNotFound,
    text:
      `The request for the Windows Remote Shell with ShellId ${shellId} failed because the shell was not found ` +
      'on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists on ' +
      'the server. Provide the correct ShellId or create a new shell and retry the operation. ',
  });
}

export function invalidParameterFault(relatesTo: string): string {
  return fault(relatesTo, {
    code: 'w:InvalidParameter',
    wsmanCode: WSMAN_CODES.invalidParameter,
    text: 'The parameter is incorrect. ',
  });
}

export function accessDeniedFault(relatesTo: string): string {
  return fault(relatesTo, {
    code: 'w:AccessDenied',
    wsmanCode: WSMAN_CODES.accessDenied,
    text: 'Access is denied. ',
  });
}

export interface ParsedRequest {
  action: string;
  messageId: string;
  resourceUri?: string;
  shellId?: string;
  commandId?: string;
  command?: string;
  arguments?: string[];
  /** Send: the stdin bytes of this request (all its stdin Stream elements), and whether it ends stdin. */
  stdin?: Buffer;
  stdinEnd?: boolean;
  /** Signal: the signal code URI. */
  signal?: string;
  /** wsman:Option Name → value (WINRS_CODEPAGE, WINRS_SKIP_CMD_SHELL, …). */
  options: Record<string, string>;
  /** Create: rsp:Environment variables. */
  environment: Record<string, string>;
  operationTimeout?: string;
  maxEnvelopeSize?: number;
}

const MAX_PARSE = 4 * 1024 * 1024;

/** Elements by local name, any prefix: [attributes, inner text] (bounded input, one pass per element name). */
function elements(xml: string, local: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const re = new RegExp(
    `<(?:[A-Za-z_][\\w.-]{0,30}:)?${local}(\\s[^<>]{0,2000})?(?:/>|>([^<]{0,${MAX_PARSE}})</(?:[A-Za-z_][\\w.-]{0,30}:)?${local}>)`,
    'g',
  );
  for (const m of xml.matchAll(re)) out.push([m[1] ?? '', m[2] ?? '']);
  return out;
}

function attr(attrs: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}="([^"]{0,1000})"`).exec(attrs);
  return m?.[1] === undefined ? undefined : xmlUnescape(m[1]);
}

function first(xml: string, local: string): string | undefined {
  const e = elements(xml, local)[0];
  return e ? xmlUnescape(e[1].trim()) : undefined;
}

/** Reads what a fake PC needs from a request body (SOAP, as the endpoint decrypted it). */
export function parseRequest(body: string | Buffer): ParsedRequest {
  const xml = (typeof body === 'string' ? body : body.toString('utf8')).slice(0, MAX_PARSE);
  const options: Record<string, string> = {};
  for (const [a, v] of elements(xml, 'Option')) {
    const name = attr(a, 'Name');
    if (name) options[name] = xmlUnescape(v);
  }
  const environment: Record<string, string> = {};
  for (const [a, v] of elements(xml, 'Variable')) {
    const name = attr(a, 'Name');
    if (name) environment[name] = xmlUnescape(v);
  }
  let shellId: string | undefined;
  for (const [a, v] of elements(xml, 'Selector'))
    if (attr(a, 'Name') === 'ShellId') shellId = xmlUnescape(v.trim());
  let commandId: string | undefined;
  for (const local of ['CommandLine', 'DesiredStream', 'Signal', 'Stream']) {
    for (const [a] of elements(xml, local)) commandId ??= attr(a, 'CommandId');
  }
  const req: ParsedRequest = {
    action: first(xml, 'Action') ?? '',
    messageId: first(xml, 'MessageID') ?? '',
    options,
    environment,
  };
  const resourceUri = first(xml, 'ResourceURI');
  if (resourceUri !== undefined) req.resourceUri = resourceUri;
  if (shellId !== undefined) req.shellId = shellId;
  if (commandId !== undefined) req.commandId = commandId;
  const timeout = first(xml, 'OperationTimeout');
  if (timeout !== undefined) req.operationTimeout = timeout;
  const max = first(xml, 'MaxEnvelopeSize');
  if (max !== undefined && /^\d{1,10}$/.test(max)) req.maxEnvelopeSize = Number(max);
  if (req.action === ACTIONS.command) {
    req.command = first(xml, 'Command') ?? '';
    req.arguments = elements(xml, 'Arguments').map(([, v]) => xmlUnescape(v));
  }
  if (req.action === ACTIONS.send) {
    const parts: Buffer[] = [];
    let end = false;
    for (const [a, v] of elements(xml, 'Stream')) {
      if (attr(a, 'Name') !== 'stdin') continue;
      parts.push(Buffer.from(v.trim(), 'base64'));
      if (attr(a, 'End') === 'true') end = true;
    }
    req.stdin = Buffer.concat(parts);
    req.stdinEnd = end;
  }
  if (req.action === ACTIONS.signal) {
    const code = first(xml, 'Code');
    if (code !== undefined) req.signal = code;
  }
  return req;
}
