/**
 * A loopback TCP relay that tests and the resume benchmark control: it can cut or freeze
 * every connection through it at once, or answer the next new connections itself.
 */
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

export class TcpRelay {
  private readonly pairs = new Set<[Socket, Socket]>();
  /** Sees every chunk the upstream sends through the relay. */
  onUpstreamData: ((chunk: Buffer) => void) | undefined;
  /** Sees every new connection through the relay. */
  onConnection: (() => void) | undefined;
  /** A raw HTTP response the relay gives every new connection itself until `until`. */
  private answer: { until: number; response: string } | undefined;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<TcpRelay> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const relay = new TcpRelay(server, (server.address() as AddressInfo).port);
    server.on('connection', (client) => {
      relay.onConnection?.();
      const answer = relay.answer && Date.now() < relay.answer.until ? relay.answer.response : undefined;
      if (answer !== undefined) {
        // Read the request head, answer, hang up: the upstream never sees this request.
        let head = '';
        const onData = (chunk: Buffer) => {
          head += chunk.toString('latin1');
          if (!head.includes('\r\n\r\n')) return;
          client.off('data', onData);
          client.end(answer);
        };
        client.on('data', onData);
        client.on('error', () => {});
        return;
      }
      const upstream = connect(targetPort, '127.0.0.1');
      client.setNoDelay(true);
      upstream.setNoDelay(true);
      const pair: [Socket, Socket] = [client, upstream];
      relay.pairs.add(pair);
      client.pipe(upstream).pipe(client);
      upstream.on('data', (chunk: Buffer) => relay.onUpstreamData?.(chunk));
      const end = () => {
        client.destroy();
        upstream.destroy();
        relay.pairs.delete(pair);
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    return relay;
  }

  get connections(): number {
    return this.pairs.size;
  }

  /**
   * For `ms`, every new connection gets this HTTP status (and headers) from the relay, and is
   * closed; the upstream sees none of them (a server refusing work for a moment).
   */
  answerFor(ms: number, status: number, headers: Record<string, string> = {}): void {
    const lines = [`HTTP/1.1 ${status} Relay`, 'content-length: 0', 'connection: close'];
    for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
    this.answer = { until: Date.now() + ms, response: `${lines.join('\r\n')}\r\n\r\n` };
  }

  /** Stops carrying bytes on every current connection without closing it: a stall. */
  freezeAll(): void {
    for (const [client, upstream] of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  /** Cuts every connection mid-stream, both ways, as a network failure would; returns how many. */
  cutAll(): number {
    const cut = this.pairs.size;
    for (const [client, upstream] of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
    return cut;
  }

  async close(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
