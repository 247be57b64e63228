/**
 * The reader of a 2025 session's streams when its upstream speaks 2026-07-28: each client
 * message becomes what the modern upstream understands, or is served here when the modern
 * era removed it, and the upstream's answers become what a 2025 client understands. To the
 * connection machine it is a reader like any other (the same ReaderEvents), so reconnects,
 * backoff, stalls and the event log work as for every stream.
 *
 * - requests: the `_meta` envelope and the request headers (modern-wire.ts); `resultType`
 *   dropped from results; an error the upstream answers with HTTP 400 or 404 (its validation
 *   ladder) goes to the client in-band, as 2025 servers answer;
 * - tools/call, resources/read, prompts/get: their `input_required` rounds
 *   (machines/input-round.machine.ts) with the client asked on the call's stream;
 * - served here: `ping`, `logging/setLevel`, `resources/(un)subscribe` (the listen filter),
 *   the client's notifications (`notifications/cancelled` aborts the call upstream: "closing
 *   the stream is the cancellation"), its answers to the requests for input;
 * - GET: a `subscriptions/listen` stream (listen-stream.ts).
 */

import { type CallbackLogicFunction, createActor, fromCallback } from 'xstate';
import type { ConnectionEvent, ReaderEvent, ReaderInbound, StreamRequest } from '../../machines/connection.types.js';
import { MODERN_ERROR_CODES } from '../../machines/era-rules.js';
import {
  type InputRoundEvent,
  type InputRoundInput,
  inputRoundMachine,
  type UpstreamCall,
} from '../../machines/input-round.machine.js';
import { isRecord, isResponse } from '../../machines/jsonrpc.js';
import { listenStream } from './listen-stream.js';
import {
  errorInBody,
  forSessionClient,
  initializeResult,
  jsonRpcError,
  type Message,
  modernHeaders,
  withEnvelope,
} from './modern-wire.js';
import type { SessionBridge } from './session-bridge.js';

export type Reader = CallbackLogicFunction<ReaderInbound, ConnectionEvent, StreamRequest>;
export type ReaderParams = Parameters<Reader>[0];

export interface ModernReaderOptions {
  /** The HTTP reader every upstream request goes through. */
  http: Reader;
  /** While the proxy waits for the client (or holds a listen stream itself), activity this often. Default 10 s. */
  keepAliveMs?: number | undefined;
  rounds?: Pick<InputRoundInput, 'maxRounds' | 'roundTimeoutMs' | 'statePauseMs'> | undefined;
}

const DEFAULT_KEEP_ALIVE_MS = 10_000;
/** The methods that may answer `input_required` (2026-07-28 basic/patterns/mrtr). */
const ROUND_METHODS = new Set(['tools/call', 'resources/read', 'prompts/get']);

/** One upstream POST through the HTTP reader, its events to `on`; returns its stop. */
export function upstreamPost(
  http: Reader,
  params: ReaderParams,
  body: Message,
  headers: Record<string, string>,
  on: (event: ReaderEvent) => void,
): () => void {
  const input: StreamRequest = { ...params.input, method: 'POST', headers, body: JSON.stringify(body) };
  const cleanup = http({
    ...params,
    input,
    // The bridge reads its upstream's answers one event at a time: a run of them comes apart.
    sendBack: (event) => {
      const read = event as ReaderEvent;
      if (read.type !== 'stream.events') return on(read);
      for (const one of read.events) on({ type: 'stream.event', ...one });
    },
    receive: () => {},
  });
  return typeof cleanup === 'function' ? cleanup : () => {};
}

/** One upstream request whose answer the proxy needs itself (a tools/list to learn headers). */
function ask(
  http: Reader,
  params: ReaderParams,
  bridge: SessionBridge,
  message: Message,
): Promise<Message | undefined> {
  return new Promise((resolve) => {
    const body = withEnvelope(message, bridge);
    let stop = () => {};
    const finish = (answer: Message | undefined) => {
      stop();
      resolve(answer);
    };
    stop = upstreamPost(http, params, body, modernHeaders(params.input.headers, body, bridge), (event) => {
      if (event.type === 'stream.response' && (event.status < 200 || event.status > 299)) finish(undefined);
      if (event.type === 'stream.event' && isRecord(event.message) && event.message.id === message.id) {
        finish(event.message);
      }
      if (event.type === 'stream.end' || event.type === 'stream.error') finish(undefined);
    });
  });
}

/** Every page of `tools/list`, so that calls carry their tools' `Mcp-Param-*` headers. */
async function learnTools(http: Reader, params: ReaderParams, bridge: SessionBridge): Promise<void> {
  let cursor: string | undefined;
  for (let page = 0; page < 100; page++) {
    const id = `${bridge.mintCallPrefix()}:tools`;
    const answer = await ask(http, params, bridge, {
      jsonrpc: '2.0',
      id,
      method: 'tools/list',
      params: cursor ? { cursor } : {},
    });
    const result = answer && isRecord(answer.result) ? answer.result : undefined;
    if (!result) return;
    bridge.learnTools(result, page === 0);
    cursor = typeof result.nextCursor === 'string' ? result.nextCursor : undefined;
    if (!cursor) return;
  }
}

