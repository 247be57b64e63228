/**
 * A statechart as the page draws it, built from a machine's definition (`GET /machines`:
 * XState's `toJSON()` plus the `always` transitions, see src/admin/machine-json.ts): the tree
 * of states, and each state's outgoing transitions grouped by event into rows
 * (`event → target`). And the reverse: which states a snapshot's state value makes active.
 * No DOM: unit-tested.
 */
import { isRecord, type JsonRecord } from './data.js';

/** One line of a state's box: every transition on one event, with all their targets. */
export interface TransitionRow {
  /** The event as people read it: 'stream.error', 'after reconnectDelay', 'done runner', 'always'. */
  label: string;
  /** Ids of the states the transitions go to. */
  targets: string[];
  /** Handled without changing state (no target): hidden unless the page shows internal events. */
  internal: boolean;
  /** What the box shows: `label → targets`, or `label ↻` for a self-transition. */
  text: string;
  /** The tooltip: each transition's guard and targets. */
  title: string;
}

export interface StateNode {
  /** The full id, e.g. `connection.streaming.open`: the `data-state-id` of its drawing. */
  id: string;
  /** Its name within its parent, e.g. `open`. */
  key: string;
  /** 'atomic', 'compound', 'parallel', 'final' or 'history'. */
  type: string;
  parent: StateNode | undefined;
  children: StateNode[];
  rows: TransitionRow[];
  /** Its parent's initial state (not for the regions of a parallel state, which all start). */
  isInitial: boolean;
}

export interface StatechartModel {
  root: StateNode;
  byId: Map<string, StateNode>;
  /** A state's name for labels: its key, or its path below the root when another state has that key. */
  name(id: string): string;
}

