export * from './contract';
export * from './router';
export { EventBus } from './event-bus';
export * as schemas from './schemas';
