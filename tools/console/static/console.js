// Agora console: a hash-routed page over the console server's JSON (tools/console/server.py).
// Views: #/dashboards/<name>, #/alarms, #/traces?service=&status=&q=, #/traces/<id>, #/map,
// #/logs?q=, #/dlqs.  The main element carries data-view and data-state (loading | ready | error).
"use strict";

// No pure red: red marks faults.
const COLORS = ["#2563eb", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4d7c0f", "#64748b",
  "#9333ea", "#0f766e", "#a16207", "#1d4ed8"];
const settings = {
  window: Number(localStorage.getItem("agora.window") || 3600),
  period: localStorage.getItem("agora.period") || "auto",
};
let renderToken = 0;

// --- helpers ------------------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "style") el.style.cssText = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs || {})) el.setAttribute(key, String(value));
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

async function api(path, params) {
  const query = new URLSearchParams({ window: settings.window, period: settings.period, ...(params || {}) });
  const response = await fetch(`/api/${path}?${query}`);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
  return body;
}

function when(epochSeconds) {
  if (!epochSeconds) return "";
  const d = new Date(epochSeconds * 1000);
  return d.toLocaleString(undefined, { hour12: false });
}

function ms(value) {
  if (value === null || value === undefined) return "";
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(1)} ms`;
}

function colorOf(name) {
  let hash = 0;
  for (const c of String(name)) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return COLORS[hash % COLORS.length];
}

function chip(name) {
  return h("span", { class: "chip", style: `background:${colorOf(name)}` }, name);
}

function badge(text) {
  return h("span", { class: `badge ${text}` }, text);
}

function showError(error) {
  const banner = document.getElementById("banner");
  banner.textContent = String(error && error.message ? error.message : error);
  banner.hidden = false;
}

function pool(items, size, task) {
  // Run task(item) for every item, at most `size` at a time.
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++]);
  };
  return Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
}

// --- routing ------------------------------------------------------------------------------------

const VIEWS = { dashboards: dashboardsView, alarms: alarmsView, traces: tracesView, map: mapView,
  logs: logsView, dlqs: dlqsView };

function parseHash() {
  const [path, query] = location.hash.replace(/^#\/?/, "").split("?");
  const [view, ...rest] = path.split("/");
  return { view: VIEWS[view] ? view : "dashboards", arg: rest.map(decodeURIComponent).join("/"),
    query: new URLSearchParams(query || "") };
}

async function route() {
  const token = ++renderToken;
  const { view, arg, query } = parseHash();
  const main = document.getElementById("view");
  document.getElementById("banner").hidden = true;
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.view === view);
  main.replaceChildren();
  main.dataset.view = view;
  main.dataset.state = "loading";
  try {
    await VIEWS[view](main, arg, query, () => token === renderToken);
    if (token === renderToken) main.dataset.state = "ready";
  } catch (error) {
    if (token !== renderToken) return;
    main.dataset.state = "error";
    main.append(h("div", { class: "error" }, String(error.message || error)));
  }
}

// --- dashboards ---------------------------------------------------------------------------------

async function dashboardsView(main, name, _query, current) {
  const { dashboards } = await api("dashboards");
  if (!current()) return;
  const chosen = name || (dashboards[0] && dashboards[0].name);
  const list = h("nav", { id: "dashboard-list" }, dashboards.map((d) =>
    h("a", { href: `#/dashboards/${encodeURIComponent(d.name)}`, class: d.name === chosen ? "active" : null,
      dataset: { name: d.name } }, d.name)));
  const section = h("section", { id: "dashboard" });
  main.append(h("div", { class: "dash" }, list, section));
  if (!chosen) {
    section.append(h("p", { class: "muted" }, "No dashboards: are the stacks deployed?"));
    return;
  }
  const layout = await api(`dashboards/${encodeURIComponent(chosen)}`);
  if (!current()) return;
  const grid = h("div", { class: "grid" });
  section.dataset.name = chosen;
  section.append(h("h2", {}, chosen), grid);
  const cells = layout.widgets.map((w) => {
    const cell = h("article", {
      class: "widget", dataset: { index: w.index, view: w.view, state: "loading", points: 0 },
      style: `grid-column:${w.x + 1} / span ${w.width};grid-row:${w.y + 1} / span ${w.height}`,
    }, h("h3", { title: w.title }, w.title || "\u00a0"), h("div", { class: "body" }), h("div", { class: "notes" }));
    grid.append(cell);
    return [w, cell];
  });
  await pool(cells, 6, ([w, cell]) => loadWidget(chosen, w, cell, current));
}