const stripHash = (id: string): string => id.replace(/^#/, '');

function eventLabel(transition: JsonRecord, event: string): string {
  const type = typeof transition.eventType === 'string' ? transition.eventType : event;
  if (type === '') return 'always';
  const { delay } = transition;
  if (delay !== undefined && delay !== null) return `after ${typeof delay === 'number' ? `${delay}ms` : String(delay)}`;
  let match = /^xstate\.after\.([^.]+)\./.exec(type);
  if (match?.[1] !== undefined) return `after ${/^\d+$/.test(match[1]) ? `${match[1]}ms` : match[1]}`;
  match = /^xstate\.done\.actor\.(.+)$/.exec(type);
  if (match) return `done ${match[1]}`;
  match = /^xstate\.error\.actor\.(.+)$/.exec(type);
  if (match) return `error ${match[1]}`;
  match = /^xstate\.done\.state\.(.+)$/.exec(type);
  if (match) return `done ${match[1]}`;
  return type;
}

function guardText(guard: unknown): string {
  if (!guard) return '';
  if (typeof guard === 'string') return guard;
  if (isRecord(guard) && typeof guard.type === 'string') return guard.type;
  return 'guard';
}

/** A state definition's transitions, the event-less (`always`) ones with the event ''. */
function transitionsOf(definition: JsonRecord): { transition: JsonRecord; event: string }[] {
  const list: { transition: JsonRecord; event: string }[] = [];
  const on = isRecord(definition.on) ? definition.on : {};
  for (const [event, value] of Object.entries(on)) {
    for (const transition of Array.isArray(value) ? value : [value]) {
      if (isRecord(transition)) list.push({ transition, event });
    }
  }
  for (const transition of Array.isArray(definition.always) ? definition.always : []) {
    if (isRecord(transition)) list.push({ transition, event: '' });
  }
  return list;
}

function targetsOf(transition: JsonRecord): string[] {
  const { target } = transition;
  const raw: unknown[] = Array.isArray(target) ? target : target ? [target] : [];
  return raw.map((t) => stripHash(isRecord(t) && t.id ? String(t.id) : String(t)));
}

/** Builds the tree of a machine definition: states, and their transitions grouped by event. */
export function buildModel(definition: JsonRecord): StatechartModel {
  const byId = new Map<string, StateNode>();
  const definitions = new Map<StateNode, JsonRecord>();
  const keyCount = new Map<string, number>();

  function visit(def: JsonRecord, parent: StateNode | undefined): StateNode {
    const node: StateNode = {
      id: String(def.id),
      key: String(def.key ?? def.id),
      type: typeof def.type === 'string' && def.type ? def.type : 'atomic',
      parent,
      children: [],
      rows: [],
      isInitial: false,
    };
    byId.set(node.id, node);
    definitions.set(node, def);
    keyCount.set(node.key, (keyCount.get(node.key) ?? 0) + 1);
    const states = isRecord(def.states) ? def.states : {};
    for (const child of Object.values(states)) if (isRecord(child)) node.children.push(visit(child, node));
    const initialTargets = isRecord(def.initial) && Array.isArray(def.initial.target) ? def.initial.target : [];
    if (initialTargets.length > 0 && node.type !== 'parallel') {
      const initialId = stripHash(String(initialTargets[0]));
      for (const child of node.children) if (child.id === initialId) child.isInitial = true;
    }
    return node;
  }

  const root = visit(definition, undefined);
  const rootPrefix = `${root.id}.`;
  const name = (id: string): string => {
    const node = byId.get(id);
    if (!node) return id;
    if (node === root) return root.key;
    return (keyCount.get(node.key) ?? 0) > 1 && id.startsWith(rootPrefix) ? id.slice(rootPrefix.length) : node.key;
  };

  for (const [node, def] of definitions) {
    const groups = new Map<string, { targets: string[]; details: string[] }>();
    for (const { transition, event } of transitionsOf(def)) {
      const label = eventLabel(transition, event);
      let group = groups.get(label);
      if (!group) {
        group = { targets: [], details: [] };
        groups.set(label, group);
      }
      const targets = targetsOf(transition);
      for (const id of targets) if (!group.targets.includes(id)) group.targets.push(id);
      const guard = guardText(transition.guard);
      const where = targets.length > 0 ? `\u2192 ${targets.map(name).join(', ')}` : '(no state change)';
      group.details.push(`${guard ? `[${guard}] ` : ''}${where}`);
    }
    node.rows = [...groups].map(([label, { targets, details }]) => {
      const toItself = targets.length === 1 && targets[0] === node.id;
      let text = label;
      if (toItself) text += ' \u21bb';
      else if (targets.length > 0) text += ` \u2192 ${targets.map(name).join(', ')}`;
      return { label, targets, internal: targets.length === 0, text, title: `${label}\n${details.join('\n')}` };
    });
  }
  return { root, byId, name };
}

/** A child by key, or else the first descendant with that key (a value may skip levels). */
function findByKey(node: StateNode, key: string): StateNode | undefined {
  return node.children.find((c) => c.key === key) ?? firstDefined(node.children, (c) => findByKey(c, key));
}

function firstDefined<T, R>(items: readonly T[], find: (item: T) => R | undefined): R | undefined {
  for (const item of items) {
    const found = find(item);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * The ids of the states a state value makes active: each named state and all its ancestors.
 * A value is what a snapshot's `.value` is (`'waiting'`, `{ streaming: { open: { health: 'receiving', resume: 'idle' } } }`,
 * parallel regions side by side), or a dotted path (`'streaming.open'`).
 */
export function activeIds(model: StatechartModel, value: unknown): Set<string> {
  const active = new Set<string>();
  const mark = (node: StateNode) => {
    for (let n: StateNode | undefined = node; n; n = n.parent) active.add(n.id);
  };
  const findPath = (node: StateNode, path: string): StateNode | undefined => {
    let current: StateNode | undefined = node;
    for (const part of path.split('.')) current = current && findByKey(current, part);
    return current;
  };
  const walk = (node: StateNode, v: unknown): void => {
    if (v === null || v === undefined) return;
    if (typeof v !== 'object') {
      const target = findPath(node, String(v));
      if (target) mark(target);
      return;
    }
    for (const [key, child] of Object.entries(v)) {
      const found = findByKey(node, key);
      if (!found) continue;
      mark(found);
      walk(found, child);
    }
  };
  if (value === undefined || value === null) return active;
  if (typeof value !== 'object' && String(value) === model.root.key) mark(model.root);
  else walk(model.root, value);
  return active;
}

/** The innermost active states: active, with no active child. */
export function isCurrent(node: StateNode, active: ReadonlySet<string>): boolean {
  return active.has(node.id) && !node.children.some((child) => active.has(child.id));
}
