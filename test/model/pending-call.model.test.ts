/**
 * One 2026-07-28 client's call on a pooled 2025 session: the owner (src/era/modern-front.ts)
 * feeds it the upstream's messages, the client's retries and its going away; time passes.
 * What reaches the client is always under the id of the client request attached now, the
 * upstream's requests are answered only with what a retry brought, and a call nobody waits
 * for any more is cancelled upstream.
 */
import { expect } from 'vitest';
import {
  type PendingCallEmitted,
  type PendingCallInput,
  pendingCallMachine,
} from '../../machines/pending-call.machine.js';
import type { Effect, MachineModel, Step, World } from './harness.js';
import { describeTransitions } from './transition-suite.js';

interface CallWorld extends World {
  log: PendingCallEmitted[];
}

const input: PendingCallInput = {
  upstreamId: 'mcp-shepherd-9',
  clientId: 1,
  clientCapabilities: { elicitation: {} },
  collectMs: 20,
  retryTimeoutMs: 60_000,
};

const elicit = (id: number) => ({
  jsonrpc: '2.0',
  id,
  method: 'elicitation/create',
  params: { message: `question ${id}`, requestedSchema: {} },
});
const MESSAGES = {
  final: { jsonrpc: '2.0', id: 'mcp-shepherd-9', result: { content: [{ type: 'text', text: 'done' }] } },
  elicitA: elicit(100),
  elicitB: elicit(101),
  sampling: { jsonrpc: '2.0', id: 102, method: 'sampling/createMessage', params: { messages: [], maxTokens: 5 } },
  progress: { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 't', progress: 1 } },
};

type CallEffect = Effect<typeof pendingCallMachine, CallWorld>;
const emitted = (e: CallEffect) => e.recorded as PendingCallEmitted[];
const of = <T extends PendingCallEmitted['type']>(e: CallEffect, type: T) =>
  emitted(e).filter((x): x is Extract<PendingCallEmitted, { type: T }> => x.type === type);
const attachedId = (e: CallEffect) => e.after.snapshot.context.clientId;

const final = (e: CallEffect) => {
  const [sent] = of(e, 'call.send');
  expect(sent?.final).toBe(true);
  expect(sent?.message.id).toBe(attachedId(e));
  return sent?.message as Record<string, unknown>;
};
const cancelled = (e: CallEffect) => {
  expect(e.after.snapshot.value).toBe('cancelled');
  expect(of(e, 'call.upstream').map((x) => x.message)).toEqual([
    expect.objectContaining({
      method: 'notifications/cancelled',
      params: expect.objectContaining({ requestId: 'mcp-shepherd-9' }),
    }),
  ]);
};

