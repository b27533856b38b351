// Gantry's dashboard: the runs, and one run as it happens, drawn from the same event log the
// CLI reads, through the HTTP API (docs/server.md). The token lives in this tab's session
// storage and travels in the Authorization header only; every action is checked by the
// server, and a button is shown only when the server says the action would be accepted.
// No build step: plain modules, uPlot for the charts. Text from the server goes into the
// page as text, never as HTML.

const TOKEN_KEY = "gantry-token";
const main = document.getElementById("main");
let leaving = () => undefined;

/** An element: h("td", { class: "x" }, "text", child…). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat())
    if (c !== undefined && c !== null) el.append(c instanceof Node ? c : String(c));
  return el;
}

/** Replaces `el`'s children, leaving out the absent ones (null, undefined). */
function fill(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

class Unauthenticated extends Error {}

/** A request to the API; 401 means the token is gone or bad: back to the sign-in form. */
async function api(path, options = {}) {
  const r = await fetch(path, {
    ...options,
    headers: {
      authorization: `Bearer ${token()}`,
      ...(options.body ? { "content-type": "application/json" } : {}),
    },
  });
  const body = await r.json().catch(() => ({}));
  if (r.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    throw new Unauthenticated(body.error ?? "sign in again");
  }
  if (!r.ok) throw new Error(body.error ?? `${r.status}`);
  return body;
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

function duration(ms) {
  if (ms === undefined || ms === null || Number.isNaN(ms)) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function status(text) {
  return h("span", { class: `status ${text}` }, text);
}

// ——— sign in ———

function viewLogin(error) {
  document.getElementById("who").textContent = "";
  document.getElementById("signout").hidden = true;
  const input = h("input", { type: "password", id: "token", autocomplete: "off", placeholder: "gantry_…" });
  const form = h(
    "form",
    { class: "login panel", id: "login" },
    h("h2", {}, "Sign in"),
    h("p", { class: "muted" }, "With your Gantry token (gantry users token YOUR-NAME)."),
    input,
    h("p", { class: "error" }, error ?? ""),
    h("button", { class: "primary", type: "submit" }, "Sign in"),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, input.value.trim());
    try {
      await api("/api/whoami");
      render();
    } catch (err) {
      viewLogin(err.message);
    }
  });
  fill(main, form);
}

// ——— runs ———

async function viewRuns() {
  const table = h("table", { id: "runs" });
  fill(main, h("h1", {}, "Runs"), table);
  const draw = async () => {
    const runs = await api("/api/runs");
    fill(
      table,
      h(
        "tr",
        {},
        ["service", "environment", "version", "outcome", "who", "when", "duration"].map((c) =>
          h("th", {}, c),
        ),
      ),
      ...runs.map((r) =>
        h(
          "tr",
          { "data-run": r.id },
          h("td", {}, h("a", { href: `#/runs/${encodeURIComponent(r.id)}` }, r.service)),
          h("td", {}, r.environment),
          h("td", {}, r.version),
          h("td", {}, status(r.outcome ?? r.status)),
          h("td", {}, r.operator),
          h("td", {}, when(r.createdAt)),
          h(
            "td",
            {},
            duration((r.finishedAt ? Date.parse(r.finishedAt) : Date.now()) - Date.parse(r.createdAt)),
          ),
        ),
      ),
    );
  };
  await draw();
  const timer = setInterval(() => draw().catch(() => undefined), 5000);
  leaving = () => clearInterval(timer);
}

// ——— one run ———

/** A run's page: its steps, monitoring, what it waits for, its charts; kept live by its event stream. */
async function viewRun(id) {
  const run = {
    id,
    events: [],
    view: undefined,
    permissions: undefined,
    monitor: undefined,
    charts: new Map(),
  };
  const header = h("div", { id: "run-header" });
  const left = h("div", {});
  const right = h("div", {});
  fill(main, header, h("div", { class: "grid" }, left, right));
  const panels = {
    waiting: h("section", { class: "panel", id: "waiting" }),
    monitor: h("section", { class: "panel", id: "monitor" }),
    actions: h("section", { class: "panel actions", id: "actions" }),
    steps: h("section", { class: "panel", id: "steps" }),
    audit: h("section", { class: "panel", id: "audit" }),
    charts: h("section", { id: "charts" }),
  };
  left.append(panels.waiting, panels.actions, panels.steps, panels.audit);
  right.append(panels.monitor, panels.charts);

  let refreshing;
  /** The run's view and this person's permissions, again: at once, or shortly after a burst of events. */
  const load = async () => {
    try {
      const [view, permissions] = await Promise.all([
        api(`/api/runs/${encodeURIComponent(id)}`),
        api(`/api/runs/${encodeURIComponent(id)}/permissions`),
      ]);
      run.view = view;
      run.permissions = permissions;
      drawRun(run, panels, header, refresh);
    } catch (e) {
      if (e instanceof Unauthenticated) render();
    }
  };
  const refresh = () => {
    clearTimeout(refreshing);
    refreshing = setTimeout(load, 150);
  };
  // Charts are drawn once per frame, however many events arrived in it.
  let charting = false;
  const onEvents = (batch) => {
    for (const e of batch) {
      run.events.push(e);
      if (e.kind === "monitor.started") run.monitor = e.data;
    }
    if (!charting) {
      charting = true;
      requestAnimationFrame(() => {
        charting = false;
        drawCharts(run, panels.charts);
      });
    }
    refresh();
    // The chain's verification, again once the run has ended.
    if (batch.some((e) => e.kind === "run.finished")) audit();
  };
  const audit = () =>
    api(`/api/runs/${encodeURIComponent(id)}/audit`)
      .then((a) => drawAudit(a, panels.audit))
      .catch(() => undefined);
  // The run's steps first; then its events (the charts), then the audit, which walks the whole chain.
  let stop = () => undefined;
  let gone = false;
  load().then(() => {
    if (gone) return;
    stop = follow(id, onEvents);
    audit();
  });
  const tick = setInterval(() => drawMonitor(run, panels.monitor), 1000);
  leaving = () => {
    gone = true;
    stop();
    clearInterval(tick);
    clearTimeout(refreshing);
  };
}

/** Follows the run's SSE stream (fetch, so the token goes in a header), reconnecting after the last seq seen. */
function follow(id, onBatch) {
  let stopped = false;
  let last = 0;
  let controller;
  const connect = async () => {
    while (!stopped) {
      controller = new AbortController();
      try {
        const r = await fetch(`/api/runs/${encodeURIComponent(id)}/stream`, {
          headers: { authorization: `Bearer ${token()}`, "last-event-id": String(last) },
          signal: controller.signal,
        });
        if (r.status === 401) return render();
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          const blocks = buffer.split("\n\n");
          buffer = blocks.pop();
          const batch = [];
          for (const block of blocks) {
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (!data) continue;
            const e = JSON.parse(data);
            if (e.seq <= last) continue;
            last = e.seq;
            batch.push(e);
          }
          if (batch.length) onBatch(batch);
        }
      } catch {
        // Dropped, or stopped: look again after a moment.
      }
      if (!stopped) await new Promise((r) => setTimeout(r, 1000));
    }
  };
  connect();
  return () => {
    stopped = true;
    controller?.abort();
  };
}

