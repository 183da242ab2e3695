/* yanex ui: a single page over the JSON API, routed by the URL's hash.
 *
 * Every piece of data is put on the page with textContent or as a DOM
 * property or attribute value, never parsed as HTML, so names, tags,
 * params and output cannot inject markup. Routes: #/ (the list, its
 * filters in the hash's query), #/experiment/ID, #/compare?ids=A,B or
 * #/compare?sweep=ID, so every view can be bookmarked and shared.
 *
 * Each view gets a generation number; timers and answers that arrive for
 * an older view are dropped, so leaving a page stops its polling.
 */
"use strict";

const TOKEN = document.querySelector('meta[name="yanex-token"]').content;
const REFRESH_MS = 3000;
const OUTPUT_POLL_MS = 1000;
const PALETTE = ["#2f5fd0", "#d0612f", "#1f8a4c", "#9b3fc2", "#c23b3b", "#2a9fb0",
  "#b7791f", "#5d6b82", "#e0469b", "#6d9c1f"];
const COLUMNS = [
  ["id", "id"], ["name", "name"], ["status", "status"], ["script_name", "script"],
  ["tags", "tags"], ["sweep_id", "sweep"], ["started_at", "started"],
  ["duration", "duration"],
];
const STATUSES = ["", "created", "staged", "queued", "running", "completed",
  "failed", "cancelled", "lost"];
const FILTERS = ["q", "status", "tag", "name", "script", "sweep", "started_after",
  "started_before", "where", "archived"];
const PAGE_SIZES = [25, 50, 100, 250, 1000];

let generation = 0;
let timers = [];
let charts = [];

/* ---------- small helpers ---------- */

function h(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key in node && key !== "list") node[key] = value;
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, options) {
  const response = await fetch(path, options);
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const message = body && body.error ? body.error : `HTTP ${response.status}`;
    throw new Error(message);
  }
  return body;
}

/* A function telling whether the view that called it is still shown. */
function viewAlive() {
  const mine = generation;
  return () => mine === generation;
}

function later(alive, callback, ms) {
  if (!alive()) return;
  timers.push(setTimeout(() => { if (alive()) callback(); }, ms));
}

function clearPage() {
  generation += 1;
  timers.forEach(clearTimeout);
  timers = [];
  charts.forEach((chart) => chart.destroy());
  charts = [];
}

function show(...nodes) {
  document.getElementById("view").replaceChildren(...nodes);
}

function failure(error) {
  return h("p", { class: "error" }, String(error.message || error));
}

function muted(text, props) {
  return h("p", { class: "muted", ...props }, text);
}

function badge(status) {
  const safe = String(status || "unknown").replace(/[^a-z]/g, "");
  return h("span", { class: `badge status-${safe}` }, status || "?");
}

function tagList(list) {
  return (list || []).map((tag) => h("span", { class: "tag" }, tag));
}

function formatValue(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    const magnitude = Math.abs(value);
    return magnitude !== 0 && (magnitude < 1e-3 || magnitude >= 1e6)
      ? value.toExponential(3) : String(Number(value.toPrecision(5)));
  }
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function formatTime(text) {
  if (!text) return "";
  const moment = new Date(text);
  if (Number.isNaN(moment.getTime())) return text;
  const pad = (n) => String(n).padStart(2, "0");
  return `${moment.getFullYear()}-${pad(moment.getMonth() + 1)}-${pad(moment.getDate())} `
    + `${pad(moment.getHours())}:${pad(moment.getMinutes())}:${pad(moment.getSeconds())}`;
}

function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function experimentLink(id, label) {
  return h("a", { href: `#/experiment/${encodeURIComponent(id)}` }, label || id);
}

function sweepLink(sweep, label) {
  return h("a", { href: `#/compare?sweep=${encodeURIComponent(sweep)}`,
    title: "compare this sweep" }, label || sweep);
}

