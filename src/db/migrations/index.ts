import { migration001 } from './001_initial';
import type { Migration } from './types';

export type { Migration } from './types';

/** Every migration, in order. Append only; never edit one that has shipped. */
export const migrations: readonly Migration[] = [migration001];

export const LATEST_SCHEMA_VERSION = migrations[migrations.length - 1]!.version;
