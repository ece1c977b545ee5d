// Worker threads do not inherit the TypeScript loader in every context (vitest, plain node):
// load the worker through tsx's scoped import, which works the same under `tsx` and vitest.
import { tsImport } from 'tsx/esm/api';

await tsImport('./worker.ts', import.meta.url);
