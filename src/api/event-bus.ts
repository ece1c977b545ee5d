import { events, type EventName, type EventPayload } from './contract';

export type EventListener = <E extends EventName>(event: E, payload: EventPayload<E>) => void;

/** Fan-out of contract events to every connected carrier (IPC window, WebSocket clients, CLI). */
export class EventBus {
  private readonly listeners = new Set<EventListener>();

  emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
    // Events are validated like call results: a carrier never forwards an off-contract payload.
    const checked = events[event].parse(payload) as EventPayload<E>;
    for (const listener of this.listeners) listener(event, checked);
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
