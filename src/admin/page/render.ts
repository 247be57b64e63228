/**
 * Draws a statechart as SVG and moves its highlight. Each state is a `<g data-state-id>`
 * (e.g. `connection.streaming.open.health.receiving`) holding its box, title and transition rows;
 * transitions to other states are also curved arrows, emphasized out of the current states.
 * The current state value resolves to the active atomic states and their ancestors: their
 * groups get `data-active="true"` (the browser test reads it) and a highlight.
 *
 * A diagram is laid out once and then only its highlight changes, so a live update costs
 * a few class toggles, not a redraw.
 */

import type { JsonRecord } from './data.js';
import { type Attributes, svg } from './dom.js';
import { tone } from './format.js';
import { type Box, HEADER, INITIAL_MARK_W, type Layout, layOut, PAD, rowAnchorY, rowBaseline } from './layout.js';
import { activeIds, buildModel, isCurrent, type StatechartModel, type StateNode } from './model.js';

export interface DiagramOptions {
  /** Show transitions that do not change state. */
  internal: boolean;
  /** Draw transitions as arrows (the rows name them either way). */
  arrows: boolean;
}

export interface Diagram {
  readonly element: SVGSVGElement;
  /** Highlights the states of this snapshot value (a repeat of the last value costs nothing). */
  setValue(value: unknown): void;
}

interface Arrow {
  element: SVGPathElement;
  from: string;
}

/** Each diagram's arrowhead marker needs an id unique in the document. */
let diagramCount = 0;

const measureContext = document.createElement('canvas').getContext('2d');
function measureText(text: string, font: string): number {
  if (!measureContext) return text.length * 7;
  measureContext.font = font;
  return measureContext.measureText(text).width;
}

function drawBox(box: Box, layer: SVGGElement, groups: Map<string, SVGGElement>): void {
  const { node, width, height } = box;
  const group = svg('g', {
    class: `state state-${node.type}`,
    'data-state-id': node.id,
    'data-state-type': node.type,
    'data-active': 'false',
    transform: `translate(${box.x},${box.y})`,
  });
  group.append(
    svg('title', undefined, `${node.id} (${node.type})`),
    svg('rect', { class: 'box', width, height, rx: 8, ry: 8 }),
  );
  if (node.type === 'final') {
    group.append(svg('rect', { class: 'box-inner', x: 3, y: 3, width: width - 6, height: height - 6, rx: 6, ry: 6 }));
  }
  let titleX = PAD;
  if (node.isInitial) {
    group.append(svg('circle', { class: 'initial', cx: PAD + 3, cy: HEADER / 2 + 1, r: 3.5 }));
    titleX += INITIAL_MARK_W;
  }
  group.append(svg('text', { class: 'title', x: titleX, y: HEADER / 2 + 4 }, node.key));
  if (node.type === 'parallel') {
    const badge: Attributes = { class: 'badge', x: width - PAD, y: HEADER / 2 + 4, 'text-anchor': 'end' };
    group.append(svg('text', badge, '\u2225'));
  }
  if (box.children.length > 0 || box.rows.length > 0) {
    group.append(svg('line', { class: 'rule', x1: 0, x2: width, y1: HEADER, y2: HEADER }));
  }
  box.rows.forEach((row, i) => {
    const text = svg('text', { class: `row${row.internal ? ' internal' : ''}`, x: PAD, y: rowBaseline(i) }, row.text);
    text.append(svg('title', undefined, row.title));
    group.append(text);
  });
  layer.append(group);
  groups.set(node.id, group);
  for (const child of box.children) drawBox(child, layer, groups);
}

function isAncestor(ancestor: StateNode, node: StateNode): boolean {
  for (let n = node.parent; n; n = n.parent) if (n === ancestor) return true;
  return false;
}

/** Where the segment from (px, py) towards the box centre leaves the box. */
function borderPoint(box: Box, px: number, py: number): { x: number; y: number } {
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const dx = px - cx;
  const dy = py - cy;
  if (dx === 0 && dy === 0) return { x: cx, y: box.y };
  const sx = dx === 0 ? Number.POSITIVE_INFINITY : box.width / 2 / Math.abs(dx);
  const sy = dy === 0 ? Number.POSITIVE_INFINITY : box.height / 2 / Math.abs(dy);
  const s = Math.min(sx, sy);
  return { x: cx + dx * s, y: cy + dy * s };
}

/**
 * One arrow per source and target state (the events are in the source's rows), except into
 * the source's own descendants or ancestors, which its rows already name. It leaves the
 * source box on the side facing the target, at the height of the first row that names the
 * target (or from its top or bottom edge when the target is straight above or below), and
 * ends on the target box's border.
 */
