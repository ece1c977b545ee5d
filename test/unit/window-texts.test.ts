import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Window texts name window actions (pages, buttons); only the CLI names commands (issue 10,
 * bug 5). This reads every renderer source the way a reviewer would: outside comments, the
 * text "patchdeck <word>" may appear only as `patchdeck serve`, the program a browser-mode user
 * started themselves, never as a command to type.
 */
const RENDERER = path.resolve(import.meta.dirname, '../../renderer');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return /\.tsx?$/.test(entry.name) && !/\.test\.tsx?$/.test(entry.name) ? [full] : [];
  });
}

/** Drops block and line comments (a `//` inside a URL string is kept: it follows a colon). */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
}

describe('window texts', () => {
  it('never tell the user to run a patchdeck command', () => {
    const found: string[] = [];
    for (const file of sources(RENDERER)) {
      const text = withoutComments(fs.readFileSync(file, 'utf8'));
      for (const match of text.matchAll(/patchdeck\s+([a-z][a-z-]*)/g))
        if (match[1] !== 'serve') found.push(`${path.relative(RENDERER, file)}: ${match[0]}`);
    }
    expect(found).toEqual([]);
  });

  it('the check sees a command in a text', () => {
    expect(withoutComments('const a = `older lines: patchdeck jobs show --log`; // patchdeck x')).toMatch(
      /patchdeck jobs/,
    );
    expect(withoutComments('/** run patchdeck audit */ const b = 1;')).not.toMatch(/patchdeck/);
  });
});
