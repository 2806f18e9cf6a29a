// Runnel dashboard: one page, five views chosen by the URL hash, fed by the JSON API and the
// /api/v1/live WebSocket (docs/api.md). No framework: small functions that render HTML.
"use strict";

const state = { status: null, socket: null, view: null, rows: new Map(), applied: 0, chart: null };
const page = document.getElementById("page");
const liveBadge = document.getElementById("live");

function esc(v) {
  return String(v).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
function fmtValue(v) { return v === null ? '<span class="muted">null</span>' : esc(typeof v === "number" ? +v.toFixed(6) : v); }
function fmtTime(ms) { return typeof ms === "number" ? new Date(ms).toISOString().replace("T", " ").replace("Z", "") : esc(ms ?? "n/a"); }
function fmtDuration(ms) {
  if (ms === null || ms === undefined) return "n/a";
  const s = ms / 1000;
  return s < 120 ? s.toFixed(1) + " s" : s < 7200 ? (s / 60).toFixed(1) + " min" : s < 172800 ? (s / 3600).toFixed(1) + " h" : (s / 86400).toFixed(1) + " d";
}
function fmtBytes(b) { return (b / 1048576).toFixed(1) + " MiB"; }
function table(headers, rows, id) {
  return `<table${id ? ` id="${id}"` : ""}><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows.join("")}</tbody></table>`;
}
function card(k, v) { return `<div class="card"><div class="v">${v}</div><div class="k">${esc(k)}</div></div>`; }

async function api(path) {
  const res = await fetch(path, { credentials: "same-origin" });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error ? body.error.message : res.statusText);
  return body;
}

// --- live updates -------------------------------------------------------------------------
function connect(view, since) {
  if (state.socket) { state.socket.onclose = null; state.socket.close(); }
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const query = view ? `?view=${encodeURIComponent(view)}&since=${since}` : "";
  const ws = new WebSocket(`${proto}//${location.host}/api/v1/live${query}`);
  state.socket = ws;
  ws.onopen = () => { liveBadge.textContent = "live"; liveBadge.classList.add("on"); };
  ws.onclose = () => {
    liveBadge.textContent = "reconnecting"; liveBadge.classList.remove("on");
    setTimeout(() => { if (state.socket === ws) route(); }, 2000);
  };
  ws.onmessage = (event) => {
    const msg = JSON.parse(event.data);
    if (msg.type === "metrics") { state.status = msg.status; onMetrics(); }
    else if (msg.type === "changes" && msg.view === state.view) applyChanges(msg.changes);
    else if (msg.type === "resync" && msg.view === state.view) loadView(state.view);
  };
}

function onMetrics() {
  const route = currentRoute();
  if (route === "overview") renderOverview();
  if (route === "devices") renderDevices();
}

// --- overview -----------------------------------------------------------------------------
async function renderOverview() {
  const s = state.status || (state.status = await api("/api/v1/status"));
  const p = s.process || {};
  page.innerHTML = `
    <div class="cards">
      ${card("uptime", fmtDuration((p.uptime_seconds || 0) * 1000))}
      ${card("memory (RSS)", fmtBytes(p.rss_bytes || 0))}
      ${card("CPU time", (p.cpu_seconds || 0).toFixed(1) + " s")}
      ${card("checkpoint age", fmtDuration(s.checkpoint_age_ms))}
      ${card("outbox depth", s.outbox_depth ?? "n/a")}
    </div>
    <h2>Sources</h2>
    ${table(["source", "records", "rate /s", "decode errors", "watermark", "lag"], s.sources.map((x) =>
      `<tr><td>${esc(x.name)}</td><td class="num">${x.records}</td><td class="num">${x.rate.toFixed(1)}</td><td class="num">${x.rejects}</td><td>${fmtTime(x.watermark)}</td><td>${fmtDuration(x.lag_ms)}</td></tr>`), "sources")}
    <h2>Views</h2>
    ${table(["view", "kind", "changes", "late records", "state entries", "duplicates", "watermark"], s.views.map((x) =>
      `<tr><td><a href="#/views/${encodeURIComponent(x.name)}">${esc(x.name)}</a></td><td>${esc(x.kind)}</td><td class="num">${x.rows_emitted}</td><td class="num">${x.late_records}</td><td class="num">${x.state_entries}</td><td class="num">${x.duplicates}</td><td>${fmtTime(x.watermark)}</td></tr>`), "views")}
    <h2>Sinks</h2>
    ${table(["from", "sink", "rows written", "outbox"], s.sinks.map((x) =>
      `<tr><td>${esc(x.from)}</td><td>${esc(x.description)}</td><td class="num">${x.rows_written ?? 0}</td><td class="num">${x.outbox_depth ?? "n/a"}</td></tr>`))}`;
}

