/** Starts mcp-shepherd (the subject) as a separate process through bench/support/shepherd-child.ts. */
import { type NodeChild, startNodeChild } from './node-child.js';

export interface ShepherdOptions {
  name?: string;
  logDir: string;
  /** mcp-shepherd flags, e.g. ['--upstream', url] or ['--stdio', '--', 'node', 'server.mjs']. */
  args: string[];
  /** Writes a V8 CPU profile into this folder when the proxy exits. */
  cpuProfDir?: string | undefined;
}

export interface MemoryReport {
  heapUsed: number;
  heapTotal: number;
  rss: number;
  external: number;
  arrayBuffers: number;
  gc: boolean;
}

export interface Shepherd extends NodeChild {
  /** Forces a full GC, then reports process.memoryUsage(). */
  memory(): Promise<MemoryReport>;
}

export async function startShepherd(options: ShepherdOptions): Promise<Shepherd> {
  const [flagsBeforeDashes, dashes] = splitAtDashes(options.args);
  const child = await startNodeChild({
    name: options.name ?? 'mcp-shepherd',
    script: 'support/shepherd-child.ts',
    // `--port 0` and a quiet log unless the caller says otherwise; `--stdio` commands stay last.
    args: ['--port', '0', '--log-level', 'warn', ...flagsBeforeDashes, ...dashes],
    logDir: options.logDir,
    nodeFlags: ['--expose-gc', ...(options.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] : [])],
  });
  return { ...child, memory: () => child.ask<MemoryReport>('memory') };
}

function splitAtDashes(args: string[]): [string[], string[]] {
  const at = args.indexOf('--');
  return at < 0 ? [args, []] : [args.slice(0, at), args.slice(at)];
}
