/**
 * One 2026-07-28 client's answer: a single JSON body when the final message is the first
 * thing to send, else an SSE stream scoped to the request ("notifications that relate to it,
 * then the final response"), without event ids (2026-07-28 streams do not resume), with
 * keep-alive comments.
 */
import type { ServerResponse } from 'node:http';

export class ModernAnswer {
  private sse = false;
  private ended = false;
  private keepAlive: NodeJS.Timeout | undefined;
  /** The client went away before the answer was complete. */
  onGone: (() => void) | undefined;

  constructor(
    private readonly res: ServerResponse,
    private readonly keepAliveMs: number,
  ) {
    res.on('close', () => {
      this.stopKeepAlive();
      if (!this.ended) {
        this.ended = true;
        this.onGone?.();
      }
    });
  }

  /** A message that is not the last one: the answer becomes a stream. */
  send(message: unknown): void {
    if (this.ended) return;
    this.startStream();
    this.res.write(`data: ${JSON.stringify(message)}\n\n`);
  }

  /** The last message; the answer ends with it. */
  finish(message: unknown, status = 200): void {
    if (this.ended) return;
    this.ended = true;
    this.stopKeepAlive();
    if (this.sse) {
      this.res.end(`data: ${JSON.stringify(message)}\n\n`);
      return;
    }
    const body = JSON.stringify(message);
    this.res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    this.res.end(body);
  }

  /** A stream that goes on until `close` (subscriptions/listen). */
  startStream(): void {
    if (this.sse || this.ended) return;
    this.sse = true;
    // "The server SHOULD send X-Accel-Buffering: no."
    this.res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
    this.res.flushHeaders();
    if (this.keepAliveMs > 0) {
      this.keepAlive = setInterval(() => this.res.write(':\n\n'), this.keepAliveMs);
      this.keepAlive.unref();
    }
  }

  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.stopKeepAlive();
    this.res.end();
  }

  private stopKeepAlive(): void {
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = undefined;
  }
}
