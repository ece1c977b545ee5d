/**
 * A small XML reader for WS-Man replies. The text comes from the network (a PC, or whatever
 * answers on its port), so it is read in one linear pass with caps on size, depth and element
 * count; a DOCTYPE, an entity declaration or any entity beyond the five predefined ones and
 * numeric references is refused rather than expanded. Names are matched by local name (the
 * prefix is kept but WS-Man's prefixes differ between senders).
 */

export interface XmlElement {
  /** Local name, without the prefix. */
  name: string;
  prefix: string;
  /** Attributes by local name (`xmlns` declarations are dropped). */
  attributes: Record<string, string>;
  children: XmlElement[];
  /** The element's own character data (not its children's), entities decoded. */
  text: string;
}

export class XmlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'XmlError';
  }
}

export interface XmlLimits {
  maxChars?: number;
  maxDepth?: number;
  maxElements?: number;
}

const DEFAULT_MAX_CHARS = 8 * 1024 * 1024;
const DEFAULT_MAX_DEPTH = 64;
const DEFAULT_MAX_ELEMENTS = 100_000;

const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** Decodes the five predefined entities and numeric references; anything else is an error. */
export function decodeEntities(raw: string): string {
  if (!raw.includes('&')) return raw;
  let out = '';
  let at = 0;
  while (at < raw.length) {
    const amp = raw.indexOf('&', at);
    if (amp < 0) {
      out += raw.slice(at);
      break;
    }
    out += raw.slice(at, amp);
    const semi = raw.indexOf(';', amp + 1);
    // An entity name is short; a far-away ';' means a stray '&'.
    if (semi < 0 || semi - amp > 12) throw new XmlError('a stray "&" in the text');
    const name = raw.slice(amp + 1, semi);
    if (name.startsWith('#')) {
      const code =
        name[1] === 'x' || name[1] === 'X'
          ? /^#[xX][0-9A-Fa-f]{1,6}$/.test(name)
            ? parseInt(name.slice(2), 16)
            : NaN
          : /^#[0-9]{1,7}$/.test(name)
            ? parseInt(name.slice(1), 10)
            : NaN;
      if (!Number.isFinite(code) || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
        throw new XmlError(`a bad character reference "&${name};"`);
      out += String.fromCodePoint(code);
    } else {
      const value = PREDEFINED[name];
      if (value === undefined) throw new XmlError(`an unknown entity "&${name.slice(0, 12)};"`);
      out += value;
    }
    at = semi + 1;
  }
  return out;
}

function splitName(qname: string): { prefix: string; name: string } {
  const colon = qname.indexOf(':');
  return colon < 0
    ? { prefix: '', name: qname }
    : { prefix: qname.slice(0, colon), name: qname.slice(colon + 1) };
}

const NAME_CHAR = /[A-Za-z0-9_:.\-\u00b7-\uffff]/;

function isSpace(ch: string): boolean {
  return ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r';
}

/** After the root element only white space, comments and processing instructions may follow. */
function assertOnlyMisc(text: string, from: number): void {
  let at = from;
  for (;;) {
    while (at < text.length && isSpace(text[at]!)) at++;
    if (at >= text.length) return;
    const end = text.startsWith('<!--', at)
      ? text.indexOf('-->', at + 4)
      : text.startsWith('<?', at)
        ? text.indexOf('?>', at + 2)
        : -1;
    if (end < 0) throw new XmlError('content after the root element');
    at = end + 3 - (text.startsWith('<?', at) ? 1 : 0);
  }
}

/** Parses one XML document and returns its root element. */
export function parseXml(text: string, limits: XmlLimits = {}): XmlElement {
  const maxChars = limits.maxChars ?? DEFAULT_MAX_CHARS;
  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH;
  const maxElements = limits.maxElements ?? DEFAULT_MAX_ELEMENTS;
  if (text.length > maxChars) throw new XmlError(`the document is larger than ${maxChars} characters`);
  const stack: XmlElement[] = [];
  const qnames: string[] = [];
  let root: XmlElement | null = null;
  let elements = 0;
  let at = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const textParts: string[][] = [];

  while (at < text.length) {
    const lt = text.indexOf('<', at);
    const chunk = text.slice(at, lt < 0 ? text.length : lt);
    if (chunk.length > 0) {
      if (stack.length === 0) {
        if (chunk.trim() !== '') throw new XmlError('text outside the root element');
      } else textParts[textParts.length - 1]!.push(decodeEntities(chunk));
    }
    if (lt < 0) break;
    if (text.startsWith('<?', lt)) {
      const end = text.indexOf('?>', lt + 2);
      if (end < 0) throw new XmlError('an unterminated processing instruction');
      at = end + 2;
      continue;
    }
    if (text.startsWith('<!--', lt)) {
      const end = text.indexOf('-->', lt + 4);
      if (end < 0) throw new XmlError('an unterminated comment');
      at = end + 3;
      continue;
    }
    if (text.startsWith('<![CDATA[', lt)) {
      const end = text.indexOf(']]>', lt + 9);
      if (end < 0) throw new XmlError('an unterminated CDATA section');
      if (stack.length === 0) throw new XmlError('CDATA outside the root element');
      textParts[textParts.length - 1]!.push(text.slice(lt + 9, end));
      at = end + 3;
      continue;
    }
    if (text.startsWith('<!', lt)) throw new XmlError('a DOCTYPE or declaration (refused)');
    if (text[lt + 1] === '/') {
      const end = text.indexOf('>', lt + 2);
      if (end < 0) throw new XmlError('an unterminated end tag');
      const qname = text.slice(lt + 2, end).trim();
      const open = qnames.pop();
      const element = stack.pop();
      const parts = textParts.pop();
      if (open === undefined || element === undefined || parts === undefined)
        throw new XmlError(`an end tag </${qname.slice(0, 40)}> without a start tag`);
      if (open !== qname) throw new XmlError(`</${qname.slice(0, 40)}> closes <${open.slice(0, 40)}>`);
      element.text = parts.join('');
      at = end + 1;
      if (stack.length === 0) {
        assertOnlyMisc(text, at);
        return root!;
      }
      continue;
    }
    // A start tag: name, attributes, optional '/'.
    let p = lt + 1;
    const nameStart = p;
    while (p < text.length && NAME_CHAR.test(text[p]!)) p++;
    const qname = text.slice(nameStart, p);
    if (qname === '') throw new XmlError('a "<" that starts no tag');
    const { prefix, name } = splitName(qname);
    const attributes: Record<string, string> = {};
    let selfClosing = false;
    for (;;) {
      while (p < text.length && isSpace(text[p]!)) p++;
      if (p >= text.length) throw new XmlError('an unterminated start tag');
      if (text[p] === '>') {
        p++;
        break;
      }
      if (text[p] === '/' && text[p + 1] === '>') {
        selfClosing = true;
        p += 2;
        break;
      }
      const attrStart = p;
      while (p < text.length && NAME_CHAR.test(text[p]!)) p++;
      const attrName = text.slice(attrStart, p);
      if (attrName === '') throw new XmlError(`a bad attribute in <${qname.slice(0, 40)}>`);
      while (p < text.length && isSpace(text[p]!)) p++;
      if (text[p] !== '=') throw new XmlError(`attribute ${attrName.slice(0, 40)} has no value`);
      p++;
      while (p < text.length && isSpace(text[p]!)) p++;
      const quote = text[p];
      if (quote !== '"' && quote !== "'")
        throw new XmlError(`attribute ${attrName.slice(0, 40)} is not quoted`);
      const close = text.indexOf(quote, p + 1);
      if (close < 0) throw new XmlError('an unterminated attribute value');
      const rawValue = text.slice(p + 1, close);
      if (rawValue.includes('<')) throw new XmlError('a "<" inside an attribute value');
      p = close + 1;
      if (attrName === 'xmlns' || attrName.startsWith('xmlns:')) continue;
      attributes[splitName(attrName).name] = decodeEntities(rawValue);
    }
    elements++;
    if (elements > maxElements) throw new XmlError(`more than ${maxElements} elements`);
    const element: XmlElement = { name, prefix, attributes, children: [], text: '' };
    if (stack.length === 0) {
      if (root !== null) throw new XmlError('a second root element');
      root = element;
    } else stack[stack.length - 1]!.children.push(element);
    if (!selfClosing) {
      if (stack.length >= maxDepth) throw new XmlError(`elements nested deeper than ${maxDepth}`);
      stack.push(element);
      qnames.push(qname);
      textParts.push([]);
    } else if (stack.length === 0) {
      assertOnlyMisc(text, p);
      return element;
    }
    at = p;
  }
  if (stack.length > 0) throw new XmlError(`<${qnames[qnames.length - 1]!.slice(0, 40)}> is never closed`);
  if (root === null) throw new XmlError('no root element');
  return root;
}

/** The first child with this local name, or null. */
export function childOf(element: XmlElement | null | undefined, name: string): XmlElement | null {
  if (!element) return null;
  for (const child of element.children) if (child.name === name) return child;
  return null;
}

/** Every child with this local name (an empty list when there is none). */
export function childrenOf(element: XmlElement | null | undefined, name: string): XmlElement[] {
  if (!element) return [];
  return element.children.filter((child) => child.name === name);
}

/** Follows a path of local names from `element`, first match at each step. */
export function pathOf(element: XmlElement | null | undefined, ...names: string[]): XmlElement | null {
  let at: XmlElement | null = element ?? null;
  for (const name of names) at = childOf(at, name);
  return at;
}

/** The first element with this local name anywhere below `element` (depth first). */
export function findFirst(element: XmlElement | null | undefined, name: string): XmlElement | null {
  if (!element) return null;
  const todo: XmlElement[] = [...element.children].reverse();
  while (todo.length > 0) {
    const next = todo.pop()!;
    if (next.name === name) return next;
    for (let i = next.children.length - 1; i >= 0; i--) todo.push(next.children[i]!);
  }
  return null;
}

/** Escapes text for an XML element or a double-quoted attribute value. */
export function escapeXml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}