async function loadWidget(dashboard, outline, cell, current) {
  const body = cell.querySelector(".body");
  if (outline.type === "text") {
    body.append(h("pre", {}, outline.markdown));
    cell.dataset.state = "loaded";
    return;
  }
  if (outline.type !== "metric") {
    body.append(h("div", { class: "empty" }, `${outline.type} widgets are not shown by the console`));
    cell.dataset.state = "loaded";
    return;
  }
  try {
    const data = await api(`dashboards/${encodeURIComponent(dashboard)}/widgets/${outline.index}`);
    if (!current()) return;
    const points = data.series.reduce((n, s) => n + s.points.length, 0);
    cell.dataset.points = points;
    for (const note of data.notes || []) cell.querySelector(".notes").append(h("div", {}, note));
    if (data.view === "singleValue") singleValue(body, data.series);
    else if (!points) body.append(h("div", { class: "empty" }, "no data points in this window"));
    else graph(body, data);
    cell.dataset.state = "loaded";
  } catch (error) {
    cell.dataset.state = "error";
    body.append(h("div", { class: "empty error" }, String(error.message || error)));
  }
}

function singleValue(body, series) {
  body.append(h("div", { class: "single" }, series.map((s) => {
    const last = s.points.length ? s.points[s.points.length - 1][1] : null;
    return h("div", {}, h("div", { class: "value" }, last === null ? "—" : +last.toFixed(2)),
      h("div", { class: "label" }, s.label));
  })));
}

