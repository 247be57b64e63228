/**
 * Forwarding a client's request to the replica that owns its session, over the owner's
 * internal listener: the request as it came (method, headers, body), the answer piped back as
 * it comes, SSE included. The owner checks the cluster secret and serves only sessions it
 * holds (421 otherwise, so the forwarder looks the owner up again).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Agent, type Dispatcher, request } from 'undici';

/** The header that carries the cluster secret on internal requests. */
export const CLUSTER_SECRET_HEADER = 'x-shepherd-cluster-secret';

/** Hop-by-hop headers (RFC 9110 §7.6.1) and those the next hop sets itself. */
const NOT_FORWARDED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'host',
  'content-length',
  CLUSTER_SECRET_HEADER,
]);

export type ForwardResult =
  /** The owner answered; its answer went to the client. */
  | 'answered'
  /** The owner could not be reached (refused, reset, timed out) before it answered. */
  | 'unreachable'
  /** The owner does not hold the session (any more): look it up again. */
  | 'misdirected';

export interface Forwarder {
  forward(
    req: IncomingMessage,
    res: ServerResponse,
    ownerUrl: string,
    body: Buffer | undefined,
  ): Promise<ForwardResult>;
  close(): Promise<void>;
}

export function createForwarder(options: { secret: string; connectTimeoutMs: number }): Forwarder {
  // SSE answers last as long as the stream: no body timeout; the client's going ends them.
  const agent: Dispatcher = new Agent({
    connect: { timeout: options.connectTimeoutMs },
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  return {
    async forward(req, res, ownerUrl, body) {
      const headers: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined && !NOT_FORWARDED.has(name)) headers[name] = value;
      }
      headers[CLUSTER_SECRET_HEADER] = options.secret;
      const abort = new AbortController();
      const onClientGone = () => abort.abort();
      res.once('close', onClientGone);
      let answer: Dispatcher.ResponseData;
      try {
        answer = await request(new URL(req.url ?? '/', ownerUrl), {
          method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
          headers,
          body: body ?? null,
          dispatcher: agent,
          signal: abort.signal,
        });
      } catch {
        res.off('close', onClientGone);
        return 'unreachable';
      }
      if (answer.statusCode === 421) {
        res.off('close', onClientGone);
        await answer.body.dump();
        return 'misdirected';
      }
      const out: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(answer.headers)) {
        if (value !== undefined && !NOT_FORWARDED.has(name)) out[name] = value;
      }
      res.writeHead(answer.statusCode, out);
      res.flushHeaders();
      try {
        for await (const chunk of answer.body) res.write(chunk);
        res.end();
      } catch {
        // The owner went mid-answer: the client's stream ends and it resumes (Last-Event-ID).
        res.destroy();
      } finally {
        res.off('close', onClientGone);
      }
      return 'answered';
    },
    close: () => agent.close(),
  };
}
