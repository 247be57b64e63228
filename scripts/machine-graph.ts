/** Walking a machine's definition: its state nodes, transitions and their labels. */
import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';

export interface TransitionInfo {
  key: string;
  label: string;
}

export function stateNodes(node: AnyStateNode): AnyStateNode[] {
  return [node, ...Object.values(node.states).flatMap((child) => stateNodes(child as AnyStateNode))];
}

export function describeGuard(guard: unknown): string {
  if (guard === undefined) return '';
  if (typeof guard === 'string') return guard;
  const g = guard as { type?: unknown; guards?: unknown[]; name?: string; params?: unknown };
  // A parameterized guard is named with its parameters: resumeIs(refused).
  if (typeof g.type === 'string' && g.params !== null && typeof g.params === 'object') {
    return `${g.type}(${Object.values(g.params).join(', ')})`;
  }
  if (typeof g.type === 'string') return g.type;
  // and()/or()/not() carry their operands in `guards`.
  if (Array.isArray(g.guards)) return `${g.name}(${g.guards.map(describeGuard).join(', ')})`;
  return g.name || 'inline';
}

/** `after X` for delayed transitions, `always` for eventless ones, else the event type. */
export function describeEvent(eventType: string): string {
  if (eventType === '') return 'always';
  const delay = /^xstate\.after\.([^.]+)\./.exec(eventType)?.[1];
  return delay ? `after ${delay}` : eventType;
}

/** Stable identity of a transition: source state, event, position among that event's candidates. */
export function transitionKey(def: AnyTransitionDefinition): string {
  const source = def.source as AnyStateNode;
  const list = def.eventType === '' ? source.always : source.transitions.get(def.eventType);
  const index = list ? list.indexOf(def) : -1;
  return `${source.id} ${def.eventType || '(always)'} #${index}`;
}

export function transitionLabel(def: AnyTransitionDefinition): string {
  const guard = describeGuard(def.guard);
  const targets = def.target?.map((t: AnyStateNode) => t.id).join(',') ?? '(self)';
  return `${(def.source as AnyStateNode).id} --${describeEvent(def.eventType)}${guard ? `[${guard}]` : ''}--> ${targets}`;
}

/** Every transition of a state node: `on`, `after`, invoke done/error, then `always`. */
export function nodeTransitions(node: AnyStateNode): AnyTransitionDefinition[] {
  return [...node.transitions.values()].flat().concat(node.always ?? []);
}

/** Every transition of the machine. */
export function allTransitions(machine: AnyStateMachine): TransitionInfo[] {
  return stateNodes(machine.root).flatMap((node) =>
    nodeTransitions(node).map((def) => ({ key: transitionKey(def), label: transitionLabel(def) })),
  );
}
