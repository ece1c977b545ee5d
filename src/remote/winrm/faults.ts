/**
 * WS-Man faults and HTTP/socket failures as classified RemoteErrors, each with a sentence an
 * admin can act on. The fault's own text comes from the PC (untrusted): it is cleaned and cut
 * short before it goes into a message.
 */
import { RemoteError } from '../errors';
import { bodyOf, relatesToOf } from './soap';
import { childOf, childrenOf, findFirst, type XmlElement } from './xml';

/** WSManFault code of w:TimedOut (0x80338029): nothing to report yet, Receive again. */
export const TIMED_OUT_CODE = 2150858793;

export const UAC_COMMAND =
  'reg add HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System /v LocalAccountTokenFilterPolicy /t REG_DWORD /d 1 /f';

export interface WsmanFault {
  /** The SOAP subcode without prefix (`TimedOut`, `InvalidSelectors`, `AccessDenied`…), or the code. */
  subcode: string;
  /** The WSManFault Code attribute (a Win32 or 0x8033xxxx value), when present. */
  wsmanCode: number | null;
  /** The PC's own reason text, cleaned and cut short. */
  reason: string;
}

export function cleanRemoteText(text: string, max = 300): string {
  return (
    text
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]+/g, ' ')
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, max)
  );
}

function localValue(text: string | undefined): string {
  const value = (text ?? '').trim();
  const colon = value.indexOf(':');
  return colon < 0 ? value : value.slice(colon + 1);
}

/** The fault of a reply, or null when the body holds none. */
export function faultOf(root: XmlElement): WsmanFault | null {
  const fault = childOf(bodyOf(root), 'Fault');
  if (!fault) return null;
  const code = childOf(fault, 'Code');
  const subcode =
    localValue(childOf(childOf(code, 'Subcode'), 'Value')?.text) || localValue(childOf(code, 'Value')?.text);
  const wsmanFault = findFirst(childOf(fault, 'Detail'), 'WSManFault');
  const rawCode = wsmanFault?.attributes.Code;
  const wsmanCode = rawCode && /^[0-9]{1,10}$/.test(rawCode) ? Number(rawCode) : null;
  const message = findFirst(wsmanFault, 'Message');
  const reasonText =
    (message ? collectText(message) : '') ||
    childrenOf(childOf(fault, 'Reason'), 'Text')
      .map((t) => t.text)
      .join(' ');
  return { subcode, wsmanCode, reason: cleanRemoteText(reasonText) };
}

function collectText(element: XmlElement): string {
  const parts: string[] = [];
  const todo: XmlElement[] = [element];
  while (todo.length > 0 && parts.length < 200) {
    const next = todo.pop()!;
    parts.push(next.text);
    for (let i = next.children.length - 1; i >= 0; i--) todo.push(next.children[i]!);
  }
  return parts.join(' ');
}

export function isTimedOut(fault: WsmanFault): boolean {
  return fault.subcode === 'TimedOut' || fault.wsmanCode === TIMED_OUT_CODE;
}

function hex(code: number): string {
  return `0x${code.toString(16).toUpperCase().padStart(8, '0')}`;
}

function codeText(fault: WsmanFault): string {
  if (fault.wsmanCode === null) return fault.subcode || 'fault';
  return fault.wsmanCode > 0xffff ? hex(fault.wsmanCode) : `Win32 error ${fault.wsmanCode}`;
}

/** The sentence for a local administrator whose remote token is filtered by UAC. */
export function uacSentence(label: string): string {
  return (
    `${label} accepted the Windows credentials but refused them a remote shell (access denied); ` +
    'for a local administrator account that is UAC remote restriction (LocalAccountTokenFilterPolicy), ' +
    `lifted by running \`${UAC_COMMAND}\` in an administrator prompt on the PC.`
  );
}

