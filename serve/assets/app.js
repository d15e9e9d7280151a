// attnlab serve's pages, drawn from the JSON API (docs/SERVE.md) by the address:
//   /                            experiments with run counts by status
//   /experiments/NAME            its runs with live status, step, ETA, final val loss, message
//   /experiments/NAME/compare    the report's main table (?baseline=ARM)
//   /runs/ID                     train/loss and val/loss curves (uPlot), polled every 2 s
// Each page sets document.body.dataset.ready = "1" once its data is shown (the browser test
// waits for it); rows and cells carry data-* attributes and classes the test reads.
"use strict";

const kPollMs = 2000;
const $ = (selector) => document.querySelector(selector);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

async function getJson(url) {
  const response = await fetch(url, { cache: "no-store" });
  const body = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(body.error || `${url}: HTTP ${response.status}`);
  return body;
}

function showError(error) {
  $("#error").textContent = String(error.message || error);
  $("#error").hidden = false;
  document.body.dataset.error = "1";
}

// Runs `step` now and every kPollMs; the page is ready after its first success.
function poll(step, every = kPollMs) {
  const tick = async () => {
    try {
      await step();
      document.body.dataset.ready = "1";
    } catch (error) {
      showError(error);
    }
    if (every) setTimeout(tick, every);
  };
  tick();
}

const fmtLoss = (v) => (v === null || v === undefined ? "–" : v.toFixed(4));

function fmtDuration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

function table(id, header, rows) {
  const head = el("thead", {}, el("tr", {}, ...header.map((h) => el("th", {}, h))));
  return el("table", { id }, head, el("tbody", {}, ...rows));
}

const experimentLink = (name) =>
  el("a", { href: `/experiments/${encodeURIComponent(name)}` }, name);

function setMain(...nodes) {
  $("#main").replaceChildren(...nodes);
}

// --- experiments ------------------------------------------------------------------------------
const kStatuses = ["pending", "running", "finished", "failed", "preempted"];

function experimentRow(e) {
  const href = `/experiments/${encodeURIComponent(e.name)}`;
  return el("tr", { "data-experiment": e.name },
    el("td", { className: "name" }, el("a", { href }, e.name)),
    el("td", { className: "runs" }, String(e.runs)),
    ...kStatuses.map((s) => el("td", { className: `count status-${s}`, "data-status": s },
                               String(e.status[s]))),
    el("td", {}, el("a", { href: `${href}/compare` }, "compare")));
}

async function experimentsPage() {
  document.title = "attnlab: experiments";
  const experiments = await getJson("/api/experiments");
  setMain(el("h1", {}, "Experiments"),
          table("experiments", ["Experiment", "Runs", ...kStatuses, ""],
                experiments.map(experimentRow)));
}

// --- one experiment's runs --------------------------------------------------------------------
function stepText(r) {
  return r.total_steps === null ? String(r.step) : `${r.step} / ${r.total_steps}`;
}

// A running run's ETA, or how long its heartbeat has been silent when that looks stale.
const kStaleHeartbeatS = 300;
function etaText(r) {
  if (r.heartbeat_age_s !== null && r.heartbeat_age_s > kStaleHeartbeatS) {
    return `no heartbeat for ${fmtDuration(r.heartbeat_age_s)}`;
  }
  return fmtDuration(r.eta_s);
}

function runRow(r) {
  return el("tr", { "data-run": r.name, "data-run-id": String(r.id) },
    el("td", { className: "id" }, el("a", { href: `/runs/${r.id}` }, String(r.id))),
    el("td", { className: "name" }, el("a", { href: `/runs/${r.id}` }, r.name)),
    el("td", { className: "arm" }, r.arm),
    el("td", { className: "seed" }, String(r.seed)),
    el("td", { className: `status status-${r.status}` }, r.status),
    el("td", { className: "step" }, stepText(r)),
    el("td", { className: "eta" }, etaText(r)),
    el("td", { className: "loss" }, fmtLoss(r.final_val_loss)),
    el("td", { className: "message" }, r.message));
}

async function experimentPage(name) {
  document.title = `attnlab: ${name}`;
  $("#crumbs").textContent = `/ ${name}`;
  const data = await getJson(`/api/experiments/${encodeURIComponent(name)}/runs`);
  const compare = el("a", { href: `/experiments/${encodeURIComponent(name)}/compare` },
                     "compare arms");
  setMain(el("h1", {}, name), compare,
          table("runs", ["Id", "Run", "Arm", "Seed", "Status", "Step", "ETA", "Final val loss",
                         "Message"], data.runs.map(runRow)));
}

