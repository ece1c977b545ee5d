import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * docs/ARCHITECTURE.md is the newcomer's map (issue 11, item 10). A map that names files which
 * moved or functions which were renamed sends people to the wrong place, so every path it names
 * must exist, and every `file:name` must be declared in that file. A placeholder such as
 * `src/<name>/` or a glob such as `src/core/handlers/*` must still point into a real folder.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const DOC = 'docs/ARCHITECTURE.md';

/** A path into the repository, optionally followed by `:name`, a name that file declares. */
const REFERENCE =
  /(?<![\w./<>*-])((?:src|renderer|electron|test|bench|scripts|eslint-rules|docs)\/[\w./<>*-]*)(?::([A-Za-z_$][\w$]*))?/g;
/** Files at the top of the repository that the map may name on their own. */
const ROOT_FILE = /^(?:eslint\.config\.js|package\.json|tsconfig\.\w+\.json|vitest\.config\.ts)$/;

export interface Reference {
  path: string;
  name?: string;
}

/** Every path (and `file:name`) the markdown names in backticks or in its code blocks. */
export function referencesIn(markdown: string): Reference[] {
  const found: Reference[] = [];
  const scan = (text: string): void => {
    for (const match of text.matchAll(REFERENCE)) {
      const file = match[1]!.replace(/\.+$/, '');
      found.push(match[2] ? { path: file, name: match[2] } : { path: file });
    }
  };
  const fences = /^```[^\n]*\n([\s\S]*?)^```/gm;
  for (const block of markdown.matchAll(fences)) scan(block[1]!);
  const prose = markdown.replace(fences, '');
  for (const span of prose.matchAll(/`([^`\n]+)`/g)) {
    const text = span[1]!.trim();
    if (ROOT_FILE.test(text)) found.push({ path: text });
    else scan(text);
  }
  return found;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** What is wrong with one reference under `root`, or null when it holds. */
export function problemWith(ref: Reference, root: string): string | null {
  const wild = ref.path.search(/[<*]/);
  if (wild >= 0) {
    // A placeholder or glob: the folder it starts in must exist, and a glob must match something.
    const fixed = ref.path.slice(0, wild);
    const dir = fixed.slice(0, fixed.lastIndexOf('/') + 1);
    const full = path.join(root, dir);
    if (!fs.existsSync(full) || !fs.statSync(full).isDirectory()) return `${ref.path}: no folder ${dir}`;
    if (ref.path[wild] === '*') {
      const start = fixed.slice(dir.length);
      if (!fs.readdirSync(full).some((entry) => entry.startsWith(start)))
        return `${ref.path}: matches nothing in ${dir}`;
    }
    return null;
  }
  const full = path.join(root, ref.path);
  if (!fs.existsSync(full)) return `${ref.path}: does not exist`;
  if (ref.name === undefined) return null;
  if (!fs.statSync(full).isFile()) return `${ref.path}:${ref.name}: ${ref.path} is not a file`;
  const declared = new RegExp(
    `\\b(?:function\\*?|class|const|let|var|interface|type|enum)\\s+${escapeRegExp(ref.name)}\\b`,
  );
  return declared.test(fs.readFileSync(full, 'utf8')) ? null : `${ref.path}:${ref.name}: not declared there`;
}

describe('docs/ARCHITECTURE.md', () => {
  const markdown = fs.readFileSync(path.join(ROOT, DOC), 'utf8');
  const references = referencesIn(markdown);

  it('names the files it describes (a map without paths would pass anything)', () => {
    expect(references.length).toBeGreaterThan(100);
    expect(references.filter((r) => r.name !== undefined).length).toBeGreaterThan(40);
  });

  it('names only paths that exist, and only names those files declare', () => {
    const problems = references.map((ref) => problemWith(ref, ROOT)).filter((p) => p !== null);
    expect(problems).toEqual([]);
  });

  it('is the map the README sends a newcomer to, inside the repository', () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme.includes(`(${DOC})`), `README.md links ${DOC}`).toBe(true);
    const outside = readme.split('\n').filter((line) => line.includes('../shared/'));
    expect(outside, 'README lines that send a newcomer outside the repository').toEqual([]);
  });
});

describe('the map checker', () => {
  it('reports a moved file, a renamed function, a placeholder in no folder and an empty glob', () => {
    const markdown = [
      'Real: `src/api/router.ts:createRouter` and `npx vitest run src/carrier electron`.',
      'Moved: `src/audit/gone.ts`. Renamed: `src/api/router.ts:makeRouter`.',
      'Placeholders: `src/<name>/` is fine, `src/nowhere/<name>.ts` is not.',
      'Globs: `src/core/handlers/*` is fine, `src/core/nothing-*` is not.',
      '```',
      'renderer/api.ts ──▶ electron/no-such-file.ts',
      '```',
      'A top file: `eslint.config.js`; words in backticks that are no path: `index.ts`, `Core`.',
    ].join('\n');
    const refs = referencesIn(markdown);
    expect(refs).toEqual(
      expect.arrayContaining([
        { path: 'src/api/router.ts', name: 'createRouter' },
        { path: 'src/carrier' },
        { path: 'renderer/api.ts' },
        { path: 'eslint.config.js' },
      ]),
    );
    expect(refs.some((r) => r.path === 'index.ts' || r.path === 'Core')).toBe(false);
    expect(refs.map((ref) => problemWith(ref, ROOT)).filter((p) => p !== null)).toEqual([
      'electron/no-such-file.ts: does not exist',
      'src/audit/gone.ts: does not exist',
      'src/api/router.ts:makeRouter: not declared there',
      'src/nowhere/<name>.ts: no folder src/nowhere/',
      'src/core/nothing-*: matches nothing in src/core/',
    ]);
  });
});
