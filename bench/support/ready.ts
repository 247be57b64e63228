/** In our child processes: tells the benchmark they are ready. No side effects on import. */

export interface ReadyMessage {
  type: 'ready';
  url: string;
}

/** Tells the parent (over IPC, else on stdout) that we are listening at `url`. */
export function announceReady(url: string): void {
  if (process.send) process.send({ type: 'ready', url } satisfies ReadyMessage);
  else process.stdout.write(`${JSON.stringify({ url })}\n`);
}
