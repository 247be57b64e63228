/**
 * What the proxy holds for one 2025 session whose upstream speaks 2026-07-28, where the
 * upstream keeps nothing: the client's capabilities, info and log level (stamped on every
 * request as the `_meta` envelope), the tools' `x-mcp-header` declarations, the resource
 * subscriptions its listen stream follows, and the requests for input waiting for the
 * client's answers.
 */

import type { RequestId } from '../../machines/connection.types.js';
import { envelopeOf } from '../../machines/era-rules.js';
import { isRecord } from '../../machines/jsonrpc.js';
import { type HeaderDeclaration, scanToolHeaders } from './tool-headers.js';

/** 2026-07-28 `SubscriptionFilter`: every kind opt-in. */
export interface SubscriptionFilter {
  toolsListChanged?: true;
  promptsListChanged?: true;
  resourcesListChanged?: true;
  resourceSubscriptions?: string[];
}

const idKey = (id: RequestId) => `${typeof id}:${id}`;

export class SessionBridge {
  clientCapabilities: Record<string, unknown> = {};
  clientInfo: Record<string, unknown> | undefined;
  /** Set with `logging/setLevel`; without one, "the server MUST NOT emit notifications/message". */
  logLevel: string | undefined;
  /** Upstream listens opened so far: after the first, a re-listen may have missed changes. */
  listens = 0;
  private readonly tools = new Map<string, HeaderDeclaration[]>();
  private toolsListed = false;
  private readonly subscriptions = new Set<string>();
  private readonly filterWatchers = new Set<() => void>();
  private readonly legs = new Map<string, (answer: Record<string, unknown>) => void>();
  private readonly calls = new Map<string, () => void>();
  private callCount = 0;

  constructor(
    readonly sessionId: string,
    /** The upstream's `server/discover` result. */
    readonly discover: Record<string, unknown>,
  ) {}

  get serverCapabilities(): Record<string, unknown> {
    return isRecord(this.discover.capabilities) ? this.discover.capabilities : {};
  }

  /** The client's initialize params, kept for the envelope. */
  takeInitialize(params: Record<string, unknown>): void {
    if (isRecord(params.capabilities)) this.clientCapabilities = params.capabilities;
    if (isRecord(params.clientInfo)) this.clientInfo = params.clientInfo;
  }

  /** "Every request MUST include" these `_meta` keys (2026-07-28 basic/index, _meta). */
  envelope(): Record<string, unknown> {
    return envelopeOf({ capabilities: this.clientCapabilities, info: this.clientInfo, logLevel: this.logLevel });
  }

  /**
   * Learns the tools' header declarations from a `tools/list` result and drops the tools
   * whose declarations are invalid ("MUST exclude"); returns what the client may see.
   */
  learnTools(result: Record<string, unknown>, firstPage: boolean): Record<string, unknown> {
    if (firstPage) this.tools.clear();
    const tools = Array.isArray(result.tools) ? result.tools : [];
    const kept = tools.filter((tool) => {
      if (!isRecord(tool) || typeof tool.name !== 'string') return false;
      const scan = scanToolHeaders(tool.inputSchema);
      if (scan.valid) this.tools.set(tool.name, scan.declarations);
      return scan.valid;
    });
    if (typeof result.nextCursor !== 'string') this.toolsListed = true;
    return kept.length === tools.length ? result : { ...result, tools: kept };
  }

  /** Whether the tool's declarations are known (a call to an unknown tool lists them first). */
  knowsTool(name: string): boolean {
    return this.tools.has(name) || this.toolsListed;
  }

  forgetTools(): void {
    this.tools.clear();
    this.toolsListed = false;
  }

  headerDeclarations(name: string): readonly HeaderDeclaration[] {
    return this.tools.get(name) ?? [];
  }

  /** What the client's GET stream follows: every list the server announces changes of, and its subscriptions. */
  filter(): SubscriptionFilter {
    const caps = this.serverCapabilities;
    const changes = (name: string) =>
      isRecord(caps[name]) && (caps[name] as { listChanged?: unknown }).listChanged === true;
    return {
      ...(changes('tools') ? { toolsListChanged: true as const } : {}),
      ...(changes('prompts') ? { promptsListChanged: true as const } : {}),
      ...(changes('resources') ? { resourcesListChanged: true as const } : {}),
      ...(this.subscriptions.size > 0 ? { resourceSubscriptions: [...this.subscriptions].sort() } : {}),
    };
  }

  subscribe(uri: string, on: boolean): void {
    const had = this.subscriptions.has(uri);
    if (on) this.subscriptions.add(uri);
    else this.subscriptions.delete(uri);
    if (had !== on) for (const watcher of this.filterWatchers) watcher();
  }

  watchFilter(watcher: () => void): () => void {
    this.filterWatchers.add(watcher);
    return () => this.filterWatchers.delete(watcher);
  }

  /** A prefix no other call of this session has: the ids the proxy mints for the call start with it. */
  mintCallPrefix(): string {
    this.callCount += 1;
    return `mcp-shepherd:${this.callCount}`;
  }

  /** A request for input went to the client under `id`; `deliver` takes its answer. */
  awaitAnswer(id: string, deliver: (answer: Record<string, unknown>) => void): () => void {
    this.legs.set(id, deliver);
    return () => this.legs.delete(id);
  }

  /** A response the client POSTed: true when it answered a request for input. */
  deliverAnswer(message: Record<string, unknown>): boolean {
    const id = message.id;
    const deliver = typeof id === 'string' ? this.legs.get(id) : undefined;
    if (deliver === undefined) return false;
    this.legs.delete(id as string);
    deliver(message);
    return true;
  }

  /** A call in flight upstream, cancelled by the client's `notifications/cancelled`. */
  trackCall(id: RequestId, cancel: () => void): () => void {
    const key = idKey(id);
    this.calls.set(key, cancel);
    return () => {
      if (this.calls.get(key) === cancel) this.calls.delete(key);
    };
  }

  cancel(id: RequestId): boolean {
    const cancel = this.calls.get(idKey(id));
    cancel?.();
    return cancel !== undefined;
  }
}
