/**
 * Test support: the recorded Windows exchanges of test/fixtures/winrm/wsman/ and a transport that
 * answers them in their recorded order (RelatesTo set to the request's MessageID, faults with
 * HTTP 500), as the test bed's endpoint does, but in-process and without encryption.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SoapReply, SoapTransport } from './http';
import type { WinrmIdentity } from './types';
import { childOf, childrenOf, findFirst, parseXml, pathOf, type XmlElement } from './xml';

export const RECORDINGS_DIR = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'test',
  'fixtures',
  'winrm',
  'wsman',
);

export interface RecordedMessage {
  request: string;
  response: string;
}

function unquote(value: string): string {
  const v = value.trim();
  if (v.startsWith("'") && v.endsWith("'")) return v.slice(1, -1).replace(/''/g, "'");
  if (v.startsWith('"')) throw new Error('double-quoted YAML scalars are not expected in the recordings');
  return v;
}

/**
 * Reads the recordings' YAML subset: `messages:` then `- request: …` / `  response: …` items whose
 * values are plain or single-quoted scalars, folded over several lines (a line break is a space).
 */
export function parseRecording(text: string): RecordedMessage[] {
  const out: RecordedMessage[] = [];
  let current: Partial<RecordedMessage> | null = null;
  let key: keyof RecordedMessage | null = null;
  let value = '';
  const flush = (): void => {
    if (current && key) current[key] = unquote(value);
    key = null;
    value = '';
  };
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('messages:')) continue;
    const item = /^- (request|response): (.*)$/.exec(line);
    const field = /^ {2}(request|response): (.*)$/.exec(line);
    if (item) {
      flush();
      if (current) out.push(current as RecordedMessage);
      current = {};
      key = item[1] as keyof RecordedMessage;
      value = item[2]!;
    } else if (field) {
      flush();
      key = field[1] as keyof RecordedMessage;
      value = field[2]!;
    } else {
      value += ` ${line.trim()}`;
    }
  }
  flush();
  if (current) out.push(current as RecordedMessage);
  return out;
}

export function loadRecording(name: string): RecordedMessage[] {
  return parseRecording(readFileSync(join(RECORDINGS_DIR, name), 'utf8'));
}

function setRelatesTo(response: string, messageId: string): string {
  return response.replace(
    /(<[A-Za-z0-9]+:RelatesTo>)[^<]*(<\/[A-Za-z0-9]+:RelatesTo>)/,
    (_m, open: string, close: string) => `${open}${messageId}${close}`,
  );
}

/** Answers recorded replies in order; records what the client sent. */
export class ReplayTransport implements SoapTransport {
  readonly sent: string[] = [];
  closed = false;
  private next = 0;

  constructor(
    private readonly replies: Array<string | { status: number; body: string; keepRelatesTo?: boolean }>,
    readonly identity: WinrmIdentity = {
      type: 'ntlm-identity',
      fingerprint: 'ntlm:WIN1/PATCHDECK',
      publicKey: null,
    },
  ) {}

  static ofRecording(messages: RecordedMessage[]): ReplayTransport {
    return new ReplayTransport(
      messages.map((m) => ({ status: m.response.includes(':Fault>') ? 500 : 200, body: m.response })),
    );
  }

  get remaining(): number {
    return this.replies.length - this.next;
  }

  exchange(xml: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<SoapReply> {
    this.sent.push(xml);
    if (options.signal?.aborted) return Promise.reject(new Error('aborted'));
    const reply = this.replies[this.next++];
    if (reply === undefined)
      return Promise.reject(new Error(`no recorded reply left for request ${this.sent.length}`));
    const messageId = /<wsa:MessageID>([^<]*)<\/wsa:MessageID>/.exec(xml)?.[1] ?? '';
    const { status, body, keepRelatesTo } = typeof reply === 'string' ? { status: 200, body: reply } : reply;
    return Promise.resolve({ status, body: keepRelatesTo ? body : setRelatesTo(body, messageId) });
  }

  close(): void {
    this.closed = true;
  }
}

/** What a WS-Man request asks, independent of prefixes, ids and formatting. */
export interface RequestSemantics {
  action: string;
  resourceUri: string;
  options: Record<string, string>;
  selectors: Record<string, string>;
  /** Create: streams and environment; Command: the command line; Receive: streams; Signal: code. */
  body: Record<string, string>;
}

function textOf(element: XmlElement | null): string {
  return element?.text.trim() ?? '';
}

export function semanticsOf(xml: string): RequestSemantics {
  const root = parseXml(xml);
  const header = childOf(root, 'Header');
  const options: Record<string, string> = {};
  for (const o of childrenOf(childOf(header, 'OptionSet'), 'Option'))
    options[o.attributes.Name ?? ''] = o.text.trim().toUpperCase();
  const selectors: Record<string, string> = {};
  for (const s of childrenOf(childOf(header, 'SelectorSet'), 'Selector'))
    selectors[s.attributes.Name ?? ''] = s.text.trim();
  const body = childOf(root, 'Body');
  const summary: Record<string, string> = {};
  const shell = childOf(body, 'Shell');
  if (shell) {
    summary.inputStreams = textOf(childOf(shell, 'InputStreams'));
    summary.outputStreams = textOf(childOf(shell, 'OutputStreams'));
    for (const v of childrenOf(childOf(shell, 'Environment'), 'Variable'))
      summary[`env:${v.attributes.Name ?? ''}`] = v.text;
  }
  const commandLine = childOf(body, 'CommandLine');
  if (commandLine)
    summary.commandLine = [
      textOf(childOf(commandLine, 'Command')),
      ...childrenOf(commandLine, 'Arguments').map(textOf),
    ]
      .filter((p) => p !== '')
      .join(' ');
  const desired = pathOf(body, 'Receive', 'DesiredStream');
  if (desired) summary.desiredStreams = textOf(desired);
  const signal = childOf(body, 'Signal');
  if (signal) summary.signal = textOf(childOf(signal, 'Code')).replace(/^.*\//, '');
  const stream = findFirst(childOf(body, 'Send'), 'Stream');
  if (stream) summary.stdin = Buffer.from(stream.text, 'base64').toString('utf8');
  return {
    action: textOf(childOf(header, 'Action')).replace(/^.*\//, ''),
    resourceUri: textOf(childOf(header, 'ResourceURI')),
    options,
    selectors,
    body: summary,
  };
}
