/**
 * `--inspect`: every actor's events and snapshots to the Stately inspector over a WebSocket
 * (`@statelyai/inspect`). Message bodies and header values are redacted unless payloads are
 * asked for, because they can hold user data and credentials.
 */
import { createWebSocketInspector, type StatelyInspectionEvent } from '@statelyai/inspect';
import type { InspectionEvent, Observer } from 'xstate';
import { redact } from './admin/redact.js';

export const DEFAULT_INSPECT_URL = 'ws://127.0.0.1:8181';

export interface InspectHook {
  inspect: Observer<InspectionEvent>;
  stop(): void;
}

/** A Stately inspection event with message bodies and header values taken out. */
function redactInspection<T extends StatelyInspectionEvent>(event: T): T {
  const out: Record<string, unknown> = { ...event };
  // An actor's input (a reader's request body and headers) and output are in its snapshot too.
  if ('snapshot' in event && event.snapshot) {
    const { context, input, output, ...rest } = event.snapshot as Record<string, unknown>;
    out.snapshot = { ...rest, context: redact(context), input: redact(input), output: redact(output) };
  }
  if ('event' in event && event.event) out.event = redact(event.event);
  return out as T;
}

export function createInspectHook(options: { url: string; payloads?: boolean }): InspectHook {
  const inspector = createWebSocketInspector({
    url: options.url,
    ...(options.payloads ? {} : { serialize: redactInspection }),
  });
  return { inspect: inspector.inspect, stop: () => inspector.stop() };
}
