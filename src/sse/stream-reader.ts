/**
 * The `openStream` actor of the connection machine: makes one HTTP request with undici and
 * turns its response into ReaderEvents. It never decides anything; classification, retry
 * and timing live in machines/connection.machine.ts.
 */
import { createParser } from 'eventsource-parser';
import { Client, type Dispatcher, request } from 'undici';
import { type CallbackLogicFunction, fromCallback } from 'xstate';
import type {
  ConnectionEvent,
  ReaderEvent,
  ReaderInbound,
  StreamEvent,
  StreamRequest,
} from '../../machines/connection.types.js';
import { parseRetryAfter } from '../../machines/delay-policy.js';
import { TimeSlice } from './time-slice.js';

export interface StreamReaderOptions {
  /** undici dispatcher (Agent, Pool, MockAgent) for every request; default: see `pool`. */
  dispatcher?: Dispatcher | undefined;
  /**
   * Without `dispatcher`: the pool for requests that end by themselves (a POST and its answer),
   * whose sockets are kept for the next; default undici's global one. A GET gets a client of
   * its own either way.
   */
  pool?: Dispatcher | undefined;
  /** Largest SSE event or JSON body accepted, in bytes. Default 16 MiB. */
  maxMessageBytes?: number | undefined;
  /** Wall clock for Retry-After dates. Default Date.now. */
  now?: (() => number) | undefined;
}

const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
/** Why a reader aborts its request: the connection stopped it. Nobody reads it but undici. */
const STOPPED = Object.assign(new Error('stream stopped by its connection'), { name: 'AbortError' });
const ERROR_SNIPPET_BYTES = 2048;
/** A 401 or 403 goes to the client as it came (authorization metadata and all), up to this much. */
const AUTH_BODY_BYTES = 64 * 1024;

function header(headers: Record<string, string | string[] | undefined>, name: string): string | null {
  const value = headers[name];
  return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
}

/** Parses JSON once, here, so the connection and the session can both look inside. */
export function toStreamEvent(id: string | undefined, event: string | undefined, data: string): StreamEvent {
  let message: unknown;
  if (data !== '') {
    try {
      message = JSON.parse(data);
    } catch {
      message = undefined;
    }
  }
  return { id, event, data, message };
}

async function readText(body: AsyncIterable<Buffer>, limit: number): Promise<{ text: string; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size > limit) return { text: Buffer.concat(chunks).subarray(0, limit).toString('utf8'), truncated: true };
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated: false };
}

function errorCode(error: unknown): string | undefined {
  const code =
    (error as { code?: unknown; cause?: { code?: unknown } }).code ??
    (error as { cause?: { code?: unknown } }).cause?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The reader as a callback function, so that another reader can hand a request on to it. */
export function httpReader(
  options: StreamReaderOptions = {},
): CallbackLogicFunction<ReaderInbound, ConnectionEvent, StreamRequest> {
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const now = options.now ?? Date.now;

  return ({ input, sendBack }) => {
    const controller = new AbortController();
    let stopped = false;
    /** The response has been read to its end: nothing left to abort. */
    let drained = false;
    const send = (event: ReaderEvent) => {
      if (!stopped) sendBack(event);
    };
    // A GET (the standalone stream, a resume) holds its connection for its whole life and
    // ends by abort, which closes the socket: nothing to reuse. Through a shared pool, every
    // such stream left a client behind for good (undici pools never drop idle clients), and
    // each later request scanned them all: after 9 500 open streams, 24 MB kept and every
    // request slower (docs/benchmarks.md, sessions). So a GET gets a client of its own.
    const ownClient = options.dispatcher || input.method !== 'GET' ? undefined : new Client(new URL(input.url).origin);
    const dispatcher = options.dispatcher ?? ownClient ?? options.pool;

    const run = async () => {
      const response = await request(input.url, {
        method: input.method,
        headers: input.headers,
        body: input.body ?? null,
        signal: controller.signal,
        ...(dispatcher ? { dispatcher } : {}),
        // The machine owns every timeout (connect, heartbeat); undici's would cut idle streams.
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      const contentType = header(response.headers, 'content-type');
      const base = {
        type: 'stream.response' as const,
        status: response.statusCode,
        contentType,
        retryAfterMs: parseRetryAfter(header(response.headers, 'retry-after'), now()),
        sessionId: header(response.headers, 'mcp-session-id') ?? undefined,
      };
      if (response.statusCode < 200 || response.statusCode > 299 || response.statusCode === 202) {
        const auth = response.statusCode === 401 || response.statusCode === 403;
        const { text, truncated } = await readText(response.body, auth ? AUTH_BODY_BYTES : ERROR_SNIPPET_BYTES);
        const wwwAuthenticate = header(response.headers, 'www-authenticate') ?? undefined;
        send({ ...base, bodySnippet: text || undefined, ...(wwwAuthenticate ? { wwwAuthenticate } : {}) });
        drained = !truncated;
        return;
      }
      const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
      if (mediaType === 'application/json') {
        send(base);
        const { text, truncated } = await readText(response.body, maxBytes);
        drained = !truncated;
        if (truncated) throw Object.assign(new Error(`JSON body larger than ${maxBytes} bytes`), { code: 'ETOOBIG' });
        send({ type: 'stream.event', ...toStreamEvent(undefined, undefined, text) });
        send({ type: 'stream.end' });
        return;
      }
      send(base);
      if (mediaType !== 'text/event-stream') {
        await response.body.dump();
        return;
      }
      let parseError: Error | undefined;
      // The events of one chunk go to the connection together: one step for the run, not one
      // per event (docs/benchmarks.md, sse).
      let run: StreamEvent[] = [];
      const sendRun = () => {
        const [first] = run;
        if (first === undefined) return;
        send(run.length === 1 ? { type: 'stream.event', ...first } : { type: 'stream.events', events: run });
        run = [];
      };
      const parser = createParser({
        maxBufferSize: maxBytes,
        onEvent: ({ id, event, data }) => {
          run.push(toStreamEvent(id, event, data));
        },
        // A hint goes after the events before it, as it came.
        onRetry: (ms) => {
          sendRun();
          send({ type: 'stream.retry', ms });
        },
        onError: (error) => {
          if (error.type === 'max-buffer-size-exceeded') parseError = error;
        },
      });
      const decoder = new TextDecoder();
      const slice = new TimeSlice();
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        parser.feed(decoder.decode(chunk, { stream: true }));
        // Comments and partial events are activity too: the stream is not stalled.
        if (run.length === 0) send({ type: 'stream.bytes' });
        else sendRun();
        if (parseError) throw Object.assign(parseError, { code: 'ETOOBIG' });
        if (slice.due()) await slice.yield();
      }
      send({ type: 'stream.end' });
    };

    run()
      .catch((error: unknown) => {
        send({ type: 'stream.error', message: (error as Error).message ?? String(error), code: errorCode(error) });
      })
      .finally(() => ownClient?.destroy().catch(() => {}));

    return () => {
      stopped = true;
      // A JSON answer read to its end needs no abort; others get a reason made once, since
      // the default one is a DOMException with a (source-mapped) stack, every time.
      if (!drained) controller.abort(STOPPED);
      // undici holds an abort until the request reaches a connection: a GET stopped while its
      // own client still connects would wait there, socket and all. Destroying the client
      // ends it at once.
      ownClient?.destroy().catch(() => {});
    };
  };
}

export const createStreamReader = (options: StreamReaderOptions = {}) => fromCallback(httpReader(options));
