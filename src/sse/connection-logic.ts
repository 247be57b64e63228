/**
 * The connection machine with real effects: what a session spawns for each stream. Its
 * `openStream` reads from the upstream the request names: a stdio server process for a
 * `stdio:` upstream, HTTP for any other URL; for a session whose upstream speaks
 * 2026-07-28, HTTP through the era bridge (src/era/).
 */
import { fromCallback } from 'xstate';
import { connectionMachine } from '../../machines/connection.machine.js';
import type { ReaderInbound, StreamRequest } from '../../machines/connection.types.js';
import { type EraReaderOptions, eraReader } from '../era/era-reader.js';
import { stdioReader } from '../upstream/stdio-reader.js';
import { httpReader, type StreamReaderOptions } from './stream-reader.js';

export const STDIO_SCHEME = 'stdio:';
export const isStdioUrl = (url: string) => url.startsWith(STDIO_SCHEME);

export function createConnectionLogic(options: StreamReaderOptions & { era?: EraReaderOptions | undefined } = {}) {
  const http = httpReader(options);
  const web = options.era ? eraReader(http, options.era) : http;
  // One reader logic for all: which one runs is the request's business, not the session's.
  const openStream = fromCallback<ReaderInbound, StreamRequest>((params) =>
    isStdioUrl(params.input.url) ? stdioReader(params) : web(params),
  );
  return connectionMachine.provide({ actors: { openStream } });
}

export type ConnectionLogic = ReturnType<typeof createConnectionLogic>;
