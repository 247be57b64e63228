/** Writes an SSE response: headers that defeat proxy buffering, events, keep-alive comments. */
import type { ServerResponse } from 'node:http';

export interface SseWriterOptions {
  /** A `: keep-alive` comment this often, so intermediaries keep the stream. 0 disables. */
  keepAliveMs: number;
  headers?: Record<string, string>;
}

export class SseWriter {
  private keepAlive: NodeJS.Timeout | undefined;
  private ended = false;
  private corked = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly options: SseWriterOptions,
  ) {
    res.on('close', () => this.stopKeepAlive());
  }

  get open(): boolean {
    return !this.ended && !this.res.destroyed && !this.res.writableEnded;
  }

  start(): void {
    this.res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx and other reverse proxies buffer responses unless told not to.
      'x-accel-buffering': 'no',
      ...this.options.headers,
    });
    this.res.flushHeaders();
    if (this.options.keepAliveMs > 0) {
      this.keepAlive = setInterval(() => this.comment('keep-alive'), this.options.keepAliveMs);
      this.keepAlive.unref();
    }
  }

  event(data: string, id?: string, retryMs?: number, name?: string): void {
    if (!this.open) return;
    let frame = '';
    if (name !== undefined) frame += `event: ${name}\n`;
    if (retryMs !== undefined) frame += `retry: ${retryMs}\n`;
    if (id !== undefined) frame += `id: ${id}\n`;
    // A data line may not hold a line break: each line becomes its own data field.
    for (const line of data.split(/\r\n|\r|\n/)) frame += `data: ${line}\n`;
    this.write(`${frame}\n`);
  }

  /** Sets the client's reconnection time alone: a block without data dispatches no event. */
  retry(ms: number): void {
    if (this.open) this.write(`retry: ${ms}\n\n`);
  }

  comment(text: string): void {
    if (this.open) this.write(`: ${text}\n\n`);
  }

  /**
   * Events written in the same tick (one upstream chunk often carries many) leave in one
   * socket write: corked now, uncorked on the next tick, as the Node docs advise.
   */
  private write(frame: string): void {
    if (!this.corked) {
      this.corked = true;
      this.res.cork();
      process.nextTick(() => {
        this.corked = false;
        // end() has already uncorked fully; the socket may serve another response by now.
        if (!this.res.writableEnded) this.res.uncork();
      });
    }
    this.res.write(frame);
  }

  end(): void {
    this.stopKeepAlive();
    if (this.open) this.res.end();
    this.ended = true;
  }

  private stopKeepAlive(): void {
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.keepAlive = undefined;
  }
}
