/**
 * OAuth 2.0 Protected Resource Metadata (RFC 9728) for the proxy's endpoint. An MCP client
 * that gets 401 reads the `resource_metadata` URL of the `WWW-Authenticate` header, or the
 * well-known URL "formed by inserting /.well-known/oauth-protected-resource between the host
 * and the path" of the resource, and checks that the document's `resource` is the URL it
 * connected to (2025-06-18+ authorization, "Authorization Server Discovery"). Behind the
 * proxy that URL is the proxy's, so the proxy serves the upstream's document with `resource`
 * rewritten to its own public URL (or a static document given in the config), and points
 * the upstream's challenges at it. Authorization server metadata is the authorization
 * server's business: its URL in the document is left as it is.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Dispatcher, request } from 'undici';

const WELL_KNOWN = '/.well-known/oauth-protected-resource';

export interface ResourceMetadataOptions {
  /** The upstream's MCP endpoint URL; its metadata is fetched from its well-known URLs. */
  upstreamUrl: string;
  /** The proxy's MCP endpoint as clients reach it; when unknown, taken from where it listens, or each request's Host. */
  publicUrl?: string | undefined;
  /** The path of the proxy's MCP endpoint. Default /mcp. */
  endpointPath?: string | undefined;
  /** Serve this document instead of the upstream's (its `resource` is still set to the public URL). */
  document?: Record<string, unknown> | undefined;
  /** How long a fetched document is kept. Default 60 s. */
  cacheMs?: number | undefined;
  dispatcher?: Dispatcher | undefined;
  now?: () => number;
}

/** The well-known metadata URL of a resource URL: inserted between host and path. */
export function wellKnownUrl(resource: string): string {
  const url = new URL(resource);
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '');
  return `${url.origin}${WELL_KNOWN}${path}`;
}

/** Replaces the `resource_metadata` parameter of a Bearer challenge (RFC 9728 §5.1). */
export function rewriteChallenge(header: string, metadataUrl: string): string {
  return header.replace(/resource_metadata=("[^"]*"|[^\s,]*)/i, `resource_metadata="${metadataUrl}"`);
}

/** The `resource_metadata` URL a challenge names, if any. */
export function challengeMetadataUrl(header: string): string | undefined {
  const match = /resource_metadata=(?:"([^"]*)"|([^\s,]*))/i.exec(header);
  return match?.[1] ?? match?.[2] ?? undefined;
}

export class ResourceMetadata {
  private cached: { document: Record<string, unknown> | undefined; until: number } | undefined;
  /** A metadata URL the upstream named in a challenge: tried first. */
  private named: string | undefined;
  private publicUrl: string | undefined;
  private endpointPath: string;

  constructor(private readonly options: ResourceMetadataOptions) {
    this.publicUrl = options.publicUrl;
    this.endpointPath = options.endpointPath ?? '/mcp';
  }

  /** Where the proxy listens, once it does: the default public URL. */
  setListenUrl(url: string): void {
    this.publicUrl ??= url;
    this.endpointPath = new URL(this.publicUrl).pathname;
  }

  private resourceFor(req?: IncomingMessage): string | undefined {
    if (this.publicUrl !== undefined) return this.publicUrl;
    const host = req?.headers.host;
    return host === undefined ? undefined : `http://${host}${this.endpointPath}`;
  }

  /** The proxy's metadata URL, for challenges and clients. */
  metadataUrl(req?: IncomingMessage): string | undefined {
    const resource = this.resourceFor(req);
    return resource === undefined ? undefined : wellKnownUrl(resource);
  }

  /** Points an upstream challenge at the proxy's metadata, remembering where the upstream's is. */
  challenge(header: string, req?: IncomingMessage): string {
    this.named ??= challengeMetadataUrl(header);
    const own = this.metadataUrl(req);
    return own === undefined ? header : rewriteChallenge(header, own);
  }

  /** Serves GET /.well-known/oauth-protected-resource[<path>]; false when the request is not for it. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const pathname = (req.url ?? '/').split('?', 1)[0];
    if (pathname !== WELL_KNOWN && pathname !== `${WELL_KNOWN}${this.endpointPath}`) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET' }).end();
      return true;
    }
    const document = await this.document(req);
    if (document === undefined) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: 'not_found',
          error_description: 'The upstream server publishes no protected resource metadata.',
        }),
      );
      return true;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' });
    res.end(req.method === 'HEAD' ? undefined : JSON.stringify(document));
    return true;
  }

  /** The document, with `resource` the proxy's public URL; undefined when there is none. */
  async document(req?: IncomingMessage): Promise<Record<string, unknown> | undefined> {
    const resource = this.resourceFor(req);
    const source = this.options.document ?? (await this.upstreamDocument());
    return source === undefined ? undefined : { ...source, ...(resource === undefined ? {} : { resource }) };
  }

  private async upstreamDocument(): Promise<Record<string, unknown> | undefined> {
    const now = this.options.now?.() ?? Date.now();
    if (this.cached && this.cached.until > now) return this.cached.document;
    const upstream = this.options.upstreamUrl;
    const candidates = [this.named, wellKnownUrl(upstream), `${new URL(upstream).origin}${WELL_KNOWN}`];
    let document: Record<string, unknown> | undefined;
    for (const url of new Set(candidates)) {
      if (url === undefined) continue;
      document = await fetchJson(url, this.options.dispatcher);
      if (document !== undefined) break;
    }
    this.cached = { document, until: now + (this.options.cacheMs ?? 60_000) };
    return document;
  }
}

async function fetchJson(
  url: string,
  dispatcher: Dispatcher | undefined,
): Promise<Record<string, unknown> | undefined> {
  try {
    const response = await request(url, {
      headers: { accept: 'application/json' },
      ...(dispatcher ? { dispatcher } : {}),
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
    });
    if (response.statusCode !== 200) {
      await response.body.dump();
      return undefined;
    }
    const value: unknown = await response.body.json();
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
