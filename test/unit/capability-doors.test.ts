import path from 'node:path';
import { RuleTester } from 'eslint';
import { afterAll, describe, it } from 'vitest';
import plugin from '../../eslint-rules/capability-doors.js';

// ESLint's own RuleTester, driven by Vitest: each case lints a snippet as if it were the named file.
// (The hooks are static properties ESLint documents but does not declare in its types.)
Object.assign(RuleTester, { afterAll, describe, it, itOnly: it.only });

const root = path.resolve(import.meta.dirname, '../..');
const file = (p: string): string => path.join(root, p);
const tester = new RuleTester({ languageOptions: { ecmaVersion: 2024, sourceType: 'module' } });
const rule = plugin.rules['capability-doors'];

tester.run('capability-doors', rule, {
  valid: [
    // Through the door, as a folder or its index.
    { filename: file('src/patch/service.ts'), code: "import { x } from '../db';" },
    { filename: file('src/patch/service.ts'), code: "import { x } from '../db/index';" },
    { filename: file('src/patch/service.ts'), code: "import { x } from '../db/index.ts';" },
    { filename: file('src/core/handlers/patch.ts'), code: "import { x } from '../../patch';" },
    // Inside one capability, files import each other freely, nested folders included.
    { filename: file('src/collectors/apt/index.ts'), code: "import { x } from '../util';" },
    { filename: file('src/patch/service.ts'), code: "export * from './run';" },
    // Tests and test-support folders may reach inside another capability.
    { filename: file('src/patch/run.test.ts'), code: "import { x } from '../db/migrations';" },
    { filename: file('src/remote/testing/server.ts'), code: "import { x } from '../../db/hosts';" },
    // Packages and node built-ins are not capabilities.
    { filename: file('src/patch/run.ts'), code: "import fs from 'node:fs'; import { z } from 'zod';" },
  ],
  invalid: [
    {
      filename: file('src/patch/service.ts'),
      code: "import { listHosts } from '../db/hosts';",
      errors: [{ messageId: 'deep', data: { source: '../db/hosts', name: 'db' } }],
    },
    {
      filename: file('src/core/handlers/audits.ts'),
      code: "export { runAudit } from '../../audit/run';",
      errors: [{ messageId: 'deep', data: { source: '../../audit/run', name: 'audit' } }],
    },
    {
      filename: file('electron/main.ts'),
      code: "import { Core } from '../src/core/core';",
      errors: [{ messageId: 'deep', data: { source: '../src/core/core', name: 'core' } }],
    },
    {
      filename: file('src/cli/main.ts'),
      code: "const m = await import('../server/browser-carrier');",
      errors: [{ messageId: 'deep', data: { source: '../server/browser-carrier', name: 'server' } }],
    },
    {
      // A sub-folder's index is not the capability's door.
      filename: file('src/audit/run.ts'),
      code: "import { x } from '../collectors/apt';",
      errors: [{ messageId: 'deep', data: { source: '../collectors/apt', name: 'collectors' } }],
    },
  ],
});
