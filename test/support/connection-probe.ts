/**
 * Runs a connection actor as the child of a small parent that records everything the child
 * tells it (status reports, events, its output), on the TestClock.
 */
import { createActor, setup } from 'xstate';
import type { ConnectionContext } from '../../machines/connection.machine.js';
import type {
  ConnectionDelivery,
  ConnectionInput,
  ConnectionOutput,
  ConnectionRunDelivery,
  ConnectionStatus,
} from '../../machines/connection.types.js';
import { createConnectionLogic } from '../../src/sse/connection-logic.js';
import type { StreamReaderOptions } from '../../src/sse/stream-reader.js';
import { TestClock } from './test-clock.js';

export interface Probe {
  clock: TestClock;
  statuses: ConnectionStatus[];
  deliveries: ConnectionDelivery[];
  output: ConnectionOutput | undefined;
  /** Event ids delivered so far, in order. */
  ids(): Array<string | undefined>;
  /** Resolves when the predicate holds (checked after each message from the child). */
  until(predicate: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Resolves with the next status report in the given state. */
  nextStatus(state: ConnectionStatus['state']): Promise<ConnectionStatus>;
  send(event: { type: 'connection.stop' }): void;
  /** The connection's context right now (undefined once it has ended). */
  context(): ConnectionContext | undefined;
  stop(): void;
}

export function probeConnection(input: ConnectionInput, reader: StreamReaderOptions = {}): Probe {
  const clock = new TestClock();
  const statuses: ConnectionStatus[] = [];
  const deliveries: ConnectionDelivery[] = [];
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of listeners) listener();
  };
  const probe: Probe = {
    clock,
    statuses,
    deliveries,
    output: undefined,
    ids: () => deliveries.map((d) => d.event.id),
    until: (predicate, what, timeoutMs = 5000) =>
      new Promise<void>((resolve, reject) => {
        if (predicate()) return resolve();
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(
            new Error(
              `timed out waiting for ${what}; statuses: ${JSON.stringify(statuses.map((s) => [s.state, s.reason]))}`,
            ),
          );
        }, timeoutMs);
        const check = () => {
          if (!predicate()) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve();
        };
        listeners.add(check);
      }),
    nextStatus: async (state) => {
      const from = statuses.length;
      await probe.until(() => statuses.slice(from).some((s) => s.state === state), `status ${state}`);
      return statuses.slice(from).find((s) => s.state === state) as ConnectionStatus;
    },
    send: (event) => actor.getSnapshot().children.connection?.send(event),
    context: () => actor.getSnapshot().children.connection?.getSnapshot().context,
    stop: () => actor.stop(),
  };

  const parent = setup({
    types: { events: {} as ConnectionStatus | ConnectionDelivery | ConnectionRunDelivery },
    actors: { connection: createConnectionLogic(reader) },
  }).createMachine({
    invoke: {
      id: 'connection',
      src: 'connection',
      input,
      onDone: {
        actions: ({ event }) => {
          probe.output = event.output;
          notify();
        },
      },
    },
    on: {
      'connection.status': {
        actions: ({ event }) => {
          statuses.push(event);
          notify();
        },
      },
      'connection.event': {
        actions: ({ event }) => {
          deliveries.push(event);
          notify();
        },
      },
      // A run is one delivery per event, as the session takes it.
      'connection.events': {
        actions: ({ event }) => {
          for (const one of event.events) deliveries.push({ type: 'connection.event', id: event.id, event: one });
          notify();
        },
      },
    },
  });
  const actor = createActor(parent, { clock });
  actor.subscribe({ error: (error) => console.error('probe parent failed', error) });
  actor.start();
  return probe;
}
