import type { Database, Statement } from 'better-sqlite3';

const statements = new WeakMap<Database, Map<string, Statement>>();

/**
 * One prepared statement per workspace and SQL text, for the statements the ingest path and the
 * current picture's rebuild run per finding or per host (preparing them each time was a large
 * share of storing an audit).
 */
export function cached(db: Database, sql: string): Statement {
  let bySql = statements.get(db);
  if (!bySql) statements.set(db, (bySql = new Map()));
  let statement = bySql.get(sql);
  if (!statement) bySql.set(sql, (statement = db.prepare(sql)));
  return statement;
}
