/**
 * Keeps one busy stream from holding the event loop. A response body that has buffered many
 * chunks hands them over in one chain of microtasks (for await resolves at once while data
 * waits), so a fast upstream can keep timers and every other socket waiting for as long as it
 * has data: measured in the cluster benchmark, runs of 0.7 to 1.4 s on the owner, long enough
 * for its heartbeat to lapse and its sessions to be taken over. A reader asks `due()` after
 * each chunk and, once it has worked for a slice, awaits `yield()`: timers, I/O and the other
 * streams go first, then it goes on.
 */
export const DEFAULT_SLICE_MS = 20;

export class TimeSlice {
  private started: number;

  constructor(
    private readonly sliceMs = DEFAULT_SLICE_MS,
    private readonly now: () => number = performance.now.bind(performance),
  ) {
    this.started = now();
  }

  /** Whether this reader has worked for a whole slice since it last yielded. */
  due(): boolean {
    return this.now() - this.started >= this.sliceMs;
  }

  /** Lets the event loop run a turn (timers, I/O, other streams), then starts a new slice. */
  async yield(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.started = this.now();
  }
}
