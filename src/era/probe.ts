/**
 * The `server/discover` probe that tells a modern upstream from a session-era one. It
 * carries the asking client's headers (its credential), reads a JSON or an SSE answer, and
 * leaves the verdict to machines/era-rules.ts.
 */
import { type Dispatcher, request } from 'undici';
import {
  envelopeOf,
  judgeProbe,
  MODERN_VERSION,
  type ProbeAnswer,
  type ProbeVerdict,
} from '../../machines/era-rules.js';
import type { ProbeClient } from '../../machines/upstream-era.machine.js';

export const DEFAULT_PROBE_TIMEOUT_MS = 10_000;
const MAX_PROBE_BYTES = 1024 * 1024;
const PROXY_INFO = { name: 'mcp-shepherd', version: '0.1.0' };

/** The first JSON-RPC message of an SSE body, or the JSON body itself. */
function bodyMessage(text: string, contentType: string): unknown {
  try {
    if (!contentType.includes('text/event-stream')) return JSON.parse(text);
    for (const line of text.split(/\r?\n/)) {
      if (line.startsWith('data:')) return JSON.parse(line.slice(5).trim());
    }
  } catch {
    return undefined;
  }
  return undefined;
}

export function createProbe(options: { dispatcher?: Dispatcher | undefined; timeoutMs?: number | undefined } = {}) {
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const once = async (
    url: string,
    forwarded: Readonly<Record<string, string>> | undefined,
    client: ProbeClient | undefined,
  ): Promise<ProbeVerdict> => {
    const body = JSON.stringify({
      jsonrpc: '2.0',
      id: 'mcp-shepherd-discover',
      method: 'server/discover',
      params: {
        // The asking client's, as its own requests will carry them (the proxy's when none).
        _meta: envelopeOf({ capabilities: client?.capabilities, info: client?.info ?? PROXY_INFO }),
      },
    });
    let answer: ProbeAnswer;
    try {
      const response = await request(url, {
        method: 'POST',
        headers: {
          ...forwarded,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': MODERN_VERSION,
          'mcp-method': 'server/discover',
        },
        body,
        signal: AbortSignal.timeout(timeoutMs),
        ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
      });
      let text = '';
      const decoder = new TextDecoder();
      for await (const chunk of response.body as AsyncIterable<Buffer>) {
        text += decoder.decode(chunk, { stream: true });
        // One answer is all the probe reads: the first SSE event, or the whole JSON body.
        if (text.length > MAX_PROBE_BYTES || text.includes('\n\n')) break;
      }
      response.body.destroy();
      const contentType = String(response.headers['content-type'] ?? '');
      answer = {
        kind: 'http',
        status: response.statusCode,
        body: bodyMessage(text, contentType),
      };
    } catch (error) {
      const name = (error as Error).name;
      answer =
        name === 'TimeoutError' || name === 'AbortError'
          ? { kind: 'timeout' }
          : { kind: 'network', detail: (error as Error).message };
    }
    return judgeProbe(answer);
  };
  return async (
    url: string,
    forwarded: Readonly<Record<string, string>> | undefined,
    client?: ProbeClient | undefined,
  ): Promise<ProbeVerdict> => {
    const verdict = await once(url, forwarded, client);
    // "-32022 ... with the supported list": a server that lists this revision refused only
    // the attempt (the conformance suite's request-metadata server refuses the first POST); once more.
    if (verdict.kind === 'modern-refusal' && listsModern(verdict.error.data)) return once(url, forwarded, client);
    return verdict;
  };
}

const listsModern = (data: unknown) =>
  Array.isArray((data as { supported?: unknown } | undefined)?.supported) &&
  ((data as { supported: unknown[] }).supported as unknown[]).includes(MODERN_VERSION);
