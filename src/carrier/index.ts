/**
 * The carrier between the process that serves the windows and the core's own process: the
 * message protocol, the ends of its channel (a fork's IPC, an Electron MessagePort), and main's
 * CoreClient. The core's side is src/core/host (serveCore, exported by src/core).
 */
export { CoreClient, type CoreClientOptions } from './client';
export { forkNodeCore, type ForkedCore } from './fork';
export { bundleNodeCore } from './bundle';
export { CORE_PROCESS_NICE, lowerCorePriority } from './priority';
export {
  channelOverPort,
  channelToChild,
  channelToParent,
  exitReason,
  type MessagePortLike,
} from './channel';
export {
  checkToCore,
  checkToMain,
  errorShape,
  fitsBudget,
  MAX_MESSAGE_UNITS,
  type Carrier,
  type Channel,
  type Checked,
  type PlatformFacts,
  type PlatformRequest,
  type ToCore,
  type ToMain,
} from './protocol';
