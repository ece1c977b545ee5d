/** The advisory snapshot, matching, risk tiers, due dates and exceptions (issue 13). */
export * from './types';
export * from './ecosystem';
export * from './version/index';
