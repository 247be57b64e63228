/**
 * `--inspect`: every actor's events and snapshots to the Stately inspector over a WebSocket
 * (`@statelyai/inspect`). Message bodies and header values are redacted unless payloads are
 * asked for, because they can hold user data and credentials.
 */
import { createWebSocketInspector } from '@statelyai/inspect';
import type { AnyEventObject, InspectionEvent, MachineContext, Observer } from 'xstate';
import { redact } from './admin/redact.js';

export const DEFAULT_INSPECT_URL = 'ws://127.0.0.1:8181';

export interface InspectHook {
  inspect: Observer<InspectionEvent>;
  stop(): void;
}

export function createInspectHook(options: { url: string; payloads?: boolean }): InspectHook {
  const inspector = createWebSocketInspector({
    url: options.url,
    ...(options.payloads
      ? {}
      : {
          sanitizeContext: (context: MachineContext) => redact(context) as MachineContext,
          sanitizeEvent: (event: AnyEventObject) => redact(event) as AnyEventObject,
        }),
  });
  return { inspect: inspector.inspect, stop: () => inspector.stop() };
}