function experimentPath(id) {
  return `/api/experiments/${encodeURIComponent(id)}`;
}

function artifactPath(id, name) {
  const parts = name.split("/").map(encodeURIComponent).join("/");
  return `${experimentPath(id)}/artifacts/${parts}`;
}

function kvTable(pairs, props) {
  return h("table", { class: "kv", ...props },
    h("tbody", null, pairs.map(([key, value]) =>
      h("tr", null, h("th", { scope: "row" }, key), h("td", null, value)))));
}

/* ---------- charts ---------- */

function chartWidth(box) {
  return Math.max(280, box.clientWidth - 22);
}

/* Draw one chart in a new card of `container`; returns the uPlot object. */
function chart(container, title, steps, series) {
  const box = h("div", { class: "card chart", "data-metric": title },
    h("div", { class: "chart-title" }, title));
  container.append(box);
  if (typeof uPlot === "undefined") {
    box.append(h("p", { class: "error" }, "the chart library did not load"));
    return null;
  }
  const options = {
    width: chartWidth(box), height: 220,
    scales: { x: { time: false } },
    legend: { show: series.length <= 12 },
    series: [{ label: "step" }, ...series.map((line, i) => ({
      label: line.label, stroke: PALETTE[i % PALETTE.length], width: 1.5,
      spanGaps: true, points: { show: steps.length <= 40 },
    }))],
    axes: [{ label: "step" }, { size: 60 }],
  };
  const plot = new uPlot(options, [steps, ...series.map((line) => line.values)], box);
  charts.push(plot);
  return plot;
}

function resizeCharts() {
  for (const plot of charts) {
    const box = plot.root.parentElement;
    if (box) plot.setSize({ width: chartWidth(box), height: 220 });
  }
}

function numbers(steps, name) {
  return steps.map((row) => {
    const value = row.metrics[name];
    return typeof value === "number" ? value : null;
  });
}

function overlay(histories, labels, name) {
  const steps = new Set();
  for (const curve of Object.values(histories)) curve.steps.forEach((s) => steps.add(s));
  const xs = [...steps].sort((a, b) => a - b);
  const series = [];
  for (const [id, curve] of Object.entries(histories)) {
    const values = curve.series[name];
    if (!values) continue;
    const byStep = new Map(curve.steps.map((step, i) => [step, values[i]]));
    series.push({ label: labels[id] || id, values: xs.map((x) => byStep.get(x) ?? null) });
  }
  return { xs, series };
}

/* ---------- list page ---------- */

function hashQuery() {
  const hash = location.hash.replace(/^#/, "");
  const at = hash.indexOf("?");
  return new URLSearchParams(at >= 0 ? hash.slice(at + 1) : "");
}

function go(path, query) {
  const text = query && query.toString();
  location.hash = text ? `${path}?${text}` : path;
}

function filterForm(query) {
  const input = (key, label, placeholder, size) => h("label", null, label,
    h("input", { name: key, value: query.get(key) || "", placeholder, size: size || 12 }));
  const status = h("select", { name: "status" }, STATUSES.map((s) =>
    h("option", { value: s, selected: (query.get("status") || "") === s }, s || "any")));
  const archived = h("select", { name: "archived" }, ["exclude", "include", "only"].map(
    (a) => h("option", { value: a, selected: (query.get("archived") || "exclude") === a },
      a)));
  const form = h("form", { class: "filters", id: "filters" },
    input("q", "search", "id, name, script, tag", 16),
    h("label", null, "status", status),
    input("tag", "tags", "cifar, final", 10),
    input("name", "name", "glob*", 10),
    input("script", "script", "train.py", 9),
    input("sweep", "sweep", "id or prefix", 8),
    input("started_after", "started after", "2 days ago", 10),
    input("started_before", "started before", "2026-12-01", 10),
    input("where", "where", "lr<0.01; acc>=0.9", 16),
    h("label", null, "archived", archived),
    h("button", { class: "primary", type: "submit" }, "Apply"),
    h("button", { type: "button", onclick: () => go("#/") }, "Clear"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const key of FILTERS) {
      const value = form.elements[key].value.trim();
      if (value && !(key === "archived" && value === "exclude")) next.set(key, value);
    }
    for (const key of ["sort", "desc", "limit"]) {
      if (query.get(key)) next.set(key, query.get(key));
    }
    go("#/", next);
  });
  return form;
}