const model: MachineModel<typeof pendingCallMachine, CallWorld> = {
  machine: pendingCallMachine,
  world: () => ({ log: [] }),
  provide: () => pendingCallMachine,
  attach: (actor, w) => {
    for (const type of ['call.send', 'call.inputRequired', 'call.upstream'] as const) {
      actor.on(type, (event) => w.log.push(event));
    }
  },
  inputCount: 2,
  input: (index) =>
    index === 0 ? input : { ...input, prefilled: { r100: { action: 'accept', content: { early: true } } } },
  commands: ['upstream.message', 'client.retry', 'client.gone', 'upstream.ended'],
  steps: (snapshot) => {
    if (snapshot.status !== 'active') return [];
    const steps: Step<typeof pendingCallMachine>[] = Object.values(MESSAGES).map((message) => ({
      type: 'upstream.message',
      message,
    }));
    steps.push({ type: 'client.gone' }, { type: 'upstream.ended', detail: 'stream failed' });
    const keys = Object.keys(snapshot.context.waiting);
    if (keys.length > 0) {
      const answer = { action: 'accept', content: { ok: true } };
      steps.push({
        type: 'client.retry',
        clientId: 2,
        inputResponses: Object.fromEntries(keys.map((k) => [k, answer])),
      });
      // A retry that answers only the first of them.
      if (keys.length > 1)
        steps.push({ type: 'client.retry', clientId: 3, inputResponses: { [keys[0] as string]: answer } });
    }
    return steps;
  },
  serialize: ({ value, context }) =>
    JSON.stringify([value, Object.keys(context.waiting).sort(), context.held.length > 0, context.clientId]),
  check: ({ snapshot }) => {
    // Nothing is held while a client is attached, and only a parked call waits for answers without asking.
    if (snapshot.value === 'relaying') expect(snapshot.context.held).toEqual([]);
  },
  effects: {
    'pendingCall.relaying --upstream.message[isFinal]--> pendingCall.done': (e) => {
      expect(final(e).result).toEqual({ content: [{ type: 'text', text: 'done' }], resultType: 'complete' });
    },
    'pendingCall.relaying --upstream.message[and(isServerRequest, isPrefilled)]--> (self)': (e) => {
      // The first request already carried the answer: it goes upstream at once, the client is not asked.
      expect(of(e, 'call.upstream').map((x) => x.message)).toEqual([
        { jsonrpc: '2.0', id: 100, result: { action: 'accept', content: { early: true } } },
      ]);
      expect(of(e, 'call.inputRequired')).toEqual([]);
      expect(e.after.snapshot.context.waiting).toEqual({});
    },
    'pendingCall.relaying --upstream.message[and(isServerRequest, lacksCapability)]--> pendingCall.done': (e) => {
      expect(final(e).error).toMatchObject({ code: -32021, data: { requiredCapabilities: { sampling: {} } } });
      // The upstream's request is refused and its call cancelled.
      const upstream = of(e, 'call.upstream').map((x) => x.message);
      expect(upstream[0]).toMatchObject({ id: 102, error: { code: -32601 } });
      expect(upstream[1]).toMatchObject({ method: 'notifications/cancelled' });
    },
    'pendingCall.relaying --upstream.message[isServerRequest]--> pendingCall.collecting': (e) => {
      expect(emitted(e)).toEqual([]);
      expect(Object.keys(e.after.snapshot.context.waiting).length).toBeGreaterThan(0);
    },
    'pendingCall.relaying --upstream.message[isNotification]--> (self)': (e) => {
      expect(of(e, 'call.send')).toEqual([{ type: 'call.send', message: MESSAGES.progress, final: false }]);
    },
    'pendingCall.relaying --upstream.ended--> pendingCall.done': (e) => {
      expect(final(e).error).toMatchObject({ code: -32603, message: expect.stringContaining('stream failed') });
    },
    'pendingCall.relaying --client.gone--> pendingCall.cancelled': cancelled,
    'pendingCall.collecting --upstream.message[and(isServerRequest, lacksCapability)]--> pendingCall.done': (e) => {
      expect(final(e).error).toMatchObject({ code: -32021 });
    },
    'pendingCall.collecting --upstream.message[isServerRequest]--> (self)': (e) => {
      // Joins the round (a request the upstream repeats under the same id stays one).
      const id = (e.step as { message?: { id?: unknown } }).message?.id;
      expect(Object.values(e.after.snapshot.context.waiting).map((w) => w.id)).toContain(id);
      expect(emitted(e)).toEqual([]);
    },
    'pendingCall.collecting --upstream.message[isNotification]--> (self)': (e) => {
      expect(of(e, 'call.send')[0]?.final).toBe(false);
    },
    'pendingCall.collecting --upstream.message[isFinal]--> pendingCall.done': (e) => {
      expect(final(e).result).toMatchObject({ resultType: 'complete' });
    },
    'pendingCall.collecting --upstream.ended--> pendingCall.done': (e) => {
      expect(final(e).error).toMatchObject({ code: -32603 });
    },
    'pendingCall.collecting --client.gone--> pendingCall.cancelled': cancelled,
    'pendingCall.collecting --after collect--> pendingCall.parked': (e) => {
      // Everything asked together goes in one round, under keys the retry answers by.
      const [asked] = of(e, 'call.inputRequired');
      const waiting = e.after.snapshot.context.waiting;
      expect(asked?.clientId).toBe(attachedId(e));
      expect(Object.keys(asked?.inputRequests ?? {})).toEqual(Object.keys(waiting));
      for (const [key, pending] of Object.entries(waiting)) {
        expect(asked?.inputRequests[key]).toEqual(pending.leg);
      }
      expect(asked?.round).toBe(e.after.snapshot.context.round);
    },
    'pendingCall.parked --upstream.message--> (self)': (e) => {
      // Nobody attached: held for the retry, nothing sent.
      expect(of(e, 'call.send')).toEqual([]);
      expect(e.after.snapshot.context.held.length).toBe(e.before.snapshot.context.held.length + 1);
    },
    'pendingCall.parked --upstream.ended--> pendingCall.cancelled': (e) => {
      expect(e.after.snapshot.value).toBe('cancelled');
    },
    'pendingCall.parked --client.retry[heldFinal]--> pendingCall.done': (e) => {
      // The upstream finished while nobody was attached: the retry gets that answer, under its id,
      // and nothing more goes upstream.
      expect(of(e, 'call.upstream')).toEqual([]);
      const finals = of(e, 'call.send').filter((x) => x.final);
      expect(finals).toHaveLength(1);
      expect(finals[0]?.message.id).toBe(attachedId(e));
      expect(e.after.snapshot.status).toBe('done');
    },
    'pendingCall.parked --client.retry[answersAll]--> pendingCall.relaying': (e) => {
      // The answers go upstream as the responses to the upstream's own request ids.
      const before = e.before.snapshot.context.waiting;
      const responses = of(e, 'call.upstream').map((x) => x.message);
      expect(responses.map((r) => r.id).sort()).toEqual(
        Object.values(before)
          .map((w) => w.id)
          .sort(),
      );
      for (const response of responses) expect(response.result).toEqual({ action: 'accept', content: { ok: true } });
      expect(attachedId(e)).toBe(2);
      // What was held reaches the retry, the final under the retry's id.
      const held = e.before.snapshot.context.held;
      expect(of(e, 'call.send').length).toBe(held.length);
      for (const sent of of(e, 'call.send')) if (sent.final) expect(sent.message.id).toBe(2);
    },
    'pendingCall.parked --client.retry--> pendingCall.parked': (e) => {
      // Answered what it could; the rest is asked again, of the retry.
      expect(of(e, 'call.upstream')).toHaveLength(1);
      const [asked] = of(e, 'call.inputRequired');
      expect(asked?.clientId).toBe(3);
      expect(Object.keys(asked?.inputRequests ?? {})).toEqual(Object.keys(e.after.snapshot.context.waiting));
      expect(Object.keys(e.after.snapshot.context.waiting)).toHaveLength(1);
    },
    'pendingCall.parked --after retryTimeout--> pendingCall.cancelled': cancelled,
  },
};

await describeTransitions(model, (index) => (index === 0 ? '' : 'with inputResponses up front'));
