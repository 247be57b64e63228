/**
 * The admin listener's live page in a real browser (Debian's chromium, driven by
 * playwright-core): a real SDK client's session through mcp-shepherd, its upstream GET stream
 * cut at a TCP relay and refused for a while, then let back. The page must move the
 * highlight of that stream's connection statechart from open to waiting/connecting and back,
 * from the admin listener's live events alone. It saves its screenshots in .artifacts/
 * (ignored by git): `npm run docs` copies admin-page.png into docs/.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdminServer, createAdminServer } from '../../src/admin/admin-server.js';
import { DemoServer } from '../../src/demo/demo-server.js';
import { createShepherd, type Shepherd } from '../../src/index.js';
import { createLogger } from '../../src/log.js';
import { chromiumProcesses, ensureChromiumAsync, type LaunchedChromium, launchChromium } from '../support/chromium.js';
import { TcpRelay } from '../support/tcp-relay.js';
import { waitFor } from '../support/wait.js';

const ARTIFACTS = new URL('../../.artifacts/', import.meta.url);
const artifact = (name: string) => {
  mkdirSync(ARTIFACTS, { recursive: true });
  return fileURLToPath(new URL(name, ARTIFACTS));
};
const TOKEN = 'page-test-token';
/** How long the page may take to show a change (the admin listener coalesces updates to ~100 ms). */
const SEEN_WITHIN_MS = 10_000;

const stream = (kind: 'get' | 'post') => `section.stream[data-kind="${kind}"]`;
const activeState = (scope: string, id: string) => `${scope} g[data-state-id="${id}"][data-active="true"]`;
const OPEN = 'connection.streaming.open';

let upstream: DemoServer | undefined;
let relay: TcpRelay | undefined;
let shepherd: Shepherd | undefined;
let admin: AdminServer | undefined;
let chromium: LaunchedChromium | undefined;
let client: Client | undefined;

beforeAll(async () => {
  // On a fresh machine this installs Debian's chromium (apt-get): minutes, once.
  await ensureChromiumAsync();
}, 15 * 60_000);

afterAll(async () => {
  await client?.close().catch(() => undefined);
  await chromium?.close();
  await admin?.close();
  await shepherd?.close();
  await relay?.close();
  await upstream?.close();
});

async function refused(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2000) });
    return false;
  } catch {
    return true;
  }
}

