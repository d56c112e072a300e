// tunelab dashboard: a small page over the JSON API. Every piece of data reaches the page
// through textContent or attributes set by DOM calls, never as HTML.
"use strict";

const PAGE_SIZE = 100;
const POLL_MS = 1000;
const PLOT_REFRESH_MS = 3000;
const PLOTS = ["history", "parallel", "importance", "curves", "slice", "timeline", "rungs"];
const PLOT_LABELS = {history: "History", parallel: "Parallel", importance: "Importance", curves: "Curves",
  slice: "Slice", timeline: "Timeline", rungs: "Rungs"};

let view = {timers: [], charts: []};

// DOM helpers ----------------------------------------------------------------------------
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") el.textContent = value;
    else if (key === "class") el.className = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }

function toast(message) {
  const el = document.getElementById("toast");
  el.textContent = message;
  el.classList.remove("hidden");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => el.classList.add("hidden"), 4000);
}

function setLive(ok) {
  const el = document.getElementById("live");
  el.classList.toggle("off", !ok);
  el.textContent = ok ? "live" : "storage unreachable";
}

// Formatting -----------------------------------------------------------------------------
function fmtNum(v) {
  if (v === null || v === undefined) return "–";
  if (typeof v !== "number") return typeof v === "string" ? v : JSON.stringify(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return (a !== 0 && (a < 1e-3 || a >= 1e6)) ? v.toExponential(3) : String(Number(v.toPrecision(6)));
}

function fmtValue(v) {
  if (v === undefined) return "";
  if (v === null || typeof v === "number") return fmtNum(v);
  return typeof v === "string" ? v : JSON.stringify(v);
}

function fmtTime(t) { return t ? new Date(t * 1000).toLocaleString() : "–"; }

function fmtAgo(t) {
  if (!t) return "–";
  const s = Math.max(0, Date.now() / 1000 - t);
  if (s < 60) return `${Math.round(s)}s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return fmtTime(t);
}

function fmtDuration(s) {
  if (s === null || s === undefined) return "–";
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${Math.round(s % 60)}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

function badge(status) { return h("span", {class: `badge ${status}`, text: status}); }

function engineTag(exp) {
  return exp.engine
    ? h("span", {class: "engine on", text: "engine running"})
    : h("span", {class: "engine off", text: "no engine running"});
}

function progress(counts, budget, total) {
  const of = Math.max(budget || 0, total || 0, 1);
  const bar = h("div", {class: "progress", title: `of ${budget || total} jobs`});
  for (const status of ["finished", "running", "failed", "stopped"]) {
    const n = counts[status] || 0;
    if (!n) continue;
    const part = h("span", {class: status});
    part.style.width = `${(100 * n) / of}%`;
    bar.append(part);
  }
  const parts = [`${counts.finished || 0}/${budget || "?"} done`];
  for (const status of ["running", "failed", "stopped"]) if (counts[status]) parts.push(`${counts[status]} ${status}`);
  return h("div", {}, bar, h("div", {class: "progress-text", text: parts.join(" · ")}));
}

// Network --------------------------------------------------------------------------------
async function api(path, options) {
  const response = await fetch(path, {credentials: "same-origin", headers: {"Accept": "application/json"}, ...options});
  const body = await response.json().catch(() => ({error: `HTTP ${response.status}`}));
  if (!response.ok) { const err = new Error(body.error || `HTTP ${response.status}`); err.body = body; throw err; }
  return body;
}

function post(path, body) {
  return api(path, {method: "POST", headers: {"Content-Type": "application/json", "Accept": "application/json"},
    body: JSON.stringify(body || {})});
}

function every(ms, fn) {
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try { await fn(); setLive(true); } catch (err) { setLive(false); } finally { busy = false; }
  };
  view.timers.push(setInterval(tick, ms));
}

function chart(el, option) {
  let c = echarts.getInstanceByDom(el);
  if (!c) { c = echarts.init(el); view.charts.push(c); }
  c.setOption(option, true);
  return c;
}

window.addEventListener("resize", () => view.charts.forEach((c) => c.resize()));

// Routing --------------------------------------------------------------------------------
function leave() {
  view.timers.forEach(clearInterval);
  view.charts.forEach((c) => c.dispose());
  view = {timers: [], charts: []};
  closeDrawer();
}

function crumbs(...items) {
  const nav = clear(document.getElementById("crumbs"));
  items.forEach((item, i) => { if (i) nav.append("/"); nav.append(item); });
}

function route() {
  leave();
  const main = clear(document.getElementById("main"));
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  if (parts[0] === "e" && /^\d+$/.test(parts[1] || "")) experimentPage(main, Number(parts[1]), parts[2] || "jobs");
  else if (parts[0] === "compare" && parts[1]) comparePage(main, parts[1].split(",").filter((x) => /^\d+$/.test(x)));
  else listPage(main);
}

window.addEventListener("hashchange", route);
document.addEventListener("DOMContentLoaded", route);
document.addEventListener("keydown", (e) => { if (e.key === "Escape") closeDrawer(); });

// Experiments list -----------------------------------------------------------------------
function listPage(main) {
  crumbs(h("span", {text: "Experiments"}));
  const selected = new Set();
  const compare = h("button", {class: "primary", disabled: true, id: "compare", onclick: () => {
    location.hash = `#/compare/${[...selected].join(",")}`;
  }}, "Compare selected");
  const body = h("tbody");
  const table = h("table", {class: "grid", id: "experiments"},
    h("thead", {}, h("tr", {}, ["", "Name", "Status", "Engine", "Progress", "Best", "Proposer", "Started", "Updated"]
      .map((label) => h("th", {text: label})))), body);
  main.append(h("div", {class: "row"}, h("h1", {text: "Experiments"}), h("span", {class: "spacer"}), compare),
    h("p", {class: "muted", text: "Select two or more to overlay their best-so-far curves."}),
    h("div", {class: "table-wrap"}, table));

  const render = (experiments) => {
    clear(body);
    if (!experiments.length) {
      body.append(h("tr", {}, h("td", {colspan: 9, class: "empty",
        text: "No experiments in this storage yet: start one with `tunelab run experiment.yaml`."})));
    }
    for (const e of experiments) {
      const box = h("input", {type: "checkbox", "aria-label": `select ${e.name}`, onchange: (ev) => {
        if (ev.target.checked) selected.add(e.id); else selected.delete(e.id);
        compare.disabled = selected.size < 2;
        compare.textContent = `Compare selected (${selected.size})`;
      }});
      box.checked = selected.has(e.id);
      body.append(h("tr", {dataset: {experiment: e.id}},
        h("td", {}, box),
        h("td", {}, h("a", {href: `#/e/${e.id}`, text: e.name, class: "exp-name"})),
        h("td", {}, badge(e.status)),
        h("td", {}, engineTag(e)),
        h("td", {}, progress(e.counts, e.budget, e.jobs)),
        h("td", {class: "num", text: fmtNum(e.best)}),
        h("td", {text: e.proposer || "–"}),
        h("td", {text: fmtTime(e.created)}),
        h("td", {text: fmtAgo(e.touched)})));
    }
  };
  const load = async () => render(await api("/api/experiments"));
  load().catch((err) => { main.append(h("p", {class: "action-status error", text: err.message})); });
  every(2000, load);
}