function drawRun(run, panels, header, refresh) {
  const v = run.view;
  fill(
    header,
    h("h1", {}, `${v.service} ${v.version} → ${v.environment} `, status(v.outcome ?? v.status)),
    h(
      "p",
      { class: "muted" },
      `${v.id} · started by ${v.operator}${v.authenticated ? "" : " (not authenticated)"} · ${when(v.createdAt)}`,
    ),
    v.reason ? h("p", { id: "reason" }, v.reason) : null,
  );
  drawWaiting(v, panels.waiting);
  drawActions(run, panels.actions, refresh);
  drawSteps(v, panels.steps);
  drawMonitor(run, panels.monitor);
}

function drawWaiting(v, panel) {
  const w = v.waiting;
  if (!w) {
    fill(panel, h("h2", {}, "Waiting for"), h("p", { class: "muted" }, "nothing"));
    return;
  }
  const who = w.approvers.length
    ? w.approvers
        .map((a) => `${a.count} of ${a.role} (${(v.roles[a.role] ?? []).join(", ") || "no members"})`)
        .join(" + ")
    : "anyone who may act on the run";
  fill(
    panel,
    h("h2", {}, "Waiting for"),
    h("p", { id: "waiting-what" }, w.what),
    h("p", { class: "muted" }, `${w.approvals.length}/${w.needed} · who may answer: ${who}`),
    w.approvals.length ? h("p", {}, `approved by ${w.approvals.join(", ")}`) : null,
    w.items
      ? h(
          "ol",
          {},
          w.items.map((text, i) => {
            const by = w.marked.find((m) => m.item === i + 1)?.by;
            return h("li", {}, text, by ? h("span", { class: "muted" }, ` — signed off by ${by}`) : null);
          }),
        )
      : null,
  );
}

