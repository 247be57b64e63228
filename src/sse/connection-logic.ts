/**
 * The connection machine with real effects: what a session spawns for each stream. Its
 * `openStream` reads from the upstream the request names: a stdio server process for a
 * `stdio:` upstream, HTTP for any other URL; for a session whose upstream speaks
 * 2026-07-28, HTTP through the era bridge (src/era/). The session's `exchange` (a one-shot
 * POST, machines/exchange.ts) runs the same reader, and hands it to the connection when the
 * answer is more than one JSON body.
 */
import { fromCallback } from 'xstate';
import { connectionMachine } from '../../machines/connection.machine.js';
import type { ReaderInbound, StreamRequest } from '../../machines/connection.types.js';
import { type EraReaderOptions, eraReader } from '../era/era-reader.js';
import { stdioReader } from '../upstream/stdio-reader.js';
import { adoptingReader, exchangeLogic, Handovers } from './exchange.js';
import { httpReader, type StreamReaderOptions } from './stream-reader.js';

export const STDIO_SCHEME = 'stdio:';
export const isStdioUrl = (url: string) => url.startsWith(STDIO_SCHEME);

export interface StreamLogicOptions extends StreamReaderOptions {
  era?: EraReaderOptions | undefined;
  /** How long an exchange waits for a complete one-shot answer before a connection takes over. Default 1 s. */
  handoverAfterMs?: number | undefined;
}

/** The session's `connection` and `exchange` actors, sharing one reader and its handovers. */
export function createStreamLogic(options: StreamLogicOptions = {}) {
  const http = httpReader(options);
  const web = options.era ? eraReader(http, options.era) : http;
  const handovers = new Handovers();
  const exchange = exchangeLogic(web, { handovers, handoverAfterMs: options.handoverAfterMs });
  // One reader logic for all: which one runs is the request's business, not the session's.
  const read = adoptingReader(web, handovers);
  const openStream = fromCallback<ReaderInbound, StreamRequest>((params) =>
    isStdioUrl(params.input.url) ? stdioReader(params) : read(params),
  );
  return { connection: connectionMachine.provide({ actors: { openStream } }), exchange };
}

export const createConnectionLogic = (options: StreamLogicOptions = {}) => createStreamLogic(options).connection;

export type ConnectionLogic = ReturnType<typeof createConnectionLogic>;
