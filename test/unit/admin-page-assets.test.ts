/**
 * The admin listener serves the live page's built script and stylesheet (dist/assets, written
 * by `npm run build:page`, which `npm test` runs first) at /assets/ without a token, and says
 * what to do when they are not built. A loopback listener and no upstream: no session is made.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type AdminServer, createAdminServer } from '../../src/admin/admin-server.js';
import { DEFAULT_ASSETS_DIR } from '../../src/admin/page-assets.js';
import { createShepherd, type Shepherd } from '../../src/index.js';
import { createLogger } from '../../src/log.js';

const TOKEN = 'assets-test-token';
let shepherd: Shepherd | undefined;
let admin: AdminServer | undefined;
let emptyDir: string | undefined;

afterEach(async () => {
  await admin?.close();
  await shepherd?.close();
  if (emptyDir) rmSync(emptyDir, { recursive: true, force: true });
  admin = shepherd = emptyDir = undefined;
});

async function start(assetsDir?: string): Promise<string> {
  shepherd = createShepherd({ upstream: { url: 'http://127.0.0.1:9/mcp' }, logger: createLogger('silent') });
  admin = createAdminServer(shepherd, { token: TOKEN, ...(assetsDir ? { assetsDir } : {}) });
  return (await admin.listen({ port: 0 })).url;
}

describe('the live page assets', () => {
  it('GET / loads them by relative URL; they are served without a token, revalidated by ETag', async () => {
    const url = await start();
    const page = await fetch(new URL(`/?token=${TOKEN}`, url));
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<script src="assets/admin-page.js"></script>');
    expect(html).toContain('<link rel="stylesheet" href="assets/admin-page.css">');

    const script = await fetch(new URL('/assets/admin-page.js', url));
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('cache-control')).toBe('no-cache');
    expect(await script.text()).toBe(readFileSync(join(DEFAULT_ASSETS_DIR, 'admin-page.js'), 'utf8'));
    const etag = script.headers.get('etag');
    expect(etag).toMatch(/^".+"$/);
    const again = await fetch(new URL('/assets/admin-page.js', url), { headers: { 'if-none-match': etag ?? '' } });
    expect(again.status).toBe(304);

    const style = await fetch(new URL('/assets/admin-page.css', url));
    expect(style.status).toBe(200);
    expect(style.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect((await fetch(new URL('/assets/admin-page.js.map', url))).headers.get('content-type')).toMatch(/json/);
    expect((await fetch(new URL('/assets/other.js', url))).status).toBe(404);
    // Only the assets are open.
    expect((await fetch(new URL('/sessions', url))).status).toBe(401);
  });

  it('answers 503 saying to run npm run build when they are not built, and keeps serving', async () => {
    emptyDir = mkdtempSync(join(tmpdir(), 'shepherd-assets-'));
    const url = await start(emptyDir);
    const page = await fetch(new URL(`/?token=${TOKEN}`, url));
    expect(page.status).toBe(503);
    const { error } = (await page.json()) as { error: { message: string } };
    expect(error.message).toContain(join(emptyDir, 'admin-page.js'));
    expect(error.message).toContain('npm run build');
    expect((await fetch(new URL('/assets/admin-page.js', url))).status).toBe(503);
    expect((await fetch(new URL('/healthz', url))).status).toBe(200);
  });
});
