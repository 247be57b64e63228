/**
 * The right column, for the chosen session: its facts, its session statechart, the process
 * statechart of a stdio session's server, one statechart per stream (the stream's `machine`,
 * a connection), and its snapshot on demand. Each part is a card with a `data-key`; a card
 * and its diagram are kept across updates and only their text and highlight change.
 */
import { fetchSessionDetail } from './api.js';
import { type HostData, type SessionData, type StreamData, totalReconnects } from './data.js';
import { html } from './dom.js';
import { formatBytes, formatDuration, since, stateText, toneOf } from './format.js';
import { createDiagram, type Diagram } from './render.js';
import type { PageState } from './state.js';

interface CachedDiagram {
  machineId: string;
  /** What it was laid out for: a change of either needs a new layout. */
  width: number;
  internal: boolean;
  diagram: Diagram;
  used: boolean;
}

/** How often an unfolded snapshot is fetched again while updates come in. */
const SNAPSHOT_REFRESH_MS = 1000;

const pill = (value: unknown, attributes: Record<string, string> = {}) =>
  html('span', { class: `pill tone-${toneOf(value)}`, ...attributes }, stateText(value));

function streamKindLabel(kind: string): string {
  if (kind === 'get') return 'GET (standalone)';
  if (kind === 'post') return 'POST response';
  return kind || '?';
}

function fact(parent: HTMLElement, label: string, value: string, id?: string): void {
  const item = html('div', { class: 'fact' });
  item.append(html('span', { class: 'label' }, label), html('span', { class: 'value', id }, value));
  parent.append(item);
}

export class SessionDetailView {
  private readonly diagrams = new Map<string, CachedDiagram>();
  private snapshotTimer: ReturnType<typeof setTimeout> | undefined;
  /** The session the cards are about: choosing another starts from an empty column. */
  private shownSession: string | undefined;

  constructor(private readonly container: HTMLElement) {}

  /** Forgets every card and diagram (the options changed: everything is laid out again). */
  reset(): void {
    this.container.textContent = '';
    this.diagrams.clear();
    this.shownSession = undefined;
  }

  /** Whether a session's cards are on screen (the once-a-second tick then updates its durations). */
  get showsSession(): boolean {
    return this.card('info') !== undefined;
  }

  render(state: PageState): void {
    const session = state.sessions.find((s) => s.id === state.selected);
    if (!session) {
      this.reset();
      const message =
        state.selected === undefined
          ? state.sessions.length > 0
            ? 'Choose a session on the left to see its statecharts.'
            : 'Waiting for sessions\u2026'
          : `Session ${state.selected} has ended or is unknown.`;
      this.container.append(html('p', { class: 'placeholder', id: 'placeholder' }, message));
      return;
    }
    if (this.shownSession !== session.id) {
      this.reset();
      this.shownSession = session.id;
    }
    for (const entry of this.diagrams.values()) entry.used = false;

    const cards = [this.infoCard(session, state), this.sessionCard(session, state)];
    if (session.host) cards.push(this.hostCard(session.host, state));
    if (session.streams.length === 0) {
      cards.push(
        this.card('no-streams') ?? this.newCard('no-streams', html('p', { class: 'muted' }, 'No streams open.')),
      );
    }
    for (const stream of session.streams) cards.push(this.streamCard(stream, state));
    cards.push(this.snapshotCard());
    this.arrange(cards);

    for (const [key, entry] of this.diagrams) if (!entry.used) this.diagrams.delete(key);
    const snapshot = document.getElementById('snapshot');
    if (snapshot instanceof HTMLDetailsElement && snapshot.open && this.snapshotTimer === undefined) {
      this.snapshotTimer = setTimeout(() => {
        this.snapshotTimer = undefined;
        if (this.shownSession !== undefined) this.loadSnapshot(this.shownSession);
      }, SNAPSHOT_REFRESH_MS);
    }
  }

  /** Puts the cards in this order, moving only those out of place, and drops the others. */
  private arrange(cards: HTMLElement[]): void {
    cards.forEach((card, i) => {
      const here = this.container.children[i] ?? null;
      if (here !== card) this.container.insertBefore(card, here);
    });
    while (this.container.children.length > cards.length) this.container.lastElementChild?.remove();
  }

  private card(key: string): HTMLElement | undefined {
    for (const child of this.container.children) {
      if (child instanceof HTMLElement && child.dataset.key === key) return child;
    }
    return undefined;
  }

  private newCard(key: string, ...content: HTMLElement[]): HTMLElement {
    const card = html('section', { class: 'card', 'data-key': key });
    card.append(...content);
    return card;
  }

