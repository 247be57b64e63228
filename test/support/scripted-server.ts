/**
 * A loopback HTTP server that answers each request with the next script in its queue, so a
 * test can make an SSE upstream drop, close, stall, refuse or repeat itself on command.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** Resolves when the client (or the script) closes this request's connection. */
  closed: Promise<void>;
}

export type Script = (req: IncomingMessage, res: ServerResponse) => void;

export interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
  retry?: number;
  comment?: string;
}

export function frame({ id, event, data, retry, comment }: SseFrame): string {
  let out = '';
  if (comment !== undefined) out += `: ${comment}\n`;
  if (retry !== undefined) out += `retry: ${retry}\n`;
  if (id !== undefined) out += `id: ${id}\n`;
  if (event !== undefined) out += `event: ${event}\n`;
  if (data !== undefined) for (const line of data.split('\n')) out += `data: ${line}\n`;
  return `${out}\n`;
}

/** How an SSE script ends: close the body, cut the socket, or keep it open and silent. */
export type Ending = 'close' | 'drop' | 'hold';

export function sse(frames: SseFrame[], ending: Ending, tail = ''): Script {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(frames.map(frame).join('') + tail);
    if (ending === 'close') res.end();
    // Let the written bytes leave before the socket is destroyed.
    else if (ending === 'drop') setImmediate(() => res.socket?.destroy());
  };
}

export function status(code: number, headers: Record<string, string> = {}, body = ''): Script {
  return (_req, res) => {
    res.writeHead(code, headers);
    res.end(body);
  };
}

export function json(value: unknown): Script {
  return status(200, { 'content-type': 'application/json' }, JSON.stringify(value));
}

export class ScriptedServer {
  readonly requests: RecordedRequest[] = [];
  private readonly scripts: Script[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly waiters: Array<() => void> = [];

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(path = '/mcp'): Promise<ScriptedServer> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const scripted = new ScriptedServer(server, `http://127.0.0.1:${port}${path}`);
    server.on('connection', (socket) => {
      scripted.sockets.add(socket);
      socket.on('close', () => scripted.sockets.delete(socket));
    });
    server.on('request', (req, res) => scripted.handle(req, res));
    return scripted;
  }

  /** Scripts for the next requests, in order; a request with none left gets 500. */
  enqueue(...scripts: Script[]): this {
    this.scripts.push(...scripts);
    return this;
  }

  /** Resolves once `count` requests have arrived. */
  async waitForRequests(count: number): Promise<RecordedRequest> {
    while (this.requests.length < count) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.requests[count - 1] as RecordedRequest;
  }

  get openSockets(): number {
    return this.sockets.size;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const closed = new Promise<void>((resolve) => res.on('close', () => resolve()));
      this.requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        closed,
      });
      for (const wake of this.waiters.splice(0)) wake();
      const script = this.scripts.shift() ?? status(500, {}, 'no script left');
      script(req, res);
    });
  }
}
