// The door of util/: small helpers every capability may use (errors, text, CSV, clock, paths, logging).
export * from './clock';
export * from './csv';
export * from './errors';
export * from './log';
export * from './package-root';
export * from './paths';
export * from './text';
