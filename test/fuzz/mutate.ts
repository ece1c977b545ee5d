/**
 * Input generators for the parser fuzz targets: real captured outputs (test/fixtures/) mutated
 * line by line and character by character, so inputs stay close enough to the real thing to
 * reach deep into the parsers, plus token soup and plain random text.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { FIXTURES } from '../../src/collectors/testing/fixtures';

export function fixtureText(relative: string): string {
  return readFileSync(join(FIXTURES, relative), 'utf8');
}

/** Every fixture in a folder whose name passes `keep`. */
export function fixtureTexts(folder: string, keep: (name: string) => boolean = () => true): string[] {
  return readdirSync(join(FIXTURES, folder))
    .filter((f) => keep(f) && !f.endsWith('.md'))
    .sort()
    .map((f) => fixtureText(join(folder, f)));
}

/** Characters parsers split on, quote with or choke on. */
const NASTY = [
  ' ',
  '  ',
  '\t',
  '\r',
  '\n',
  '\r\n',
  ':',
  ': ',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  '*',
  '-',
  '+',
  '<',
  '>',
  '=',
  ',',
  '.',
  '/',
  '"',
  "'",
  '\\',
  '|',
  '@',
  '%',
  '$',
  '#',
  '0',
  '9',
  '-1',
  '4294967296',
  'a',
  'Z',
  '_',
  '\u0000',
  '\u001b',
  '\u007f',
  '\u00a0',
  '\u2028',
  '\u2029',
  '\u202e',
  '\ufeff',
  '\ufffd',
  'é',
  '😀',
  '\ud800',
  '\udc00',
  '__proto__',
  'constructor',
  '@@PATCHDECK',
];

type Mutation =
  | { op: 'replace-line' | 'insert-line'; at: number; text: string }
  | { op: 'delete-line' | 'duplicate-line'; at: number }
  | { op: 'swap-lines'; at: number; other: number }
  | { op: 'insert-chars' | 'replace-chars'; at: number; col: number; text: string }
  | { op: 'repeat-chars'; at: number; col: number; span: number; times: number }
  | { op: 'truncate'; at: number; col: number };

/** Short text: nasty characters and words from the fixtures themselves. */
function snippet(words: readonly string[]): fc.Arbitrary<string> {
  return fc
    .array(fc.oneof(fc.constantFrom(...NASTY), fc.constantFrom(...words), fc.string({ maxLength: 8 })), {
      minLength: 1,
      maxLength: 8,
    })
    .map((parts) => parts.join(''));
}

function mutation(words: readonly string[]): fc.Arbitrary<Mutation> {
  const at = fc.nat();
  const col = fc.nat();
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({ op: fc.constant('replace-line' as const), at, text: snippet(words) }),
    },
    {
      weight: 3,
      arbitrary: fc.record({ op: fc.constant('insert-line' as const), at, text: snippet(words) }),
    },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('delete-line' as const), at }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('duplicate-line' as const), at }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('swap-lines' as const), at, other: fc.nat() }) },
    {
      weight: 4,
      arbitrary: fc.record({ op: fc.constant('insert-chars' as const), at, col, text: snippet(words) }),
    },
    {
      weight: 4,
      arbitrary: fc.record({ op: fc.constant('replace-chars' as const), at, col, text: snippet(words) }),
    },
    {
      weight: 1,
      // Long lines: up to ~24 KiB, past the collectors' 16 KiB line limit.
      arbitrary: fc.record({
        op: fc.constant('repeat-chars' as const),
        at,
        col,
        span: fc.integer({ min: 1, max: 12 }),
        times: fc.oneof(fc.integer({ min: 2, max: 64 }), fc.integer({ min: 500, max: 2048 })),
      }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), at, col }) },
  );
}