  private infoCard(session: SessionData, state: PageState): HTMLElement {
    const card = this.card('info') ?? this.newCard('info');
    card.classList.add('info');
    const head = html('div', { class: 'info-head' });
    head.append(html('h2', { class: 'session-id' }, session.id), pill(session.state, { id: 'session-state' }));
    const facts = html('div', { class: 'facts' });
    const { receivedAt } = state;
    const expires =
      session.expiresInMs === undefined ? 'never' : formatDuration(since(session.expiresInMs, -1, receivedAt));
    fact(facts, 'expires in', expires, 'expires-in');
    fact(facts, 'age', formatDuration(since(session.ageMs, 1, receivedAt)));
    fact(facts, 'idle', formatDuration(since(session.idleMs, 1, receivedAt)));
    const log = session.eventLog;
    fact(facts, 'event log', `${log.events} events \u00b7 ${formatBytes(log.bytes)}`, 'event-log');
    fact(facts, 'protocol', session.protocolVersion ?? '\u2013');
    // A bridged session: the client's revision here, 2026-07-28 upstream.
    if (session.upstreamEra === '2026-07-28') fact(facts, 'upstream', '2026-07-28 (bridged)');
    fact(facts, 'status', session.status ?? '\u2013');
    fact(facts, 're-initializations', String(session.reinitializations));
    fact(facts, 'reconnects', String(totalReconnects(session)));
    card.replaceChildren(head, facts);
    return card;
  }

  private sessionCard(session: SessionData, state: PageState): HTMLElement {
    const card =
      this.card('machine:session') ?? this.newCard('machine:session', html('div', { class: 'diagram-slot' }));
    this.showDiagram(card, 'session', 'session', session.state, state);
    return card;
  }

  /** A stdio session's server process: the process statechart, with its restarts. */
  private hostCard(host: HostData, state: PageState): HTMLElement {
    const card =
      this.card('host') ??
      this.newCard('host', html('h3', { class: 'host-head' }), html('div', { class: 'diagram-slot' }));
    card.classList.add('host');
    card.dataset.machine = host.machine;
    card
      .querySelector('.host-head')
      ?.replaceChildren(
        html('span', undefined, 'stdio process'),
        pill(host.state),
        html('span', { class: 'host-meta' }, `restarts ${host.restarts} \u00b7 crashes in a row ${host.attempt}`),
      );
    this.showDiagram(card, 'host', host.machine, host.state, state);
    return card;
  }

  private streamCard(stream: StreamData, state: PageState): HTMLElement {
    const key = `stream:${stream.stream}`;
    let card = this.card(key);
    if (!card) {
      card = this.newCard(key, html('h3', { class: 'stream-head' }), html('div', { class: 'diagram-slot' }));
      card.classList.add('stream');
      card.dataset.stream = stream.stream;
      card.dataset.kind = stream.kind;
    }
    card.dataset.machine = stream.machine;
    const meta = [`failed attempts ${stream.attempts}`, `reconnects ${stream.reconnects}`];
    if (stream.lastEventId !== undefined) meta.push(`last event ${stream.lastEventId}`);
    card
      .querySelector('.stream-head')
      ?.replaceChildren(
        html('span', undefined, `Stream ${stream.stream} \u00b7 ${streamKindLabel(stream.kind)}`),
        pill(stream.state),
        html('span', { class: 'stream-meta' }, meta.join(' \u00b7 ')),
      );
    // A one-shot exchange has no statechart of its own (machines/exchange.ts): it is answered
    // within its window, or handed to a connection machine, whose diagram then shows.
    const slot = card.querySelector('.diagram-slot');
    if (stream.machine === 'exchange' && slot) {
      slot.textContent =
        'One-shot exchange: waiting for its answer; a connection machine takes over if it is more than one JSON body.';
      this.diagrams.delete(key);
    } else this.showDiagram(card, key, stream.machine, stream.state, state);
    return card;
  }

  private snapshotCard(): HTMLElement {
    const existing = this.card('snapshot');
    if (existing) return existing;
    const details = html('details', { id: 'snapshot' });
    details.append(html('summary', undefined, 'Snapshot (payloads redacted)'), html('pre', { class: 'json' }));
    details.addEventListener('toggle', () => {
      if (details.open && this.shownSession !== undefined) this.loadSnapshot(this.shownSession);
    });
    return this.newCard('snapshot', details);
  }

  /** Shows `GET /sessions/:id` in the snapshot card, if that session is still the one shown. */
  private loadSnapshot(id: string): void {
    const write = (text: string) => {
      const pre = document.querySelector('#snapshot pre');
      if (pre && this.shownSession === id) pre.textContent = text;
    };
    fetchSessionDetail(id).then(
      (body) => write(JSON.stringify(body, null, 2)),
      (error: unknown) =>
        write(`Could not load the snapshot: ${error instanceof Error ? error.message : String(error)}`),
    );
  }

  /** Puts the diagram of `machineId` at `value` in the card's slot (laid out once per key). */
  private showDiagram(card: HTMLElement, key: string, machineId: string, value: unknown, state: PageState): void {
    const slot = card.querySelector('.diagram-slot');
    if (!slot) return;
    const definition = state.machines?.[machineId];
    if (!definition) {
      slot.textContent = state.machines ? `No ${machineId} machine in /machines.` : 'Loading statecharts\u2026';
      return;
    }
    const width = Math.max(360, (this.container.clientWidth || 900) - 40);
    let entry = this.diagrams.get(key);
    if (!entry || entry.machineId !== machineId || entry.width !== width || entry.internal !== state.options.internal) {
      const diagram = createDiagram(definition, width, state.options);
      entry = { machineId, width, internal: state.options.internal, diagram, used: false };
      this.diagrams.set(key, entry);
    }
    entry.diagram.setValue(value);
    entry.used = true;
    if (slot.firstChild !== entry.diagram.element) slot.replaceChildren(entry.diagram.element);
  }
}
