/**
 * The session machine with its real children: connection machines (whose HTTP reader is
 * the fake leaf here), the re-initialization machine, the stdio process machine (with a fake
 * runner), replay actors reading a real memory log, and a fake upstream DELETE. The test
 * only sends what the proxy sends (commands) and makes the world answer.
 */
import { expect } from 'vitest';
import type { ConnectionEvent } from '../../machines/connection.types.js';
import { parseEventId } from '../../machines/event-id.js';
import { upstreamOutputProblem } from '../../machines/jsonrpc.js';
import { sessionMachine } from '../../machines/session.machine.js';
import type { SessionEmitted, SessionEvent, SessionInput } from '../../machines/session.types.js';
import { hasClientActivity, streamChildId } from '../../machines/stream-table.js';
import type { Effect, MachineModel, Step } from './harness.js';
import {
  INITIALIZE_BODY,
  INITIALIZED_BODY,
  isInitialize,
  type Logged,
  performReaderStep,
  provideSession,
  readerSteps,
  type SessionWorld,
  sessionInput,
  sessionWorld,
  TAG,
} from './session-world.js';
import { describeTransitions } from './transition-suite.js';

const baseInput = (world: SessionWorld): SessionInput => sessionInput(world.eventLog);

/**
 * A session that ends when the upstream loses it (policy propagate), a stdio one (its `host`
 * child is the process machine), and one that re-initializes the upstream. In this order,
 * the search finds what each adds at the shallowest depth it can.
 */
const inputs = [
  (world: SessionWorld): SessionInput => ({ ...baseInput(world), onUpstreamGone: 'propagate' }),
  (world: SessionWorld): SessionInput => ({
    ...baseInput(world),
    upstream: {
      url: 'stdio:server',
      process: { command: 'server' },
      processOptions: { restart: { maxAttempts: 1, baseMs: 100, jitter: 0 }, graceMs: 100, killAfterMs: 100 },
    },
  }),
  baseInput,
  // A session another replica held (docs/replicas.md): its standalone stream, a POST stream it
  // can resume upstream, and one it cannot (no upstream event id yet).
  (world: SessionWorld): SessionInput => ({
    ...baseInput(world),
    restore: {
      upstreamSessionId: 'upstream-restored',
      protocolVersion: '2025-11-25',
      nextSeq: 12,
      nextStream: 5,
      initializedBody: INITIALIZED_BODY,
      reinitializations: 0,
      credential: { id: 'c1', headers: { authorization: 'Bearer t' } },
      standaloneDelivered: 9,
      streams: [
        { stream: 0, kind: 'get', pending: [], resumeId: 'up-7' },
        { stream: 3, kind: 'post', pending: [30], resumeId: 'up-9' },
        { stream: 4, kind: 'post', pending: [40], resumeId: undefined },
      ],
    },
  }),
];
const INPUT_LABELS = ['http, propagate', 'stdio', 'http, reinitialize', 'restored'];

/** The stdio process's state and crash count, for telling search nodes apart. */
const hostState = (snapshot: unknown) => {
  const host = snapshot as { value?: unknown; context?: { attempt?: number } } | undefined;
  return host && [host.value, host.context?.attempt];
};

type SessionEffect = Effect<typeof sessionMachine, SessionWorld>;
const recorded = (e: SessionEffect) => e.recorded as Logged[];
const emitted = <T extends SessionEmitted['type']>(e: SessionEffect, type: T) =>
  recorded(e).flatMap((r) =>
    r.kind === 'emit' && r.event.type === type ? [r.event as Extract<SessionEmitted, { type: T }>] : [],
  );
const posted = (e: SessionEffect) => recorded(e).flatMap((r) => (r.kind === 'request' ? [r.request] : []));
/** The command the transition answered: the step itself, or one the session held and raised. */
const commandOf = (e: SessionEffect) =>
  [...e.received].reverse().find((event) => model.commands.includes(event.type)) as SessionEvent | undefined;
const keyOf = (e: SessionEffect) => {
  const command = commandOf(e);
  return command && 'key' in command ? command.key : undefined;
};
const stepEvent = (e: SessionEffect) => (e.step as { event?: ConnectionEvent }).event;

