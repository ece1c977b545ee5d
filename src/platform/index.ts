export * from './types';
export { createNodePlatform } from './node';
