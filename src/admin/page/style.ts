/** The live page's stylesheet, inlined into the page (no external fonts or files). */
export const ADMIN_PAGE_STYLE = `
:root {
  --bg: #f4f6f9; --panel: #ffffff; --ink: #1f2933; --muted: #6b7684; --line: #d5dbe3;
  --accent: #2563eb; --accent-soft: #e8f0fe; --warn: #b45309; --warn-fill: #f59e0b; --warn-soft: #fff4e0;
  --bad: #b91c1c; --bad-fill: #dc2626; --bad-soft: #fde8e8; --ok-soft: #e7f6ec; --ok: #15803d;
  font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Roboto, sans-serif;
  color: var(--ink); background: var(--bg);
}
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; }
body { display: flex; flex-direction: column; font-size: 13px; }
header.bar {
  display: flex; align-items: center; gap: 16px; padding: 0 16px; height: 44px; flex: none;
  background: #111827; color: #f9fafb;
}
header.bar h1 { font-size: 15px; font-weight: 600; margin: 0; letter-spacing: 0.2px; }
header.bar h1 small { font-weight: 400; color: #9ca3af; margin-left: 6px; }
header.bar .spacer { flex: 1; }
header.bar label { color: #d1d5db; font-size: 12px; display: flex; align-items: center; gap: 4px; cursor: pointer; }
.status { font-size: 12px; padding: 2px 8px; border-radius: 10px; background: #374151; color: #e5e7eb; }
.status-ok { background: #14532d; color: #bbf7d0; }
.status-warn { background: #78350f; color: #fde68a; }
.status-bad { background: #7f1d1d; color: #fecaca; }
main { flex: 1; display: flex; min-height: 0; }
aside {
  width: 300px; flex: none; background: var(--panel); border-right: 1px solid var(--line);
  display: flex; flex-direction: column; min-height: 0;
}
aside h2 { font-size: 12px; text-transform: uppercase; letter-spacing: 0.6px; color: var(--muted); margin: 14px 14px 8px; }
aside h2 .count { background: var(--accent-soft); color: var(--accent); border-radius: 8px; padding: 0 6px; margin-left: 4px; }
#session-list { list-style: none; margin: 0; padding: 0 8px 12px; overflow-y: auto; flex: 1; }
#session-list li.session {
  padding: 8px 10px; border-radius: 8px; cursor: pointer; border: 1px solid transparent; margin-bottom: 4px;
}
#session-list li.session:hover { background: #f3f5f8; }
#session-list li.session.selected { background: var(--accent-soft); border-color: #bcd0fb; }
#session-list li.session:focus-visible { outline: 2px solid var(--accent); }
#session-list .line { display: flex; align-items: center; justify-content: space-between; gap: 8px; }
#session-list .sid { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12.5px; font-weight: 600; }
#session-list .meta { color: var(--muted); font-size: 11.5px; margin-top: 4px; }
#session-list li.empty { color: var(--muted); padding: 12px 8px; line-height: 1.5; }
.pill {
  font-size: 11px; padding: 1px 8px; border-radius: 10px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
  max-width: 190px; font-family: ui-monospace, "DejaVu Sans Mono", monospace;
}
.pill.tone-ok { background: var(--ok-soft); color: var(--ok); }
.pill.tone-warn { background: var(--warn-soft); color: var(--warn); }
.pill.tone-bad { background: var(--bad-soft); color: var(--bad); }
#detail { flex: 1; overflow-y: auto; scrollbar-gutter: stable; padding: 12px 16px 20px; min-width: 0; }
.placeholder { color: var(--muted); font-size: 14px; margin-top: 40px; text-align: center; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 10px 12px; margin-bottom: 12px; }
.card h3 { font-size: 13px; margin: 0 0 8px; font-weight: 600; display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
.card .stream-meta { font-weight: 400; color: var(--muted); font-size: 12px; }
.info-head { display: flex; align-items: center; gap: 12px; margin-bottom: 6px; }
.info-head h2 { font-size: 14px; margin: 0; font-family: ui-monospace, "DejaVu Sans Mono", monospace; word-break: break-all; }
.facts { display: flex; flex-wrap: wrap; gap: 6px 22px; }
.fact { display: flex; flex-direction: column; }
.fact .label { font-size: 10.5px; text-transform: uppercase; letter-spacing: 0.5px; color: var(--muted); }
.fact .value { font-size: 13px; font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); margin: 0; }
details summary { cursor: pointer; color: var(--muted); }
pre.json { font-size: 11.5px; max-height: 360px; overflow: auto; background: #f8fafc; padding: 8px; border-radius: 6px; }
.diagram-slot { overflow-x: auto; }
svg.diagram { display: block; max-width: 100%; height: auto; }
svg.diagram text { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Roboto, sans-serif; }
svg.diagram .box { fill: #ffffff; stroke: #c3cad4; stroke-width: 1; }
svg.diagram .state-compound > .box, svg.diagram .state-parallel > .box { fill: #f8f9fb; }
svg.diagram .box-inner { fill: none; stroke: #c3cad4; }
svg.diagram .title { font-size: 12px; font-weight: 600; fill: #334155; }
svg.diagram .badge { font-size: 12px; fill: #64748b; }
svg.diagram .row { font-size: 11px; fill: #475569; }
svg.diagram .row.internal { fill: #94a3b8; font-style: italic; }
svg.diagram .rule { stroke: #e2e8f0; }
svg.diagram .initial { fill: #334155; }
svg.diagram .state.active > .box { stroke: var(--accent); stroke-width: 2; fill: #f1f6ff; }
svg.diagram .state.active > .title { fill: #1d4ed8; }
svg.diagram .state.current > .box { fill: var(--accent); stroke: #1e40af; }
svg.diagram .state.current.tone-warn > .box { fill: var(--warn-fill); stroke: #b45309; }
svg.diagram .state.current.tone-bad > .box { fill: var(--bad-fill); stroke: #991b1b; }
svg.diagram .state.current > .title, svg.diagram .state.current > .row, svg.diagram .state.current > .badge { fill: #ffffff; }
svg.diagram .state.current > .initial { fill: #ffffff; }
svg.diagram .state.current > .rule { stroke: rgba(255, 255, 255, 0.4); }
svg.diagram .state.current > .box-inner { stroke: rgba(255, 255, 255, 0.7); }
svg.diagram .edge { fill: none; stroke: var(--accent); stroke-width: 1.5; opacity: 0.85; display: none; }
svg.diagram .edge.live, svg.diagram .edge.hover { display: inline; }
svg.diagram .edge.hover:not(.live) { stroke: #64748b; }
svg.diagram .state:hover > .box { stroke: #64748b; }
svg.diagram .arrowhead { fill: context-stroke; }
svg.diagram .edges.hidden { display: none; }
`;