// --- one run's curves -------------------------------------------------------------------------
class Curves {
  constructor(runId) {
    this.runId = runId;
    this.byStep = new Map();  // step -> {"train/loss": v, "val/loss": v}
    this.lastStep = 0;
    this.plot = null;
  }

  add(curves) {
    for (const [metric, points] of Object.entries(curves)) {
      for (const [step, value] of points) {
        this.byStep.set(step, { ...this.byStep.get(step), [metric]: value });
        this.lastStep = Math.max(this.lastStep, step);
      }
    }
  }

  columns() {
    const steps = [...this.byStep.keys()].sort((a, b) => a - b);
    const column = (m) => steps.map((s) => this.byStep.get(s)[m] ?? null);
    return [steps, column("train/loss"), column("val/loss")];
  }

  draw(chart) {
    const data = this.columns();
    if (typeof uPlot === "undefined") {
      throw new Error("the chart library (uPlot) is missing: run scripts/setup.sh and rebuild");
    }
    if (!this.plot) {
      this.plot = new uPlot({
        width: Math.min(960, window.innerWidth - 60), height: 420,
        scales: { x: { time: false } },
        axes: [{ label: "step" }, { label: "loss" }],
        series: [{ label: "step" },
                 { label: "train/loss", stroke: "#1a5fb4", width: 1.5 },
                 { label: "val/loss", stroke: "#c01c28", width: 2, spanGaps: true,
                   points: { show: true, size: 6 } }],
      }, data, chart);
    } else {
      this.plot.setData(data);
    }
    chart.dataset.trainPoints = String(data[1].filter((v) => v !== null).length);
    chart.dataset.valPoints = String(data[2].filter((v) => v !== null).length);
    chart.dataset.lastStep = String(this.lastStep);
  }
}

function runFacts(run) {
  return el("p", { className: "facts" },
    el("span", {}, "status ", el("b", { id: "run-status", className: `status-${run.status}` },
                                 run.status)),
    el("span", {}, "step ", el("b", { id: "run-step" }, stepText(run))));
}

async function runPage(runId) {
  const curves = new Curves(runId);
  const chart = el("div", { id: "chart" });
  const facts = el("div", { id: "facts" });
  poll(async () => {
    const data = await getJson(`/api/runs/${runId}/metrics?since=${curves.lastStep}`);
    const run = data.run;
    if (!curves.plot) {
      document.title = `attnlab: ${run.name}`;
      $("#crumbs").replaceChildren("/ ", experimentLink(run.experiment), ` / ${run.name}`);
      setMain(el("h1", { id: "run-name" }, run.name), facts, chart);
    }
    facts.replaceChildren(runFacts(run));
    curves.add(data.curves);
    curves.draw(chart);
  });
}

// --- arms compared ----------------------------------------------------------------------------
// The main table's columns (reports::main_table), as cell classes.
const kCompareColumns = ["arm", "runs", "n", "mean", "delta", "p"];

function compareRow(cells) {
  return el("tr", { "data-arm": cells[0] },
    ...cells.map((text, i) => el("td", { className: kCompareColumns[i] || "" }, text)));
}

async function comparePage(name) {
  document.title = `attnlab: ${name}: arms`;
  $("#crumbs").replaceChildren("/ ", experimentLink(name), " / compare");
  const baseline = new URLSearchParams(location.search).get("baseline");
  const query = baseline ? `?baseline=${encodeURIComponent(baseline)}` : "";
  const data = await getJson(`/api/experiments/${encodeURIComponent(name)}/compare${query}`);
  const t = data.table;
  const rows = t.rows.map(compareRow);
  for (const [r, c] of t.best || []) rows[r].children[c].classList.add("best");
  setMain(el("h1", {}, `${name}: ${t.title}`),
          el("p", {}, "baseline ", el("b", { id: "baseline" }, data.baseline)),
          table("compare", t.header, rows),
          el("ul", { className: "notes" }, ...t.notes.map((n) => el("li", {}, n))));
}

// --- routing ----------------------------------------------------------------------------------
function route(path) {
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return poll(experimentsPage);
  if (parts[0] === "experiments" && parts.length === 2) return poll(() => experimentPage(parts[1]));
  if (parts[0] === "experiments" && parts[2] === "compare") {
    return poll(() => comparePage(parts[1]), 0);
  }
  if (parts[0] === "runs" && parts.length === 2) return runPage(Number(parts[1]));
  showError(`no page at ${path}`);
}

route(location.pathname);
