import type { ChildProcess } from 'node:child_process';
import type { Channel, ToCore, ToMain } from './protocol';

/**
 * The ends of a Channel over the transports the core's process can have. None imports
 * `electron`: the MessagePort end takes Electron's MessagePortMain by its shape.
 */

/** A Channel from a way to send, and a one-shot close that tells every listener once. */
function channelOf(post: (message: ToCore | ToMain) => void, shut: () => void) {
  const messageListeners: ((message: unknown) => void)[] = [];
  const closeListeners: ((reason: string) => void)[] = [];
  let closedWith: string | null = null;
  const channel: Channel = {
    send(message) {
      if (closedWith === null) post(message);
    },
    onMessage: (listener) => void messageListeners.push(listener),
    onClose(listener) {
      if (closedWith !== null) listener(closedWith);
      else closeListeners.push(listener);
    },
    close() {
      shut();
    },
  };
  return {
    channel,
    deliver(message: unknown): void {
      if (closedWith !== null) return;
      for (const listener of messageListeners) listener(message);
    },
    gone(reason: string): void {
      if (closedWith !== null) return;
      closedWith = reason;
      for (const listener of closeListeners.splice(0)) listener(reason);
    },
  };
}

/** How a process ended, in words. */
export function exitReason(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `was stopped by ${signal}` : `exited with code ${code ?? 'unknown'}`;
}

/** Main's end over a `child_process.fork` child (started with an IPC channel). */
export function channelToChild(child: ChildProcess): Channel {
  const { channel, deliver, gone } = channelOf(
    (message) => {
      // A send after the child died fails in its callback; the 'exit' below tells the listeners.
      if (child.connected) child.send(message, (error) => void error);
    },
    () => {
      if (child.connected) child.disconnect();
    },
  );
  child.on('message', deliver);
  child.once('exit', (code, signal) => gone(`the core's process ${exitReason(code, signal)}`));
  child.once('error', (error) => gone(`the core's process could not run: ${error.message}`));
  return channel;
}

/** The core's end inside a `child_process.fork` child. */
export function channelToParent(proc: NodeJS.Process = process): Channel {
  if (!proc.send) throw new Error('This process was not started with an IPC channel.');
  const { channel, deliver, gone } = channelOf(
    (message) => {
      if (proc.connected) proc.send!(message, undefined, undefined, (error) => void error);
    },
    () => {
      if (proc.connected) proc.disconnect?.();
    },
  );
  proc.on('message', deliver);
  proc.once('disconnect', () => gone('the main process went away'));
  return channel;
}

/** The shape of Electron's MessagePortMain that a Channel needs. */
export interface MessagePortLike {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (event: { data: unknown }) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  start(): void;
  close(): void;
}

/**
 * An end over a MessagePort (Electron's MessagePortMain, in main and in the utilityProcess).
 * `whenGone` lets the owner report a better reason than the port's close (the process's exit code).
 */
export function channelOverPort(
  port: MessagePortLike,
  whenGone?: (report: (reason: string) => void) => void,
): Channel {
  const { channel, deliver, gone } = channelOf(
    (message) => port.postMessage(message),
    () => port.close(),
  );
  port.on('message', (event) => deliver(event.data));
  port.on('close', () => gone('the other side closed the channel'));
  whenGone?.(gone);
  port.start();
  return channel;
}