function listRequest(query) {
  const request = new URLSearchParams();
  for (const [key, value] of query) {
    if (key === "where") {
      value.split(";").map((part) => part.trim()).filter(Boolean)
        .forEach((part) => request.append("where", part));
    } else {
      request.append(key, value);
    }
  }
  if (!request.get("limit")) request.set("limit", "50");
  return `/api/experiments?${request}`;
}

function sortHeader(query, key, label, kind) {
  const sorted = query.get("sort") === key;
  const descending = sorted && query.get("desc") === "1";
  const classes = ["sortable", kind || "", sorted ? "sorted" : "", descending ? "desc" : ""];
  return h("th", {
    class: classes.join(" ").replace(/ +/g, " ").trim(),
    title: `sort by ${key}`, "data-sort": key,
    onclick: () => {
      const next = new URLSearchParams(query);
      next.set("sort", key);
      if (sorted && !descending) next.set("desc", "1"); else next.delete("desc");
      next.delete("offset");
      go("#/", next);
    },
  }, label);
}

function valueKeys(rows, field) {
  const keys = new Set();
  rows.forEach((row) => Object.keys(row[field]).forEach((key) => keys.add(key)));
  return [...keys].sort();
}

function valueCell(value, kind) {
  const text = formatValue(value);
  return h("td", { class: `num ${kind}`, title: text.length > 24 ? text : null }, text);
}

function listRow(row, params, metrics, chosen, onChoose) {
  const sweep = row.sweep_id
    ? sweepLink(row.sweep_id, `${row.sweep_id} #${row.sweep_index ?? "?"}`) : "";
  return h("tr", { "data-id": row.id },
    h("td", null, h("input", {
      type: "checkbox", checked: chosen.has(row.id), title: "choose for comparison",
      onchange: (event) => onChoose(row.id, event.target.checked),
    })),
    h("td", { class: "mono" }, experimentLink(row.id)),
    h("td", { class: "name", title: row.name || null },
      row.name ? experimentLink(row.id, row.name) : ""),
    h("td", null, badge(row.status)),
    h("td", null, row.script_name || ""),
    h("td", null, tagList(row.tags)),
    h("td", { class: "mono" }, sweep),
    h("td", null, formatTime(row.started_at)),
    h("td", { class: "num" }, formatDuration(row.duration)),
    metrics.map((key) => valueCell(row.metrics[key], "metric")),
    params.map((key) => valueCell(row.params[key], "param")));
}

function listTable(query, data, chosen, onChoose) {
  const params = valueKeys(data.experiments, "params");
  const metrics = valueKeys(data.experiments, "metrics");
  const head = h("tr", null, h("th", null, ""),
    COLUMNS.map(([key, label]) => sortHeader(query, key, label)),
    metrics.map((key) => sortHeader(query, `metrics.${key}`, key, "metric")),
    params.map((key) => sortHeader(query, `params.${key}`, key, "param")));
  const body = data.experiments.map((row) => listRow(row, params, metrics, chosen, onChoose));
  const table = h("table", { id: "experiments" }, h("thead", null, head),
    h("tbody", null, body));
  if (!data.experiments.length) {
    return h("div", null, table, muted("No experiment matches.", { id: "empty" }));
  }
  return h("div", { class: "table-wrap" }, table);
}