function drawArrows(model: StatechartModel, layout: Layout, layer: SVGGElement, markerId: string): Arrow[] {
  const arrows: Arrow[] = [];
  for (const box of layout.byId.values()) {
    const { node } = box;
    const byTarget = new Map<string, { target: Box; rowIndex: number; labels: string[] }>();
    box.rows.forEach((row, rowIndex) => {
      for (const targetId of row.targets) {
        const target = layout.byId.get(targetId);
        if (!target || target === box || isAncestor(target.node, node) || isAncestor(node, target.node)) continue;
        let entry = byTarget.get(targetId);
        if (!entry) {
          entry = { target, rowIndex, labels: [] };
          byTarget.set(targetId, entry);
        }
        if (!entry.labels.includes(row.label)) entry.labels.push(row.label);
      }
    });
    for (const [targetId, { target, rowIndex, labels }] of byTarget) {
      const targetX = target.x + target.width / 2;
      const targetY = target.y + target.height / 2;
      const overlapsX = targetX > box.x + 12 && targetX < box.x + box.width - 12;
      let start: { x: number; y: number };
      if (overlapsX && (targetY > box.y + box.height || targetY < box.y)) {
        const below = targetY > box.y + box.height;
        const x = Math.min(box.x + box.width - 12, Math.max(box.x + 12, targetX));
        start = { x, y: below ? box.y + box.height : box.y };
      } else {
        const right = targetX >= box.x + box.width / 2;
        start = { x: right ? box.x + box.width : box.x, y: rowAnchorY(box, rowIndex) };
      }
      const end = borderPoint(target, start.x, start.y);
      // A slight curve, so arrows between the same rows of boxes do not lie on top of each other.
      const dx = end.x - start.x;
      const dy = end.y - start.y;
      const controlX = (start.x + end.x) / 2 - dy * 0.2;
      const controlY = (start.y + end.y) / 2 + dx * 0.2;
      const point = (x: number, y: number) => `${x.toFixed(1)},${y.toFixed(1)}`;
      const path = svg('path', {
        class: 'edge',
        d: `M${point(start.x, start.y)} Q${point(controlX, controlY)} ${point(end.x, end.y)}`,
        'marker-end': `url(#${markerId})`,
        'data-from': node.id,
        'data-to': targetId,
      });
      path.append(
        svg('title', undefined, `${labels.join(', ')}: ${model.name(node.id)} \u2192 ${model.name(targetId)}`),
      );
      layer.append(path);
      arrows.push({ element: path, from: node.id });
    }
  }
  return arrows;
}

/** Lays out and draws one machine definition; returns the handle that moves its highlight. */
export function createDiagram(definition: JsonRecord, maxWidth: number, options: DiagramOptions): Diagram {
  const model = buildModel(definition);
  const layout = layOut(model.root, { internal: options.internal, maxWidth, measureText });
  const { width, height } = layout;
  const root = svg('svg', {
    class: 'diagram',
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'data-machine': model.root.id,
  });
  root.append(svg('title', undefined, `statechart ${model.root.id}`));
  diagramCount += 1;
  const markerId = `arrowhead-${diagramCount}`;
  const marker = svg('marker', {
    id: markerId,
    viewBox: '0 0 10 10',
    refX: 9,
    refY: 5,
    markerWidth: 7,
    markerHeight: 7,
    orient: 'auto-start-reverse',
  });
  marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }));
  const defs = svg('defs');
  defs.append(marker);
  const states = svg('g', { class: 'states' });
  const edges = svg('g', { class: `edges${options.arrows ? '' : ' hidden'}` });
  const groups = new Map<string, SVGGElement>();
  drawBox(layout.root, states, groups);
  const arrows = drawArrows(model, layout, edges, markerId);
  root.append(defs, states, edges);

  // Hovering a state shows the arrows out of it; the current states always show theirs.
  for (const [id, group] of groups) {
    const mine = arrows.filter((arrow) => arrow.from === id);
    group.addEventListener('mouseenter', () => {
      for (const arrow of mine) arrow.element.classList.add('hover');
    });
    group.addEventListener('mouseleave', () => {
      for (const arrow of mine) arrow.element.classList.remove('hover');
    });
  }

  let lastValue: string | undefined;
  return {
    element: root,
    setValue(value) {
      const key = JSON.stringify(value ?? null);
      if (key === lastValue) return;
      lastValue = key;
      const active = activeIds(model, value);
      let leaf: StateNode | undefined;
      for (const [id, group] of groups) {
        const node = model.byId.get(id);
        const on = active.has(id);
        const current = node !== undefined && isCurrent(node, active);
        if (current) leaf ??= node;
        group.setAttribute('data-active', on ? 'true' : 'false');
        group.classList.toggle('active', on);
        group.classList.toggle('current', current);
        group.classList.remove('tone-ok', 'tone-warn', 'tone-bad');
        if (current) group.classList.add(`tone-${tone(node.key)}`);
      }
      for (const arrow of arrows) arrow.element.classList.toggle('live', active.has(arrow.from));
      root.setAttribute('data-current', leaf ? leaf.id : '');
    },
  };
}
