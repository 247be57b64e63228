/**
 * The HTML of the admin listener's live page (issue #8, item 3): the list of sessions and, for
 * the chosen one, its statecharts with the current states highlighted, updated live from
 * `GET /events`. The script and stylesheet are the browser code in src/admin/page/, bundled
 * by `npm run build:page` and served by the same listener at `/assets/` (src/admin/page-assets.ts):
 * the page needs nothing but the admin listener, works offline and never loads a CDN.
 *
 * The asset URLs are relative, so the page works under a path prefix too. They carry no
 * token (the assets are open); the script reads `token` from the page's own query string and
 * passes it on as `?token=` to `/machines`, `/sessions` and `/events` (an EventSource cannot
 * set an Authorization header).
 */
import { PAGE_SCRIPT, PAGE_STYLE } from './page-assets.js';

/** A tiny inline icon, so the browser does not ask the listener for /favicon.ico. */
const FAVICON =
  'data:image/svg+xml,' +
  encodeURIComponent(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect x="1" y="1" width="14" height="14" rx="4" fill="#2563eb"/><circle cx="8" cy="8" r="3" fill="#fff"/></svg>',
  );

/** The HTML of the admin listener's `GET /`. */
export function renderAdminPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>mcp-shepherd · sessions</title>
<link rel="icon" href="${FAVICON}">
<link rel="stylesheet" href="assets/${PAGE_STYLE}">
</head>
<body>
<header class="bar">
  <h1>mcp-shepherd<small>live sessions</small></h1>
  <span id="status" class="status">connecting…</span>
  <span class="spacer"></span>
  <label title="Show transitions that do not change state"><input type="checkbox" id="opt-internal"> internal events</label>
  <label title="Draw transitions as arrows"><input type="checkbox" id="opt-arrows" checked> arrows</label>
</header>
<main>
  <aside>
    <h2>Sessions <span id="session-count" class="count"></span></h2>
    <ul id="session-list"></ul>
  </aside>
  <section id="detail" aria-live="polite"></section>
</main>
<script src="assets/${PAGE_SCRIPT}"></script>
</body>
</html>
`;
}
