/**
 * The live page's browser code and stylesheet, as built by `npm run build:page`
 * (scripts/build-page.ts) into dist/assets/, and served by the admin listener at
 * `/assets/<name>`. They are the same static files for everyone (no session data), so they
 * need no admin token.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CONTENT_TYPES: Record<string, string> = {
  'admin-page.js': 'text/javascript; charset=utf-8',
  'admin-page.js.map': 'application/json; charset=utf-8',
  'admin-page.css': 'text/css; charset=utf-8',
  'admin-page.css.map': 'application/json; charset=utf-8',
};

/** What the page's HTML loads: without these it cannot work. */
export const PAGE_SCRIPT = 'admin-page.js';
export const PAGE_STYLE = 'admin-page.css';

/**
 * dist/assets of this package: next to dist/src/ when running the built package
 * (dist/src/admin/page-assets.js), under dist/ when running from source with tsx or vitest
 * (src/admin/page-assets.ts).
 */
export const DEFAULT_ASSETS_DIR = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? '../../dist/assets/' : '../../assets/', import.meta.url),
);

export interface PageAsset {
  body: Buffer;
  contentType: string;
  etag: string;
}

export class PageAssets {
  /** Read once per build: a rebuild (new mtime or size) is picked up without a restart. */
  private readonly cache = new Map<string, { version: string; asset: PageAsset }>();

  constructor(readonly dir: string = DEFAULT_ASSETS_DIR) {}

  /** Whether `name` is one of the page's assets (built or not). */
  knows(name: string): boolean {
    return Object.hasOwn(CONTENT_TYPES, name);
  }

  /** The asset, or undefined when it is not built (or not one of the page's assets). */
  async get(name: string): Promise<PageAsset | undefined> {
    const contentType = CONTENT_TYPES[name];
    if (contentType === undefined) return undefined;
    const file = this.path(name);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return undefined;
    const version = `${info.mtimeMs}:${info.size}`;
    const cached = this.cache.get(name);
    if (cached?.version === version) return cached.asset;
    const body = await readFile(file);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    const asset = { body, contentType, etag };
    this.cache.set(name, { version, asset });
    return asset;
  }

  /** A message for the operator when the page's files are not built, or undefined when they are. */
  async missing(): Promise<string | undefined> {
    const absent: string[] = [];
    for (const name of [PAGE_SCRIPT, PAGE_STYLE]) if (!(await this.get(name))) absent.push(this.path(name));
    if (absent.length === 0) return undefined;
    return `The admin page is not built: ${absent.join(' and ')} ${absent.length === 1 ? 'is' : 'are'} missing. Run \`npm run build\` (or \`npm run build:page\`) in the mcp-shepherd package, then reload.`;
  }

  path(name: string): string {
    return join(this.dir, name);
  }
}

/**
 * Writes an asset. Its URL stays the same across builds and upgrades, so the browser keeps
 * it but asks again each time (`no-cache` with an ETag): usually a 304, never a stale script.
 */
export function sendAsset(req: IncomingMessage, res: ServerResponse, asset: PageAsset): void {
  const headers = {
    'content-type': asset.contentType,
    'cache-control': 'no-cache',
    etag: asset.etag,
    'x-content-type-options': 'nosniff',
  };
  if (req.headers['if-none-match'] === asset.etag) res.writeHead(304, headers).end();
  else res.writeHead(200, { ...headers, 'content-length': asset.body.length }).end(asset.body);
}