function graph(body, data) {
  const xs = [...new Set(data.series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const ys = data.series.map((s) => {
    const byTime = new Map(s.points);
    return xs.map((x) => (byTime.has(x) ? byTime.get(x) : null));
  });
  const right = data.series.some((s) => s.axis === "right");
  const legendHeight = 18 * Math.ceil(data.series.length / 2) + 6;
  const options = {
    width: Math.max(body.clientWidth, 200),
    height: Math.max(body.clientHeight - legendHeight, 80),
    scales: { x: { time: true, range: [data.start, data.end] } },
    series: [{}, ...data.series.map((s, i) => ({
      label: s.label, stroke: COLORS[i % COLORS.length], width: 1.5, scale: s.axis === "right" ? "y2" : "y",
      points: { show: xs.length < 30 }, spanGaps: false,
    }))],
    axes: [{ size: 30 }, { scale: "y", size: 45 }, ...(right ? [{ scale: "y2", side: 1, grid: { show: false } }] : [])],
    legend: { live: true },
  };
  // eslint-disable-next-line no-undef
  new uPlot(options, [xs, ...ys], body);
}

// --- alarms -------------------------------------------------------------------------------------

async function alarmsView(main) {
  const { alarms } = await api("alarms");
  const counts = {};
  for (const a of alarms) counts[a.state] = (counts[a.state] || 0) + 1;
  main.append(
    h("h2", {}, `Alarms (${alarms.length})`),
    h("div", { class: "counts" }, Object.entries(counts).map(([state, n]) => h("span", {}, badge(state), ` ${n}`))),
    h("table", { id: "alarms-table" },
      h("thead", {}, h("tr", {}, ["State", "Alarm", "Watches", "Condition", "Reason", "Updated"].map((t) => h("th", {}, t)))),
      h("tbody", {}, alarms.map((a) => h("tr", { dataset: { name: a.name, state: a.state } },
        h("td", {}, badge(a.state)),
        h("td", {}, h("div", {}, a.name), h("div", { class: "muted" }, a.description)),
        h("td", { class: "mono" }, a.metric, a.uses.length ? h("details", {},
          h("summary", {}, `${a.uses.length} metric${a.uses.length > 1 ? "s" : ""}`),
          a.uses.map((u) => h("div", {}, u))) : null),
        h("td", {}, a.condition),
        h("td", { class: "muted" }, a.reason),
        h("td", {}, when(a.updated)))))));
}

// --- traces -------------------------------------------------------------------------------------

let infoCache = null;

async function tracesView(main, traceId, query, current) {
  if (traceId) return traceView(main, traceId, current);
  const info = infoCache || (infoCache = await api("info"));
  const params = { service: query.get("service") || "", status: query.get("status") || "", q: query.get("q") || "" };
  const form = h("form", { class: "search", id: "trace-search", onsubmit: (event) => {
    event.preventDefault();
    const data = new FormData(event.target);
    location.hash = `#/traces?${new URLSearchParams([...data.entries()].filter(([, v]) => v))}`;
  } },
  h("label", {}, "Service", h("select", { name: "service" }, h("option", { value: "" }, "any"),
    info.services.map((s) => h("option", { value: s, selected: s === params.service }, s)))),
  h("label", {}, "Status", h("select", { name: "status" }, ["", "ok", "error", "fault", "throttle"].map((s) =>
    h("option", { value: s, selected: s === params.status }, s || "any")))),
  h("label", {}, "Correlation id, annotation (key=value), route or trace id",
    h("input", { type: "text", name: "q", value: params.q, placeholder: "e.g. 52be758c-… or http_route=/api/orders" })),
  h("button", { type: "submit" }, "Search"));
  main.append(h("h2", {}, "Traces"), form);
  const found = await api("traces", params);
  if (!current()) return;
  main.append(h("p", { class: "muted", id: "trace-count" },
    `${found.matched} matching of ${found.scanned} traces in the window` +
    (found.total > found.scanned ? ` (the newest ${found.scanned} of ${found.total} read)` : "") +
    (found.matched > found.traces.length ? ` (newest ${found.traces.length} shown)` : "")));
  main.append(h("table", { id: "traces-table" },
    h("thead", {}, h("tr", {}, ["Started", "Trace", "Services", "Duration", "Status", "HTTP", "Spans"].map((t) => h("th", {}, t)))),
    h("tbody", {}, found.traces.map((t) => h("tr", {
      class: "clickable", dataset: { traceId: t.id, start: t.start, services: t.services.join(" "), status: t.status },
      onclick: () => { location.hash = `#/traces/${t.id}`; },
    },
    h("td", {}, when(t.start)),
    h("td", {}, h("div", {}, t.title), h("div", { class: "mono muted" }, t.title !== t.name ? `${t.name} · ${t.id}` : t.id)),
    h("td", {}, t.services.map(chip)),
    h("td", {}, ms(t.duration_ms)),
    h("td", {}, badge(t.status)),
    h("td", {}, t.http_status || ""),
    h("td", {}, t.spans))))));
}

async function traceView(main, traceId, current) {
  const t = await api(`traces/${encodeURIComponent(traceId)}`);
  if (!current()) return;
  const correlation = t.annotations.correlation_id || t.annotations.correlationId;
  main.append(
    h("h2", {}, h("a", { href: "#/traces" }, "Traces"), " › ", t.title),
    h("div", { class: "trace-head" },
      h("span", { class: "mono", id: "trace-id" }, t.id), badge(t.status), h("span", {}, when(t.start)),
      h("span", {}, `${ms(t.duration_ms)} · ${t.spans} spans`), h("span", {}, t.services.map(chip)),
      h("a", { href: `#/logs?q=${encodeURIComponent(correlation || t.id)}` },
        correlation ? "logs of this correlation id" : "logs of this trace")),
    waterfall(t));
}

function waterfall(t) {
  const total = t.duration_ms || 1;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => h("span", {}, ms(total * f)));
  return h("div", { class: "waterfall", id: "waterfall" },
    h("div", { class: "span-row head" }, h("div", {}, "Span (click for details)"), h("div", {}, "Service"),
      h("div", { class: "track" }, ticks)),
    t.rows.map((r) => spanRow(r, total)));
}

function spanRow(r, total) {
  const left = (r.offset_ms / total) * 100;
  const width = Math.max((r.duration_ms / total) * 100, 0.2);
  const annotations = Object.entries(r.annotations || {}).map(([k, v]) => `${k}=${v}`).join("  ");
  const target = r.target && !r.name.toLowerCase().includes(r.target.toLowerCase()) ? ` → ${r.target}` : "";
  const row = h("div", { class: "span-row", dataset: { id: r.id, service: r.service, status: r.status, depth: r.depth,
    kind: r.kind } },
  h("div", { class: "name", style: `padding-left:${8 + r.depth * 16}px` },
    h("div", {}, r.name, target, r.in_progress ? " (in progress)" : ""),
    annotations ? h("div", { class: "ann mono", title: annotations }, annotations) : null,
    r.detail ? h("div", { class: "detail mono" }, r.detail) : null,
    r.cause ? h("div", { class: "cause" }, r.cause) : null),
  h("div", {}, chip(r.service)),
  h("div", { class: "track" },
    h("div", { class: `bar ${r.status}`, style: `left:${left}%;width:${width}%;background:${colorOf(r.service)}`,
      title: `${r.name}: ${ms(r.duration_ms)} at +${ms(r.offset_ms)}` }),
    h("div", { class: "ms", style: `left:${Math.min(left, 85)}%` }, `${ms(r.duration_ms)} @ +${ms(r.offset_ms)}`)));
  row.addEventListener("click", () => row.classList.toggle("open"));
  return row;
}

// --- service map --------------------------------------------------------------------------------

async function mapView(main, _arg, _query, current) {
  const graph = await api("service-map");
  if (!current()) return;
  main.append(h("h2", {}, "Service map"), h("p", { class: "muted" },
    graph.source === "xray" ? "From X-Ray's service graph." :
      `Derived from the spans of ${graph.traces} traces in the window` +
      (graph.total > graph.traces ? ` (the newest of ${graph.total})` : "") +
      " (LocalStack's X-Ray serves no service graph)."));
  const holder = h("div", { id: "service-map" });
  main.append(holder);
  if (!graph.nodes.length) {
    holder.append(h("p", { class: "muted" }, "No traces in this window."));
    return;
  }
  holder.append(drawMap(graph));
}

function levels(graph) {
  // Columns: the services by their distance from the callers (breadth first, so cycles end), then
  // what they call outside the system in one last column.
  const level = {};
  const next = (name) => graph.edges.filter((e) => e.source === name).map((e) => e.target);
  const services = graph.nodes.filter((n) => n.kind !== "remote").map((n) => n.name);
  const called = new Set(graph.edges.map((e) => e.target));
  const starts = [...services.filter((n) => !called.has(n)), ...services];
  for (const start of starts) {
    if (start in level) continue;
    level[start] = 0;
    const queue = [start];
    while (queue.length) {
      const name = queue.shift();
      for (const target of next(name)) {
        if (!(target in level) && services.includes(target)) {
          level[target] = level[name] + 1;
          queue.push(target);
        }
      }
    }
  }
  const last = Math.max(0, ...Object.values(level)) + 1;
  for (const n of graph.nodes) if (!(n.name in level)) level[n.name] = last;
  return level;
}

function edgePath(a, b, W, H) {
  const ay = a.y + H / 2, by = b.y + H / 2;
  if (b.x > a.x) return `M${a.x + W},${ay} C${a.x + W + 40},${ay} ${b.x - 40},${by} ${b.x},${by}`;
  if (b.x === a.x) return `M${a.x + W},${ay} C${a.x + W + 50},${ay} ${b.x + W + 50},${by} ${b.x + W},${by}`;
  return `M${a.x},${ay} C${a.x - 40},${ay} ${b.x + W + 40},${by} ${b.x + W},${by}`;
}

function drawMap(graph) {
  const level = levels(graph);
  const columns = {};
  for (const n of graph.nodes) (columns[level[n.name]] ||= []).push(n);
  const W = 170, H = 58, GX = 110, GY = 28;
  const pos = {};
  for (const [col, nodes] of Object.entries(columns)) {
    nodes.forEach((n, i) => { pos[n.name] = { x: 20 + col * (W + GX), y: 20 + i * (H + GY) }; });
  }
  const width = 60 + (Math.max(...Object.keys(columns).map(Number)) + 1) * (W + GX);
  const height = 40 + Math.max(...Object.values(columns).map((c) => c.length)) * (H + GY);
  const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}` },
    svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7,
      markerHeight: 7, orient: "auto" }, svg("path", { d: "M0,0 L10,5 L0,10 z", fill: "#64748b" }))));
  for (const e of graph.edges) {
    const a = pos[e.source], b = pos[e.target];
    if (!a || !b || a === b) continue;
    // The count sits a third of the way along, where edges leaving one node have fanned out.
    const forward = b.x > a.x;
    const [x1, x2] = forward ? [a.x + W, b.x] : [a.x + W, b.x + W + 50];
    const labelX = x1 + (x2 - x1) * (forward ? 0.3 : 0.9);
    const labelY = a.y + H / 2 + (b.y - a.y) * (forward ? 0.3 : 0.5) - 4;
    root.append(svg("g", { class: "edge-group", "data-source": e.source, "data-target": e.target },
      svg("title", {}, `${e.source} → ${e.target}: ${e.count} calls`),
      svg("path", { class: "edge", d: edgePath(a, b, W, H), "marker-end": "url(#arrow)" }),
      svg("text", { class: "small", x: labelX, y: labelY, "text-anchor": "middle" }, `${e.count}×`)));
  }
  for (const n of graph.nodes) {
    const p = pos[n.name];
    const faulty = n.faults > 0 || n.errors > 0;
    root.append(svg("g", { class: `node ${n.kind}${faulty ? " faulty" : ""}`, "data-service": n.name,
      transform: `translate(${p.x},${p.y})` },
    svg("rect", { width: W, height: H, rx: 6 }),
    svg("rect", { width: 6, height: H, rx: 2, fill: colorOf(n.name), stroke: "none" }),
    svg("text", { x: 14, y: 20 }, n.name),
    svg("text", { class: "small", x: 14, y: 36 }, `${n.count} calls${n.avg_ms !== null ? ` · avg ${ms(n.avg_ms)}` : ""}`),
    svg("text", { class: "small", x: 14, y: 51 }, `${n.errors} errors · ${n.faults} faults`)));
  }
  return root;
}

// --- logs ---------------------------------------------------------------------------------------

async function logsView(main, _arg, query, current) {
  const q = query.get("q") || "";
  const runtime = query.get("runtime") === "1";
  main.append(h("h2", {}, "Logs"), h("form", { class: "search", id: "log-search", onsubmit: (event) => {
    event.preventDefault();
    const data = new FormData(event.target);
    location.hash = `#/logs?${new URLSearchParams([...data.entries()].filter(([, v]) => v))}`;
  } },
  h("label", {}, "Correlation id or any text (every /aws/lambda/agora-* group)",
    h("input", { type: "text", name: "q", value: q, placeholder: "X-Request-ID, order id, trace id…" })),
  h("label", {}, "Runtime and metric lines", h("input", { type: "checkbox", name: "runtime", value: "1", checked: runtime })),
  h("button", { type: "submit" }, "Search")));
  const found = await api("logs", { q });
  if (!current()) return;
  const events = found.events.filter((e) => runtime || e.kind === "json" || e.kind === "text");
  main.append(h("p", { class: "muted", id: "log-count" },
    `${events.length} lines shown · ${found.matched} matched in ${found.groups} log groups`));
  const body = h("tbody", {});
  for (const e of events) {
    const row = h("tr", { class: `clickable ${e.kind === "json" || e.kind === "text" ? "" : "platform"}`,
      dataset: { function: e.function, correlationId: e.correlation_id || "", kind: e.kind } },
    h("td", { class: "mono" }, new Date(e.timestamp).toLocaleTimeString(undefined, { hour12: false })),
    h("td", {}, e.function),
    h("td", {}, e.level || ""),
    h("td", {}, e.message),
    h("td", { class: "mono" }, e.correlation_id || ""),
    h("td", { class: "mono" }, e.xray_trace_id ? h("a", { href: `#/traces/${e.xray_trace_id}` }, e.xray_trace_id) : ""));
    row.addEventListener("click", (event) => {
      if (event.target.tagName === "A") return;
      const next = row.nextElementSibling;
      if (next && next.classList.contains("details")) next.remove();
      else row.after(h("tr", { class: "details" }, h("td", { colspan: 6 }, h("pre", {},
        e.fields ? JSON.stringify(e.fields, null, 2) : e.message))));
    });
    body.append(row);
  }
  main.append(h("table", { id: "logs-table" },
    h("thead", {}, h("tr", {}, ["Time", "Function", "Level", "Message", "Correlation id", "Trace"].map((t) => h("th", {}, t)))),
    body));
}

