// MS-WSMV 2.2.9.1.1: the HTTP body of an encrypted WinRM message.
//   --Encrypted Boundary
//   \tContent-Type: application/HTTP-SPNEGO-session-encrypted
//   \tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=<plaintext length>
//   --Encrypted Boundary
//   \tContent-Type: application/octet-stream
//   <uint32 LE signature length><signature><sealed bytes>--Encrypted Boundary--\r\n
// The parser is lenient about tabs, spaces, header case and LF versus CRLF, and strict about
// lengths: the sealed part must be exactly as long as OriginalContent says.
import { NtlmError } from './errors';
import type { NtlmContext } from './context';

export const ENCRYPTED_CONTENT_TYPE =
  'multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"';

const BOUNDARY = Buffer.from('--Encrypted Boundary', 'latin1');
const END = Buffer.from('--Encrypted Boundary--', 'latin1');
const MAX_HEADER_LINE = 1024;
const MAX_HEADER_LINES = 8;
const MAX_SIGNATURE = 1024;

export function encryptBody(ctx: Pick<NtlmContext, 'wrap'>, soap: Buffer): Buffer {
  const { signature, sealed } = ctx.wrap(soap);
  const head = Buffer.from(
    '--Encrypted Boundary\r\n' +
      '\tContent-Type: application/HTTP-SPNEGO-session-encrypted\r\n' +
      `\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=${soap.length}\r\n` +
      '--Encrypted Boundary\r\n' +
      '\tContent-Type: application/octet-stream\r\n',
    'latin1',
  );
  const length = Buffer.alloc(4);
  length.writeUInt32LE(signature.length);
  return Buffer.concat([
    head,
    length,
    signature,
    sealed,
    Buffer.from('--Encrypted Boundary--\r\n', 'latin1'),
  ]);
}

function malformed(message: string): NtlmError {
  return new NtlmError('malformed', `The encrypted WinRM message is malformed: ${message}.`);
}

/** One header line from `at`: its text (trimmed) and where the next line starts. */
function readLine(body: Buffer, at: number): { text: string; next: number } {
  const limit = Math.min(body.length, at + MAX_HEADER_LINE);
  const end = body.subarray(at, limit).indexOf(0x0a);
  if (end < 0) throw malformed('a header line has no end');
  const raw = body.subarray(at, at + end).toString('latin1');
  return { text: raw.replace(/\r$/, '').trim(), next: at + end + 1 };
}

function startsWith(body: Buffer, at: number, prefix: Buffer): boolean {
  return body.length - at >= prefix.length && body.subarray(at, at + prefix.length).equals(prefix);
}

/** Skip blank lines (CRLF or LF) before a boundary. */
function skipBlank(body: Buffer, at: number): number {
  let i = at;
  while (i < body.length && (body[i] === 0x0d || body[i] === 0x0a || body[i] === 0x20 || body[i] === 0x09))
    i++;
  return i;
}

export function decryptBody(ctx: Pick<NtlmContext, 'unwrap'>, body: Buffer): Buffer {
  let at = skipBlank(body, 0);
  if (!startsWith(body, at, BOUNDARY)) throw malformed('it does not start with the Encrypted Boundary');
  at = readLine(body, at).next;

  // First part: headers up to the next boundary; OriginalContent names the plaintext length.
  let length: number | null = null;
  for (let lines = 0; ; lines++) {
    if (lines > MAX_HEADER_LINES) throw malformed('too many header lines');
    if (startsWith(body, skipBlank(body, at), BOUNDARY)) {
      at = readLine(body, skipBlank(body, at)).next;
      break;
    }
    const line = readLine(body, at);
    at = line.next;
    const colon = line.text.indexOf(':');
    if (colon < 0) continue;
    const name = line.text.slice(0, colon).trim().toLowerCase();
    if (name === 'originalcontent') {
      const match = /(?:^|;)\s*length\s*=\s*(\d{1,10})\s*(?:;|$)/i.exec(line.text.slice(colon + 1));
      if (!match) throw malformed('OriginalContent has no Length');
      length = Number(match[1]);
    }
  }
  if (length === null) throw malformed('there is no OriginalContent header');

  // Second part: headers up to Content-Type: application/octet-stream, then the binary payload.
  for (let lines = 0; ; lines++) {
    if (lines > MAX_HEADER_LINES) throw malformed('the octet-stream part has no Content-Type');
    const line = readLine(body, at);
    at = line.next;
    if (/^content-type\s*:\s*application\/octet-stream\s*$/i.test(line.text)) break;
  }
  if (body.length - at < 4) throw malformed('the signature length is missing');
  const signatureLength = body.readUInt32LE(at);
  at += 4;
  if (signatureLength > MAX_SIGNATURE || signatureLength > body.length - at) {
    throw malformed('the signature length is larger than the message');
  }
  const signature = body.subarray(at, at + signatureLength);
  at += signatureLength;
  if (length > body.length - at) {
    throw malformed(`OriginalContent says ${length} bytes but only ${body.length - at} follow`);
  }
  const sealed = body.subarray(at, at + length);
  const after = skipBlank(body, at + length);
  if (!startsWith(body, after, END)) {
    throw malformed(`the sealed part is not ${length} bytes long as OriginalContent says`);
  }
  return ctx.unwrap(signature, sealed);
}
