/**
 * Several mcp-shepherd replicas sharing sessions through one Redis, each a CLI child process
 * on loopback (docs/replicas.md), and a client `fetch` that sends request i to replica
 * i mod n, passing over a replica that refuses connections (a dead one), as a round-robin
 * load balancer without stickiness would.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { Agent } from 'undici';

const cli = new URL('../../src/cli.ts', import.meta.url).pathname;
const loopbackOnly = new URL('./loopback-only.mjs', import.meta.url).pathname;

export interface Replica {
  index: number;
  child: ChildProcess;
  /** The MCP endpoint clients use. */
  url: string;
  adminUrl: string;
  /** Its id in the cluster (a fresh one per process start). */
  id: string;
  output(): string;
  exited: Promise<void>;
}

const SECRET = 'test-cluster-secret';

function lineOf(output: string, message: string): Record<string, unknown> | undefined {
  const line = output.split('\n').find((l) => l.includes(`"msg":"${message}"`));
  return line ? (JSON.parse(line) as Record<string, unknown>) : undefined;
}

export class ReplicaSet {
  readonly replicas: Array<Replica | undefined> = [];
  /** Which replica each request went to, in order. */
  readonly landed: number[] = [];
  private turn = 0;
  private readonly agent = new Agent({ keepAliveTimeout: 10, pipelining: 0 });

  constructor(
    private readonly redisUrl: string,
    private readonly upstreamUrl: string,
    private readonly extraArgs: string[] = [],
  ) {}

  async start(index: number): Promise<Replica> {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--import',
        loopbackOnly,
        cli,
        '--upstream',
        this.upstreamUrl,
        '--upstream-protocol',
        '2025',
        '--port',
        '0',
        '--admin',
        '127.0.0.1:0',
        '--redis',
        this.redisUrl,
        '--cluster-listen',
        '127.0.0.1:0',
        '--cluster-replica-ttl-ms',
        '1000',
        ...this.extraArgs,
      ],
      { env: { ...process.env, MCP_SHEPHERD_CLUSTER_SECRET: SECRET }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 30_000;
    for (;;) {
      const listening = lineOf(output, 'mcp-shepherd listening');
      const admin = lineOf(output, 'mcp-shepherd admin listening');
      const joined = lineOf(output, 'joined the cluster');
      if (listening && admin && joined) {
        const replica: Replica = {
          index,
          child,
          url: listening.url as string,
          adminUrl: admin.url as string,
          id: joined.replica as string,
          output: () => output,
          exited,
        };
        this.replicas[index] = replica;
        return replica;
      }
      if (child.exitCode !== null || Date.now() > deadline)
        throw new Error(`replica ${index} did not start: ${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The replica whose cluster id this is. */
  byId(id: string | undefined): Replica | undefined {
    return this.replicas.find((r) => r?.id === id);
  }

  /** kill -9: no drain, no goodbye. */
  kill(index: number): Promise<void> {
    return this.end(index, 'SIGKILL');
  }

  /** SIGTERM: a rolling deploy's drain. */
  terminate(index: number): Promise<void> {
    return this.end(index, 'SIGTERM');
  }

  private async end(index: number, signal: NodeJS.Signals): Promise<void> {
    const replica = this.replicas[index];
    if (!replica) return;
    replica.child.kill(signal);
    await replica.exited;
    this.replicas[index] = undefined;
  }

  /**
   * A fetch for an SDK client: each request to the next replica in turn; a replica that
   * refuses the connection is passed over, as a load balancer's health check would.
   */
  readonly fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const live = this.replicas.filter((r): r is Replica => r !== undefined);
    let lastError: unknown;
    for (let tries = 0; tries < live.length; tries++) {
      const replica = live[this.turn++ % live.length] as Replica;
      const target = new URL(String(input instanceof Request ? input.url : input));
      const url = new URL(target.pathname + target.search, replica.url);
      try {
        const response = await fetch(url, { ...init, dispatcher: this.agent } as unknown as RequestInit);
        this.landed.push(replica.index);
        return response;
      } catch (error) {
        lastError = error;
        if (!String((error as { cause?: { code?: string } }).cause?.code).includes('ECONNREFUSED')) throw error;
      }
    }
    throw lastError;
  };

  /** The first live replica's MCP URL (what a client is configured with). */
  get url(): string {
    const first = this.replicas.find((r) => r !== undefined);
    if (!first) throw new Error('no replica is running');
    return first.url;
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.replicas.map(async (replica) => {
        if (!replica || replica.child.exitCode !== null) return;
        replica.child.kill('SIGCONT');
        replica.child.kill('SIGKILL');
        await replica.exited;
      }),
    );
    await this.agent.close();
  }
}

/** The session ids a replica holds now, from its admin API. */
export async function sessionsOn(replica: Replica): Promise<string[]> {
  const response = await fetch(new URL('/sessions', replica.adminUrl));
  const sessions = (await response.json()) as Array<{ id: string }>;
  return sessions.map((s) => s.id);
}
