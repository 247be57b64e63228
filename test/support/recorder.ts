/** Collects items as they arrive and lets a test await a condition on them (real time). */
export class Recorder<T> {
  readonly items: T[] = [];
  private readonly listeners = new Set<() => void>();

  push(item: T): void {
    this.items.push(item);
    for (const listener of [...this.listeners]) listener();
  }

  /** Re-checks the predicate on every push; also usable to be woken by other changes via poke(). */
  until(predicate: (items: T[]) => boolean, what: string, timeoutMs = 5000): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (predicate(this.items)) return resolve();
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`timed out waiting for ${what}; have ${JSON.stringify(this.items).slice(0, 2000)}`));
      }, timeoutMs);
      const check = () => {
        if (!predicate(this.items)) return;
        clearTimeout(timer);
        this.listeners.delete(check);
        resolve();
      };
      this.listeners.add(check);
    });
  }

  poke(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
