/**
 * Box layout of a statechart: every state is a box with its title and its transition rows;
 * a compound (or parallel) state's children are laid out inside it, left to right, wrapping
 * into rows to fit the width available at that level. Text is measured by the caller (a
 * canvas in the browser), so this module has no DOM.
 */
import type { StateNode, TransitionRow } from './model.js';

const FAMILY = 'system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Roboto, sans-serif';
export const FONT_TITLE = `600 12px ${FAMILY}`;
export const FONT_ROW = `11px ${FAMILY}`;
/** Inner padding of a box. */
export const PAD = 8;
/** Height of a box's title band. */
export const HEADER = 22;
/** Height of one transition row. */
export const ROW_H = 14;
/** Space between sibling boxes. */
const GAP = 12;
const MIN_W = 96;
/** Room for the initial-state dot before the title. */
export const INITIAL_MARK_W = 12;
/** Room for the parallel badge after the title. */
const PARALLEL_BADGE_W = 24;

export type MeasureText = (text: string, font: string) => number;

export interface Box {
  readonly node: StateNode;
  /** The rows drawn in this box (internal ones only when asked for). */
  readonly rows: readonly TransitionRow[];
  readonly children: readonly Box[];
  readonly width: number;
  readonly height: number;
  /** Top-left corner in the diagram's coordinates. */
  x: number;
  y: number;
}

export interface Layout {
  root: Box;
  byId: Map<string, Box>;
  width: number;
  height: number;
}

export interface LayoutOptions {
  /** Show the rows of transitions that do not change state. */
  internal: boolean;
  /** The width to wrap the top level's children into. */
  maxWidth: number;
  measureText: MeasureText;
}

/** Sizes a box and its children bottom-up; children get positions relative to it. */
function measure(node: StateNode, maxWidth: number, options: LayoutOptions): Box {
  const { measureText } = options;
  const rows = node.rows.filter((row) => options.internal || !row.internal);
  const titleWidth =
    measureText(node.key, FONT_TITLE) +
    2 * PAD +
    (node.isInitial ? INITIAL_MARK_W : 0) +
    (node.type === 'parallel' ? PARALLEL_BADGE_W : 0);
  const rowsWidth = rows.reduce((w, row) => Math.max(w, measureText(row.text, FONT_ROW) + 2 * PAD), 0);
  const rowsHeight = rows.length * ROW_H;
  if (node.children.length === 0) {
    return {
      node,
      rows,
      children: [],
      width: Math.ceil(Math.max(MIN_W, titleWidth, rowsWidth)),
      height: HEADER + rowsHeight + (rows.length > 0 ? 6 : 2),
      x: 0,
      y: 0,
    };
  }

  const inner = Math.max(MIN_W, maxWidth - 2 * PAD);
  const children = node.children.map((child) => measure(child, inner, options));
  const lines: { items: Box[]; width: number; height: number }[] = [];
  for (const child of children) {
    let line = lines.at(-1);
    if (!line || (line.items.length > 0 && line.width + GAP + child.width > inner)) {
      line = { items: [], width: 0, height: 0 };
      lines.push(line);
    }
    line.width += (line.items.length > 0 ? GAP : 0) + child.width;
    line.height = Math.max(line.height, child.height);
    line.items.push(child);
  }
  const contentWidth = lines.reduce((w, line) => Math.max(w, line.width), 0);
  let y = HEADER + rowsHeight + (rows.length > 0 ? 8 : 2);
  lines.forEach((line, i) => {
    let x = PAD;
    for (const child of line.items) {
      child.x = x;
      child.y = y;
      x += child.width + GAP;
    }
    y += line.height + (i < lines.length - 1 ? GAP : 0);
  });
  return {
    node,
    rows,
    children,
    width: Math.ceil(Math.max(MIN_W, titleWidth, rowsWidth, contentWidth + 2 * PAD)),
    height: y + PAD,
    x: 0,
    y: 0,
  };
}

/** Turns positions relative to the parent into diagram coordinates. */
function place(box: Box, x: number, y: number, byId: Map<string, Box>): void {
  box.x += x;
  box.y += y;
  byId.set(box.node.id, box);
  for (const child of box.children) place(child, box.x, box.y, byId);
}

/** Lays out a whole statechart, with a 1px margin so the outer border is not clipped. */
export function layOut(root: StateNode, options: LayoutOptions): Layout {
  const box = measure(root, options.maxWidth, options);
  const byId = new Map<string, Box>();
  place(box, 1, 1, byId);
  return { root: box, byId, width: box.width + 2, height: box.height + 2 };
}

/** The baseline of a box's row `index`. */
export const rowBaseline = (index: number): number => HEADER + (index + 1) * ROW_H - 2;

/** Where an arrow for the box's row `index` leaves the box, in diagram coordinates (mid-row). */
export const rowAnchorY = (box: Box, index: number): number => box.y + HEADER + (index + 1) * ROW_H - 6;
