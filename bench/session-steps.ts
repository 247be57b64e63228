/**
 * What the session's own steps cost per request, with no HTTP, no sockets and no other
 * process: the real session machine and its real children (exchange, connection) over the
 * model tests' fake reader (test/model/session-world.ts), driven as the proxy drives it.
 * Two answers to the same `tools/call`, alternated in rounds: one JSON body (the session's
 * exchange keeps it: two session steps) and an SSE stream (the exchange hands it to a
 * connection machine). Reported: microseconds per request of each, and their ratio.
 *
 *   npx tsx bench/session-steps.ts [requests per round, default 20000]
 */
import { createActor } from 'xstate';
import { streamOf } from '../machines/stream-table.js';
import {
  activate,
  provideSession,
  type SessionWorld,
  sessionInput,
  sessionWorld,
} from '../test/model/session-world.js';
import { TestClock } from '../test/support/test-clock.js';
import { median } from './support/stats.js';

const perRound = Number(process.argv[2] ?? 20_000);
const ROUNDS = 5;

const world: SessionWorld = sessionWorld();
const actor = createActor(
  provideSession(() => world),
  { input: sessionInput(world.eventLog), clock: new TestClock() },
);
let answers = 0;
actor.on('session.event', () => answers++);
actor.start();

activate(world);
if (JSON.stringify(actor.getSnapshot().value) !== '{"live":{"active":"idle"}}') throw new Error('session not active');

let nextId = 1;
function call(answer: 'json' | 'sse'): void {
  const id = nextId++;
  const before = world.readers.length;
  const body = `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":{"name":"noop"}}`;
  actor.send({ type: 'session.request', key: `k${id}`, body, requestIds: [id] });
  const reader = world.readers[before];
  if (reader === undefined) throw new Error('no request went upstream');
  const result = { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'ok' }] } };
  const data = JSON.stringify(result);
  if (answer === 'json') {
    reader.sendBack({ type: 'stream.response', status: 200, contentType: 'application/json' });
    reader.sendBack({ type: 'stream.event', data, message: result });
  } else {
    reader.sendBack({ type: 'stream.response', status: 200, contentType: 'text/event-stream' });
    reader.sendBack({ type: 'stream.event', id: `e${id}`, data, message: result });
    // The client read its SSE answer to the end, as the relay then says.
    actor.send({ type: 'session.client.detach', key: `k${id}`, stream: streamOf(reader.request.id), delivered: true });
  }
  world.log.length = 0;
  world.readers.length = before;
}

async function round(answer: 'json' | 'sse'): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < perRound; i++) {
    call(answer);
    // What the proxy does between two I/O events: run the microtasks a step queued.
    await null;
  }
  // A finished stream leaves no child behind (the standalone stream's is the one left).
  const children = Object.keys(actor.getSnapshot().children).length;
  if (children !== 1) throw new Error(`${children} children after a round: a finished stream kept its child`);
  return ((performance.now() - t0) * 1000) / perRound;
}

// Warm-up, then alternated rounds.
await round('json');
await round('sse');
const us = { json: [] as number[], sse: [] as number[] };
for (let r = 0; r < ROUNDS; r++) {
  for (const answer of r % 2 === 0 ? (['json', 'sse'] as const) : (['sse', 'json'] as const))
    us[answer].push(await round(answer));
}
const expected = (2 + 2 * ROUNDS) * perRound + 1; // and the initialize answer
if (answers !== expected) throw new Error(`${answers} answers forwarded, ${expected} expected`);
const json = median(us.json);
const sse = median(us.sse);
console.log(
  JSON.stringify({
    requestsPerRound: perRound,
    rounds: ROUNDS,
    usPerRequest: { json: Math.round(json * 10) / 10, sse: Math.round(sse * 10) / 10 },
    jsonVsSse: Math.round((json / sse) * 1000) / 1000,
  }),
);
actor.stop();