export function modernReader(bridge: SessionBridge, options: ModernReaderOptions): Reader {
  const { http } = options;
  const keepAliveMs = options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS;
  return (params) => {
    const { input, sendBack } = params;
    let stopped = false;
    const stops: Array<() => void> = [];
    const send = (event: ReaderEvent) => {
      if (!stopped) sendBack(event);
    };
    const cleanup = () => {
      stopped = true;
      for (const stop of stops.splice(0)) stop();
    };
    const deliver = (message: Message) => send({ type: 'stream.event', data: JSON.stringify(message), message });
    const answerHere = (message: Message) => {
      send({ type: 'stream.response', status: 200, contentType: 'application/json' });
      deliver(message);
      send({ type: 'stream.end' });
    };
    const accepted = () => send({ type: 'stream.response', status: 202, contentType: null });

    if (input.method === 'GET') {
      stops.push(listenStream(bridge, { http, params, send, keepAliveMs }));
      return cleanup;
    }

    let message: unknown;
    try {
      message = JSON.parse(input.body ?? '');
    } catch {
      message = undefined;
    }
    if (Array.isArray(message)) {
      // 2025-03-26 batches: the modern era has none, and 2025-06-18 removed them.
      const errors = message
        .filter((m) => isRecord(m) && 'id' in m && 'method' in m)
        .map((m) => jsonRpcError(m.id, -32600, 'batches cannot be sent to a 2026-07-28 upstream'));
      if (errors.length === 0) accepted();
      else {
        send({ type: 'stream.response', status: 200, contentType: 'text/event-stream' });
        for (const error of errors) deliver(error);
        send({ type: 'stream.end' });
      }
      return cleanup;
    }
    if (!isRecord(message)) {
      answerHere(jsonRpcError(null, -32700, 'not a JSON-RPC message'));
      return cleanup;
    }
    if (isResponse(message)) {
      // The client's answer to a request for input; one to nothing waiting is dropped.
      bridge.deliverAnswer(message);
      accepted();
      return cleanup;
    }
    const method = String(message.method);
    const params_ = isRecord(message.params) ? message.params : {};
    if (!('id' in message)) {
      // "notifications/cancelled ... on HTTP, closing the request's SSE stream is the cancellation."
      if (method === 'notifications/cancelled') {
        const { requestId } = params_;
        if (typeof requestId === 'string' || typeof requestId === 'number') bridge.cancel(requestId);
      }
      accepted();
      return cleanup;
    }
    switch (method) {
      // Removed in 2026-07-28; the session is the proxy's, so it answers them.
      case 'initialize':
        bridge.takeInitialize(params_);
        answerHere(initializeResult(message, bridge.discover));
        return cleanup;
      case 'ping':
        answerHere({ jsonrpc: '2.0', id: message.id, result: {} });
        return cleanup;
      case 'logging/setLevel':
        bridge.logLevel = typeof params_.level === 'string' ? params_.level : undefined;
        answerHere({ jsonrpc: '2.0', id: message.id, result: {} });
        return cleanup;
      case 'resources/subscribe':
      case 'resources/unsubscribe':
        if (typeof params_.uri !== 'string') {
          answerHere(jsonRpcError(message.id, -32602, `${method} needs a uri`));
          return cleanup;
        }
        bridge.subscribe(params_.uri, method === 'resources/subscribe');
        answerHere({ jsonrpc: '2.0', id: message.id, result: {} });
        return cleanup;
    }
    const request = message as Message & { id: string | number };
    const start = () => {
      if (stopped) return;
      if (ROUND_METHODS.has(method)) stops.push(...roundTrip(request));
      else stops.push(forward(request));
    };
    const tool = method === 'tools/call' && typeof params_.name === 'string' ? params_.name : undefined;
    if (tool !== undefined && !bridge.knowsTool(tool)) void learnTools(http, params, bridge).then(start, start);
    else start();
    return cleanup;

    /** A request with one answer: passed on, and its answer made a 2025 one. */
    function forward(request: Message & { id: string | number }): () => void {
      let over = false;
      const body = withEnvelope(request, bridge);
      const stop = upstreamPost(http, params, body, modernHeaders(input.headers, body, bridge), (event) => {
        if (over) return;
        if (event.type === 'stream.response' && isLadderError(event)) {
          over = true;
          const error = errorInBody(event.bodySnippet) as Message;
          return answerHere({ ...error, id: request.id });
        }
        if (event.type !== 'stream.event') return send(event);
        const upstream = event.message;
        if (!isRecord(upstream)) return send({ ...event, id: undefined });
        if (isResponse(upstream)) {
          let answer = forSessionClient(upstream);
          if (request.method === 'tools/list' && isRecord(answer.result)) {
            const cursor = isRecord(request.params) ? request.params.cursor : undefined;
            answer = { ...answer, result: bridge.learnTools(answer.result, cursor === undefined) };
          }
          return deliver(answer);
        }
        // The upstream "MUST NOT send JSON-RPC requests on any stream".
        if (!('id' in upstream)) send({ ...event, id: undefined });
      });
      const untrack = bridge.trackCall(request.id, () => {
        over = true;
        stop();
        send({ type: 'stream.end' });
      });
      return () => {
        untrack();
        stop();
      };
    }

    /** A call that may need the client's input, round after round. */
    function roundTrip(request: Message & { id: string | number }): Array<() => void> {
      let committed = false;
      /** The connection hears of the first exchange as of any upstream's: a 503 is retried, a 401 passed on. */
      let actor: ReturnType<typeof createActor<typeof inputRoundMachine>> | undefined;
      const commit = () => {
        if (committed) return;
        committed = true;
        send({ type: 'stream.response', status: 200, contentType: 'text/event-stream' });
      };
      const passOn = (event: ReaderEvent) => {
        actor?.stop();
        send(event);
      };
      const callUpstream = fromCallback<InputRoundEvent, UpstreamCall>(({ input: call, sendBack: toRound }) => {
        let answered = false;
        let relisted = false;
        let stop = () => {};
        const post = () => {
          const body = withEnvelope({ jsonrpc: '2.0', id: call.id, method: call.method, params: call.params }, bridge);
          stop = upstreamPost(http, params, body, modernHeaders(input.headers, body, bridge), (event) => {
            if (answered) return;
            switch (event.type) {
              case 'stream.response': {
                if (event.status >= 200 && event.status <= 299) return commit();
                const error = isLadderError(event) ? errorInBody(event.bodySnippet) : undefined;
                if (error === undefined) {
                  if (!committed) return passOn(event);
                  answered = true;
                  return toRound({ type: 'upstream.failed', detail: `HTTP ${event.status}` });
                }
                // A header the upstream missed: the tool's declarations may have changed; learn them once.
                const code = (error.error as { code?: unknown }).code;
                if (code === MODERN_ERROR_CODES.headerMismatch && call.method === 'tools/call' && !relisted) {
                  relisted = true;
                  stop();
                  bridge.forgetTools();
                  void learnTools(http, params, bridge).then(post, post);
                  return;
                }
                commit();
                answered = true;
                return toRound({ type: 'upstream.answer', message: { ...error, id: call.id } });
              }
              case 'stream.event': {
                const upstream = event.message;
                if (!isRecord(upstream)) return;
                if (isResponse(upstream)) {
                  if (upstream.id !== call.id) return;
                  answered = true;
                  return toRound({ type: 'upstream.answer', message: upstream });
                }
                if (!('id' in upstream)) toRound({ type: 'upstream.notification', message: upstream });
                return;
              }
              case 'stream.bytes':
                return send(event);
              case 'stream.end':
                answered = true;
                return toRound({ type: 'upstream.failed', detail: 'the upstream stream ended without an answer' });
              case 'stream.error':
                if (!committed) return passOn(event);
                answered = true;
                return toRound({ type: 'upstream.failed', detail: event.message });
            }
          });
        };
        post();
        return () => stop();
      });

      const round = createActor(inputRoundMachine.provide({ actors: { callUpstream } }), {
        input: {
          request: {
            id: request.id,
            method: String(request.method),
            params: isRecord(request.params) ? request.params : {},
          },
          clientCapabilities: bridge.clientCapabilities,
          idPrefix: bridge.mintCallPrefix(),
          ...options.rounds,
        },
      });
      actor = round;
      const waiting: Array<() => void> = [];
      round.on('round.send', ({ message }) => {
        if (typeof message.id === 'string' && typeof message.method === 'string') {
          waiting.push(
            bridge.awaitAnswer(message.id, (answer) => round.send({ type: 'client.answer', message: answer })),
          );
        }
        deliver(message);
      });
      round.subscribe({
        complete: () => {
          // Also called when the round is stopped: only a finished round has an answer.
          const { status, output } = round.getSnapshot();
          if (status !== 'done' || !output) return;
          commit();
          deliver(forSessionClient(output.message));
          send({ type: 'stream.end' });
        },
      });
      // Waiting for the client is not a stalled stream.
      const keepAlive = setInterval(() => {
        if (!round.getSnapshot().matches('calling')) send({ type: 'stream.bytes' });
      }, keepAliveMs);
      const untrack = bridge.trackCall(request.id, () => {
        round.stop();
        send({ type: 'stream.end' });
      });
      round.start();
      return [
        () => round.stop(),
        () => clearInterval(keepAlive),
        untrack,
        () => {
          for (const stopWaiting of waiting) stopWaiting();
        },
      ];
    }
  };
}

/** A 4xx the upstream's validation ladder answered with a JSON-RPC error (not an authorization answer). */
function isLadderError(event: Extract<ReaderEvent, { type: 'stream.response' }>): boolean {
  return (
    event.status >= 400 &&
    event.status < 500 &&
    event.status !== 401 &&
    event.status !== 403 &&
    errorInBody(event.bodySnippet) !== undefined
  );
}
