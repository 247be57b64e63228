/**
 * The live page's script, as a string the page inlines (no CDN, no bundler: it runs as is in
 * any current browser). It reads `GET /machines` once, then `GET /events` (SSE, `sessions`
 * events) for live updates, and draws each statechart as SVG with its own small renderer:
 *
 * - layout: every state is a box; a compound (or parallel) state's children are laid out
 *   inside it, left to right, wrapping into rows to fit the width available at that level;
 *   each box lists its outgoing transitions grouped by event (`event → target`);
 * - transitions to other states are also drawn as curved arrows from their row to the target
 *   box; arrows out of the current states are emphasized, the others faint;
 * - the current state value resolves to a set of state ids (the active atomic state and its
 *   ancestors); their groups get `data-active="true"` and a highlight. Every state's group
 *   carries `data-state-id` (e.g. `connection.streaming.open.receiving`).
 *
 * A diagram is laid out once per session or stream and then only its highlight changes.
 * Everything that comes from the server is inserted as text (textContent), never as HTML.
 *
 * Written as a String.raw literal: the script must not contain a backtick or a dollar sign
 * followed by a brace, and must not contain the closing script tag.
 */
export const ADMIN_PAGE_SCRIPT = String.raw`
(function () {
  'use strict';

  var SVG_NS = 'http://www.w3.org/2000/svg';
  var FAMILY = 'system-ui, -apple-system, "Segoe UI", "DejaVu Sans", Roboto, sans-serif';
  var FONT_TITLE = '600 12px ' + FAMILY;
  var FONT_ROW = '11px ' + FAMILY;
  var PAD = 8;
  var HEADER = 22;
  var ROW_H = 14;
  var GAP = 12;
  var MIN_W = 96;
  var WARN_STATES = { waiting: 1, connecting: 1, stalled: 1, reinitializing: 1, restarting: 1, draining: 1, terminating: 1, stoppingHost: 1, deletingUpstream: 1, stopping: 1 };
  var BAD_STATES = { failed: 1 };

  var params = new URLSearchParams(location.search);
  var token = params.get('token');

  var machines = null;
  var sessions = [];
  var receivedAt = Date.now();
  var selected = readSelection();
  var diagrams = new Map();
  var diagramCount = 0;
  var detailsTimer = 0;
  var options = {
    internal: localStorage.getItem('shepherd.internal') === '1',
    arrows: localStorage.getItem('shepherd.arrows') !== '0',
  };

  var $ = function (id) { return document.getElementById(id); };

  function api(path) {
    var url = new URL(path, location.href);
    url.search = '';
    url.hash = '';
    if (token) url.searchParams.set('token', token);
    return url.toString();
  }

  function readSelection() {
    var match = /^#session=(.+)$/.exec(location.hash);
    if (!match) return null;
    try { return decodeURIComponent(match[1]); } catch (e) { return null; }
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) node.setAttribute(k, String(attrs[k]));
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG_NS, tag);
    if (attrs) for (var k in attrs) if (attrs[k] !== undefined && attrs[k] !== null) node.setAttribute(k, String(attrs[k]));
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // ---------------------------------------------------------------- formatting

  function fmtDuration(ms) {
    if (ms === null || ms === undefined || typeof ms !== 'number' || !isFinite(ms)) return '\u2013';
    if (ms < 0) ms = 0;
    var s = Math.floor(ms / 1000);
    if (s < 60) return s + 's';
    var m = Math.floor(s / 60);
    if (m < 60) return m + 'm ' + String(s % 60).padStart(2, '0') + 's';
    var h = Math.floor(m / 60);
    if (h < 48) return h + 'h ' + String(m % 60).padStart(2, '0') + 'm';
    return Math.floor(h / 24) + 'd ' + (h % 24) + 'h';
  }

  function fmtBytes(n) {
    if (typeof n !== 'number' || !isFinite(n)) return '\u2013';
    if (n < 1024) return n + ' B';
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KiB';
    return (n / 1024 / 1024).toFixed(1) + ' MiB';
  }

  /** A state value as a dotted path: 'waiting', 'live.active.idle', parallel regions in braces. */
  function stateText(value) {
    if (value === null || value === undefined) return '\u2013';
    if (typeof value !== 'object') return String(value);
    var keys = Object.keys(value);
    if (keys.length === 1) {
      var child = value[keys[0]];
      return child && typeof child === 'object' && Object.keys(child).length === 0 ? keys[0] : keys[0] + '.' + stateText(child);
    }
    return '{' + keys.map(function (k) { return k + '.' + stateText(value[k]); }).join(', ') + '}';
  }

  /** The innermost state name of a value, for colours: 'idle' for live.active.idle. */
  function leafName(value) {
    if (value === null || value === undefined) return '';
    if (typeof value !== 'object') return String(value);
    var keys = Object.keys(value);
    if (keys.length !== 1) return '';
    var child = value[keys[0]];
    return child && typeof child === 'object' && Object.keys(child).length === 0 ? keys[0] : leafName(child);
  }

  function tone(name) {
    if (BAD_STATES[name]) return 'bad';
    if (WARN_STATES[name]) return 'warn';
    return 'ok';
  }

  function short(id) {
    var s = String(id);
    return s.length > 10 ? s.slice(0, 8) + '\u2026' : s;
  }

  function num(n) {
    return typeof n === 'number' && isFinite(n) ? n : 0;
  }

  function streamsOf(session) {
    return Array.isArray(session && session.streams) ? session.streams : [];
  }

  function reconnectsOf(session) {
    return streamsOf(session).reduce(function (sum, s) { return sum + num(s && s.reconnects); }, 0);
  }

  /** A duration field advanced by the time since the data arrived (age and idle grow, expiry shrinks). */
  function since(ms, sign) {
    if (typeof ms !== 'number' || !isFinite(ms)) return ms;
    return ms + sign * (Date.now() - receivedAt);
  }

  // ---------------------------------------------------------------- statechart model

  function eventLabel(t, eventType) {
    var e = t && typeof t.eventType === 'string' ? t.eventType : eventType || '';
    if (e === '') return 'always';
    if (t && t.delay !== undefined && t.delay !== null) return 'after ' + (typeof t.delay === 'number' ? t.delay + 'ms' : t.delay);
    var m;
    if ((m = /^xstate\.after\.([^.]+)\./.exec(e))) return 'after ' + (/^\d+$/.test(m[1]) ? m[1] + 'ms' : m[1]);
    if ((m = /^xstate\.done\.actor\.(.+)$/.exec(e))) return 'done ' + m[1];
    if ((m = /^xstate\.error\.actor\.(.+)$/.exec(e))) return 'error ' + m[1];
    if ((m = /^xstate\.done\.state\.(.+)$/.exec(e))) return 'done ' + m[1];
    return e;
  }

  function guardText(guard) {
    if (!guard) return '';
    if (typeof guard === 'string') return guard;
    if (typeof guard === 'object' && typeof guard.type === 'string') return guard.type;
    return 'guard';
  }

  function transitionsOf(def) {
    var list = [];
    var on = def && def.on && typeof def.on === 'object' ? def.on : {};
    Object.keys(on).forEach(function (event) {
      (Array.isArray(on[event]) ? on[event] : [on[event]]).forEach(function (t) {
        if (t && typeof t === 'object') list.push({ t: t, event: event });
      });
    });
    (Array.isArray(def && def.always) ? def.always : []).forEach(function (t) {
      if (t && typeof t === 'object') list.push({ t: t, event: '' });
    });
    return list;
  }

  function targetsOf(t) {
    var raw = Array.isArray(t.target) ? t.target : t.target ? [t.target] : [];
    return raw.map(function (x) { return String(typeof x === 'object' && x && x.id ? x.id : x).replace(/^#/, ''); });
  }

  /** Builds the tree of a machine definition (machine.toJSON()): states, transitions grouped by event. */
  function buildModel(def) {
    var byId = new Map();
    var keyCount = new Map();
    function visit(d, parent, depth) {
      var node = {
        id: String(d.id),
        key: String(d.key !== undefined ? d.key : d.id),
        type: String(d.type || 'atomic'),
        parent: parent,
        depth: depth,
        children: [],
        rows: [],
        def: d,
        isInitial: false,
      };
      byId.set(node.id, node);
      keyCount.set(node.key, (keyCount.get(node.key) || 0) + 1);
      var states = d.states && typeof d.states === 'object' ? d.states : {};
      Object.keys(states).forEach(function (k) { node.children.push(visit(states[k], node, depth + 1)); });
      var initial = d.initial && Array.isArray(d.initial.target) ? d.initial.target[0] : null;
      if (initial && node.type !== 'parallel') {
        var initialId = String(initial).replace(/^#/, '');
        node.children.forEach(function (c) { if (c.id === initialId) c.isInitial = true; });
      }
      return node;
    }
    var root = visit(def, null, 0);
    var rootPrefix = root.id + '.';
    function name(id) {
      var node = byId.get(id);
      if (!node) return id;
      if (node === root) return root.key;
      return keyCount.get(node.key) > 1 && id.indexOf(rootPrefix) === 0 ? id.slice(rootPrefix.length) : node.key;
    }
    byId.forEach(function (node) {
      var groups = new Map();
      transitionsOf(node.def).forEach(function (entry) {
        var label = eventLabel(entry.t, entry.event);
        var row = groups.get(label);
        if (!row) {
          row = { label: label, targets: [], details: [] };
          groups.set(label, row);
        }
        var targets = targetsOf(entry.t);
        targets.forEach(function (id) { if (row.targets.indexOf(id) < 0) row.targets.push(id); });
        var guard = guardText(entry.t.guard);
        row.details.push((guard ? '[' + guard + '] ' : '') + (targets.length ? '\u2192 ' + targets.map(name).join(', ') : '(no state change)'));
      });
      node.rows = Array.from(groups.values()).map(function (row) {
        var self = row.targets.length === 1 && row.targets[0] === node.id;
        var text = row.label;
        if (self) text += ' \u21bb';
        else if (row.targets.length) text += ' \u2192 ' + row.targets.map(name).join(', ');
        return { label: row.label, targets: row.targets, internal: row.targets.length === 0, text: text, title: row.label + '\n' + row.details.join('\n') };
      });
    });
    return { root: root, byId: byId, name: name };
  }

  /** The ids of the states a value makes active: each named state and all its ancestors. */
  function activeIds(model, value) {
    var active = new Set();
    function mark(node) {
      for (var n = node; n; n = n.parent) active.add(n.id);
    }
    function findByKey(node, key) {
      for (var i = 0; i < node.children.length; i++) {
        var c = node.children[i];
        if (c.key === key) return c;
      }
      for (var j = 0; j < node.children.length; j++) {
        var found = findByKey(node.children[j], key);
        if (found) return found;
      }
      return null;
    }
    function findPath(node, path) {
      var current = node;
      var parts = path.split('.');
      for (var i = 0; i < parts.length && current; i++) current = findByKey(current, parts[i]);
      return current;
    }
    function walk(node, v) {
      if (v === null || v === undefined) return;
      if (typeof v !== 'object') {
        var target = findPath(node, String(v));
        if (target) mark(target);
        return;
      }
      Object.keys(v).forEach(function (key) {
        var child = findByKey(node, key);
        if (!child) return;
        mark(child);
        walk(child, v[key]);
      });
    }
    if (model && value !== undefined && value !== null) {
      var rootKey = typeof value === 'object' && !Array.isArray(value) ? null : String(value);
      if (rootKey !== null && rootKey === model.root.key) mark(model.root);
      else walk(model.root, value);
    }
    return active;
  }

  // ---------------------------------------------------------------- layout and drawing

  var measureCtx = document.createElement('canvas').getContext('2d');
  function textWidth(text, font) {
    if (!measureCtx) return String(text).length * 7;
    measureCtx.font = font;
    return measureCtx.measureText(text).width;
  }

  function visibleRows(node) {
    return node.rows.filter(function (r) { return options.internal || !r.internal; });
  }

  /** Sizes every box bottom-up; children flow left to right, wrapping at maxWidth. */
  function measure(node, maxWidth) {
    var rows = visibleRows(node);
    node.visibleRows = rows;
    var titleW = textWidth(node.key, FONT_TITLE) + 2 * PAD + (node.isInitial ? 12 : 0) + (node.type === 'parallel' ? 24 : 0);
    var rowsW = rows.reduce(function (w, r) { return Math.max(w, textWidth(r.text, FONT_ROW) + 2 * PAD); }, 0);
    var rowsH = rows.length * ROW_H;
    node.rowsTop = HEADER;
    if (!node.children.length) {
      node.w = Math.ceil(Math.max(MIN_W, titleW, rowsW));
      node.h = HEADER + rowsH + (rows.length ? 6 : 2);
      return;
    }
    var inner = Math.max(MIN_W, maxWidth - 2 * PAD);
    node.children.forEach(function (c) { measure(c, inner); });
    var lines = [];
    var line = null;
    node.children.forEach(function (c) {
      if (!line || (line.items.length && line.w + GAP + c.w > inner)) {
        line = { items: [], w: 0, h: 0 };
        lines.push(line);
      }
      line.w += (line.items.length ? GAP : 0) + c.w;
      line.h = Math.max(line.h, c.h);
      line.items.push(c);
    });
    var contentW = lines.reduce(function (w, l) { return Math.max(w, l.w); }, 0);
    var y = HEADER + rowsH + (rows.length ? 8 : 2);
    lines.forEach(function (l, i) {
      var x = PAD;
      l.items.forEach(function (c) {
        c.x = x;
        c.y = y;
        x += c.w + GAP;
      });
      y += l.h + (i < lines.length - 1 ? GAP : 0);
    });
    node.w = Math.ceil(Math.max(MIN_W, titleW, rowsW, contentW + 2 * PAD));
    node.h = y + PAD;
  }

  function place(node, ox, oy) {
    node.ax = ox + (node.parent ? node.x : 0);
    node.ay = oy + (node.parent ? node.y : 0);
    node.children.forEach(function (c) { place(c, node.ax, node.ay); });
  }

  function drawNode(node, layer, groups) {
    var g = svg('g', {
      class: 'state state-' + node.type,
      'data-state-id': node.id,
      'data-state-type': node.type,
      'data-active': 'false',
      transform: 'translate(' + node.ax + ',' + node.ay + ')',
    });
    g.appendChild(svg('title', null, node.id + ' (' + node.type + ')'));
    g.appendChild(svg('rect', { class: 'box', width: node.w, height: node.h, rx: 8, ry: 8 }));
    if (node.type === 'final') g.appendChild(svg('rect', { class: 'box-inner', x: 3, y: 3, width: node.w - 6, height: node.h - 6, rx: 6, ry: 6 }));
    var tx = PAD;
    if (node.isInitial) {
      g.appendChild(svg('circle', { class: 'initial', cx: PAD + 3, cy: HEADER / 2 + 1, r: 3.5 }));
      tx += 12;
    }
    g.appendChild(svg('text', { class: 'title', x: tx, y: HEADER / 2 + 4 }, node.key));
    if (node.type === 'parallel') g.appendChild(svg('text', { class: 'badge', x: node.w - PAD, y: HEADER / 2 + 4, 'text-anchor': 'end' }, '\u2225'));
    if (node.children.length || node.visibleRows.length) g.appendChild(svg('line', { class: 'rule', x1: 0, x2: node.w, y1: HEADER, y2: HEADER }));
    node.visibleRows.forEach(function (row, i) {
      var t = svg('text', { class: 'row' + (row.internal ? ' internal' : ''), x: PAD, y: HEADER + (i + 1) * ROW_H - 2 }, row.text);
      t.appendChild(svg('title', null, row.title));
      g.appendChild(t);
      row.ay = node.ay + HEADER + (i + 1) * ROW_H - 6;
    });
    layer.appendChild(g);
    groups.set(node.id, g);
    node.children.forEach(function (c) { drawNode(c, layer, groups); });
  }

  function isAncestor(a, b) {
    for (var n = b.parent; n; n = n.parent) if (n === a) return true;
    return false;
  }

  /** Where the segment from (px, py) towards the box centre leaves the box. */
  function boxPoint(node, px, py) {
    var cx = node.ax + node.w / 2;
    var cy = node.ay + node.h / 2;
    var dx = px - cx;
    var dy = py - cy;
    if (dx === 0 && dy === 0) return { x: cx, y: node.ay };
    var sx = dx === 0 ? Infinity : node.w / 2 / Math.abs(dx);
    var sy = dy === 0 ? Infinity : node.h / 2 / Math.abs(dy);
    var s = Math.min(sx, sy);
    return { x: cx + dx * s, y: cy + dy * s };
  }

  /**
   * One arrow per source and target state (the events are in the source's rows), except into
   * the source's own descendants or ancestors, which its rows already name. It leaves
   * the source box on the side facing the target, at the height of the first row that names
   * the target, and ends on the target box's border.
   */
  function drawArrows(model, layer, markerId) {
    var arrows = [];
    model.byId.forEach(function (node) {
      var byTarget = new Map();
      node.visibleRows.forEach(function (row) {
        row.targets.forEach(function (targetId) {
          var target = model.byId.get(targetId);
          if (!target || target === node || isAncestor(target, node) || isAncestor(node, target)) return;
          var entry = byTarget.get(targetId);
          if (!entry) {
            entry = { target: target, row: row, labels: [] };
            byTarget.set(targetId, entry);
          }
          if (entry.labels.indexOf(row.label) < 0) entry.labels.push(row.label);
        });
      });
      byTarget.forEach(function (entry, targetId) {
        var target = entry.target;
        var tcx = target.ax + target.w / 2;
        var tcy = target.ay + target.h / 2;
        var start;
        var overlapsX = tcx > node.ax + 12 && tcx < node.ax + node.w - 12;
        if (overlapsX && (tcy > node.ay + node.h || tcy < node.ay)) {
          var below = tcy > node.ay + node.h;
          start = { x: Math.min(node.ax + node.w - 12, Math.max(node.ax + 12, tcx)), y: below ? node.ay + node.h : node.ay };
        } else {
          var right = tcx >= node.ax + node.w / 2;
          start = { x: right ? node.ax + node.w : node.ax, y: entry.row.ay };
        }
        var end = boxPoint(target, start.x, start.y);
        var dx = end.x - start.x;
        var dy = end.y - start.y;
        var mx = (start.x + end.x) / 2 - dy * 0.2;
        var my = (start.y + end.y) / 2 + dx * 0.2;
        var path = svg('path', {
          class: 'edge',
          d: 'M' + start.x.toFixed(1) + ',' + start.y.toFixed(1) + ' Q' + mx.toFixed(1) + ',' + my.toFixed(1) + ' ' + end.x.toFixed(1) + ',' + end.y.toFixed(1),
          'marker-end': 'url(#' + markerId + ')',
          'data-from': node.id,
          'data-to': targetId,
        });
        path.appendChild(svg('title', null, entry.labels.join(', ') + ': ' + model.name(node.id) + ' \u2192 ' + model.name(targetId)));
        layer.appendChild(path);
        arrows.push({ el: path, from: node.id });
      });
    });
    return arrows;
  }

  /** Lays out and draws one machine; returns the handle used to move its highlight. */
  function createDiagram(def, maxWidth) {
    var model = buildModel(def);
    measure(model.root, maxWidth);
    place(model.root, 1, 1);
    var width = model.root.w + 2;
    var height = model.root.h + 2;
    var root = svg('svg', {
      class: 'diagram',
      width: width,
      height: height,
      viewBox: '0 0 ' + width + ' ' + height,
      role: 'img',
      'data-machine': model.root.id,
    });
    root.appendChild(svg('title', null, 'statechart ' + model.root.id));
    var markerId = 'arrowhead-' + ++diagramCount;
    var defs = svg('defs');
    var marker = svg('marker', { id: markerId, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
    marker.appendChild(svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }));
    defs.appendChild(marker);
    root.appendChild(defs);
    var states = svg('g', { class: 'states' });
    var edges = svg('g', { class: 'edges' + (options.arrows ? '' : ' hidden') });
    var groups = new Map();
    drawNode(model.root, states, groups);
    root.appendChild(states);
    var arrows = drawArrows(model, edges, markerId);
    root.appendChild(edges);
    // Hovering a state shows the arrows out of it; the current states always show theirs.
    groups.forEach(function (g, id) {
      var mine = arrows.filter(function (a) { return a.from === id; });
      g.addEventListener('mouseenter', function () { mine.forEach(function (a) { a.el.classList.add('hover'); }); });
      g.addEventListener('mouseleave', function () { mine.forEach(function (a) { a.el.classList.remove('hover'); }); });
    });
    var lastKey = null;
    return {
      el: root,
      model: model,
      setValue: function (value) {
        var key = JSON.stringify(value === undefined ? null : value);
        if (key === lastKey) return;
        lastKey = key;
        var active = activeIds(model, value);
        var leaf = null;
        active.forEach(function (id) {
          var node = model.byId.get(id);
          if (node && !node.children.some(function (c) { return active.has(c.id); })) leaf = leaf || node;
        });
        groups.forEach(function (g, id) {
          var on = active.has(id);
          var node = model.byId.get(id);
          var isLeaf = on && node && !node.children.some(function (c) { return active.has(c.id); });
          g.setAttribute('data-active', on ? 'true' : 'false');
          g.classList.toggle('active', on);
          g.classList.toggle('current', !!isLeaf);
          g.classList.remove('tone-ok', 'tone-warn', 'tone-bad');
          if (isLeaf) g.classList.add('tone-' + tone(node.key));
        });
        arrows.forEach(function (a) {
          a.el.classList.toggle('live', active.has(a.from));
        });
        root.setAttribute('data-current', leaf ? leaf.id : '');
      },
    };
  }

  // ---------------------------------------------------------------- page

  function setStatus(text, kind) {
    var s = $('status');
    s.textContent = text;
    s.className = 'status status-' + kind;
  }

  function select(id) {
    selected = id;
    if (id) history.replaceState(null, '', location.pathname + location.search + '#session=' + encodeURIComponent(id));
    render();
  }

  function renderList() {
    var list = $('session-list');
    var count = $('session-count');
    count.textContent = sessions.length ? String(sessions.length) : '';
    list.textContent = '';
    if (!sessions.length) {
      list.appendChild(el('li', { class: 'empty' }, 'No sessions. Point an MCP client at the proxy and its sessions appear here.'));
      return;
    }
    sessions.forEach(function (s) {
      var id = String(s.id);
      var li = el('li', { class: 'session' + (id === selected ? ' selected' : ''), 'data-session-id': id, tabindex: 0, role: 'button', title: id });
      var top = el('div', { class: 'line' });
      top.appendChild(el('span', { class: 'sid' }, short(id)));
      top.appendChild(el('span', { class: 'pill tone-' + tone(leafName(s.state)) }, stateText(s.state)));
      li.appendChild(top);
      var streams = streamsOf(s);
      var reconnects = reconnectsOf(s);
      li.appendChild(
        el(
          'div',
          { class: 'meta' },
          'age ' + fmtDuration(since(s.ageMs, 1)) + ' \u00b7 idle ' + fmtDuration(since(s.idleMs, 1)) + ' \u00b7 ' +
            streams.length + (streams.length === 1 ? ' stream' : ' streams') + ' \u00b7 ' +
            reconnects + (reconnects === 1 ? ' reconnect' : ' reconnects'),
        ),
      );
      li.addEventListener('click', function () { select(id); });
      li.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); select(id); } });
      list.appendChild(li);
    });
  }

  function fact(parent, label, value, attrs) {
    var d = el('div', { class: 'fact' });
    d.appendChild(el('span', { class: 'label' }, label));
    d.appendChild(el('span', Object.assign({ class: 'value' }, attrs || {}), value));
    parent.appendChild(d);
  }

  function diagramWidth() {
    var detail = $('detail');
    return Math.max(360, (detail.clientWidth || 900) - 40);
  }

  function diagram(key, machineId, value) {
    var def = machines && machines[machineId];
    var entry = diagrams.get(key);
    if (!def) return null;
    if (!entry || entry.machineId !== machineId || entry.width !== diagramWidth() || entry.internal !== options.internal) {
      entry = { machineId: machineId, width: diagramWidth(), internal: options.internal, d: createDiagram(def, diagramWidth()) };
      diagrams.set(key, entry);
    }
    entry.d.setValue(value);
    entry.used = true;
    return entry.d.el;
  }

  function section(container, key, build) {
    var found = container.querySelector(':scope > [data-key="' + CSS.escape(key) + '"]');
    if (!found) {
      found = el('section', { class: 'card', 'data-key': key });
      build(found);
      container.appendChild(found);
    }
    found.dataset.seen = '1';
    return found;
  }

  function renderDetail() {
    var detail = $('detail');
    diagrams.forEach(function (entry) { entry.used = false; });
    var session = null;
    for (var i = 0; i < sessions.length; i++) if (String(sessions[i].id) === selected) session = sessions[i];
    if (!session) {
      detail.textContent = '';
      diagrams.clear();
      var message = !selected
        ? sessions.length ? 'Choose a session on the left to see its statecharts.' : 'Waiting for sessions\u2026'
        : 'Session ' + selected + ' has ended or is unknown.';
      detail.appendChild(el('p', { class: 'placeholder', id: 'placeholder' }, message));
      return;
    }
    var placeholder = $('placeholder');
    if (placeholder) detail.textContent = '';
    if (detail.dataset.session !== selected) {
      detail.textContent = '';
      diagrams.clear();
      detail.dataset.session = selected;
    }
    Array.prototype.forEach.call(detail.children, function (c) { c.dataset.seen = ''; });

    var info = section(detail, 'info', function (card) { card.classList.add('info'); });
    info.textContent = '';
    var head = el('div', { class: 'info-head' });
    head.appendChild(el('h2', { class: 'session-id' }, String(session.id)));
    head.appendChild(el('span', { class: 'pill tone-' + tone(leafName(session.state)), id: 'session-state' }, stateText(session.state)));
    info.appendChild(head);
    var facts = el('div', { class: 'facts' });
    var log = session.eventLog || {};
    fact(facts, 'expires in', typeof session.expiresInMs === 'number' ? fmtDuration(since(session.expiresInMs, -1)) : 'never', { id: 'expires-in' });
    fact(facts, 'age', fmtDuration(since(session.ageMs, 1)));
    fact(facts, 'idle', fmtDuration(since(session.idleMs, 1)));
    fact(facts, 'event log', num(log.events) + ' events \u00b7 ' + fmtBytes(log.bytes), { id: 'event-log' });
    fact(facts, 'protocol', session.protocolVersion || '\u2013');
    fact(facts, 'status', session.status === undefined || session.status === null ? '\u2013' : String(session.status));
    fact(facts, 're-initializations', String(num(session.reinitializations)));
    fact(facts, 'reconnects', String(reconnectsOf(session)));
    info.appendChild(facts);

    var sessionCard = section(detail, 'machine:session', function (card) {
      card.appendChild(el('div', { class: 'diagram-slot' }));
    });
    var slot = sessionCard.querySelector('.diagram-slot');
    var sessionSvg = diagram('session', 'session', session.state);
    if (sessionSvg && slot.firstChild !== sessionSvg) {
      slot.textContent = '';
      slot.appendChild(sessionSvg);
    } else if (!sessionSvg) slot.textContent = machines ? 'No session machine in /machines.' : 'Loading statecharts\u2026';

    var streams = streamsOf(session);
    if (!streams.length) {
      section(detail, 'no-streams', function (card) {
        card.appendChild(el('p', { class: 'muted' }, 'No streams open.'));
      });
    }
    streams.forEach(function (stream) {
      var key = 'stream:' + String(stream.stream);
      var card = section(detail, key, function (c) {
        c.classList.add('stream');
        c.setAttribute('data-stream', String(stream.stream));
        c.setAttribute('data-kind', String(stream.kind));
        c.appendChild(el('h3', { class: 'stream-head' }));
        c.appendChild(el('div', { class: 'diagram-slot' }));
      });
      var h = card.querySelector('.stream-head');
      h.textContent = '';
      h.appendChild(el('span', null, 'Stream ' + stream.stream + ' \u00b7 ' + (stream.kind === 'get' ? 'GET (standalone)' : stream.kind === 'post' ? 'POST response' : String(stream.kind || '?'))));
      h.appendChild(el('span', { class: 'pill tone-' + tone(leafName(stream.state)) }, stateText(stream.state)));
      h.appendChild(
        el(
          'span',
          { class: 'stream-meta' },
          'failed attempts ' + num(stream.attempts) + ' \u00b7 reconnects ' + num(stream.reconnects) +
            (stream.lastEventId ? ' \u00b7 last event ' + stream.lastEventId : ''),
        ),
      );
      var s = card.querySelector('.diagram-slot');
      var streamSvg = diagram('stream:' + stream.stream, 'connection', stream.state);
      if (streamSvg && s.firstChild !== streamSvg) {
        s.textContent = '';
        s.appendChild(streamSvg);
      } else if (!streamSvg) s.textContent = machines ? 'No connection machine in /machines.' : 'Loading statecharts\u2026';
    });

    var snap = section(detail, 'snapshot', function (card) {
      var d = el('details', { id: 'snapshot' });
      d.appendChild(el('summary', null, 'Snapshot (payloads redacted)'));
      d.appendChild(el('pre', { class: 'json' }));
      d.addEventListener('toggle', function () { if (d.open) loadDetails(); });
      card.appendChild(d);
    });
    detail.appendChild(snap);

    Array.prototype.slice.call(detail.children).forEach(function (c) { if (!c.dataset.seen) c.remove(); });
    diagrams.forEach(function (entry, key) { if (!entry.used) diagrams.delete(key); });
    var snapshot = $('snapshot');
    if (snapshot && snapshot.open && !detailsTimer) detailsTimer = setTimeout(function () { detailsTimer = 0; loadDetails(); }, 1000);
  }

  function loadDetails() {
    var id = selected;
    var pre = document.querySelector('#snapshot pre');
    if (!id || !pre) return;
    fetch(api('sessions/' + encodeURIComponent(id)), { headers: { accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(new Error('HTTP ' + r.status)); })
      .then(function (body) {
        var p = document.querySelector('#snapshot pre');
        if (p && selected === id) p.textContent = JSON.stringify(body, null, 2);
      })
      .catch(function (e) {
        var p = document.querySelector('#snapshot pre');
        if (p) p.textContent = 'Could not load the snapshot: ' + e.message;
      });
  }

  function render() {
    renderList();
    renderDetail();
  }

  function tick() {
    // Ages, idle times and the expiry countdown move between updates.
    renderList();
    var info = document.querySelector('#detail [data-key="info"]');
    if (info) renderDetail();
  }

  function receive(list) {
    sessions = Array.isArray(list) ? list.filter(function (s) { return s && s.id !== undefined && s.id !== null; }) : [];
    receivedAt = Date.now();
    render();
  }

  function describeFailure(status) {
    if (status === 401 || status === 403) return 'Unauthorized: open this page with ?token=<admin token>.';
    return 'Admin API unreachable (' + status + '). Retrying\u2026';
  }

  function loadMachines() {
    fetch(api('machines'), { headers: { accept: 'application/json' } })
      .then(function (r) {
        if (!r.ok) throw Object.assign(new Error(describeFailure(r.status)), { status: r.status });
        return r.json();
      })
      .then(function (body) {
        machines = body && typeof body === 'object' ? body : {};
        diagrams.clear();
        render();
      })
      .catch(function (e) {
        setStatus(e.message, 'bad');
        setTimeout(loadMachines, 3000);
      });
  }

  function poll() {
    return fetch(api('sessions'), { headers: { accept: 'application/json' } }).then(function (r) {
      if (!r.ok) throw new Error(describeFailure(r.status));
      return r.json().then(receive);
    });
  }

  var source = null;
  function connect() {
    if (typeof EventSource === 'undefined') {
      setStatus('polling', 'warn');
      var loop = function () {
        poll().catch(function (e) { setStatus(e.message, 'bad'); }).then(function () { setTimeout(loop, 2000); });
      };
      loop();
      return;
    }
    source = new EventSource(api('events'));
    source.addEventListener('open', function () { setStatus('live', 'ok'); });
    source.addEventListener('sessions', function (e) {
      setStatus('live', 'ok');
      try {
        receive(JSON.parse(e.data));
      } catch (err) {
        setStatus('bad data from /events', 'bad');
      }
    });
    source.addEventListener('error', function () {
      if (source.readyState === EventSource.CLOSED) {
        source.close();
        poll()
          .then(function () { setStatus('reconnecting\u2026', 'warn'); })
          .catch(function (e) { setStatus(e.message, 'bad'); });
        setTimeout(connect, 3000);
      } else {
        setStatus('reconnecting\u2026', 'warn');
      }
    });
  }

  function bindOptions() {
    var internal = $('opt-internal');
    var arrows = $('opt-arrows');
    internal.checked = options.internal;
    arrows.checked = options.arrows;
    internal.addEventListener('change', function () {
      options.internal = internal.checked;
      localStorage.setItem('shepherd.internal', options.internal ? '1' : '0');
      diagrams.clear();
      $('detail').textContent = '';
      $('detail').dataset.session = '';
      render();
    });
    arrows.addEventListener('change', function () {
      options.arrows = arrows.checked;
      localStorage.setItem('shepherd.arrows', options.arrows ? '1' : '0');
      document.querySelectorAll('svg.diagram .edges').forEach(function (g) { g.classList.toggle('hidden', !options.arrows); });
    });
  }

  var resizeTimer = 0;
  window.addEventListener('resize', function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(renderDetail, 200);
  });
  window.addEventListener('hashchange', function () {
    selected = readSelection();
    render();
  });

  bindOptions();
  render();
  loadMachines();
  connect();
  setInterval(tick, 1000);
})();
`;
