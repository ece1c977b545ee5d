import path from 'node:path';
import { MessageChannelMain, utilityProcess } from 'electron';
import { channelOverPort, lowerCorePriority, type Channel } from '../src/carrier';

/**
 * Starts the core in an Electron utilityProcess (as VS Code runs its shared process) and returns
 * main's end of a MessagePort to it, the process a little below main's priority. Everything said
 * over the port is in src/carrier.
 */
export function forkCore(): Channel {
  const child = utilityProcess.fork(path.join(import.meta.dirname, 'core.js'), [], {
    serviceName: 'Patchdeck core',
    stdio: 'inherit',
  });
  // Background work: when the core and the window both want a CPU, the window gets it.
  child.once('spawn', () => lowerCorePriority(child.pid));
  const { port1, port2 } = new MessageChannelMain();
  child.postMessage({ t: 'port' }, [port2]);
  return channelOverPort(port1, (report) =>
    child.once('exit', (code) => report(`the core's process exited with code ${code}`)),
  );
}
