/**
 * Where a forwarded session's owner was last found: its owner token and internal URL, kept
 * for a short while so that a session whose requests keep landing on a replica that does not
 * hold it costs two store reads once, not on every request (docs/replicas.md, forwarding).
 *
 * Only a live owner is kept. A stale entry costs one wasted forward, never a wrong answer:
 * an old owner that no longer holds the session answers 421 and an unreachable one fails
 * the forward, and either way the entry is dropped and the store asked again. Entries last
 * `maxAgeMs` (a third of the replica TTL), and there are at most `maxEntries` (oldest go first).
 */
export interface Route {
  owner: string;
  url: string;
}

export class RouteCache {
  private readonly routes = new Map<string, Route & { at: number }>();

  constructor(
    private readonly maxAgeMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get(sessionId: string): Readonly<Route> | undefined {
    const route = this.routes.get(sessionId);
    if (route === undefined || this.now() - route.at < this.maxAgeMs) return route;
    this.routes.delete(sessionId);
    return undefined;
  }

  set(sessionId: string, route: Route): void {
    // Deleted first, so that a route set again counts as the newest for the bound.
    this.routes.delete(sessionId);
    this.routes.set(sessionId, { owner: route.owner, url: route.url, at: this.now() });
    if (this.routes.size > this.maxEntries) {
      const oldest = this.routes.keys().next().value;
      if (oldest !== undefined) this.routes.delete(oldest);
    }
  }

  forget(sessionId: string): void {
    this.routes.delete(sessionId);
  }

  get size(): number {
    return this.routes.size;
  }
}
