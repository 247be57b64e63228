/** The left column: every live session with its state, age, idle time, streams and reconnects. */
import { type SessionData, totalReconnects } from './data.js';
import { html } from './dom.js';
import { formatDuration, shortId, since, stateText, toneOf } from './format.js';
import type { PageState } from './state.js';

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

function sessionItem(session: SessionData, state: PageState, onSelect: (id: string) => void): HTMLLIElement {
  const { id } = session;
  const item = html('li', {
    class: `session${id === state.selected ? ' selected' : ''}`,
    'data-session-id': id,
    tabindex: 0,
    role: 'button',
    title: id,
  });
  const top = html('div', { class: 'line' });
  top.append(
    html('span', { class: 'sid' }, shortId(id)),
    html('span', { class: `pill tone-${toneOf(session.state)}` }, stateText(session.state)),
  );
  const age = formatDuration(since(session.ageMs, 1, state.receivedAt));
  const idle = formatDuration(since(session.idleMs, 1, state.receivedAt));
  const meta = [
    `age ${age}`,
    `idle ${idle}`,
    plural(session.streams.length, 'stream', 'streams'),
    plural(totalReconnects(session), 'reconnect', 'reconnects'),
  ].join(' \u00b7 ');
  item.append(top, html('div', { class: 'meta' }, meta));
  item.addEventListener('click', () => onSelect(id));
  item.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      onSelect(id);
    }
  });
  return item;
}

/** Redraws the list (it is short and its durations change every second). */
export function renderSessionList(
  list: HTMLUListElement,
  count: HTMLElement,
  state: PageState,
  onSelect: (id: string) => void,
): void {
  const { sessions } = state;
  count.textContent = sessions.length > 0 ? String(sessions.length) : '';
  if (sessions.length === 0) {
    const empty = 'No sessions. Point an MCP client at the proxy and its sessions appear here.';
    list.replaceChildren(html('li', { class: 'empty' }, empty));
    return;
  }
  list.replaceChildren(...sessions.map((session) => sessionItem(session, state, onSelect)));
}