function pager(query, data) {
  const first = data.total ? data.offset + 1 : 0;
  const last = Math.min(data.offset + data.limit, data.total);
  const move = (offset) => {
    const next = new URLSearchParams(query);
    if (offset > 0) next.set("offset", String(offset)); else next.delete("offset");
    go("#/", next);
  };
  const size = h("select", {
    title: "rows per page",
    onchange: (event) => {
      const next = new URLSearchParams(query);
      next.set("limit", event.target.value);
      next.delete("offset");
      go("#/", next);
    },
  }, PAGE_SIZES.map((n) => h("option", { value: n, selected: data.limit === n },
    `${n} / page`)));
  return h("div", { class: "pager" },
    h("button", { type: "button", disabled: data.offset <= 0,
      onclick: () => move(Math.max(0, data.offset - data.limit)) }, "‹ Previous"),
    h("span", { id: "count" }, `${first}–${last} of ${data.total}`),
    h("button", { type: "button", disabled: last >= data.total,
      onclick: () => move(data.offset + data.limit) }, "Next ›"),
    size,
    isLive(data) ? h("span", { class: "muted", id: "live" },
      `${liveCounts(data)}: refreshing every ${REFRESH_MS / 1000} s`) : null);
}

// Experiments running, or waiting in a scheduler, change on their own.
function isLive(data) {
  return data.running > 0 || data.queued > 0;
}

function liveCounts(data) {
  const counts = [];
  if (data.running) counts.push(`${data.running} running`);
  if (data.queued) counts.push(`${data.queued} queued`);
  return counts.join(", ");
}

function listPage(query, alive) {
  const chosen = new Set();
  const results = h("div", { id: "results" }, muted("Loading…"));
  const compare = h("button", { type: "button", id: "compare-chosen", disabled: true,
    onclick: () => go("#/compare", new URLSearchParams({ ids: [...chosen].join(",") })),
  }, "Compare chosen");
  const onChoose = (id, on) => {
    if (on) chosen.add(id); else chosen.delete(id);
    compare.disabled = chosen.size < 1;
    compare.textContent = chosen.size ? `Compare chosen (${chosen.size})` : "Compare chosen";
  };
  show(h("h1", null, "Experiments"), filterForm(query), results);
  const load = async () => {
    try {
      const data = await api(listRequest(query));
      if (!alive()) return;
      const controls = pager(query, data);
      controls.prepend(compare);
      results.replaceChildren(controls, listTable(query, data, chosen, onChoose));
      if (isLive(data)) later(alive, load, REFRESH_MS);
    } catch (error) {
      if (alive()) results.replaceChildren(failure(error));
    }
  };
  load();
}

/* ---------- experiment page ---------- */

function editForm(data, onSaved) {
  const name = h("input", { name: "name", value: data.name || "", size: 36 });
  const description = h("textarea", { name: "description", rows: 2, cols: 36 },
    data.description || "");
  const tagText = h("input", { name: "tags", value: (data.tags || []).join(", "), size: 36 });
  const message = h("span", { class: "muted", id: "edit-message" });
  let had = data.tags || [];
  const save = async (event) => {
    event.preventDefault();
    const wanted = tagText.value.split(",").map((t) => t.trim()).filter(Boolean);
    const body = {
      name: name.value, description: description.value,
      add_tags: wanted.filter((t) => !had.includes(t)),
      remove_tags: had.filter((t) => !wanted.includes(t)),
    };
    try {
      const updated = await api(experimentPath(data.id), {
        method: "PATCH", body: JSON.stringify(body),
        headers: { "Content-Type": "application/json", "X-Yanex-Token": TOKEN },
      });
      had = updated.tags || [];
      message.textContent = "saved";
      onSaved(updated);
    } catch (error) {
      message.textContent = `not saved: ${error.message}`;
    }
  };
  return h("form", { class: "edit", id: "edit", onsubmit: save },
    h("label", null, "name"), name,
    h("label", null, "description"), description,
    h("label", null, "tags"), tagText,
    h("span"), h("div", { class: "row" }, h("button", { type: "submit" }, "Save"), message));
}