// --- devices ------------------------------------------------------------------------------
async function renderDevices() {
  const { devices } = await api("/api/v1/devices");
  if (currentRoute() !== "devices") return;
  if (devices.length === 0) {
    page.innerHTML = `<h2>Devices</h2><p class="muted">No device status yet: devices appear here for MQTT sources with a device profile (their &lt;source&gt;_status view).</p>`;
    return;
  }
  page.innerHTML = `<h2>Devices</h2>` + table(["device", "status", "last seen", "last values"], devices.map((d) =>
    `<tr><td>${esc(d.device)}</td><td class="${d.online ? "online" : "offline"}">${d.online ? "online" : "offline"}</td><td>${fmtTime(d.last_seen)}</td><td>${d.values ? Object.entries(d.values).filter(([k]) => k !== "device").map(([k, v]) => `${esc(k)}=${k === "ts" ? fmtTime(v) : fmtValue(v)}`).join(" ") : "n/a"}</td></tr>`), "devices");
}

// --- views: live table and chart -------------------------------------------------------------
async function renderViews(name) {
  const status = state.status || (state.status = await api("/api/v1/status"));
  const streams = [...status.views, ...status.sources];
  if (!name && streams.length) name = status.views.length ? status.views[0].name : streams[0].name;
  page.innerHTML = `<h2>View <select id="pick">${streams.map((v) => `<option${v.name === name ? " selected" : ""}>${esc(v.name)}</option>`).join("")}</select>
    plot <select id="measure"></select> <span class="muted" id="rows-count"></span></h2>
    <div id="chart" data-points="0"></div><div id="table"></div>`;
  document.getElementById("pick").onchange = (e) => { location.hash = "#/views/" + encodeURIComponent(e.target.value); };
  if (name) await loadView(name);
}

async function loadView(name) {
  const isSource = state.status && state.status.sources.some((s) => s.name === name);
  const doc = await api(`/api/v1/${isSource ? "sources" : "views"}/${encodeURIComponent(name)}/rows?limit=1000`);
  state.view = name;
  state.columns = doc.columns;
  state.rows = new Map();
  for (const r of doc.rows) state.rows.set(JSON.stringify(r.values), { values: r.values, time: r.time, count: r.count, sequence: r.sequence });
  state.applied = doc.sequence;
  const measure = document.getElementById("measure");
  const numeric = doc.columns.filter((c) => (c.type === "int" || c.type === "float") && !/^(window_start|window_end|ts|time)$/.test(c.name));
  numeric.sort((a, b) => (a.type === "float" ? 0 : 1) - (b.type === "float" ? 0 : 1));
  measure.innerHTML = numeric.map((c) => `<option>${esc(c.name)}</option>`).join("");
  measure.onchange = () => drawView();
  drawView();
  connect(name, doc.sequence);
}

function applyChanges(changes) {
  for (const c of changes) {
    if (c.sequence <= state.applied) continue;
    state.applied = c.sequence;
    const key = JSON.stringify(c.values);
    const row = state.rows.get(key) || { values: c.values, time: c.time, count: 0 };
    row.count += c.diff; row.time = c.time; row.sequence = c.sequence;
    if (row.count <= 0) state.rows.delete(key); else state.rows.set(key, row);
  }
  if (!state.drawPending) { state.drawPending = true; requestAnimationFrame(() => { state.drawPending = false; drawView(); }); }
}

function drawView() {
  const rows = [...state.rows.values()].sort((a, b) => b.sequence - a.sequence);
  const cols = state.columns;
  document.getElementById("rows-count").textContent = `${rows.length} rows`;
  document.getElementById("table").innerHTML = table(cols.map((c) => c.name),
    rows.slice(0, 200).map((r) => `<tr>${r.values.map((v, i) => `<td${typeof v === "number" ? ' class="num"' : ""}>${cols[i].name.startsWith("window_") || cols[i].name === "ts" ? fmtTime(v) : fmtValue(v)}</td>`).join("")}</tr>`), "rows");
  drawChart(rows);
}

// One line per key (the row's string columns) of the chosen measure over event time.
function drawChart(rows) {
  const box = document.getElementById("chart");
  const measureName = document.getElementById("measure").value;
  const m = state.columns.findIndex((c) => c.name === measureName);
  if (m < 0 || typeof uPlot === "undefined") { box.innerHTML = '<p class="muted">no numeric column to plot</p>'; return; }
  const keyCols = state.columns.map((c, i) => (c.type === "string" ? i : -1)).filter((i) => i >= 0);
  const series = new Map();
  const times = new Set();
  for (const r of rows) {
    if (typeof r.values[m] !== "number") continue;
    const key = keyCols.map((i) => r.values[i]).join(" / ") || measureName;
    if (!series.has(key)) series.set(key, new Map());
    series.get(key).set(r.time, r.values[m]);
    times.add(r.time);
  }
  const xs = [...times].sort((a, b) => a - b);
  const keys = [...series.keys()].sort().slice(0, 12);
  const data = [xs.map((t) => t / 1000), ...keys.map((k) => xs.map((t) => series.get(k).get(t) ?? null))];
  const palette = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04", "#db2777", "#4b5563", "#65a30d", "#7c3aed", "#0d9488"];
  box.dataset.points = String(keys.reduce((n, k) => n + series.get(k).size, 0));
  const signature = measureName + "|" + keys.join(",");
  if (state.chart && state.chartSignature === signature) { state.chart.setData(data); return; }
  if (state.chart) state.chart.destroy();
  box.innerHTML = "";
  state.chartSignature = signature;
  state.chart = new uPlot({
    width: Math.min(1100, page.clientWidth - 20), height: 280,
    series: [{}, ...keys.map((k, i) => ({ label: k, stroke: palette[i % palette.length], width: 2, spanGaps: true, points: { show: true, size: 4 } }))],
    axes: [{}, { label: measureName }],
  }, data, box);
}

