import { z } from 'zod';
import type { ReportTable } from '../api';
import { ComplianceReport } from './compliance';
import { reportSchemaId } from './json';
import { OwnerReport } from './owner';
import { CSV_COLUMNS, type CsvType } from './tables';

/**
 * The published JSON Schemas of the reports (docs/schemas/): the owner and compliance reports'
 * `report` member, from their zod schemas, and one row of each CSV table as an object of the
 * header's columns. `npm run report-schemas` writes them; a test fails when a committed file
 * differs from what this module generates, so a field or a column never ships undescribed.
 */

export type SchemaFile = { name: string; schema: Record<string, unknown> };

const CELL: Record<CsvType, { pattern: string; description: string }> = {
  int: { pattern: '^[0-9]+$', description: 'a whole number' },
  number: { pattern: '^-?[0-9]+(\\.[0-9]+)?(e-?[0-9]+)?$', description: 'a decimal number' },
  text: { pattern: '', description: 'text' },
  time: {
    pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$',
    description: 'an ISO 8601 UTC instant',
  },
  yesno: { pattern: '^(yes|no)$', description: 'yes or no' },
};

function reportSchema(kind: 'owner' | 'compliance'): Record<string, unknown> {
  const generated = z.toJSONSchema(kind === 'owner' ? OwnerReport : ComplianceReport, {
    target: 'draft-2020-12',
  }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: reportSchemaId(kind),
    title: kind === 'owner' ? "Patchdeck owner's report" : 'Patchdeck compliance report',
    description: `The "report" member of a Patchdeck ${kind} report's JSON (patchdeck report ${kind} --format json); schemaVersion 1.`,
    ...rest,
  };
}

function csvSchema(table: ReportTable): Record<string, unknown> {
  const columns = CSV_COLUMNS[table];
  const properties: Record<string, unknown> = {};
  for (const c of columns) {
    const cell = CELL[c.type];
    properties[c.name] = {
      type: 'string',
      description: `${c.description} (${cell.description}${c.optional ? ', or empty' : ''})`,
      ...(c.type === 'text' ? {} : { pattern: c.optional ? `(${cell.pattern})|^$` : cell.pattern }),
    };
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `https://patchdeck.invalid/schemas/csv-${table}-1.json`,
    title: `One row of Patchdeck's ${table} CSV`,
    description: `A row of patchdeck report … --format csv --table ${table}, as an object of its header's columns (every cell is text; a cell starting with = + - @ is written with a leading apostrophe).`,
    type: 'object',
    properties,
    required: columns.map((c) => c.name),
    additionalProperties: false,
  };
}

/** Every published schema file, as `npm run report-schemas` writes it. */
export function reportSchemaFiles(): SchemaFile[] {
  return [
    { name: 'report-owner.schema.json', schema: reportSchema('owner') },
    { name: 'report-compliance.schema.json', schema: reportSchema('compliance') },
    ...(['findings', 'hosts', 'jobs'] as const).map((table) => ({
      name: `csv-${table}.schema.json`,
      schema: csvSchema(table),
    })),
  ];
}

/** A schema file's bytes: two-space JSON and a final newline (so a diff reads well). */
export function schemaText(file: SchemaFile): string {
  return `${JSON.stringify(file.schema, null, 2)}\n`;
}
