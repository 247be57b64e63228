/** Mermaid stateDiagram-v2 text for a machine, drawn from its state nodes. */
import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';
import { describeEvent, describeGuard, nodeTransitions } from './machine-graph.js';

const nodeId = (node: AnyStateNode) => node.id.replace(/[^A-Za-z0-9_]/g, '_');

function eventLabel(def: AnyTransitionDefinition): string {
  const event = describeEvent(def.eventType).replace(/^xstate\./, '');
  const guard = describeGuard(def.guard);
  return guard ? `${event} [${guard}]` : event;
}

export function toMermaid(machine: AnyStateMachine): string {
  const lines: string[] = ['stateDiagram-v2'];
  const edges: string[] = [];
  const walk = (node: AnyStateNode, indent: string) => {
    const children = Object.values(node.states) as AnyStateNode[];
    if (node.parent) {
      lines.push(`${indent}state "${node.key}" as ${nodeId(node)}`);
      if (node.type === 'final') edges.push(`  ${nodeId(node)} --> [*]`);
    }
    if (children.length > 0) {
      const inner = node.parent ? `${indent}  ` : indent;
      if (node.parent) lines.push(`${indent}state ${nodeId(node)} {`);
      const initial = node.initial?.target?.[0] as AnyStateNode | undefined;
      if (initial) lines.push(`${inner}[*] --> ${nodeId(initial)}`);
      for (const child of children) walk(child, inner);
      if (node.parent) lines.push(`${indent}}`);
    }
    for (const def of nodeTransitions(node)) {
      const targets = (def.target ?? [node]) as AnyStateNode[];
      for (const target of targets) {
        // The root's own transitions apply in every state.
        const from = node.parent ? nodeId(node) : 'any_state';
        edges.push(`  ${from} --> ${nodeId(target)} : ${eventLabel(def)}`);
      }
    }
  };
  walk(machine.root, '  ');
  if (machine.root.transitions.size > 0) lines.push('  state "(any state)" as any_state');
  return `${[...lines, ...edges].join('\n')}\n`;
}
