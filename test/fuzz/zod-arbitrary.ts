/**
 * fast-check arbitraries read off zod (v4) schemas: values that mostly satisfy the schema, near
 * its limits (lengths, ranges, enum members), with junk mixed in at every level so that the
 * refusal paths are exercised as well as the handlers. Only what the contract uses is covered;
 * anything else falls back to arbitrary JSON.
 */
import fc from 'fast-check';
import type { z } from 'zod';

/** Field-level generators that replace the schema-derived one, keyed by field name. */
export type Overrides = Record<string, fc.Arbitrary<unknown>>;

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
  entries?: Record<string, string | number>;
  values?: unknown[];
  in?: z.ZodType;
  checks?: { _zod: { def: CheckDef } }[];
  format?: string;
  pattern?: RegExp;
}
interface CheckDef {
  check: string;
  minimum?: number;
  maximum?: number;
  value?: number;
  inclusive?: boolean;
  format?: string;
  pattern?: RegExp;
}

const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;
const checksOf = (def: Def): CheckDef[] => (def.checks ?? []).map((c) => c._zod.def);

/** JSON that no schema here asks for: wrong types, prototype keys, extremes. */
export const junkJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    null,
    true,
    false,
    0,
    -1,
    -0,
    1.5,
    2 ** 53,
    -(2 ** 63),
    1e308,
    '',
    ' ',
    '\u0000',
    '__proto__',
    'constructor',
    'toString',
    '../../etc/passwd',
    '%00',
    '\u202e',
    '😀',
    [],
    {},
    { __proto__: { polluted: true } },
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.jsonValue({ maxDepth: 2 }),
);

function lengthLimits(def: Def): { min: number; max: number } {
  let min = 0;
  let max = Number.POSITIVE_INFINITY;
  for (const c of checksOf(def)) {
    if (c.check === 'min_length' && c.minimum !== undefined) min = Math.max(min, c.minimum);
    if (c.check === 'max_length' && c.maximum !== undefined) max = Math.min(max, c.maximum);
    if (c.check === 'length_equals' && c.value !== undefined) min = max = c.value;
  }
  return { min, max };
}

function stringArbitrary(def: Def): fc.Arbitrary<string> {
  const format = def.format ?? checksOf(def).find((c) => c.check === 'string_format')?.format;
  if (format === 'datetime') {
    return fc.oneof(
      fc
        .date({
          min: new Date('1970-01-01T00:00:00Z'),
          max: new Date('2100-01-01T00:00:00Z'),
          noInvalidDate: true,
        })
        .map((d) => d.toISOString()),
      fc.constantFrom('2026-13-01T00:00:00Z', '2026-01-01', 'now', '2026-01-01T00:00:00+25:00'),
    );
  }
  const { min, max } = lengthLimits(def);
  const pattern = def.pattern ?? checksOf(def).find((c) => c.check === 'string_format')?.pattern;
  // Long enough to cross the small limits; the big ones (32 MiB) are crossed by `edges`.
  const cap = Math.min(max, min + 64);
  const plain = fc.oneof(
    fc.string({ minLength: min, maxLength: cap }),
    fc.string({ unit: 'grapheme', minLength: min, maxLength: cap }),
    fc.string({ unit: 'binary', minLength: min, maxLength: cap }),
  );
  const edges: fc.Arbitrary<string>[] = [fc.constant(' '.repeat(Math.max(1, min)))];
  if (max <= 100_000) edges.push(fc.constant('x'.repeat(max)), fc.constant('y'.repeat(max + 1)));
  if (pattern && pattern.source.startsWith('^SHA256:'))
    edges.push(fc.base64String({ minLength: 44, maxLength: 44 }).map((b) => `SHA256:${b.slice(0, 43)}`));
  if (pattern && pattern.source.includes('A-Za-z0-9+/')) edges.push(fc.base64String({ maxLength: 200 }));
  return fc.oneof({ weight: 6, arbitrary: plain }, ...edges.map((arbitrary) => ({ weight: 1, arbitrary })));
}