function overviewTable(data) {
  const sweep = data.sweep && data.sweep.id;
  return kvTable([
    ["id", data.id],
    ["status", h("span", null, badge(data.status), " ", data.status_reason || "")],
    ["description", data.description || ""],
    ["script", (data.script && data.script.path) || ""],
    ["command", (data.command || []).join(" ")],
    ["host", [data.user, data.created_on].filter(Boolean).join("@")],
    ["created", formatTime(data.created_at)],
    ["started", formatTime(data.started_at)],
    ["ended", formatTime(data.ended_at)],
    ["duration", formatDuration(data.duration_s)],
    ["exit code", data.exit_code ?? ""],
    ["sweep", sweep ? sweepLink(sweep, `${sweep} (member ${data.sweep.index})`) : ""],
    ["tags", h("span", null, tagList(data.tags))],
  ], { id: "overview" });
}

function diffLine(line) {
  const kind = line.startsWith("+++") || line.startsWith("---") ? "file"
    : line.startsWith("+") ? "add"
      : line.startsWith("-") ? "del"
        : line.startsWith("@@") ? "hunk"
          : line.startsWith("diff ") ? "file" : "";
  return h("span", { class: kind }, `${line}\n`);
}

function gitSection(data) {
  const git = data.git;
  const section = h("section", { id: "git" }, h("h2", null, "Git"));
  if (!git || !git.is_repo) {
    section.append(muted("Not run from a git repository: no code state recorded."));
    return section;
  }
  const remotes = Object.entries(git.remotes || {}).map(([name, url]) => `${name}: ${url}`);
  section.append(kvTable([
    ["commit", h("span", { class: "mono" }, git.commit || "")],
    ["branch", git.detached ? "(detached)" : git.branch || ""],
    ["upstream", git.upstream || ""],
    ["remotes", remotes.join("\n")],
    ["uncommitted", git.dirty ? (git.changed || []).join(", ") : "none"],
  ]));
  if (data.has_patch) {
    const diff = h("pre", { class: "diff", id: "patch" }, "loading the patch…");
    section.append(h("h3", null, "Uncommitted changes (git.patch)"), diff);
    api(`${experimentPath(data.id)}/patch`).then(
      (text) => diff.replaceChildren(...text.replace(/\n$/, "").split("\n").map(diffLine)),
      (error) => diff.replaceChildren(String(error.message)));
  }
  return section;
}

function metricsSection(id, alive) {
  const grid = h("div", { class: "grid", id: "charts" });
  const section = h("section", null, h("h2", null, "Metrics"), grid);
  const plots = new Map();
  const empty = muted("No metrics logged.");
  const load = async () => {
    let data;
    try {
      data = await api(`${experimentPath(id)}/metrics`);
    } catch (error) {
      if (alive()) grid.replaceChildren(failure(error));
      return;
    }
    if (!alive()) return;
    const steps = data.steps.map((row) => row.step);
    for (const name of data.names) {
      const values = numbers(data.steps, name);
      if (!values.some((v) => v !== null)) continue;
      if (plots.has(name)) plots.get(name).setData([steps, values]);
      else plots.set(name, chart(grid, name, steps, [{ label: name, values }]));
    }
    if (plots.size) empty.remove(); else grid.append(empty);
    if (data.status === "running") later(alive, load, REFRESH_MS);
  };
  load();
  return section;
}

