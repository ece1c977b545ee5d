export * from './workspace';
export * from './settings';
export * from './audit-log';
export * from './tasks';
export * from './hosts';
export { now } from './time';
export { LATEST_SCHEMA_VERSION } from './migrations';
export * from './credentials';
