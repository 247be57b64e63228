/**
 * Picks each session's era at its initialize: the era actor of the upstream says modern or
 * legacy (upstream-eras.ts); a modern session gets a bridge (session-bridge.ts) and every
 * later stream of it the modern reader; a legacy one goes on with the HTTP reader, byte for
 * byte as before.
 */

import { MODERN_ERROR_CODES } from '../../machines/era-rules.js';
import { isRecord } from '../../machines/jsonrpc.js';
import { REINITIALIZE_STREAM_ID } from '../../machines/reinitialize.machine.js';
import { INITIALIZE_STREAM, streamChildId } from '../../machines/stream-table.js';
import { type ModernReaderOptions, modernReader, type Reader } from './modern-reader.js';
import { errorInBody, initializeResult, jsonRpcError, type Message } from './modern-wire.js';
import { SessionBridge } from './session-bridge.js';
import type { UpstreamEras } from './upstream-eras.js';

/** The bridges of the sessions whose upstream is modern, by client-facing session id. */
export class SessionBridges {
  private readonly bridges = new Map<string, SessionBridge>();

  get(sessionId: string): SessionBridge | undefined {
    return this.bridges.get(sessionId);
  }

  create(sessionId: string, discover: Record<string, unknown>): SessionBridge {
    const bridge = new SessionBridge(sessionId, discover);
    this.bridges.set(sessionId, bridge);
    return bridge;
  }

  delete(sessionId: string): void {
    this.bridges.delete(sessionId);
  }

  get size(): number {
    return this.bridges.size;
  }
}

export interface EraReaderOptions {
  eras: UpstreamEras;
  bridges: SessionBridges;
  modern?: Omit<ModernReaderOptions, 'http'> | undefined;
}

/** Headers that belong to one era's wire, not to the client: the probe carries the rest. */
const WIRE_HEADERS = new Set(['content-type', 'accept', 'mcp-protocol-version', 'mcp-session-id', 'last-event-id']);

/**
 * The readers an initialize goes through: the session's first stream and a re-initialization.
 * Only they are looked into; every other request goes straight on (this is the request path).
 */
const INITIALIZE_READERS = new Set([streamChildId(INITIALIZE_STREAM), REINITIALIZE_STREAM_ID]);

function initializeOf(readerId: string, body: string | undefined): Message | undefined {
  if (!INITIALIZE_READERS.has(readerId) || body === undefined) return undefined;
  try {
    const message = JSON.parse(body) as unknown;
    return isRecord(message) && message.method === 'initialize' && 'id' in message ? message : undefined;
  } catch {
    return undefined;
  }
}

export function eraReader(http: Reader, options: EraReaderOptions): Reader {
  const { eras, bridges } = options;
  const modernOptions = { ...options.modern, http };
  return (params) => {
    const { input, sendBack } = params;
    const session = input.session;
    const bridge = session === undefined ? undefined : bridges.get(session);
    if (bridge !== undefined) return modernReader(bridge, modernOptions)(params);
    const initialize = initializeOf(input.id, input.body);
    if (initialize === undefined || session === undefined || eras.mode === '2025') return http(params);

    let stopped = false;
    let inner: (() => void) | undefined;
    const answer = (message: Message) => {
      if (stopped) return;
      sendBack({ type: 'stream.response', status: 200, contentType: 'application/json' });
      sendBack({ type: 'stream.event', data: JSON.stringify(message), message });
      sendBack({ type: 'stream.end' });
    };
    const forwarded: Record<string, string> = {};
    for (const [name, value] of Object.entries(input.headers)) if (!WIRE_HEADERS.has(name)) forwarded[name] = value;

    const params_ = isRecord(initialize.params) ? initialize.params : {};
    const client = {
      ...(isRecord(params_.clientInfo) ? { info: params_.clientInfo } : {}),
      ...(isRecord(params_.capabilities) ? { capabilities: params_.capabilities } : {}),
    };
    void eras.decide(input.url, forwarded, client).then(({ verdict, pinned }) => {
      if (stopped) return;
      switch (verdict.kind) {
        case 'modern': {
          const created = bridges.create(session, verdict.discover);
          created.takeInitialize(isRecord(initialize.params) ? initialize.params : {});
          return answer(initializeResult(initialize, verdict.discover));
        }
        case 'modern-refusal':
          return answer({ jsonrpc: '2.0', id: initialize.id, error: verdict.error });
        case 'legacy':
          if (pinned) {
            return answer(
              jsonRpcError(initialize.id, -32603, `the upstream does not speak 2026-07-28: ${verdict.detail}`, {
                code: 'SHEPHERD_UPSTREAM_NOT_MODERN',
              }),
            );
          }
      }
      // Session era (or a credential the upstream refused: the initialize gets the same answer).
      const cleanup = http({
        ...params,
        sendBack: (event) => {
          // A modern-only upstream taken for a legacy one: the next session probes again.
          if (event.type === 'stream.response' && event.status === 400) {
            const error = errorInBody(event.bodySnippet)?.error as { code?: unknown } | undefined;
            if (error?.code === MODERN_ERROR_CODES.unsupportedVersion) eras.failed(input.url, 'refused initialize');
          }
          sendBack(event);
        },
      });
      inner = typeof cleanup === 'function' ? cleanup : undefined;
    });
    return () => {
      stopped = true;
      inner?.();
    };
  };
}