// One experiment -------------------------------------------------------------------------
function experimentPage(main, id, tab) {
  const state = {id, rev: 0, rows: new Map(), exp: null, sort: {key: "number", dir: 1}, filters: {}, page: 0,
    columns: [], tab: PLOTS.includes(tab) ? tab : "jobs", plotAt: 0, plotRev: -1};
  const header = h("div", {class: "card", id: "header"});
  const tabs = h("div", {class: "tabs", role: "tablist"});
  const panel = h("div", {id: "panel"});
  main.append(header, tabs, panel);

  for (const name of ["jobs", ...PLOTS]) {
    tabs.append(h("button", {class: `tab${name === state.tab ? " active" : ""}`, role: "tab", dataset: {tab: name},
      text: name === "jobs" ? "Jobs" : PLOT_LABELS[name], onclick: () => {
        history.replaceState(null, "", `#/e/${id}/${name}`);
        state.tab = name;
        tabs.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t.dataset.tab === name));
        showTab(state, panel);
      }}));
  }

  const start = async () => {
    const [exp, jobs] = await Promise.all([api(`/api/experiments/${id}`), api(`/api/experiments/${id}/jobs`)]);
    state.exp = exp;
    state.rev = jobs.rev;
    jobs.jobs.forEach((r) => state.rows.set(r.id, r));
    crumbs(h("a", {href: "#/", text: "Experiments"}), h("span", {text: exp.name}));
    document.title = `${exp.name} · tunelab`;
    renderHeader(state, header);
    showTab(state, panel);
    every(POLL_MS, () => followChanges(state, header, panel));
  };
  start().catch((err) => main.append(h("p", {class: "action-status error", text: err.message})));
}