function apply(text: string, mutations: readonly Mutation[], protect: (line: string) => boolean): string {
  const lines = text.split('\n');
  for (const m of mutations) {
    if (lines.length === 0) lines.push('');
    const i = m.at % lines.length;
    if (protect(lines[i]!) && m.op !== 'insert-line') continue;
    const line = lines[i]!;
    const c = 'col' in m ? m.col % (line.length + 1) : 0;
    switch (m.op) {
      case 'replace-line':
        lines[i] = m.text;
        break;
      case 'insert-line':
        lines.splice(i, 0, m.text);
        break;
      case 'delete-line':
        lines.splice(i, 1);
        break;
      case 'duplicate-line':
        lines.splice(i, 0, line);
        break;
      case 'swap-lines': {
        const j = m.other % lines.length;
        if (protect(lines[j]!)) break;
        [lines[i], lines[j]] = [lines[j]!, line];
        break;
      }
      case 'insert-chars':
        lines[i] = line.slice(0, c) + m.text + line.slice(c);
        break;
      case 'replace-chars':
        lines[i] = line.slice(0, c) + m.text + line.slice(c + m.text.length);
        break;
      case 'repeat-chars': {
        const piece = line.slice(c, c + m.span) || ' ';
        lines[i] = line.slice(0, c) + piece.repeat(m.times) + line.slice(c);
        break;
      }
      case 'truncate':
        lines.length = i + 1;
        lines[i] = line.slice(0, c);
        break;
    }
  }
  return lines.join('\n');
}

function wordsOf(texts: readonly string[]): string[] {
  const words = new Set<string>();
  for (const t of texts)
    for (const w of t.slice(0, 20_000).split(/[\s,;]+/)) if (w.length > 0 && w.length <= 40) words.add(w);
  return [...words].slice(0, 400);
}

export interface TextOptions {
  /** Lines the mutations leave alone (frame markers), so the input gets past the framing checks. */
  protect?: (line: string) => boolean;
  /** Extra words for the soup (keywords the parser looks for). */
  words?: readonly string[];
}

/**
 * Text for a parser: mostly a mutated fixture (1–8 mutations), sometimes a soup of the fixtures'
 * words and nasty characters, sometimes random text.
 */
export function hostText(fixtures: readonly string[], options: TextOptions = {}): fc.Arbitrary<string> {
  const protect = options.protect ?? (() => false);
  const words = [...wordsOf(fixtures), ...(options.words ?? []), 'x'];
  const mutated = fc
    .tuple(fc.constantFrom(...fixtures), fc.array(mutation(words), { minLength: 1, maxLength: 8 }))
    .map(([text, ms]) => apply(text, ms, protect));
  const soup = fc
    .array(fc.array(fc.oneof(fc.constantFrom(...words), fc.constantFrom(...NASTY)), { maxLength: 12 }), {
      maxLength: 30,
    })
    .map((rows) => rows.map((r) => r.join(' ')).join('\n'));
  const random = fc.string({ unit: 'binary', maxLength: 2000, size: 'max' });
  return fc.oneof(
    { weight: 12, arbitrary: mutated },
    { weight: 1, arbitrary: fc.constantFrom(...fixtures) },
    { weight: 3, arbitrary: soup },
    { weight: 1, arbitrary: random },
  );
}

/** Bytes for a binary decoder: a real message with bytes flipped, cut or appended, or noise. */
export function hostBytes(messages: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const edit = fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) });
  const mutated = fc
    .tuple(
      fc.constantFrom(...messages),
      fc.array(edit, { maxLength: 8 }),
      fc.option(fc.nat(), { nil: undefined }),
      fc.uint8Array({ maxLength: 64 }),
    )
    .map(([message, edits, cut, tail]) => {
      const bytes = Uint8Array.from(message);
      for (const e of edits) if (bytes.length > 0) bytes[e.at % bytes.length] = e.value;
      const kept = cut === undefined ? bytes : bytes.subarray(0, cut % (bytes.length + 1));
      return Uint8Array.from([...kept, ...tail]);
    });
  return fc.oneof(
    { weight: 6, arbitrary: mutated },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 600, size: 'max' }) },
  );
}
