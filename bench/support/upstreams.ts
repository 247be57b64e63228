/** Starts the bench upstream (bench/upstream.ts) as a process of its own. */
import { type NodeChild, startNodeChild } from './node-child.js';

export interface UpstreamOptions {
  logDir: string;
  name: string;
  /** tools/call answers as one JSON body instead of an SSE stream. */
  jsonResponse?: boolean;
  /** An event store and this `retry:` hint: resumable streams. */
  retryMs?: number;
}

export function startUpstream(options: UpstreamOptions): Promise<NodeChild> {
  return startNodeChild({
    name: options.name,
    script: 'upstream.ts',
    args: [
      ...(options.jsonResponse ? ['--json-response'] : []),
      ...(options.retryMs === undefined ? [] : ['--retry-ms', String(options.retryMs)]),
    ],
    logDir: options.logDir,
  });
}