async function followChanges(state, header, panel) {
  const update = await api(`/api/experiments/${state.id}/changes?after=${state.rev}`);
  const changed = update.jobs.length > 0 || update.rev !== state.rev;
  state.rev = update.rev;
  update.jobs.forEach((r) => state.rows.set(r.id, r));
  const before = JSON.stringify([state.exp.status, state.exp.engine, state.exp.message]);
  Object.assign(state.exp, update.experiment);
  if (changed) {
    const best = await api(`/api/experiments/${state.id}`);
    Object.assign(state.exp, best);
  }
  if (changed || before !== JSON.stringify([state.exp.status, state.exp.engine, state.exp.message])) {
    renderHeader(state, header);
  }
  if (!changed) return;
  if (state.tab === "jobs") renderJobs(state, panel, false);
  else if (Date.now() - state.plotAt > PLOT_REFRESH_MS) loadPlot(state, panel);
}

function counts(state) {
  const c = {};
  for (const r of state.rows.values()) if (!r.save_model) c[r.status] = (c[r.status] || 0) + 1;
  return c;
}

function renderHeader(state, header) {
  const e = state.exp;
  const status = actionLine("action-status", state);
  const stop = (mode) => () => act(state, "action-status", `/api/experiments/${e.id}/stop`, {mode});
  const why = e.engine ? null : "No engine is running this experiment: nothing to stop";
  const best = e.best;
  clear(header).append(h("div", {class: "header-grid"},
    h("div", {},
      h("div", {class: "row"}, h("h1", {text: e.name, id: "exp-name"}), badge(e.status), engineTag(e)),
      e.message ? h("div", {class: "muted", text: e.message}) : null,
      h("div", {class: "stats"},
        h("div", {class: "stat"}, h("div", {class: "label", text: `best (${e.target})`}),
          h("div", {class: "value", id: "best-value", text: best ? fmtNum(best.result) : "–"})),
        h("div", {class: "stat"}, h("div", {class: "label", text: "progress"}), progress(counts(state), e.budget, state.rows.size)),
        h("div", {class: "stat"}, h("div", {class: "label", text: "proposer"}), h("div", {text: e.proposer || "–"})),
        h("div", {class: "stat"}, h("div", {class: "label", text: "started"}), h("div", {text: fmtTime(e.created)})),
        h("div", {class: "stat"}, h("div", {class: "label", text: "updated"}), h("div", {text: fmtAgo(e.updated)}))),
      best ? h("div", {class: "chips", id: "best-config"},
        h("span", {class: "muted", text: `best config (job ${best.job_id}):`}),
        Object.entries(best.config).map(([k, v]) => h("span", {class: "chip"}, h("b", {text: k}), fmtValue(v)))) : null),
    h("div", {class: "actions"},
      h("button", {class: "danger", id: "stop-drain", disabled: !e.engine, title: why || "Start no new jobs; let the running ones finish",
        onclick: stop("drain")}, "Stop experiment"),
      h("button", {class: "danger", id: "stop-cancel", disabled: !e.engine, title: why || "Start no new jobs and cancel the running ones",
        onclick: stop("cancel")}, "Stop & cancel running jobs"),
      why ? h("div", {class: "action-status", text: why}) : null,
      status)));
}

// An action's line survives re-renders: its text lives in `holder.action`.
function actionLine(id, holder) {
  const line = h("div", {class: "action-status", id, text: holder.action ? holder.action.text : ""});
  if (holder.action && holder.action.error) line.classList.add("error");
  return line;
}

function say(holder, id, text, error) {
  holder.action = {text, error};
  const line = document.getElementById(id);
  if (line) { line.textContent = text; line.classList.toggle("error", Boolean(error)); }
}