function outputSection(id, alive) {
  const pre = h("pre", { id: "output" });
  const note = h("span", { class: "muted", id: "output-note" });
  let stream = "stdout";
  let offset = null;
  let chosen = 0;
  const buttons = {};
  const poll = async (mine) => {
    const query = new URLSearchParams({ stream });
    if (offset !== null) query.set("offset", String(offset));
    try {
      const chunk = await api(`${experimentPath(id)}/output?${query}`);
      if (!alive() || mine !== chosen) return;
      if (chunk.reset) pre.textContent = "";
      if (chunk.truncated) pre.append("… (earlier output left out)\n");
      if (chunk.text) {
        const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
        pre.append(chunk.text);
        if (atBottom) pre.scrollTop = pre.scrollHeight;
      }
      offset = chunk.offset;
      const live = chunk.status === "running" || chunk.offset < chunk.size;
      note.textContent = live ? "live" : (pre.textContent ? "" : "(empty)");
      if (live) later(alive, () => poll(mine), OUTPUT_POLL_MS);
    } catch (error) {
      if (alive()) note.textContent = error.message;
    }
  };
  const choose = (name) => {
    stream = name;
    offset = null;
    chosen += 1;
    pre.textContent = "";
    Object.entries(buttons).forEach(([key, b]) => b.classList.toggle("active", key === name));
    poll(chosen);
  };
  for (const name of ["stdout", "stderr"]) {
    buttons[name] = h("button", { type: "button", id: `show-${name}`,
      onclick: () => choose(name) }, name);
  }
  const section = h("section", null, h("h2", null, "Output"),
    h("div", { class: "tabs" }, buttons.stdout, buttons.stderr, note), pre);
  choose("stdout");
  return section;
}

async function showPreview(card, path) {
  try {
    const shown = await api(`${path}?preview=1`);
    card.append(h("pre", { class: "text" }, shown.text,
      shown.truncated ? "\n… (cut short; download it for the rest)" : ""));
  } catch (error) {
    card.append(failure(error));
  }
}

function artifactCard(id, artifact) {
  const path = artifactPath(id, artifact.name);
  const title = h("div", { class: "row" },
    h("a", { href: path, download: artifact.name.split("/").pop() }, artifact.name),
    h("span", { class: "muted" }, formatSize(artifact.size)));
  const card = h("div", { class: "card artifact", "data-name": artifact.name }, title);
  if (artifact.image) {
    card.append(h("img", { class: "artifact", src: path, alt: artifact.name }));
  } else if (artifact.text) {
    showPreview(card, path);
  } else {
    const preview = h("button", { type: "button" }, "preview as text");
    preview.addEventListener("click", () => {
      preview.disabled = true;
      showPreview(card, path);
    });
    title.append(preview);
  }
  return card;
}

function artifactsSection(data) {
  const section = h("section", { id: "artifacts" }, h("h2", null, "Artifacts"));
  if (!data.artifacts.length) {
    section.append(muted("No artifacts."));
    return section;
  }
  section.append(h("div", { class: "grid" },
    data.artifacts.map((artifact) => artifactCard(data.id, artifact))));
  return section;
}

function paramsSection(data) {
  const pairs = Object.entries(data.flat_params || {}).map(([k, v]) => [k, formatValue(v)]);
  return h("section", null, h("h2", null, "Parameters"),
    pairs.length ? kvTable(pairs, { id: "params" }) : muted("No parameters."));
}

async function experimentPage(id, alive) {
  let data;
  try {
    data = await api(experimentPath(id));
  } catch (error) {
    if (alive()) show(h("h1", null, "Experiment"), failure(error));
    return;
  }
  if (!alive()) return;
  const title = h("h1", { id: "title" });
  const overview = h("div");
  const render = (fresh) => {
    data = fresh;
    title.replaceChildren(data.name || data.id, " ", badge(data.status));
    overview.replaceChildren(overviewTable(data));
    document.title = `${data.name || data.id} · yanex`;
  };
  render(data);
  const watch = async () => {
    try {
      const fresh = await api(experimentPath(id));
      if (alive()) render(fresh);
    } catch (error) {
      return;
    }
    if (data.status === "running") later(alive, watch, REFRESH_MS);
  };
  if (data.status === "running") later(alive, watch, REFRESH_MS);
  show(title,
    h("div", { class: "columns" },
      h("section", null, h("h2", null, "Overview"), overview),
      h("section", null, h("h2", null, "Name, description, tags"), editForm(data, render),
        paramsSection(data))),
    metricsSection(data.id, alive),
    outputSection(data.id, alive),
    artifactsSection(data),
    gitSection(data));
}