/** The command was refused with this code, and nothing was opened for it. */
const refused = (code: string) => (e: SessionEffect) => {
  const key = keyOf(e);
  expect(emitted(e, 'session.refused').filter((r) => r.key === key)).toEqual([
    expect.objectContaining({ code, message: expect.stringMatching(/.{20,}/) }),
  ]);
  expect(emitted(e, 'session.stream.opened').filter((o) => o.key === key)).toEqual([]);
};

/** The command waits until the upstream GET stream has opened: nothing goes upstream for it yet. */
const deferred = (e: SessionEffect) => {
  expect(e.after.snapshot.context.deferred.at(-1)).toEqual(e.step);
  expect(posted(e)).toEqual([]);
  expect(emitted(e, 'session.refused')).toEqual([]);
};

/** The held commands are handled, in order, once requests may go. */
const released = (e: SessionEffect) => {
  expect(e.after.snapshot.context.deferred).toEqual([]);
  const held = e.before.snapshot.context.deferred;
  const answered = held.filter(
    (c) => 'key' in c && recorded(e).some((r) => r.kind === 'emit' && 'key' in r.event && r.event.key === c.key),
  );
  const replaying = held.filter((c) => 'key' in c && e.after.snapshot.context.resuming.some((r) => r.key === c.key));
  expect(answered.length + replaying.length).toBe(held.length);
};

/** The session is on its way out for this reason: every stream stopped and the clients told. */
const endingBecause = (reason: string) => (e: SessionEffect) => {
  const { snapshot, world: w } = e.after;
  expect(snapshot.context.endReason).toBe(reason);
  expect(w.readers.every((r) => r.stopped)).toBe(true);
  const live = Object.keys(e.before.snapshot.context.streams.entries).map(Number);
  const ended = emitted(e, 'session.stream.ended').map((s) => s.stream);
  for (const stream of live) expect(ended).toContain(stream);
  expect(snapshot.status === 'done' || snapshot.matches('stoppingHost') || snapshot.matches('deletingUpstream')).toBe(
    true,
  );
};

/** The session is over: one announcement, its log freed, nothing running, nothing scheduled. */
const over = (state: 'terminated' | 'expired') => (e: SessionEffect) => {
  const { snapshot, world: w, clock } = e.after;
  expect(snapshot.status).toBe('done');
  expect(snapshot.output?.state).toBe(state);
  expect(emitted(e, 'session.ended')).toEqual([expect.objectContaining({ state })]);
  expect(recorded(e)).toContainEqual({ kind: 'notify', event: state });
  expect(w.eventLog.freed).toBe(true);
  expect(w.readers.every((r) => r.stopped)).toBe(true);
  expect(w.runner?.stopped ?? true).toBe(true);
  expect(clock.pending()).toEqual([]);
};

/** A DELETE went upstream, naming the upstream session. */
const deleteSent = (e: SessionEffect) => {
  const deletes = recorded(e).flatMap((r) => (r.kind === 'delete' ? [r.headers] : []));
  expect(deletes).toEqual([expect.objectContaining({ 'mcp-session-id': e.after.snapshot.context.upstreamSessionId })]);
  expect(e.after.snapshot.matches('deletingUpstream')).toBe(true);
};

const resumeAnswer = (e: SessionEffect) => {
  const answers = [...emitted(e, 'session.resumed'), ...emitted(e, 'session.refused')];
  expect(answers).toHaveLength(1);
  return answers[0];
};

/** The resume was answered with the replay; `live`: the client now holds the stream. */
const resumed = (live: boolean) => (e: SessionEffect) => {
  const [answer] = emitted(e, 'session.resumed');
  expect(answer).toMatchObject({ live, events: expect.any(Array) });
  if (!answer) return;
  const { entries } = e.after.snapshot.context.streams;
  expect(entries[answer.stream]?.client).toBe(live ? answer.key : undefined);
  for (const event of answer.events) expect(parseEventId(event.eventId)?.stream).toBe(answer.stream);
  expect(e.after.snapshot.context.resuming).toEqual([]);
};