// --- dead-letter queues -------------------------------------------------------------------------

async function dlqsView(main) {
  const { queues } = await api("queues");
  const waiting = queues.reduce((n, q) => n + q.depth, 0);
  main.append(h("h2", {}, "Dead-letter queues"),
    h("p", { class: waiting ? "notice" : "muted" }, `${waiting} messages waiting in ${queues.length} DLQs`),
    h("table", { id: "dlq-table" },
      h("thead", {}, h("tr", {}, ["Queue", "Depth", "In flight", "Delayed", "Redrives from", "Retention"].map((t) => h("th", {}, t)))),
      h("tbody", {}, queues.map((q) => h("tr", { class: q.depth ? "waiting" : "", dataset: { name: q.name, depth: q.depth } },
        h("td", { class: "mono" }, q.name),
        h("td", { class: "depth" }, q.depth),
        h("td", {}, q.in_flight),
        h("td", {}, q.delayed),
        h("td", { class: "mono" }, q.sources.join(", ")),
        h("td", {}, `${Math.round(q.retention_s / 86400)} days`))))));
}

// --- start --------------------------------------------------------------------------------------

function start() {
  const windowSelect = document.getElementById("window");
  const periodSelect = document.getElementById("period");
  windowSelect.value = String(settings.window);
  periodSelect.value = settings.period;
  windowSelect.addEventListener("change", () => {
    settings.window = Number(windowSelect.value);
    localStorage.setItem("agora.window", windowSelect.value);
    route();
  });
  periodSelect.addEventListener("change", () => {
    settings.period = periodSelect.value;
    localStorage.setItem("agora.period", periodSelect.value);
    route();
  });
  document.getElementById("refresh").addEventListener("click", route);
  window.addEventListener("hashchange", route);
  window.addEventListener("error", (event) => showError(event.error || event.message));
  window.addEventListener("unhandledrejection", (event) => showError(event.reason));
  api("info").then((info) => {
    infoCache = info;
    document.getElementById("info").textContent =
      `LocalStack ${info.endpoint} · stage ${info.stage} · services ${info.services.join(", ")}`;
  }).catch(showError);
  route();
}

start();