/* ---------- compare page ---------- */

function compareForm(query) {
  const ids = h("input", { name: "ids", value: query.get("ids") || "", size: 40,
    placeholder: "ids, prefixes or names, comma separated" });
  const sweep = h("input", { name: "sweep", value: query.get("sweep") || "", size: 12,
    placeholder: "sweep id" });
  const form = h("form", { class: "filters", id: "compare-form" },
    h("label", null, "experiments", ids), h("label", null, "or a sweep", sweep),
    h("button", { class: "primary", type: "submit" }, "Compare"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    if (ids.value.trim()) next.set("ids", ids.value.trim());
    if (sweep.value.trim()) next.set("sweep", sweep.value.trim());
    go("#/compare", next);
  });
  return form;
}

function compareTable(data) {
  const head = h("tr", null, h("th", null, "id"), h("th", null, "name"),
    h("th", null, "status"),
    data.param_keys.map((key) => h("th", { class: "param", title: "parameter" }, key)),
    data.metric_keys.map((key) => h("th", { class: "metric", title: "final metric" }, key)));
  const body = data.experiments.map((row) => h("tr", { "data-id": row.id },
    h("td", { class: "mono" }, experimentLink(row.id)), h("td", null, row.name || ""),
    h("td", null, badge(row.status)),
    data.param_keys.map((key) => h("td", { class: "num" },
      formatValue((data.params[row.id] || {})[key]))),
    data.metric_keys.map((key) => h("td", { class: "num metric" },
      formatValue((data.metrics[row.id] || {})[key])))));
  return h("div", { class: "table-wrap" },
    h("table", { id: "comparison" }, h("thead", null, head), h("tbody", null, body)));
}

async function comparePage(query, alive) {
  const results = h("div", { id: "results" });
  show(h("h1", null, "Compare"), compareForm(query), results);
  if (!query.get("ids") && !query.get("sweep")) {
    results.append(muted(
      "Name experiments above, or tick them in the list and press Compare chosen."));
    return;
  }
  let data;
  try {
    data = await api(`/api/compare?${query}`);
  } catch (error) {
    if (alive()) results.append(failure(error));
    return;
  }
  if (!alive()) return;
  const labels = Object.fromEntries(data.experiments.map((row) =>
    [row.id, row.name ? `${row.name} (${row.id})` : row.id]));
  const grid = h("div", { class: "grid", id: "charts" });
  const count = data.experiments.length;
  const differing = count > 1 ? "parameters that differ" : "all parameters";
  results.append(muted(`${count} experiment${count === 1 ? "" : "s"}: ${differing} `
    + "and final metrics."), compareTable(data), h("h2", null, "Metrics"), grid);
  if (data.curves_truncated) {
    grid.before(muted(`Curves are drawn for the first ${data.max_curves} only.`));
  }
  for (const name of data.metric_keys) {
    const { xs, series } = overlay(data.histories, labels, name);
    if (series.length) chart(grid, name, xs, series);
  }
}

/* ---------- routing ---------- */

function route() {
  clearPage();
  const alive = viewAlive();
  const hash = location.hash.replace(/^#/, "") || "/";
  const path = hash.split("?")[0];
  document.title = "yanex";
  if (path.startsWith("/experiment/")) {
    experimentPage(decodeURIComponent(path.slice("/experiment/".length)), alive);
  } else if (path === "/compare") {
    comparePage(hashQuery(), alive);
  } else {
    listPage(hashQuery(), alive);
  }
}

let resizing = null;
window.addEventListener("resize", () => {
  clearTimeout(resizing);
  resizing = setTimeout(resizeCharts, 150);
});
window.addEventListener("hashchange", route);
route();
