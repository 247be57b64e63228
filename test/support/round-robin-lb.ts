/**
 * A loopback TCP load balancer in front of several replicas: each new client connection goes
 * to the next target port in turn, and a target that refuses the connection is skipped for
 * the next one, as a real balancer's health check would.
 *
 * It balances connections, not requests: an HTTP client with keep-alive sends all its
 * requests down one connection, so to one replica. Tests that want each request on the next
 * replica use a client without keep-alive (e.g. an undici `Agent` with `pipelining: 0`, or
 * `new http.Agent({ keepAlive: false })`).
 */
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

export class RoundRobinBalancer {
  private readonly sockets = new Set<Socket>();
  private targets: number[];
  private next = 0;
  /** How many client connections each target (by index in the current targets) has been given. */
  connections: number[];

  private constructor(
    private readonly server: Server,
    readonly port: number,
    targets: number[],
  ) {
    this.targets = [...targets];
    this.connections = targets.map(() => 0);
  }

  static async start(targets: number[]): Promise<RoundRobinBalancer> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const balancer = new RoundRobinBalancer(server, (server.address() as AddressInfo).port, targets);
    server.on('connection', (client) => balancer.accept(client));
    return balancer;
  }

  /** Replaces the targets (a replica added or gone); the rotation and the counts start over. */
  setTargets(ports: number[]): void {
    this.targets = [...ports];
    this.next = 0;
    this.connections = ports.map(() => 0);
  }

  private accept(client: Socket): void {
    this.track(client);
    client.setNoDelay(true);
    // The client's first bytes wait in its socket (not yet flowing) until a target is connected.
    const attempt = (left: number) => {
      if (left === 0 || client.destroyed) {
        client.destroy();
        return;
      }
      const index = this.next % this.targets.length;
      this.next = index + 1;
      const port = this.targets[index];
      if (port === undefined) {
        client.destroy();
        return;
      }
      const upstream = connect(port, '127.0.0.1');
      this.track(upstream);
      const refused = () => attempt(left - 1);
      upstream.once('error', refused);
      upstream.once('connect', () => {
        upstream.off('error', refused);
        if (client.destroyed) {
          upstream.destroy();
          return;
        }
        // Counted against the targets it was chosen from, unless setTargets replaced them meanwhile.
        if (index < this.connections.length) this.connections[index] = (this.connections[index] ?? 0) + 1;
        upstream.setNoDelay(true);
        const end = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on('error', end).on('close', end);
        upstream.on('error', end).on('close', end);
        client.pipe(upstream).pipe(client);
      });
    };
    // Until a target takes it, a client that errors (e.g. resets) is only dropped.
    client.on('error', () => client.destroy());
    attempt(this.targets.length);
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
