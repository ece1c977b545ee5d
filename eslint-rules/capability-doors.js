// A local ESLint rule: every capability under src/ (src/<name>/) has one door, its index.ts.
// Code outside a capability (another capability, electron/) imports it only through that door:
// `../patch`, never `../patch/run`. Inside a capability, files import each other freely.
// Tests and test-support folders (`testing/`) may reach inside: they test internals.
import path from 'node:path';

const SOURCE_EXTENSIONS = ['.ts', '.tsx', '.js', '.mjs'];

/** The capability a file belongs to (`src/<name>/…`), or null for files outside src/<name>/. */
function capabilityOf(file, srcRoot) {
  const relative = path.relative(srcRoot, file);
  if (relative.startsWith('..') || path.isAbsolute(relative)) return null;
  const parts = relative.split(path.sep);
  return parts.length >= 2 ? parts[0] : null;
}

function isTestFile(file) {
  return /\.test\.tsx?$/.test(file) || file.split(path.sep).includes('testing');
}

/** True when `target` (an import resolved to a path, extension optional) is `src/<name>` or its index. */
function isDoor(target, srcRoot, name) {
  const door = path.join(srcRoot, name);
  if (target === door) return true;
  const withoutExtension = SOURCE_EXTENSIONS.reduce(
    (p, ext) => (p.endsWith(ext) ? p.slice(0, -ext.length) : p),
    target,
  );
  return withoutExtension === path.join(door, 'index');
}

/** @type {import('eslint').Rule.RuleModule} */
const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'Import another capability of src/ only through its index.ts (its door).' },
    schema: [
      {
        type: 'object',
        properties: { srcRoot: { type: 'string' } },
        additionalProperties: false,
      },
    ],
    messages: {
      deep: "'{{source}}' reaches inside the {{name}} capability. Import it through its door, src/{{name}}/index.ts, and export what you need from there.",
    },
  },
  create(context) {
    const filename = context.filename ?? context.getFilename();
    const root = context.cwd ?? process.cwd();
    const srcRoot = path.resolve(root, context.options[0]?.srcRoot ?? 'src');
    if (isTestFile(filename)) return {};
    const own = capabilityOf(filename, srcRoot);

    function check(node) {
      const source = node.source?.value;
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const target = path.resolve(path.dirname(filename), source);
      // `../patch` resolves to the folder src/patch itself: that is the door, and has no capability part.
      const name = capabilityOf(target, srcRoot);
      if (!name || name === own) return;
      if (isDoor(target, srcRoot, name)) return;
      context.report({ node: node.source, messageId: 'deep', data: { source, name } });
    }

    return {
      ImportDeclaration: check,
      ExportNamedDeclaration: check,
      ExportAllDeclaration: check,
      ImportExpression: check,
    };
  },
};

export default { rules: { 'capability-doors': rule } };