/** The buttons the server says this identity may use now; each asks for confirmation (and a reason). */
function drawActions(run, panel, refresh) {
  const p = run.permissions;
  const path = (verb) => `/api/runs/${encodeURIComponent(run.id)}/${verb}`;
  const buttons = [];
  const add = (allowed, label, cls, title, needsReason, send) => {
    if (!allowed) return;
    buttons.push(
      h(
        "button",
        {
          class: cls,
          "data-action": label.toLowerCase().replaceAll(" ", "-"),
          onclick: () => confirmThen(title, needsReason, send, refresh),
        },
        label,
      ),
    );
  };
  const w = run.view.waiting;
  add(p.approve.allowed, "Approve", "primary", `Approve ${w?.what}?`, false, (reason) =>
    api(path("approve"), { method: "POST", body: JSON.stringify(reason ? { comment: reason } : {}) }),
  );
  add(p.reject.allowed, "Reject", "danger", `Reject ${w?.what}?`, true, (reason) =>
    api(path("reject"), { method: "POST", body: JSON.stringify({ reason }) }),
  );
  add(p.ack.allowed, "Acknowledge", "primary", `Acknowledge ${w?.what}?`, false, () =>
    api(path("ack"), { method: "POST", body: "{}" }),
  );
  add(p.override.allowed, "Override", "danger", `Override: ${w?.what}?`, true, (reason) =>
    api(path("override"), { method: "POST", body: JSON.stringify({ reason }) }),
  );
  if (p.item.allowed && w?.items) {
    const name = w.step.replace(/^checklist:/, "");
    w.items.forEach((text, i) => {
      if (w.marked.some((m) => m.item === i + 1)) return;
      add(true, `Sign off ${i + 1}`, "", `Sign off item ${i + 1}: ${text}?`, false, (reason) =>
        api(`${path("checklists")}/${encodeURIComponent(name)}/items/${i + 1}`, {
          method: "POST",
          body: JSON.stringify(reason ? { comment: reason } : {}),
        }),
      );
    });
  }
  add(p.rollback.allowed, "Roll back", "danger", `Roll back ${run.view.version}?`, true, (reason) =>
    api(path("rollback"), { method: "POST", body: JSON.stringify({ reason }) }),
  );
  add(p.abort.allowed, "Abort", "danger", `Abort ${run.id}?`, true, (reason) =>
    api(path("abort"), { method: "POST", body: JSON.stringify({ reason }) }),
  );
  fill(
    panel,
    h("h2", {}, "Actions"),
    ...(buttons.length
      ? buttons
      : [h("p", { class: "muted" }, run.view.outcome ? "the run has finished" : "none for you now")]),
  );
}

/** A confirmation dialog, with a reason when the action needs one; the server's refusal is shown in it. */
function confirmThen(title, needsReason, send, refresh) {
  const dialog = document.getElementById("confirm");
  const reason = document.getElementById("confirm-reason");
  const error = document.getElementById("confirm-error");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").textContent = needsReason
    ? "Say why: it is recorded with the action."
    : "A comment is optional; it is recorded with the action.";
  reason.value = "";
  reason.required = needsReason;
  error.textContent = "";
  const ok = document.getElementById("confirm-ok");
  const onClick = async (e) => {
    e.preventDefault();
    if (needsReason && !reason.value.trim()) {
      error.textContent = "A reason is needed.";
      return;
    }
    try {
      await send(reason.value.trim());
      ok.removeEventListener("click", onClick);
      dialog.close();
      refresh();
    } catch (err) {
      error.textContent = err.message;
    }
  };
  ok.addEventListener("click", onClick);
  dialog.addEventListener("close", () => ok.removeEventListener("click", onClick), { once: true });
  dialog.showModal();
}

