/**
 * The admin listener's live page (src/admin/page.ts serves its HTML; `npm run build:page`
 * bundles this entry to dist/assets/admin-page.js). It reads `GET /machines` once, then
 * follows `GET /events` for the sessions, and draws the chosen session's statecharts with
 * their current states highlighted (render.ts).
 */
import { fetchMachines, followSessions, type LiveStatus } from './api.js';
import type { SessionData } from './data.js';
import { pageElement } from './dom.js';
import { SessionDetailView } from './session-detail.js';
import { renderSessionList } from './session-list.js';
import type { PageState } from './state.js';

/** The header's switches are remembered across visits. */
const STORAGE = { internal: 'shepherd.internal', arrows: 'shepherd.arrows' };
const MACHINES_RETRY_MS = 3000;

function readSelection(): string | undefined {
  const match = /^#session=(.+)$/.exec(location.hash);
  if (!match?.[1]) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return undefined;
  }
}

const state: PageState = {
  machines: undefined,
  sessions: [],
  receivedAt: Date.now(),
  selected: readSelection(),
  options: {
    internal: localStorage.getItem(STORAGE.internal) === '1',
    arrows: localStorage.getItem(STORAGE.arrows) !== '0',
  },
};

const statusBadge = pageElement('status', HTMLElement);
const sessionList = pageElement('session-list', HTMLUListElement);
const sessionCount = pageElement('session-count', HTMLElement);
const detail = new SessionDetailView(pageElement('detail', HTMLElement));

function setStatus({ text, tone }: LiveStatus): void {
  statusBadge.textContent = text;
  statusBadge.className = `status status-${tone}`;
}

function select(id: string): void {
  state.selected = id;
  history.replaceState(null, '', `${location.pathname}${location.search}#session=${encodeURIComponent(id)}`);
  render();
}

function renderList(): void {
  renderSessionList(sessionList, sessionCount, state, select);
}

function render(): void {
  renderList();
  detail.render(state);
}

function receive(sessions: SessionData[]): void {
  state.sessions = sessions;
  state.receivedAt = Date.now();
  render();
}

function loadMachines(): void {
  fetchMachines().then(
    (machines) => {
      state.machines = machines;
      detail.reset();
      render();
    },
    (error: unknown) => {
      setStatus({ text: error instanceof Error ? error.message : String(error), tone: 'bad' });
      setTimeout(loadMachines, MACHINES_RETRY_MS);
    },
  );
}

function bindOptions(): void {
  const internal = pageElement('opt-internal', HTMLInputElement);
  const arrows = pageElement('opt-arrows', HTMLInputElement);
  internal.checked = state.options.internal;
  arrows.checked = state.options.arrows;
  internal.addEventListener('change', () => {
    state.options.internal = internal.checked;
    localStorage.setItem(STORAGE.internal, internal.checked ? '1' : '0');
    // Rows change the boxes' sizes: every diagram is laid out again.
    detail.reset();
    render();
  });
  arrows.addEventListener('change', () => {
    state.options.arrows = arrows.checked;
    localStorage.setItem(STORAGE.arrows, arrows.checked ? '1' : '0');
    for (const edges of document.querySelectorAll('svg.diagram .edges'))
      edges.classList.toggle('hidden', !arrows.checked);
  });
}

let resizeTimer: ReturnType<typeof setTimeout> | undefined;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  // The diagrams wrap to the new width once the resizing stops.
  resizeTimer = setTimeout(() => detail.render(state), 200);
});
window.addEventListener('hashchange', () => {
  state.selected = readSelection();
  render();
});

bindOptions();
render();
loadMachines();
followSessions({ sessions: receive, status: setStatus });
// Ages, idle times and the expiry countdown move between updates.
setInterval(() => {
  renderList();
  if (detail.showsSession) detail.render(state);
}, 1000);