function numberArbitrary(def: Def): fc.Arbitrary<number> {
  const checks = checksOf(def);
  const integer = checks.some((c) => c.check === 'number_format' && /int/.test(c.format ?? ''));
  let lo = -(2 ** 31);
  let hi = 2 ** 31;
  for (const c of checks) {
    if (c.check === 'greater_than' && c.value !== undefined) lo = c.inclusive ? c.value : c.value + 1;
    if (c.check === 'less_than' && c.value !== undefined) hi = c.inclusive ? c.value : c.value - 1;
  }
  const inRange = integer
    ? fc.integer({ min: Math.max(lo, -(2 ** 31)), max: Math.min(hi, 2 ** 31) })
    : fc.double({ min: lo, max: hi, noNaN: true });
  // Ids are small in a fuzz workspace: bias towards ones that exist.
  const small = fc.integer({ min: Math.max(lo, 0), max: Math.max(Math.min(hi, 40), Math.max(lo, 0)) });
  return fc.oneof(
    { weight: 4, arbitrary: small },
    { weight: 3, arbitrary: inRange },
    { weight: 1, arbitrary: fc.constantFrom(lo - 1, lo, hi, hi + 1, 0.5, -0, 2 ** 53 + 2) },
  );
}

/**
 * Values for `schema`. `overrides` replace the generator of object fields with those names (at
 * any depth); `junk` is the weight of junk against 10 for well-typed values.
 */
export function arbitraryFor(
  schema: z.ZodType,
  overrides: Overrides = {},
  junk = 1,
  depth = 0,
): fc.Arbitrary<unknown> {
  const typed = typedArbitrary(schema, overrides, junk, depth);
  if (junk === 0) return typed;
  return fc.oneof({ weight: 10, arbitrary: typed }, { weight: junk, arbitrary: junkJson });
}

function typedArbitrary(
  schema: z.ZodType,
  overrides: Overrides,
  junk: number,
  depth: number,
): fc.Arbitrary<unknown> {
  const def = defOf(schema);
  const inner = (s: z.ZodType): fc.Arbitrary<unknown> => arbitraryFor(s, overrides, junk, depth + 1);
  switch (def.type) {
    case 'object': {
      const shape = def.shape ?? {};
      const fields: Record<string, fc.Arbitrary<unknown>> = {};
      const required: string[] = [];
      for (const [key, field] of Object.entries(shape)) {
        fields[key] = overrides[key] ?? inner(field);
        const kind = defOf(field).type;
        if (kind !== 'optional' && kind !== 'default') required.push(key);
      }
      const record = fc.record(fields, { requiredKeys: required });
      // Sometimes a required field goes missing, or a key the strict schema does not know appears.
      return fc.oneof(
        { weight: 8, arbitrary: record },
        { weight: 1, arbitrary: fc.record(fields, { requiredKeys: [] }) },
        {
          weight: 1,
          arbitrary: fc
            .tuple(record, fc.constantFrom('extra', '__proto__', 'constructor', ''), junkJson)
            .map(([value, key, extra]) => {
              const copy: Record<string, unknown> = { ...(value as object) };
              Object.defineProperty(copy, key, {
                value: extra,
                enumerable: true,
                configurable: true,
                writable: true,
              });
              return copy;
            }),
        },
      );
    }
    case 'optional':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return def.innerType ? typedArbitrary(def.innerType, overrides, junk, depth) : junkJson;
    case 'nullable':
      return fc.oneof(
        { weight: 1, arbitrary: fc.constant(null) },
        {
          weight: 4,
          arbitrary: def.innerType ? typedArbitrary(def.innerType, overrides, junk, depth) : junkJson,
        },
      );
    case 'pipe':
      return def.in ? typedArbitrary(def.in, overrides, junk, depth) : junkJson;
    case 'string':
      return stringArbitrary(def);
    case 'number':
      return numberArbitrary(def);
    case 'boolean':
      return fc.boolean();
    case 'enum':
      return fc.oneof(
        { weight: 8, arbitrary: fc.constantFrom(...Object.values(def.entries ?? { x: 'x' })) },
        { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
      );
    case 'literal':
      return fc.constantFrom(...(def.values ?? [null]));
    case 'array': {
      const { min, max } = lengthLimits(def);
      if (!def.element || depth > 4) return fc.constant([]);
      const element = inner(def.element);
      const items = fc.array(element, {
        minLength: Math.min(min, 8),
        maxLength: Math.min(max, Math.max(min, 6)),
      });
      // One past the limit, when the limit is small enough to build.
      const over =
        max <= 2000 ? fc.array(element, { minLength: max + 1, maxLength: max + 1 }) : fc.constant([]);
      return fc.oneof({ weight: 8, arbitrary: items }, { weight: 1, arbitrary: over });
    }
    case 'union':
      return fc.oneof(...(def.options ?? []).map((o) => typedArbitrary(o, overrides, junk, depth)));
    default:
      return junkJson;
  }
}