function drawSteps(v, panel) {
  const list = h("div", { class: "steps" });
  let phase;
  for (const s of v.steps) {
    if (s.phase !== phase) {
      phase = s.phase;
      list.append(h("div", { class: "phase" }, phase));
    }
    const took =
      s.startedAt && s.finishedAt ? ` (${duration(Date.parse(s.finishedAt) - Date.parse(s.startedAt))})` : "";
    list.append(
      h(
        "li",
        { "data-step": s.id },
        status(s.status),
        ` ${s.title}${took}`,
        s.message ? h("div", { class: "muted" }, s.message) : null,
      ),
    );
  }
  fill(panel, h("h2", {}, "Steps"), list);
}

/** The monitoring window: the next checkpoint with its countdown, and each rule's state from its last verdict. */
function drawMonitor(run, panel) {
  const v = run.view;
  if (!v?.monitor) {
    fill(panel, h("h2", {}, "Monitoring"), h("p", { class: "muted" }, "not started"));
    return;
  }
  const next = v.monitor.nextCheckpoint;
  const left = next ? Date.parse(next.at) - Date.now() : undefined;
  const rules = new Map();
  const latest = new Map();
  for (const e of run.events) {
    if (e.kind === "verdict") rules.set(e.data.rule, e.data);
    if (e.kind === "measurement") latest.set(e.data.signal, e.data.value ?? e.data.phase);
  }
  const rows = [...rules.values()].map((d) =>
    h(
      "tr",
      { "data-rule": d.rule },
      h("td", {}, d.rule),
      h("td", {}, status(d.state)),
      h("td", {}, ruleDetail(d)),
    ),
  );
  fill(
    panel,
    h("h2", {}, "Monitoring"),
    h(
      "p",
      { id: "checkpoint" },
      v.outcome || v.rollback
        ? `ended${v.rollback ? `: rolled back — ${v.rollback.reason}` : ""}`
        : next
          ? `next checkpoint ${next.name} in ${duration(Math.max(0, left))}`
          : `until ${when(v.monitor.endsAt)}`,
    ),
    latest.size
      ? h(
          "p",
          { id: "latest", class: "muted" },
          `latest: ${[...latest].map(([n, value]) => `${n} ${typeof value === "number" ? Number(value.toPrecision(3)) : value}`).join(", ")}`,
        )
      : null,
    rows.length
      ? h(
          "table",
          { id: "rules" },
          h("tr", {}, h("th", {}, "rule"), h("th", {}, "state"), h("th", {}, "")),
          rows,
        )
      : h("p", { class: "muted" }, "every rule ok"),
  );
}

function ruleDetail(d) {
  if (d.state === "pending")
    return `in breach ${duration(d.heldMs)} of ${duration(d.forMs)}: ${d.explanation ?? ""}`;
  if (d.state === "fired") return `${d.reason ?? ""} → ${d.action ?? ""}${d.watch ? " (watch only)" : ""}`;
  if (d.state === "missing") return d.reason ?? "no data";
  return "";
}

function drawAudit(report, panel) {
  const log = report.logs?.[0];
  fill(
    panel,
    h("h2", {}, "Audit trail"),
    h(
      "p",
      { id: "audit-status" },
      report.ok ? status("ok") : status("failed"),
      report.ok
        ? ` ${log?.records ?? 0} records, hash chain intact`
        : ` ${log?.problem?.message ?? "the chain is broken"}`,
    ),
  );
}

// ——— charts ———

