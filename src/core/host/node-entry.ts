import { channelToParent } from '../../carrier';
import { serveCore } from './serve';

/**
 * The entry of the core's process under Node (`child_process.fork`, see src/carrier/fork.ts): serves the
 * core over the fork's IPC channel and ends when the core has stopped or main went away.
 */
serveCore(channelToParent(), { onStopped: () => setImmediate(() => process.exit(0)) });