// --- pipeline graph -----------------------------------------------------------------------
async function renderGraph() {
  const g = await api("/api/v1/graph");
  const depth = new Map();
  const inputs = new Map(g.nodes.map((n) => [n.id, []]));
  for (const e of g.edges) inputs.get(e.to).push(e.from);
  const depthOf = (id) => {
    if (!depth.has(id)) depth.set(id, inputs.get(id).length ? 1 + Math.max(...inputs.get(id).map(depthOf)) : 0);
    return depth.get(id);
  };
  g.nodes.forEach((n) => depthOf(n.id));
  const columns = [];
  for (const n of g.nodes) (columns[depth.get(n.id)] ||= []).push(n);
  const W = 210, H = 54, GX = 70, GY = 24, pos = new Map();
  columns.forEach((col, x) => col.forEach((n, y) => pos.set(n.id, { x: 10 + x * (W + GX), y: 10 + y * (H + GY) })));
  const width = 20 + columns.length * (W + GX), height = 20 + Math.max(...columns.map((c) => c.length)) * (H + GY);
  const colors = { source: "#dbeafe", view: "#dcfce7", "late view": "#fee2e2", "status view": "#fef9c3", sink: "#f3e8ff" };
  const edges = g.edges.map((e) => {
    const a = pos.get(e.from), b = pos.get(e.to);
    return `<path d="M${a.x + W},${a.y + H / 2} C${a.x + W + GX / 2},${a.y + H / 2} ${b.x - GX / 2},${b.y + H / 2} ${b.x},${b.y + H / 2}" fill="none" stroke="#94a3b8" stroke-width="2" marker-end="url(#arrow)"/>`;
  });
  const nodes = g.nodes.map((n) => {
    const p = pos.get(n.id);
    const text = n.description.length > 32 ? n.description.slice(0, 31) + "…" : n.description;
    return `<g><title>${esc(n.description)}</title><rect x="${p.x}" y="${p.y}" width="${W}" height="${H}" rx="6" fill="${colors[n.kind] || "#fff"}" stroke="#64748b"/>
      <text x="${p.x + 10}" y="${p.y + 20}" font-weight="600">${esc(n.kind === "sink" ? "sink" : n.name)}</text><text x="${p.x + 10}" y="${p.y + 40}" fill="#475569">${esc(text)}</text></g>`;
  });
  page.innerHTML = `<h2>Pipeline</h2><svg id="graph" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
    <defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#94a3b8"/></marker></defs>
    ${edges.join("")}${nodes.join("")}</svg>`;
}

// --- rejects ------------------------------------------------------------------------------
async function renderRejects() {
  const { rejects } = await api("/api/v1/rejects?limit=100");
  page.innerHTML = `<h2>Rejected payloads</h2>` + (rejects.length === 0 ? '<p class="muted">No rejected payloads.</p>' :
    table(["id", "source", "topic", "arrival", "reason", "payload"], rejects.map((r) =>
      `<tr><td>${r.id}</td><td>${esc(r.source)}</td><td>${esc(r.topic)}</td><td>${fmtTime(r.arrival)}</td><td>${esc(r.reason)}</td><td><pre class="payload">${r.payload !== null ? esc(r.payload) : "hex " + esc(r.payload_hex)}${r.truncated ? " …" : ""}</pre></td></tr>`), "rejects"));
}

// --- routing ------------------------------------------------------------------------------
function currentRoute() { return (location.hash.replace(/^#\//, "") || "overview").split("/")[0]; }

async function route() {
  const [name, arg] = (location.hash.replace(/^#\//, "") || "overview").split("/");
  document.querySelectorAll("header nav a").forEach((a) => a.classList.toggle("active", a.getAttribute("href") === "#/" + name));
  if (state.chart) { state.chart.destroy(); state.chart = null; }
  state.view = null;
  try {
    if (name === "views") { await renderViews(arg ? decodeURIComponent(arg) : null); return; }
    connect(null, 0);
    if (name === "devices") await renderDevices();
    else if (name === "graph") await renderGraph();
    else if (name === "rejects") await renderRejects();
    else await renderOverview();
  } catch (err) {
    page.innerHTML = `<p class="offline">${esc(err.message)}</p>`;
  }
}

window.addEventListener("hashchange", route);
route();