/** One chart per signal: its values, each rule's threshold, the deploy, the checkpoints, rollback and the rules' windows. */
function drawCharts(run, panel) {
  if (!window.uPlot) return;
  const bySignal = new Map();
  for (const e of run.events) {
    if (e.kind !== "measurement") continue;
    const value = typeof e.data.value === "number" ? e.data.value : null;
    if (!bySignal.has(e.data.signal)) bySignal.set(e.data.signal, []);
    bySignal.get(e.data.signal).push([Date.parse(e.data.at) / 1000, value]);
  }
  const marks = [];
  if (run.monitor) marks.push({ at: Date.parse(run.monitor.t) / 1000, label: "deploy", color: "#1f5fa8" });
  for (const c of run.monitor?.checkpoints ?? [])
    marks.push({ at: Date.parse(c.at) / 1000, label: c.name, color: "#9aa5b1" });
  for (const e of run.events) {
    if (e.kind === "rollback.started")
      marks.push({ at: Date.parse(e.at) / 1000, label: "rollback", color: "#b3261e" });
  }
  for (const [signal, points] of bySignal) {
    // A signal of words (ready, not_ready) has no line to draw: the rules table says its state.
    if (points.every((p) => p[1] === null)) continue;
    const rules = (run.monitor?.rules ?? []).filter(
      (r) => r.subject === signal && typeof r.threshold === "number",
    );
    const windows = [];
    for (const e of run.events) {
      if (e.kind !== "verdict" || e.data.state !== "fired" || e.data.subject !== signal) continue;
      windows.push([(e.data.firedAt - (e.data.heldMs ?? 0)) / 1000, e.data.firedAt / 1000]);
    }
    const xs = points.map((p) => p[0]);
    const data = [xs, points.map((p) => p[1]), ...rules.map((r) => xs.map(() => r.threshold))];
    const existing = run.charts.get(signal);
    if (existing) {
      existing.marks = marks;
      existing.windows = windows;
      existing.plot.setData(data);
      continue;
    }
    const holder = h("div", { class: "chart panel", "data-signal": signal }, h("h2", {}, signal));
    panel.append(holder);
    const chart = { marks, windows, plot: undefined };
    const draw = (u) => {
      const ctx = u.ctx;
      ctx.save();
      for (const [from, to] of chart.windows) {
        const x0 = u.valToPos(from, "x", true);
        const x1 = u.valToPos(to, "x", true);
        ctx.fillStyle = "rgba(179, 38, 30, 0.12)";
        ctx.fillRect(x0, u.bbox.top, Math.max(1, x1 - x0), u.bbox.height);
      }
      for (const m of chart.marks) {
        const x = u.valToPos(m.at, "x", true);
        if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
        ctx.strokeStyle = m.color;
        ctx.setLineDash([4, 4]);
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
        ctx.fillStyle = m.color;
        ctx.fillText(m.label, x + 3, u.bbox.top + 12);
      }
      ctx.restore();
    };
    chart.plot = new window.uPlot(
      {
        width: Math.min(760, panel.clientWidth || 760),
        height: 220,
        series: [
          {},
          { label: signal, stroke: "#1f5fa8", width: 2, spanGaps: false },
          ...rules.map((r) => ({
            label: `${r.name}: ${r.op} ${r.threshold} for ${r.for} (${r.severity})`,
            stroke: "#b3261e",
            dash: [6, 4],
            width: 1,
            points: { show: false },
          })),
        ],
        hooks: { draw: [draw] },
        // Wide enough to show the deploy, the checkpoints and a rollback beyond the samples.
        scales: {
          x: {
            time: true,
            range: (_u, min, max) => {
              const at = chart.marks.map((m) => m.at);
              return [Math.min(min, ...at) - 1, Math.max(max, ...at) + 1];
            },
          },
        },
      },
      data,
      holder,
    );
    run.charts.set(signal, chart);
  }
}

// ——— routing ———

async function render() {
  leaving();
  leaving = () => undefined;
  if (!token()) return viewLogin();
  try {
    const me = await api("/api/whoami");
    document.getElementById("who").textContent =
      `${me.name}${me.roles.length ? ` (${me.roles.join(", ")})` : ""}`;
    document.getElementById("signout").hidden = false;
    const m = /^#\/runs\/(.+)$/.exec(location.hash);
    if (m) await viewRun(decodeURIComponent(m[1]));
    else await viewRuns();
  } catch (e) {
    if (e instanceof Unauthenticated) viewLogin(e.message);
    else fill(main, h("p", { class: "error" }, e.message));
  }
}

document.getElementById("signout").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  render();
});
window.addEventListener("hashchange", render);
render();
