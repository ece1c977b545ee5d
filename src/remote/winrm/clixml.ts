/**
 * PowerShell writes its error stream as CLIXML when stderr is not a console:
 * `#< CLIXML` then `<Objs …><S S="Error">text_x000D__x000A_</S>…</Objs>`. This turns it back into
 * the text a console would have shown. Bounded: input beyond the cap is cut before parsing, and
 * anything that does not parse is returned as it came (cleaned of the marker), never thrown.
 */
import { parseXml, type XmlElement } from './xml';

const MARKER = '#< CLIXML';
const DEFAULT_MAX_CHARS = 4 * 1024 * 1024;

/** Decodes the `_xHHHH_` escapes of PowerShell's serializer (UTF-16 code units, pairs joined). */
export function decodeClixmlEscapes(text: string): string {
  if (!text.includes('_x')) return text;
  const units: string[] = [];
  let at = 0;
  const re = /_x([0-9A-Fa-f]{4})_/g;
  let match: RegExpExecArray | null;
  while ((match = re.exec(text)) !== null) {
    units.push(text.slice(at, match.index));
    units.push(String.fromCharCode(parseInt(match[1]!, 16)));
    at = match.index + match[0].length;
  }
  units.push(text.slice(at));
  // A lone surrogate (half of a pair cut off) would not survive UTF-8; make it visible instead.
  return units
    .join('')
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

const STREAM_PREFIX: Record<string, string> = {
  Error: '',
  Warning: 'WARNING: ',
  Verbose: 'VERBOSE: ',
  Debug: 'DEBUG: ',
  Information: '',
};

function streamTexts(objs: XmlElement, out: string[]): void {
  for (const child of objs.children) {
    const stream = child.attributes.S;
    if (child.name === 'S' && stream !== undefined && stream in STREAM_PREFIX)
      out.push(STREAM_PREFIX[stream]! + decodeClixmlEscapes(child.text));
    // Progress records (<Obj S="progress">) and other objects are not text for a person.
  }
}

/** True when the text is PowerShell's serialized error stream. */
export function isClixml(text: string): boolean {
  return text.trimStart().startsWith(MARKER);
}

/**
 * The readable text of a CLIXML error stream; text that is not CLIXML comes back unchanged.
 * Several documents (one per `#< CLIXML` marker) are joined in order.
 */
export function decodeClixml(text: string, maxChars = DEFAULT_MAX_CHARS): string {
  if (!isClixml(text)) return text;
  const bounded = text.length > maxChars ? text.slice(0, maxChars) : text;
  const out: string[] = [];
  for (const piece of bounded.split(MARKER)) {
    const doc = piece.trim();
    if (doc === '') continue;
    try {
      streamTexts(parseXml(doc, { maxChars, maxDepth: 32 }), out);
    } catch {
      // Cut short or not XML: keep what was there rather than lose the error.
      out.push(doc);
    }
  }
  return out.join('').replace(/\r\n$/, '').replace(/\n$/, '');
}
