// A small DER reader, enough for SPNEGO tokens (RFC 4178) and a certificate's signature
// algorithm (RFC 5280). Bounded: every length is checked against the bytes that hold it, only
// definite lengths up to 4 bytes, and nesting only as deep as the caller walks.
import { NtlmError } from './errors';

export interface DerElement {
  /** The whole identifier octet (class, constructed bit, tag number < 31). */
  tag: number;
  content: Buffer;
  /** Bytes of the element (header and content). */
  length: number;
}

function bad(message: string): NtlmError {
  return new NtlmError('malformed', `The token is not valid DER: ${message}.`);
}

export function readElement(data: Buffer, at = 0): DerElement {
  if (data.length - at < 2) throw bad('truncated header');
  const tag = data[at]!;
  if ((tag & 0x1f) === 0x1f) throw bad('high tag numbers are not used here');
  let length = data[at + 1]!;
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw bad('unsupported length form');
    if (data.length - at < 2 + count) throw bad('truncated length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + data[at + 2 + i]!;
    header += count;
  }
  if (length > data.length - at - header) throw bad('length past the end');
  return { tag, content: data.subarray(at + header, at + header + length), length: header + length };
}

/** The elements inside a constructed element's content, in order. */
export function readChildren(content: Buffer): DerElement[] {
  const out: DerElement[] = [];
  for (let at = 0; at < content.length;) {
    const element = readElement(content, at);
    out.push(element);
    at += element.length;
  }
  return out;
}

export function oidToString(content: Buffer): string {
  if (content.length === 0 || content.length > 64) throw bad('bad object identifier');
  const parts: number[] = [];
  let value = 0;
  for (const byte of content) {
    value = value * 128 + (byte & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 256) throw bad('object identifier arc too large');
    if (!(byte & 0x80)) {
      if (parts.length === 0)
        parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else parts.push(value);
      value = 0;
    }
  }
  if (content[content.length - 1]! & 0x80) throw bad('object identifier ends mid-arc');
  return parts.join('.');
}
