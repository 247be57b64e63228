interface Timer {
  id: number;
  due: number;
  fn: () => void;
}

/**
 * A clock the test moves by hand, for actors (`createActor(logic, { clock })`) and for the
 * runtime's own timers. Unlike XState's SimulatedClock it can say what is pending, so a
 * test can assert that nothing is left scheduled.
 */
export class TestClock {
  private nowMs = 0;
  private nextId = 1;
  private readonly timers = new Map<number, Timer>();

  now(): number {
    return this.nowMs;
  }

  setTimeout(fn: (...args: unknown[]) => void, timeout: number): number {
    const id = this.nextId++;
    this.timers.set(id, { id, due: this.nowMs + Math.max(0, timeout), fn });
    return id;
  }

  clearTimeout(id: unknown): void {
    this.timers.delete(id as number);
  }

  /** Due times of the pending timers, relative to now, earliest first. */
  pending(): number[] {
    return [...this.timers.values()].map((t) => t.due - this.nowMs).sort((a, b) => a - b);
  }

  /** Moves time forward, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.nowMs + ms;
    for (;;) {
      const next = [...this.timers.values()]
        .filter((t) => t.due <= target)
        .sort((a, b) => a.due - b.due || a.id - b.id)[0];
      if (!next) break;
      this.timers.delete(next.id);
      this.nowMs = next.due;
      next.fn();
    }
    this.nowMs = target;
  }
}
