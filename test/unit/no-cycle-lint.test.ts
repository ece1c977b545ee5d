import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The project's own lint config, run over a small tree with an import circle: the cycle rule
 * must report it. (Without the plugin's TypeScript parser settings it silently parsed no .ts
 * file and reported nothing; this is the test that would have said so.)
 */
const root = path.resolve(import.meta.dirname, '../..');
let dir: string;
let results: ESLint.LintResult[];

const write = (file: string, text: string): void => {
  fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  fs.writeFileSync(path.join(dir, file), text);
};

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pd-no-cycle-'));
  const tsconfig = JSON.stringify({
    compilerOptions: { strict: true, module: 'ESNext', moduleResolution: 'Bundler', noEmit: true },
    include: ['src/**/*.ts', 'renderer/**/*.ts', 'renderer/**/*.tsx'],
  });
  for (const name of ['tsconfig.node.json', 'tsconfig.web.json', 'tsconfig.e2e.json']) write(name, tsconfig);
  // a → b → c → a: a circle through three files.
  write('src/a.ts', "import { b } from './b';\nexport const a = (): number => b() + 1;\n");
  write('src/b.ts', "import { c } from './c';\nexport const b = (): number => c() + 1;\n");
  write('src/c.ts', "import { a } from './a';\nexport const c = (): number => (a ? 1 : 0);\n");
  // A type-only import back is no circle at run time, and is allowed.
  write(
    'src/shape.ts',
    "import { user } from './user';\nexport interface Shape { n: number }\nexport const s = user;\n",
  );
  write(
    'src/user.ts',
    "import type { Shape } from './shape';\nexport const user = (x: Shape): number => x.n;\n",
  );
  // The renderer is checked too.
  write('renderer/x.tsx', "import { y } from './y';\nexport const x = (): number => y();\n");
  write('renderer/y.ts', "import { x } from './x';\nexport const y = (): number => (x ? 1 : 0);\n");
  const loaded = (await import(pathToFileURL(path.join(root, 'eslint.config.js')).href)) as {
    default: Linter.Config[];
  };
  const eslint = new ESLint({ cwd: dir, overrideConfigFile: true, overrideConfig: loaded.default });
  results = await eslint.lintFiles(['src', 'renderer']);
}, 60_000);

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const cycleFiles = (): string[] =>
  results
    .filter((r) => r.messages.some((m) => m.ruleId === 'import-x/no-cycle'))
    .map((r) => path.relative(dir, r.filePath).split(path.sep).join('/'))
    .sort();

describe('import-x/no-cycle in eslint.config.js', () => {
  it('reports every file of an import circle, in src/ and in renderer/', () => {
    expect(cycleFiles()).toEqual(['renderer/x.tsx', 'renderer/y.ts', 'src/a.ts', 'src/b.ts', 'src/c.ts']);
  });

  it('parses the TypeScript files without errors, so a silence means no circle', () => {
    const fatal = results.flatMap((r) => r.messages.filter((m) => m.fatal).map((m) => m.message));
    expect(fatal).toEqual([]);
  });
});
