import { channelOverPort } from '../src/carrier';
import { defaultRecentFile, serveCore } from '../src/core';

/**
 * The entry of the core's utilityProcess (built to out/main/core.js). Main sends one message
 * carrying a MessagePort; the core speaks the contract over that port (src/carrier/protocol.ts)
 * and the process ends once the core has stopped or main went away.
 */
process.parentPort.once('message', (event) => {
  const [port] = event.ports;
  if (!port) {
    process.exit(1);
  }
  serveCore(channelOverPort(port), {
    onStopped: () => setImmediate(() => process.exit(0)),
    // The switcher's recent list and the gateway notes that suggest a client's workspace.
    workspaces: { recentFile: defaultRecentFile(), watchNetwork: true },
  });
});
