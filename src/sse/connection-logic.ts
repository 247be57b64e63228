import { connectionMachine } from '../../machines/connection.machine.js';
import { createStreamReader, type StreamReaderOptions } from './stream-reader.js';

/** The connection machine with real HTTP: what a session spawns for each stream. */
export function createConnectionLogic(options: StreamReaderOptions = {}) {
  return connectionMachine.provide({ actors: { openStream: createStreamReader(options) } });
}

export type ConnectionLogic = ReturnType<typeof createConnectionLogic>;