const model: MachineModel<typeof sessionMachine, SessionWorld> = {
  machine: sessionMachine,
  world: sessionWorld,
  provide: (w) => provideSession(w),
  attach: (actor, w) => {
    actor.on('*', (event: SessionEmitted) => w.log.push({ kind: 'emit', event }));
  },
  // Each input adds what it reaches at its shallowest; the full space of a session is vast.
  search: { maxDepth: 10, patience: 1, patienceFrom: 3 },
  inputCount: inputs.length,
  input: (index, w) => (inputs[index] as (w: SessionWorld) => SessionInput)(w),
  commands: [
    'session.request',
    'session.listen',
    'session.resume',
    'session.client.detach',
    'session.delete',
    'session.shutdown',
    'session.handoff',
  ],
  steps: ({ context }, w) => {
    // Keys and ids from the world's history: the same path always makes the same steps.
    const n = w.log.length * 10 + context.deferred.length + 10;
    const commands: SessionEvent[] = [
      {
        type: 'session.request',
        key: `r${n}`,
        body: `{"jsonrpc":"2.0","id":${n},"method":"tools/call"}`,
        requestIds: [n],
      },
      { type: 'session.request', key: `n${n}`, body: INITIALIZED_BODY, requestIds: [], replayOnReinit: true },
      { type: 'session.listen', key: `get${n}` },
      { type: 'session.resume', key: `resume${n}`, lastEventId: `${TAG}.0.0` },
      { type: 'session.resume', key: `resume${n}`, lastEventId: 'not an id' },
      { type: 'session.delete' },
      { type: 'session.shutdown' },
      { type: 'session.handoff' },
    ];
    // The newest POST stream (live or ended) can be resumed or said to be read to its end.
    const opened = w.log.flatMap((r) =>
      r.kind === 'emit' && r.event.type === 'session.stream.opened' ? [r.event] : [],
    );
    const newestPost = opened.filter((o) => o.stream !== 0).at(-1);
    if (newestPost) {
      commands.push({ type: 'session.resume', key: `resume${n}`, lastEventId: `${TAG}.${newestPost.stream}.0` });
      if (!(newestPost.stream in context.streams.entries)) {
        commands.push({
          type: 'session.client.detach',
          key: newestPost.key,
          stream: newestPost.stream,
          delivered: true,
        });
      }
    }
    for (const [stream, entry] of Object.entries(context.streams.entries)) {
      if (entry.client !== undefined) {
        commands.push({ type: 'session.client.detach', key: entry.client, stream: Number(stream), delivered: false });
      }
    }
    const steps: Step<typeof sessionMachine>[] = [...commands];
    steps.push(...readerSteps(w));
    if (w.deletes.length > 0)
      steps.push({ type: '@world', action: 'delete-ok' }, { type: '@world', action: 'delete-fail' });
    if (w.runner && !w.runner.stopped) steps.push({ type: '@world', action: 'exit' });
    if (!w.eventLog.failing) steps.push({ type: '@world', action: 'log-fail' });
    if (!w.eventLog.holding && w.eventLog.heldCount === 0) steps.push({ type: '@world', action: 'log-hold' });
    if (w.eventLog.heldCount > 0) steps.push({ type: '@world', action: 'log-release' });
    return steps;
  },
  perform: (step, w) => {
    if (performReaderStep(step, w)) return;
    if (step.action === 'delete-ok') w.deletes.shift()?.resolve();
    else if (step.action === 'delete-fail') w.deletes.shift()?.reject(new Error('refused'));
    else if (step.action === 'exit') w.runner?.sendBack({ type: 'process.exit', code: 1, signal: null });
    else if (step.action === 'log-fail') w.eventLog.failing = true;
    else if (step.action === 'log-hold') w.eventLog.holding = true;
    else if (step.action === 'log-release') w.eventLog.release();
  },
  serialize: ({ value, context, children }, w) =>
    JSON.stringify([
      value,
      hostState(children.host?.getSnapshot()),
      // Stream numbers only grow: the search cares what the streams are, not what they are called.
      Object.values(context.streams.entries)
        .map((e) => `${e.kind}:${e.client !== undefined}:${e.pending.length}`)
        .sort(),
      context.upstreamSessionId !== undefined,
      context.standalone.unavailable,
      context.deferred.length,
      context.endReason,
      context.reinitializations,
      context.initializedBody !== undefined,
      context.hostAlive,
      context.resuming.length,
      w.readers.filter((r) => !r.stopped && r.responded).length,
      w.readers.filter((r) => !r.stopped && !r.responded).length,
      w.deletes.length,
      w.eventLog.failing,
      w.eventLog.holding,
      w.runner?.stopped,
      w.log.some((r) => r.kind === 'emit' && r.event.type === 'session.stream.opened' && r.event.stream > 1),
    ]),
  check: ({ snapshot, world: w, clock }) => {
    const { context } = snapshot;
    // One running reader per live stream's connection, plus the re-initialization's.
    const live = Object.keys(context.streams.entries).length;
    const running = w.readers.filter((r) => !r.stopped).length;
    if (snapshot.matches({ live: 'reinitializing' })) expect(running).toBeLessThanOrEqual(1);
    else if (snapshot.status === 'done') expect(running).toBe(0);
    else expect(running).toBeLessThanOrEqual(live);
    expect(live).toBeLessThanOrEqual(context.limits.maxConnectionsPerSession);

    // Every forwarded event has an id unique in the session that names its stream, in order.
    const forwarded = w.log.flatMap((r) => (r.kind === 'emit' && r.event.type === 'session.event' ? [r.event] : []));
    const seqs = forwarded.map((e) => {
      const parts = parseEventId(e.eventId);
      expect(parts).toMatchObject({ tag: TAG, stream: e.stream, seq: e.seq });
      return e.seq;
    });
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(forwarded.every((e) => e.data !== '')).toBe(true);
    // Only JSON-RPC reaches a client.
    expect(forwarded.filter((e) => upstreamOutputProblem(e.data, e.message) !== undefined)).toEqual([]);

    // A live stream has at most one client; each client is told of one stream.
    const openedKeys = w.log.flatMap((r) =>
      r.kind === 'emit' && r.event.type === 'session.stream.opened' ? [r.event.key] : [],
    );
    expect(new Set(openedKeys).size).toBe(openedKeys.length);

    // Requests after the initialize carry the upstream session id and the credentials.
    for (const reader of w.readers) {
      expect(reader.request.headers.authorization ?? 'Bearer t').toBe('Bearer t');
      if (isInitialize(reader.request)) expect(reader.request.headers['mcp-session-id']).toBeUndefined();
    }
    // A stdio session runs its host while it lives.
    if (snapshot.status === 'active' && context.hostAlive) expect(w.runner).toBeDefined();
    if (snapshot.status === 'done') {
      expect(clock.pending()).toEqual([]);
      expect(w.log.filter((r) => r.kind === 'emit' && r.event.type === 'session.ended')).toHaveLength(1);
      expect(snapshot.output?.reason).toBe(context.endReason);
    }
  },
  effects: {
    'session.live --session.delete--> session.terminating': endingBecause('deleted'),
    'session.live --session.shutdown--> session.terminating': endingBecause('shutdown'),
    'session.live --session.handoff--> session.terminating': (e) => {
      endingBecause('handoff')(e);
      // Another process answers the requests and holds the upstream session: no error, no DELETE.
      expect(emitted(e, 'session.stream.ended').flatMap((s) => s.unanswered)).toEqual([]);
      expect(recorded(e).some((r) => r.kind === 'delete')).toBe(false);
    },
    'session.live.starting --always[isRestored]--> session.live.active': (e) => {
      const { context } = e.after.snapshot;
      // Nothing is initialized again: each resumable stream resumes upstream from its id.
      expect(posted(e).some(isInitialize)).toBe(false);
      const resumes = posted(e).map((r) => [r.id, r.method, r.headers['last-event-id'], r.headers['mcp-session-id']]);
      expect(resumes.sort()).toEqual([
        ['stream-0', 'GET', 'up-7', 'upstream-restored'],
        ['stream-3', 'GET', 'up-9', 'upstream-restored'],
      ]);
      expect(Object.keys(context.streams.entries)).toEqual(['0', '3']);
      expect(context.streams.entries[3]).toMatchObject({ kind: 'post', client: undefined, pending: [30] });
      // The request that cannot be resumed is answered with an error where its client looks.
      expect(context.nextSeq).toBe(13);
      const replay = e.after.world.eventLog.inner.replayAfter(`${TAG}.4.11`, { newestSeq: 12, nextStream: 5 });
      expect(replay).toMatchObject({ ok: true, events: [{ seq: 12, stream: 4 }] });
      if (replay.ok)
        expect(JSON.parse(replay.events[0]?.data ?? '{}')).toMatchObject({ id: 40, error: { code: -32603 } });
    },
    'session.live.starting --always--> session.live.initializing': (e) => {
      expect(posted(e).filter(isInitialize)).toHaveLength(1);
      expect(e.after.snapshot.context.nextSeq).toBe(1);
    },
    'session.live --session.client.detach--> (self)': (e) => {
      const { key, stream, delivered } = e.step as Extract<SessionEvent, { type: 'session.client.detach' }>;
      const entry = e.after.snapshot.context.streams.entries[stream];
      if (entry !== undefined) expect(entry.client).toBeUndefined();
      else {
        expect(delivered).toBe(true);
        // Read to its end by its client: nothing of the stream is kept for a resume.
        const replay = e.after.world.eventLog.inner.replayAfter(`${TAG}.${stream}.0`, {
          newestSeq: 1e9,
          nextStream: 1e9,
        });
        expect(replay).toMatchObject({ ok: true, events: [] });
      }
      expect(key).toBeDefined();
      expect(recorded(e).filter((r) => r.kind === 'emit')).toEqual([]);
    },
    'session.live --session.resume[resumeSlotsFull]--> (self)': refused('too-many-resumes'),
    'session.live --session.resume--> (self)': (e) => {
      // The log is read; its answer comes now, or once the log answers.
      const pending = e.after.snapshot.context.resuming.some((r) => r.key === keyOf(e));
      if (!pending) expect(resumeAnswer(e)?.key).toBe(keyOf(e));
      else expect(e.after.world.eventLog.heldCount).toBeGreaterThan(0);
    },
    'session.live --connection.event--> (self)': (e) => {
      const [event] = emitted(e, 'session.event');
      expect(event?.seq).toBe(e.before.snapshot.context.nextSeq);
      expect(event?.data).toBe((stepEvent(e) as { data?: string }).data);
    },
    'session.live --connection.events--> (self)': (e) => {
      // A run: one session.event per event, numbered on from where the session was, in order.
      const events = emitted(e, 'session.event');
      const run = (stepEvent(e) as { events?: Array<{ data: string }> }).events ?? [];
      expect(events.length).toBeGreaterThan(1);
      expect(events.map((one) => one.seq)).toEqual(events.map((_, i) => e.before.snapshot.context.nextSeq + i));
      expect(events.map((one) => one.data)).toEqual(run.slice(0, events.length).map((one) => one.data));
      expect(e.after.snapshot.context.nextSeq).toBe(e.before.snapshot.context.nextSeq + events.length);
    },
    'session.live --exchange.answered--> (self)': (e) => {
      // The whole exchange in this one step: its statuses as a connection reports them, the
      // answer (or a 202) between them, and the stream over.
      const step = e.received.find((event) => event.type === 'exchange.answered');
      const stream = Number(String((step as { id?: string } | undefined)?.id).slice('stream-'.length));
      const states = emitted(e, 'session.stream.status').map((s) => [s.stream, s.state, s.status.reason]);
      const answered = emitted(e, 'session.event');
      if (answered.length === 0) expect(states).toEqual([[stream, 'closed', 'accepted']]);
      else {
        expect(states).toEqual([
          [stream, 'open', 'opened'],
          [stream, 'closed', 'completed'],
        ]);
        expect(answered).toEqual([expect.objectContaining({ stream, seq: e.before.snapshot.context.nextSeq })]);
      }
      expect(emitted(e, 'session.stream.ended')).toEqual([expect.objectContaining({ stream, state: 'closed' })]);
      expect(e.after.snapshot.context.streams.entries[stream]).toBeUndefined();
      expect(e.after.snapshot.children[streamChildId(stream)]).toBeUndefined();
    },
    'session.live --exchange.handover--> (self)': (e) => {
      // The stream's connection takes the request over where it stands: nothing goes upstream
      // again, and the connection reports what the upstream's answer makes of the stream.
      const step = e.received.find((event) => event.type === 'exchange.handover') as { id: string } | undefined;
      const id = step?.id ?? '';
      const stream = Number(id.slice('stream-'.length));
      expect(posted(e)).toEqual([]);
      const child = e.after.snapshot.children[streamChildId(stream)]?.getSnapshot() as
        | { machine?: { id?: string } }
        | undefined;
      const ended = emitted(e, 'session.stream.ended').some((s) => s.stream === stream);
      expect(child === undefined ? ended : child.machine?.id === 'connection').toBe(true);
      expect(emitted(e, 'session.stream.status').filter((s) => s.stream === stream).length).toBeGreaterThan(0);
    },
    'session.live --connection.status--> (self)': (e) => {
      expect(emitted(e, 'session.stream.status').length).toBeGreaterThan(0);
      for (const ended of emitted(e, 'session.stream.ended')) {
        expect(e.after.snapshot.context.streams.entries[ended.stream]).toBeUndefined();
      }
    },
    'session.live --xstate.done.actor.*[isHostDone]--> session.terminating': (e) => {
      endingBecause('upstream-gone')(e);
      expect(e.after.snapshot.context.hostAlive).toBe(false);
    },
    'session.live --xstate.done.actor.*[resumeIs(refused)]--> (self)': (e) => {
      expect(resumeAnswer(e)).toMatchObject({ type: 'session.refused', code: 'malformed' });
    },
    'session.live --xstate.done.actor.*[resumeIs(conflict)]--> (self)': (e) => {
      expect(resumeAnswer(e)).toMatchObject({ type: 'session.refused', code: 'stream-attached' });
    },
    'session.live --xstate.done.actor.*[resumeIs(attached)]--> (self)': resumed(true),
    'session.live --xstate.done.actor.*[isResumeAnswer]--> (self)': resumed(false),
    'session.live --xstate.error.actor.*[resumeIs(failed)]--> (self)': (e) => {
      expect(resumeAnswer(e)).toMatchObject({ type: 'session.refused', code: 'log-unavailable' });
      expect(e.after.snapshot.context.resuming).toEqual([]);
    },
    'session.live --after maxLifetime--> session.terminating': endingBecause('lifetime'),
    'session.live.initializing --session.request--> (self)': refused('not-initialized'),
    'session.live.initializing --session.listen--> (self)': refused('not-initialized'),
    'session.live.initializing --connection.events[isInitializeResult]--> session.live.preparing': (e) => {
      // What the upstream said before its answer, then the answer: both to the client, in order.
      expect(emitted(e, 'session.initialized')).toEqual([expect.objectContaining({ protocolVersion: '2025-11-25' })]);
      expect(recorded(e)).toContainEqual({ kind: 'notify', event: 'initialized' });
      const events = emitted(e, 'session.event');
      expect(events.map((one) => one.stream)).toEqual([1, 1]);
      expect(events.map((one) => (one.message as { method?: string }).method)).toEqual([
        'notifications/progress',
        undefined,
      ]);
      expect(posted(e).map((r) => r.method)).toEqual(['GET']);
    },
    'session.live.initializing --connection.event[isInitializeResult]--> session.live.preparing': (e) => {
      expect(emitted(e, 'session.initialized')).toEqual([expect.objectContaining({ protocolVersion: '2025-11-25' })]);
      expect(recorded(e)).toContainEqual({ kind: 'notify', event: 'initialized' });
      expect(emitted(e, 'session.event')).toEqual([expect.objectContaining({ stream: 1 })]);
      // The proxy opens the upstream GET stream itself, before anything else goes upstream.
      expect(posted(e).map((r) => r.method)).toEqual(['GET']);
      expect(e.after.snapshot.context.streams.entries[0]).toMatchObject({ kind: 'get', client: undefined });
    },
    'session.live.preparing --session.request[deferredFull]--> (self)': refused('too-many-streams'),
    'session.live.preparing --session.request--> (self)': deferred,
    'session.live.preparing --session.listen[deferredFull]--> (self)': refused('too-many-streams'),
    'session.live.preparing --session.listen--> (self)': deferred,
    'session.live.preparing --session.resume[deferredFull]--> (self)': refused('too-many-streams'),
    'session.live.preparing --session.resume--> (self)': deferred,
    'session.live.preparing --connection.status[and(isStreamExpired, mayReinitialize)]--> session.live.reinitializing':
      (e) => {
        expect(e.after.world.readers.filter((r) => !r.stopped).map((r) => r.request.body)).toEqual([INITIALIZE_BODY]);
      },
    'session.live.preparing --connection.status[isStandaloneSettled]--> session.live.active': released,
    'session.live.preparing --after standaloneWait--> session.live.active': released,
    'session.live.initializing --xstate.done.actor.*[isInitializeStreamDone]--> session.terminating': (e) => {
      endingBecause('initialize-failed')(e);
      expect(emitted(e, 'session.stream.ended')[0]).toMatchObject({ stream: 1 });
    },
    'session.live.active --session.request[atStreamLimit]--> (self)': refused('too-many-streams'),
    'session.live.active --session.request--> (self)': (e) => {
      const { key, body } = commandOf(e) as Extract<SessionEvent, { type: 'session.request' }>;
      const opened = emitted(e, 'session.stream.opened').find((o) => o.key === key);
      expect(opened).toMatchObject({ primingId: expect.stringMatching(/^tag1\.\d+\.\d+$/) });
      const request = posted(e).find((r) => r.body === body);
      expect(request).toMatchObject({ method: 'POST', body });
      expect(request?.headers['mcp-session-id']).toBe(e.after.snapshot.context.upstreamSessionId);
    },
    'session.live.active --session.listen[standaloneAttached]--> (self)': refused('stream-attached'),
    'session.live.active --session.listen[standaloneUnavailable]--> (self)': refused('no-standalone-stream'),
    'session.live.active --session.listen[and(standaloneLive, resumeSlotsFull)]--> (self)': refused('too-many-resumes'),
    'session.live.active --session.listen[standaloneLive]--> (self)': (e) => {
      // The stream the proxy opened is there: the client gets what it carried meanwhile, from the log.
      expect(posted(e).filter((r) => r.method === 'GET')).toEqual([]);
      const pending = e.after.snapshot.context.resuming.some((r) => r.key === keyOf(e));
      if (pending) expect(e.after.world.eventLog.heldCount).toBeGreaterThan(0);
      else {
        expect(resumeAnswer(e)).toMatchObject({ type: 'session.resumed', key: keyOf(e), stream: 0, live: true });
        expect(e.after.snapshot.context.streams.entries[0]?.client).toBe(keyOf(e));
      }
    },
    'session.live.active --session.listen[atStreamLimit]--> (self)': refused('too-many-streams'),
    'session.live.active --session.listen--> (self)': (e) => {
      expect(emitted(e, 'session.stream.opened')).toEqual([expect.objectContaining({ stream: 0, key: keyOf(e) })]);
      const [request] = posted(e);
      expect(request?.method).toBe('GET');
      expect(request?.headers['last-event-id']).toBe(e.before.snapshot.context.standalone.resumeId);
    },
    'session.live.active --connection.status[and(isStreamExpired, mayReinitialize)]--> session.live.reinitializing': (
      e,
    ) => {
      // Every stream stopped; the client's initialize replayed without the lost session id.
      const stopped = e.after.world.readers.filter((r) => !r.stopped);
      expect(stopped.map((r) => r.request.body)).toEqual([INITIALIZE_BODY]);
      expect(e.after.snapshot.context.reinitializations).toBe(e.before.snapshot.context.reinitializations + 1);
      expect(emitted(e, 'session.stream.ended')).toEqual([]);
    },
    'session.live.active --xstate.done.actor.*[isStreamDoneExpired]--> session.terminating': (e) => {
      endingBecause('upstream-gone')(e);
      // The upstream no longer has the session: nothing to DELETE.
      expect(recorded(e).some((r) => r.kind === 'delete')).toBe(false);
    },
    'session.live.active --xstate.done.actor.*[and(resumeIs(reopen), not(atStreamLimit))]--> (self)': (e) => {
      resumed(true)(e);
      const [request] = posted(e);
      expect(request?.method).toBe('GET');
    },
    'session.live.active.idle --after idleTimeout--> session.terminating': endingBecause('idle'),
    'session.live.active.idle --always[hasActivity]--> session.live.active.busy': (e) => {
      // Busy while a stream is live: the idle timer is off; or the step's stream already ended.
      if (e.after.snapshot.matches({ live: { active: 'busy' } })) {
        expect(hasClientActivity(e.after.snapshot.context.streams)).toBe(true);
        expect(e.after.clock.pending()).not.toContain(e.after.snapshot.context.limits.idleTimeoutMs);
      } else
        expect(e.taken).toContain('session.live.active.busy --always[not(hasActivity)]--> session.live.active.idle');
    },
    'session.live.active.busy --always[not(hasActivity)]--> session.live.active.idle': (e) => {
      // The standalone stream the proxy holds for nobody does not keep the session busy.
      for (const entry of Object.values(e.after.snapshot.context.streams.entries)) {
        expect(entry).toMatchObject({ kind: 'get', client: undefined });
      }
      // Idle again: the idle timer runs (unless the same step ran it out and the session ended).
      if (e.after.snapshot.matches({ live: { active: 'idle' } })) {
        expect(e.after.clock.pending().some((ms) => ms <= e.after.snapshot.context.limits.idleTimeoutMs)).toBe(true);
      }
    },
    'session.live.reinitializing --session.request[deferredFull]--> (self)': refused('reinitializing'),
    'session.live.reinitializing --session.request--> (self)': deferred,
    'session.live.reinitializing --session.listen[deferredFull]--> (self)': refused('reinitializing'),
    'session.live.reinitializing --session.listen--> (self)': deferred,
    'session.live.reinitializing --session.resume[deferredFull]--> (self)': refused('reinitializing'),
    'session.live.reinitializing --session.resume--> (self)': deferred,
    'session.live.reinitializing --xstate.done.actor.reinitialize[reinitSucceeded]--> session.live.active': (e) => {
      expect(emitted(e, 'session.reinitialized')).toHaveLength(1);
      expect(recorded(e)).toContainEqual({ kind: 'notify', event: 'reinitialized' });
      const { context } = e.after.snapshot;
      expect(context.upstreamSessionId).toBe('upstream-2');
      // Every stream still waiting is sent again under the new session.
      for (const stream of Object.keys(context.streams.entries)) {
        const resent = e.after.world.readers.filter((r) => !r.stopped && r.request.id === `stream-${stream}`);
        expect(resent).toHaveLength(1);
        expect(resent[0]?.request.headers['mcp-session-id']).toBe('upstream-2');
      }
    },
    'session.live.reinitializing --xstate.done.actor.reinitialize--> session.terminating':
      endingBecause('upstream-gone'),
    'session.terminating --always[hostAlive]--> session.stoppingHost': (e) => {
      expect(e.after.snapshot.matches('stoppingHost')).toBe(true);
      expect(recorded(e)).toContainEqual({ kind: 'runner', command: 'runner.closeStdin' });
    },
    'session.terminating --always[shouldDeleteUpstream]--> session.deletingUpstream': deleteSent,
    'session.terminating --always[endIsExpiry]--> session.expired': over('expired'),
    'session.terminating --always--> session.terminated': over('terminated'),
    'session.stoppingHost --xstate.done.actor.*[isHostDone]--> session.terminating': (e) => {
      expect(e.after.snapshot.context.hostAlive).toBe(false);
      expect(e.after.snapshot.status).toBe('done');
    },
    'session.stoppingHost --after hostStopTimeout--> session.terminating': (e) => {
      expect(e.after.snapshot.context.hostAlive).toBe(false);
      expect(e.after.snapshot.status).toBe('done');
    },
    'session.deletingUpstream --xstate.done.actor.deleteUpstream[endIsExpiry]--> session.expired': over('expired'),
    'session.deletingUpstream --xstate.done.actor.deleteUpstream--> session.terminated': over('terminated'),
    'session.deletingUpstream --xstate.error.actor.deleteUpstream[endIsExpiry]--> session.expired': over('expired'),
    'session.deletingUpstream --xstate.error.actor.deleteUpstream--> session.terminated': over('terminated'),
    'session.deletingUpstream --after deleteTimeout[endIsExpiry]--> session.expired': over('expired'),
    'session.deletingUpstream --after deleteTimeout--> session.terminated': over('terminated'),
  },
};

await describeTransitions(model, (index) => INPUT_LABELS[index] ?? '');
