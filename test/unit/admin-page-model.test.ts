/**
 * The live page's DOM-free parts (src/admin/page/): reading the sessions JSON of either
 * shape, a machine definition as a tree of states, a state value as the states it makes
 * active, and the box layout. The drawing itself is checked in a real browser
 * (test/browser/admin-page.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { connectionMachine } from '../../machines/connection.machine.js';
import { processMachine } from '../../machines/process.machine.js';
import { machineDefinition } from '../../src/admin/machine-json.js';
import { isRecord, type JsonRecord, readMachines, readSessions } from '../../src/admin/page/data.js';
import { formatDuration, leafNames, stateText, toneOf } from '../../src/admin/page/format.js';
import { type Box, layOut } from '../../src/admin/page/layout.js';
import { activeIds, buildModel } from '../../src/admin/page/model.js';

/** A machine's definition as the page gets it: through JSON, as `GET /machines` sends it. */
function definition(machine: Parameters<typeof machineDefinition>[0]): JsonRecord {
  const json: unknown = JSON.parse(JSON.stringify(machineDefinition(machine)));
  if (!isRecord(json)) throw new Error('a machine definition is an object');
  return json;
}

describe('reading sessions', () => {
  const base = { id: 's1', state: { live: { active: 'idle' } }, ageMs: 1000, idleMs: 10, expiresInMs: 5000 };

  it('reads the shape before streams named their machine (no machine, no host, no event log)', () => {
    const [session] = readSessions([
      { ...base, streams: [{ stream: 0, kind: 'get', state: 'waiting', attempts: 2, reconnects: 1 }] },
    ]);
    expect(session?.streams).toEqual([
      {
        stream: '0',
        kind: 'get',
        machine: 'connection',
        state: 'waiting',
        attempts: 2,
        reconnects: 1,
        lastEventId: undefined,
      },
    ]);
    expect(session?.host).toBeUndefined();
    expect(session?.eventLog).toEqual({ events: 0, bytes: undefined });
  });

  it("reads the shape with each stream's machine and a stdio session's host process", () => {
    const [session] = readSessions([
      {
        ...base,
        streams: [{ stream: 3, kind: 'post', machine: 'connection', state: {}, attempts: 0, reconnects: 0 }],
        host: { machine: 'process', state: { running: 'ready' }, restarts: 2, attempt: 1 },
        eventLog: { events: 4, bytes: 120 },
      },
    ]);
    expect(session?.streams[0]?.machine).toBe('connection');
    expect(session?.host).toEqual({ machine: 'process', state: { running: 'ready' }, restarts: 2, attempt: 1 });
    expect(session?.eventLog).toEqual({ events: 4, bytes: 120 });
  });

  it('leaves out what is not a session and keeps going on odd fields', () => {
    const sessions = readSessions([null, 3, { state: 'x' }, { id: 7, streams: 'no', ageMs: 'soon', host: 1 }]);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ id: '7', streams: [], ageMs: undefined, host: undefined });
    expect(readSessions({ not: 'a list' })).toEqual([]);
    expect(Object.keys(readMachines({ session: {}, broken: 'x' }))).toEqual(['session']);
  });
});

describe('statechart model', () => {
  it('resolves a process state value to the state and its ancestors', () => {
    const model = buildModel(definition(processMachine));
    const active = activeIds(model, { running: 'ready' });
    expect([...active].sort()).toEqual(['process', 'process.running', 'process.running.ready']);
    expect(active.has('process.restarting')).toBe(false);
    expect([...activeIds(model, 'restarting')].sort()).toEqual(['process', 'process.restarting']);
  });

  it('reads a connection value, a dotted path, and transitions as rows', () => {
    const model = buildModel(definition(connectionMachine));
    const open = activeIds(model, { streaming: { open: { health: 'receiving', resume: 'idle' } } });
    expect(open).toContain('connection.streaming.open.health.receiving');
    expect(open).toContain('connection.streaming.open.resume.idle');
    expect(open).not.toContain('connection.streaming.open.health.stalled');
    expect(activeIds(model, 'streaming.open')).toContain('connection.streaming.open');
    expect(activeIds(model, undefined).size).toBe(0);
    const waiting = model.byId.get('connection.waiting');
    expect(waiting?.rows.map((row) => row.text)).toContain('after reconnectDelay \u2192 streaming');
    expect(model.byId.get('connection.streaming')?.isInitial).toBe(true);
  });

  it('lays every box out inside its parent, siblings apart', () => {
    const model = buildModel(definition(connectionMachine));
    const layout = layOut(model.root, { internal: false, maxWidth: 700, measureText: (text) => text.length * 6 });
    const inside = (box: Box, parent: Box) =>
      box.x >= parent.x &&
      box.y >= parent.y &&
      box.x + box.width <= parent.x + parent.width &&
      box.y + box.height <= parent.y + parent.height;
    const overlap = (a: Box, b: Box) =>
      a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
    const check = (box: Box): void => {
      for (const child of box.children) {
        expect(inside(child, box), `${child.node.id} inside ${box.node.id}`).toBe(true);
        for (const other of box.children) if (other !== child) expect(overlap(child, other)).toBe(false);
        check(child);
      }
    };
    check(layout.root);
    expect(layout.byId.size).toBe(model.byId.size);
  });
});

describe('formatting', () => {
  it('writes state values and durations as the page shows them', () => {
    expect(stateText({ live: { active: 'idle' } })).toBe('live.active.idle');
    expect(stateText({ a: 'x', b: { c: {} } })).toBe('{a.x, b.c}');
    expect(leafNames({ live: { active: 'idle' } })).toEqual(['idle']);
    expect(leafNames({ streaming: { open: { health: 'stalled', resume: 'watching' } } })).toEqual([
      'stalled',
      'watching',
    ]);
    expect(toneOf({ streaming: { open: { health: 'receiving', resume: 'idle' } } })).toBe('ok');
    expect(toneOf({ streaming: { open: { health: 'stalled', resume: 'idle' } } })).toBe('warn');
    expect(toneOf('failed')).toBe('bad');
    expect(formatDuration(61_000)).toBe('1m 01s');
    expect(formatDuration(undefined)).toBe('\u2013');
  });
});