// Send a request to the engine through the inbox and show its answer when it comes.
async function act(holder, id, path, body) {
  say(holder, id, "asking the engine…");
  try {
    const sent = await post(path, body);
    say(holder, id, "request sent; waiting for the engine…");
    for (let i = 0; i < 60; i++) {
      const r = await api(`/api/requests/${sent.request}`);
      if (r.handled) { say(holder, id, `engine: ${r.outcome}`); return; }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    say(holder, id, "the engine has not answered yet; it acts on requests while it runs");
  } catch (err) { say(holder, id, err.message, true); }
}

function showTab(state, panel) {
  view.charts.forEach((c) => c.dispose());
  view.charts = [];
  clear(panel);
  if (state.tab === "jobs") renderJobs(state, panel, true);
  else loadPlot(state, panel);
}

async function loadPlot(state, panel) {
  state.plotAt = Date.now();
  let el = panel.querySelector(".chart");
  if (!el) { el = h("div", {class: "chart", id: `plot-${state.tab}`}); panel.append(h("div", {class: "card"}, el)); }
  const tab = state.tab;
  const option = await api(`/api/experiments/${state.id}/plot/${tab}`);
  if (state.tab === tab) { chart(el, option); el.dataset.rev = String(state.rev); }
}

// Job table ------------------------------------------------------------------------------
function columns(state) {
  const e = state.exp;
  const extra = new Set(e.extra);
  for (const r of state.rows.values()) Object.keys(r.extra || {}).forEach((k) => extra.add(k));
  return [
    {key: "number", label: "#", get: (r) => r.number, num: true},
    {key: "status", label: "status", get: (r) => r.status, cell: (r) => badge(r.status)},
    ...e.parameters.map((p) => ({key: `p:${p}`, label: p, get: (r) => r.config[p], param: true})),
    {key: "value", label: "result", get: (r) => r.value, num: true},
    ...[...extra].sort().map((x) => ({key: `x:${x}`, label: x, get: (r) => (r.extra || {})[x], num: true})),
    {key: "budget", label: "budget", get: (r) => r.budget, num: true},
    {key: "duration", label: "duration", get: (r) => r.duration, num: true, show: fmtDuration},
    {key: "attempts", label: "attempts", get: (r) => r.attempts, num: true},
    {key: "where", label: "host/slot", get: (r) => [r.host, r.slot === null ? null : `slot ${r.slot}`].filter((x) => x !== null).join(" · ")},
    {key: "error", label: "error", get: (r) => r.error, err: true},
  ];
}

function matches(value, filter) {
  const text = filter.trim();
  if (!text) return true;
  const m = /^(>=|<=|>|<|=)\s*(-?[\d.eE+-]+)$/.exec(text);
  if (m && typeof value === "number") {
    const x = Number(m[2]);
    return {">": value > x, "<": value < x, ">=": value >= x, "<=": value <= x, "=": value === x}[m[1]];
  }
  return (value === null || value === undefined ? "" : fmtValue(value)).toLowerCase().includes(text.toLowerCase());
}

function compare(a, b) {
  if (a === b) return 0;
  if (a === null || a === undefined || a === "") return 1;
  if (b === null || b === undefined || b === "") return -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return fmtValue(a).localeCompare(fmtValue(b), undefined, {numeric: true});
}

function visibleRows(state) {
  const active = state.columns.filter((c) => (state.filters[c.key] || "").trim());
  let rows = [...state.rows.values()];
  if (active.length) rows = rows.filter((r) => active.every((c) => matches(c.get(r), state.filters[c.key])));
  const col = state.columns.find((c) => c.key === state.sort.key) || state.columns[0];
  const dir = state.sort.dir;
  rows.sort((a, b) => {
    const va = col.get(a), vb = col.get(b);
    const empty = (v) => v === null || v === undefined || v === "";
    if (empty(va) || empty(vb)) return compare(va, vb);
    return dir * compare(va, vb) || a.number - b.number;
  });
  return rows;
}

function renderJobs(state, panel, fresh) {
  const cols = columns(state);
  if (fresh || cols.length !== state.columns.length || !panel.querySelector("#jobs")) {
    state.columns = cols;
    buildJobTable(state, panel);
  }
  fillJobRows(state, panel);
}

function buildJobTable(state, panel) {
  const head = h("tr", {}, state.columns.map((c) => h("th", {
    class: `sortable${state.sort.key === c.key ? (state.sort.dir > 0 ? " asc" : " desc") : ""}`,
    dataset: {col: c.key}, text: c.label, title: "Sort", onclick: () => {
      state.sort = {key: c.key, dir: state.sort.key === c.key ? -state.sort.dir : 1};
      state.page = 0;
      buildJobTable(state, panel);
      fillJobRows(state, panel);
    }})));
  const filters = h("tr", {class: "filters"}, state.columns.map((c) => {
    const input = h("input", {class: "filter", placeholder: c.num ? "> 0.5" : "filter", dataset: {filter: c.key},
      "aria-label": `filter ${c.label}`, oninput: (ev) => {
        state.filters[c.key] = ev.target.value;
        state.page = 0;
        fillJobRows(state, panel);
      }});
    input.value = state.filters[c.key] || "";
    return h("th", {}, input);
  }));
  clear(panel).append(
    h("div", {class: "pager", id: "pager"}),
    h("div", {class: "table-wrap"}, h("table", {class: "grid", id: "jobs"}, h("thead", {}, head, filters), h("tbody"))));
}

function fillJobRows(state, panel) {
  const rows = visibleRows(state);
  const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
  state.page = Math.min(state.page, pages - 1);
  const shown = rows.slice(state.page * PAGE_SIZE, (state.page + 1) * PAGE_SIZE);
  const body = clear(panel.querySelector("#jobs tbody"));
  for (const r of shown) {
    body.append(h("tr", {class: "clickable", dataset: {job: r.id, status: r.status}, onclick: () => openJob(r.id)},
      state.columns.map((c) => {
        const v = c.get(r);
        if (c.cell) return h("td", {}, c.cell(r));
        return h("td", {class: c.err ? "err" : (c.num || typeof v === "number" ? "num" : null),
          title: c.err && v ? v : null, text: c.show ? c.show(v) : (c.num ? fmtNum(v) : fmtValue(v ?? ""))});
      })));
  }
  if (!shown.length) body.append(h("tr", {}, h("td", {colspan: state.columns.length, class: "empty", text: "No job matches."})));
  const pager = clear(panel.querySelector("#pager"));
  const first = rows.length ? state.page * PAGE_SIZE + 1 : 0;
  pager.append(
    h("span", {id: "job-count", text: `${first}–${state.page * PAGE_SIZE + shown.length} of ${rows.length} jobs` +
      (rows.length !== state.rows.size ? ` (filtered from ${state.rows.size})` : "")}),
    h("span", {class: "spacer"}),
    h("button", {disabled: state.page === 0, onclick: () => { state.page--; fillJobRows(state, panel); }}, "‹ Prev"),
    h("span", {text: `page ${state.page + 1} / ${pages}`}),
    h("button", {disabled: state.page >= pages - 1, onclick: () => { state.page++; fillJobRows(state, panel); }}, "Next ›"));
}

// Job detail -----------------------------------------------------------------------------
function closeDrawer() {
  const drawer = document.getElementById("drawer");
  if (drawer.timer) clearInterval(drawer.timer);
  drawer.timer = null;
  const c = drawer.chart;
  if (c) { c.dispose(); drawer.chart = null; }
  drawer.classList.add("hidden");
  drawer.action = null;
  clear(drawer);
}

async function openJob(jobId) {
  closeDrawer();
  const drawer = document.getElementById("drawer");
  drawer.classList.remove("hidden");
  drawer.dataset.job = jobId;
  const load = async () => {
    const job = await api(`/api/jobs/${jobId}`);
    if (drawer.dataset.job !== String(jobId)) return;
    renderJob(drawer, job);
    if (job.status !== "running" && drawer.timer) { clearInterval(drawer.timer); drawer.timer = null; }
  };
  await load().catch((err) => drawer.append(h("p", {class: "action-status error", text: err.message})));
  drawer.timer = setInterval(() => load().catch(() => setLive(false)), 2000);
}

function kvTable(entries) {
  return h("table", {class: "kv"}, entries.map(([k, v]) => h("tr", {}, h("td", {text: k}), h("td", {class: "mono", text: fmtValue(v)}))));
}

// The score box of a waiting passive job; what was typed survives the drawer's refresh.
function scoreForm(drawer, job) {
  if (!job.takes_score) return null;
  const before = document.getElementById("score-value");
  const input = h("input", {id: "score-value", type: "text", inputmode: "decimal", placeholder: "score",
    "aria-label": "score", autocomplete: "off"});
  input.value = before ? before.value : "";
  if (before && document.activeElement === before) queueMicrotask(() => input.focus());
  const send = (event) => {
    event.preventDefault();
    const value = Number(input.value.trim());
    if (input.value.trim() === "" || !Number.isFinite(value)) {
      say(drawer, "job-action-status", `${JSON.stringify(input.value)} is not a score; give a finite number, like 0.93`, true);
      return;
    }
    act(drawer, "job-action-status", `/api/jobs/${job.id}/score`, {value});
  };
  return h("form", {class: "row score", onsubmit: send}, input,
    h("button", {class: "primary", id: "score-job", type: "submit"}, "Record score"));
}

function renderJob(drawer, job) {
  const status = actionLine("job-action-status", drawer);
  const score = scoreForm(drawer, job);
  const stop = () => act(drawer, "job-action-status", `/api/jobs/${job.id}/stop`, {});
  if (drawer.chart) { drawer.chart.dispose(); drawer.chart = null; }
  const curve = h("div", {class: "chart small", id: "job-curve"});
  clear(drawer).append(h("div", {},
    h("div", {class: "row"}, h("h2", {text: `Job #${job.number}`, id: "job-title"}), badge(job.status),
      h("span", {class: "muted", text: `id ${job.id}`}), h("span", {class: "spacer"}),
      job.status === "running" ? h("button", {class: "danger", id: "stop-job", onclick: stop}, "Stop job") : null,
      h("button", {onclick: closeDrawer, "aria-label": "close"}, "✕")),
    status, score,
    h("section", {}, h("h2", {text: "Config"}), kvTable(Object.entries(job.config))),
    h("section", {}, h("h2", {text: "Result"}), kvTable([["result", job.result], ["budget", job.budget],
      ...Object.entries(job.extra_results)])),
    job.error ? h("section", {}, h("h2", {text: "Error"}), h("pre", {id: "job-error", text: job.error})) : null,
    h("section", {}, h("h2", {text: "Attempts"}), h("table", {class: "grid"},
      h("thead", {}, h("tr", {}, ["#", "status", "host", "slot", "started", "duration", "error"].map((t) => h("th", {text: t})))),
      h("tbody", {}, job.attempts.map((a) => h("tr", {},
        h("td", {text: a.number}), h("td", {}, badge(a.status)), h("td", {text: a.host || "–"}),
        h("td", {text: a.resource.slot ?? "–"}), h("td", {text: fmtTime(a.started)}),
        h("td", {text: fmtDuration(a.ended ? a.ended - a.started : null)}), h("td", {class: "err", text: a.error || ""})))))),
    h("section", {}, h("h2", {text: "Intermediate values"}),
      job.attempts.some((a) => a.intermediate.length) ? curve : h("p", {class: "muted", text: "none reported"})),
    h("section", {}, h("h2", {text: "stdout (end)"}), h("pre", {id: "job-stdout", text: job.stdout ?? "(no file on this machine)"})),
    h("section", {}, h("h2", {text: "stderr (end)"}), h("pre", {id: "job-stderr", text: job.stderr ?? "(no file on this machine)"}))));
  if (curve.isConnected) {
    drawer.chart = echarts.init(curve);
    drawer.chart.setOption({
      animation: false, tooltip: {trigger: "axis", renderMode: "richText"}, grid: {left: 50, right: 20, top: 20, bottom: 30},
      xAxis: {type: "value", name: "step", minInterval: 1}, yAxis: {type: "value", scale: true},
      series: job.attempts.filter((a) => a.intermediate.length).map((a) => ({
        type: "line", name: `attempt ${a.number}`, data: a.intermediate, showSymbol: a.intermediate.length < 50}))});
  }
}

// Comparison -----------------------------------------------------------------------------
function comparePage(main, ids) {
  crumbs(h("a", {href: "#/", text: "Experiments"}), h("span", {text: "Compare"}));
  const el = h("div", {class: "chart", id: "compare-chart"});
  main.append(h("h1", {text: "Compare experiments"}), h("p", {class: "muted", text: "Best value so far against job number."}),
    h("div", {class: "card"}, el));
  const load = async () => chart(el, await api(`/api/compare?ids=${ids.join(",")}`));
  load().catch((err) => main.append(h("p", {class: "action-status error", text: err.message})));
  every(3000, load);
}