/** A fault as a classified error; `operation` names what was asked ("open a shell", "run the command"). */
export function faultToError(fault: WsmanFault, label: string, operation: string): RemoteError {
  const details = { fault: { subcode: fault.subcode, code: fault.wsmanCode, reason: fault.reason } };
  const why = fault.reason ? ` (${codeText(fault)}: ${fault.reason})` : ` (${codeText(fault)})`;
  if (fault.subcode === 'AccessDenied' || fault.wsmanCode === 5 || fault.wsmanCode === 0x80070005)
    return new RemoteError('auth-failed', uacSentence(label), '', details);
  if (isTimedOut(fault))
    return new RemoteError(
      'timeout',
      `${label} did not answer WinRM in time (it reported a time-out).`,
      '',
      details,
    );
  if (fault.subcode === 'InvalidSelectors')
    return new RemoteError(
      'command-failed',
      `${label} could not ${operation}: the command is no longer known to the PC (its shell was closed)${why}.`,
      '',
      details,
    );
  if (fault.subcode === 'InvalidParameter')
    return new RemoteError(
      'command-failed',
      `${label} refused to ${operation}: the PC called a parameter of the request invalid${why}.`,
      '',
      details,
    );
  if (fault.subcode === 'EncodingLimit')
    return new RemoteError(
      'command-failed',
      `${label} could not ${operation}: a message was larger than the PC's MaxEnvelopeSize${why}.`,
      '',
      details,
    );
  if (fault.subcode === 'QuotaLimit')
    return new RemoteError(
      'command-failed',
      `${label} could not ${operation}: the PC has too many WinRM shells or commands open for this user${why}.`,
      '',
      details,
    );
  return new RemoteError(
    'command-failed',
    `${label} could not ${operation}: WinRM reported a fault${why}.`,
    '',
    details,
  );
}

/** A reply whose RelatesTo does not name the request: a confused or hostile endpoint. */
export function checkRelatesTo(root: XmlElement, messageId: string, label: string): void {
  const relatesTo = relatesToOf(root);
  if (relatesTo === null || relatesTo.toUpperCase() !== messageId.toUpperCase())
    throw new RemoteError(
      'command-failed',
      `${label} answered a WinRM request with the reply to another one (RelatesTo does not match the MessageID); the reply was not used.`,
    );
}

export function authFailed(label: string): RemoteError {
  return new RemoteError('auth-failed', `${label} refused the Windows credentials (wrong user or password).`);
}

export function notEnabled(label: string, port: number, what: string): RemoteError {
  return new RemoteError(
    'unreachable',
    `${label} ${what} on port ${port}: WinRM is not enabled on the PC: run \`winrm quickconfig\` in an administrator prompt there.`,
  );
}

/** An HTTP status that is neither a reply nor a fault. */
export function httpStatusError(status: number, label: string, port: number): RemoteError {
  if (status === 401) return authFailed(label);
  if (status === 404) return notEnabled(label, port, 'has no WinRM listener (/wsman answered 404)');
  if (status === 413)
    return new RemoteError(
      'command-failed',
      `${label} refused a WinRM message as larger than its MaxEnvelopeSize (HTTP 413).`,
    );
  if (status === 400 || status === 415)
    return new RemoteError(
      'command-failed',
      `${label} refused a WinRM message as malformed (HTTP ${status}); the PC's WinRM may expect another encryption setting.`,
    );
  return new RemoteError('command-failed', `${label} answered WinRM with HTTP ${status}.`);
}

/**
 * Socket-level failures of a WinRM connection. `answeredBefore`: this session already talked to
 * the PC, so a refused connection is a PC restarting or WinRM restarting, not WinRM never enabled.
 */
export function connectFailure(
  error: unknown,
  label: string,
  port: number,
  answeredBefore = false,
): RemoteError {
  if (error instanceof RemoteError) return error;
  const err = error as NodeJS.ErrnoException;
  const code = err?.code ?? '';
  if (code === 'ECONNREFUSED' && answeredBefore)
    return new RemoteError(
      'unreachable',
      `${label} refused the WinRM connection on port ${port}, which answered earlier in this session: the PC or its WinRM service may be restarting.`,
    );
  if (code === 'ECONNREFUSED') return notEnabled(label, port, 'refused the WinRM connection');
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EHOSTDOWN')
    return new RemoteError('unreachable', `${label} cannot be reached on the network.`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return new RemoteError('unreachable', `${label}: the name does not resolve.`);
  if (code === 'ETIMEDOUT') return new RemoteError('timeout', `${label} did not answer WinRM in time.`);
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE')
    return new RemoteError('unreachable', `${label} closed the WinRM connection.`);
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || /SSL|TLS/.test(err?.message ?? ''))
    return new RemoteError(
      'unreachable',
      `${label}: the HTTPS connection to WinRM failed (${cleanRemoteText(err.message, 120)}).`,
    );
  return new RemoteError(
    'unreachable',
    `${label}: the WinRM connection failed (${cleanRemoteText(err?.message ?? String(error), 120)}).`,
  );
}
