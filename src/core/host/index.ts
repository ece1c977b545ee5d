/**
 * The core in a process of its own: the message protocol, both ends of the channel, main's
 * client and the core's server. Electron's glue (electron/core-host.ts, electron/core-process.ts)
 * is a few lines over these.
 */
export { CoreClient, type CoreClientOptions } from './client';
export { serveCore, type ServeCoreOptions } from './serve';
export { forkNodeCore, type ForkedCore } from './fork';
export { channelOverPort, channelToChild, channelToParent, type MessagePortLike } from './channel';
export { checkToCore, checkToMain, fitsBudget, MAX_MESSAGE_UNITS, type Channel } from './protocol';
