/**
 * The connection machine with real effects: what a session spawns for each stream. Its
 * `openStream` reads from the upstream the request names: a stdio server process for a
 * `stdio:` upstream, HTTP for any other URL.
 */
import { fromCallback } from 'xstate';
import { connectionMachine } from '../../machines/connection.machine.js';
import type { ReaderInbound, StreamRequest } from '../../machines/connection.types.js';
import { stdioReader } from '../upstream/stdio-reader.js';
import { httpReader, type StreamReaderOptions } from './stream-reader.js';

export const STDIO_SCHEME = 'stdio:';
export const isStdioUrl = (url: string) => url.startsWith(STDIO_SCHEME);

export function createConnectionLogic(options: StreamReaderOptions = {}) {
  const http = httpReader(options);
  // One reader logic for both: which one runs is the request's business, not the session's.
  const openStream = fromCallback<ReaderInbound, StreamRequest>((params) =>
    isStdioUrl(params.input.url) ? stdioReader(params) : http(params),
  );
  return connectionMachine.provide({ actors: { openStream } });
}

export type ConnectionLogic = ReturnType<typeof createConnectionLogic>;