describe('the live admin page', () => {
  it('highlights the current state of each stream as it drops and reconnects', async () => {
    upstream = await DemoServer.start(0, '127.0.0.1', { transport: { retryInterval: 200 } });
    const demo = upstream;
    relay = await TcpRelay.start(demo.port);
    shepherd = createShepherd({
      upstream: { url: demo.urlVia(relay.port) },
      logger: createLogger('silent'),
      connection: { backoff: { baseMs: 200, capMs: 400, jitter: 0, maxAttempts: 1000 } },
    });
    const { url: mcpUrl } = await shepherd.listen({ port: 0 });
    admin = createAdminServer(shepherd, { token: TOKEN });
    const { url: adminUrl } = await admin.listen({ host: '127.0.0.1', port: 0 });

    chromium = await launchChromium();
    const page: Page = chromium.context.pages()[0] ?? (await chromium.context.newPage());
    await page.setViewportSize({ width: 1280, height: 800 });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));

    // Without the token the listener refuses the page; with it, an empty list and a session
    // that does not exist are shown as such.
    expect((await fetch(adminUrl)).status).toBe(401);
    await page.goto(`${adminUrl}?token=${TOKEN}#session=no-such-session`);
    await page.waitForSelector('#session-list li.empty');
    await page.waitForSelector('#status.status-ok');
    await expect.poll(() => page.textContent('#placeholder')).toContain('has ended or is unknown');

    // A real client session, with its standalone GET stream.
    client = new Client({ name: 'page-test-client', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(new URL(mcpUrl));
    await client.connect(transport);
    await waitFor(() => demo.openGetStreams === 1, 'the upstream GET stream');
    const sessionId = transport.sessionId as string;
    expect(sessionId).toBeTruthy();

    await page.click(`#session-list li[data-session-id="${sessionId}"]`);
    const getStream = stream('get');
    await page.waitForSelector(activeState(getStream, `${OPEN}.health.receiving`), { timeout: SEEN_WITHIN_MS });
    await page.waitForSelector(activeState('[data-key="machine:session"]', 'session.live.active'));
    // The active path is highlighted, not just the leaf; other states are not.
    expect(await page.getAttribute(`${getStream} g[data-state-id="${OPEN}"]`, 'data-active')).toBe('true');
    expect(await page.getAttribute(`${getStream} g[data-state-id="connection.waiting"]`, 'data-active')).toBe('false');

    // Cut the upstream stream and refuse its resumes: the page must show it waiting or
    // reconnecting, and no longer open.
    let refusing = true;
    demo.beforeRequest = (req, res) => {
      if (!refusing || req.method !== 'GET') return false;
      res.writeHead(503).end();
      return true;
    };
    relay.cutAll();
    const waitingOrConnecting = `${activeState(getStream, 'connection.waiting')}, ${activeState(getStream, 'connection.streaming.connecting')}`;
    await page.waitForSelector(waitingOrConnecting, { timeout: SEEN_WITHIN_MS });
    expect(await page.getAttribute(`${getStream} g[data-state-id="${OPEN}"]`, 'data-active')).toBe('false');
    await page.waitForSelector(activeState(getStream, 'connection.waiting'), { timeout: SEEN_WITHIN_MS });
    const waitingShot = await page.screenshot();
    expect(waitingShot.length).toBeGreaterThan(0);

    // Let it back: the same stream opens again, and the page says it reconnected once.
    refusing = false;
    await page.waitForSelector(activeState(getStream, `${OPEN}.health.receiving`), { timeout: SEEN_WITHIN_MS });
    await expect
      .poll(() => page.textContent(`${getStream} .stream-meta`), { timeout: SEEN_WITHIN_MS })
      .toContain('reconnects 1');
    await expect.poll(() => page.textContent('#session-list li.selected .meta')).toContain('1 reconnect');
    await page.screenshot({ path: artifact('admin-page.png') });

    // The session ends: it leaves the list and the page says so.
    await transport.terminateSession();
    await client.close();
    client = undefined;
    await page.waitForSelector('#session-list li.empty', { timeout: SEEN_WITHIN_MS });
    await expect.poll(() => page.textContent('#placeholder')).toContain('has ended or is unknown');

    // Offline: the page asked nothing of anyone but the admin listener, its script and
    // stylesheet included (those without the token: /assets/ is open).
    const origin = new URL(adminUrl).origin;
    expect(requests.filter((url) => !url.startsWith(origin) && !url.startsWith('data:'))).toEqual([]);
    expect(requests).toContain(`${origin}/assets/admin-page.js`);
    expect(requests).toContain(`${origin}/assets/admin-page.css`);
    expect(pageErrors).toEqual([]);

    // Nothing left running: the browser's processes are gone, the listeners refuse.
    const { userDataDir } = chromium;
    await chromium.close();
    chromium = undefined;
    expect(chromiumProcesses(userDataDir)).toEqual([]);
    await admin.close();
    admin = undefined;
    await shepherd.close();
    shepherd = undefined;
    expect(await refused(adminUrl)).toBe(true);
    expect(await refused(mcpUrl)).toBe(true);
  }, 60_000);

  it("draws a stdio session's process statechart, and streams with or without their machine named", async () => {
    const local = createShepherd({ upstream: { url: 'http://127.0.0.1:9/mcp' }, logger: createLogger('silent') });
    const localAdmin = createAdminServer(local, { token: TOKEN });
    const { url: adminUrl } = await localAdmin.listen({ host: '127.0.0.1', port: 0 });
    const browser = await launchChromium();
    try {
      const page = browser.context.pages()[0] ?? (await browser.context.newPage());
      await page.setViewportSize({ width: 1280, height: 1000 });
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(error.message));

      // The session list as a listener with stdio hosts sends it (SessionView with `host`, and
      // `machine` on each stream), next to a stream in the older shape without `machine`.
      const session = {
        id: 'stdio-session',
        state: { live: { active: 'idle' } },
        status: 'active',
        protocolVersion: '2025-11-25',
        ageMs: 4000,
        idleMs: 1000,
        expiresInMs: 60_000,
        reinitializations: 0,
        streams: [
          {
            stream: 0,
            kind: 'get',
            machine: 'connection',
            state: { streaming: { open: { health: 'receiving', resume: 'idle' } } },
            attempts: 0,
            reconnects: 0,
          },
          { stream: 1, kind: 'post', state: 'waiting', attempts: 1, reconnects: 0 },
        ],
        host: { machine: 'process', state: { running: 'ready' }, restarts: 2, attempt: 1 },
        eventLog: { events: 3, bytes: 300 },
      };
      const list = JSON.stringify([session]);
      await page.route(/\/sessions(\?|$)/, (route) => route.fulfill({ contentType: 'application/json', body: list }));
      await page.route(/\/events(\?|$)/, (route) =>
        route.fulfill({ contentType: 'text/event-stream', body: `retry: 60000\nevent: sessions\ndata: ${list}\n\n` }),
      );
      await page.goto(`${adminUrl}?token=${TOKEN}#session=${session.id}`);

      const host = '[data-key="host"]';
      await page.waitForSelector(activeState(host, 'process.running.ready'), { timeout: SEEN_WITHIN_MS });
      expect(await page.getAttribute(`${host} g[data-state-id="process.restarting"]`, 'data-active')).toBe('false');
      expect(await page.textContent(`${host} .host-head`)).toMatch(/stdio process.*running\.ready.*restarts 2/);
      await page.waitForSelector(activeState(stream('get'), `${OPEN}.health.receiving`));
      await page.waitForSelector(activeState(stream('post'), 'connection.waiting'));
      const cards = await page.$$eval('#detail > section', (sections) =>
        sections.map((s) => s.getAttribute('data-key')),
      );
      expect(cards).toEqual(['info', 'machine:session', 'host', 'stream:0', 'stream:1', 'snapshot']);
      await page.screenshot({ path: artifact('admin-page-stdio.png'), fullPage: true });
      expect(pageErrors).toEqual([]);
    } finally {
      await browser.close();
      await localAdmin.close();
      await local.close();
    }
  }, 60_000);
});
