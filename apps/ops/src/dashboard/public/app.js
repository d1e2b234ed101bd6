// The ops dashboard page: polls /api/state and redraws each panel. No framework; charts are
// inline SVG drawn from the history the server keeps. Every panel shows whether its numbers are
// live, partly live or unavailable (with the last values greyed and their read time).

const POLL_MS = 1000;
const COLORS = { eu: "#2563eb", us: "#dc2626", "ap-id": "#16a34a", "ap-sg": "#ea580c", "ap-au": "#7c3aed" };
const color = (r) => COLORS[r] ?? "#374151";
const esc = (v) =>
  String(v ?? "").replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c],
  );
const time = (iso) => (iso ? new Date(iso).toLocaleTimeString([], { hour12: false }) : "—");
const num = (v, digits = 0) => (v === null || v === undefined ? "—" : Number(v).toFixed(digits));
const ago = (iso, now) =>
  iso ? `${Math.max(0, Math.round((now - Date.parse(iso)) / 1000))} s ago` : "never";
// UUIDv7s share their leading (time) digits: the tail tells tenants apart.
const short = (id) => esc(`…${String(id).slice(-8)}`);

/** A line chart of several series (nulls break the line), with its max on the y axis. */
function lineChart(series, { width = 420, height = 90, unit = "", title = "" } = {}) {
  const n = Math.max(1, ...series.map((s) => s.values.length));
  const all = series.flatMap((s) => s.values).filter((v) => v !== null && v !== undefined);
  const max = Math.max(1e-9, ...all);
  const x = (i) => 30 + (i * (width - 34)) / Math.max(1, n - 1);
  const y = (v) => 6 + (height - 18) * (1 - v / max);
  const lines = series
    .map((s) => {
      const parts = [];
      let cur = [];
      s.values.forEach((v, i) => {
        if (v === null || v === undefined) {
          if (cur.length) parts.push(cur);
          cur = [];
        } else cur.push(`${x(i).toFixed(1)},${y(v).toFixed(1)}`);
      });
      if (cur.length) parts.push(cur);
      return parts
        .map((p) =>
          p.length === 1
            ? `<circle cx="${p[0].split(",")[0]}" cy="${p[0].split(",")[1]}" r="2" fill="${s.color}"/>`
            : `<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${p.join(" ")}"/>`,
        )
        .join("");
    })
    .join("");
  const legend = series
    .map((s) => `<span><i style="background:${s.color}"></i>${esc(s.name)}</span>`)
    .join("");
  return `<div><div class="muted">${esc(title)}</div><svg width="${width}" height="${height}" role="img">
    <line x1="30" y1="${height - 12}" x2="${width}" y2="${height - 12}" stroke="#d1d5db"/>
    <text x="0" y="12" font-size="10" fill="#6b7280">${esc(all.length ? fmt(max) : "0")}${esc(unit)}</text>
    <text x="0" y="${height - 12}" font-size="10" fill="#6b7280">0</text>
    <text x="${width - 2}" y="${height - 1}" font-size="10" fill="#6b7280" text-anchor="end">now</text>
    <text x="30" y="${height - 1}" font-size="10" fill="#6b7280">−${Math.round((n * POLL_MS) / 1000)} s</text>
    ${lines}</svg><div class="legend">${legend}</div></div>`;
}
const fmt = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/** Horizontal bars, one per item. */
function barChart(items, { width = 380, unit = "" } = {}) {
  if (!items.length) return `<div class="muted">none recorded</div>`;
  const max = Math.max(1e-9, ...items.map((i) => i.value ?? 0));
  const h = 16;
  const bars = items
    .map((it, k) => {
      const w = ((it.value ?? 0) / max) * (width - 170);
      const y = k * (h + 3);
      return `<text x="0" y="${y + 12}" font-size="11">${esc(it.label)}</text>
        <rect x="120" y="${y + 2}" width="${Math.max(it.value ? 2 : 0, w)}" height="${h - 4}" fill="${it.color ?? "#6b7280"}" opacity="${it.stale ? 0.35 : 1}"/>
        <text x="${124 + w}" y="${y + 12}" font-size="11">${it.value === null ? "—" : esc(fmt0(it.value))}${esc(unit)}</text>`;
    })
    .join("");
  return `<svg width="${width}" height="${items.length * (h + 3)}" role="img">${bars}</svg>`;
}
const fmt0 = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(2));

/** The panel's frame: status badge, problems and, when unavailable, when its values were read. */
function frame(name, p, html) {
  const el = document.querySelector(`[data-panel="${name}"]`);
  el.dataset.status = p.status;
  const h2 = el.querySelector("h2");
  const label = { ok: "live", partial: "partial", unavailable: "unavailable" }[p.status];
  if (h2.dataset.title === undefined) h2.dataset.title = h2.textContent;
  h2.innerHTML = `${esc(h2.dataset.title)} <span class="badge ${p.status}" data-role="status">${label}</span>`;
  const problems = p.problems.length
    ? `<div class="problems" data-role="problems">${p.status === "unavailable" ? `<b>Data unavailable</b>${p.asOf ? ` — greyed values were read at ${time(p.asOf)}` : ""}<br>` : ""}${p.problems.map(esc).join("<br>")}</div>`
    : "";
  el.querySelector(".body").innerHTML = problems + html;
}

const history = (s, key) => s.history.map((h) => h[key]);
const perRegion = (s, key) =>
  s.regions.map((r) => ({ name: r, color: color(r), values: s.history.map((h) => h[key][r] ?? null) }));

function regions(s, now) {
  const p = s.panels.regions;
  const cards = p.data.rows
    .map(
      (
        r,
      ) => `<div class="region${r.stale ? " stale" : ""}" data-region="${esc(r.region)}" data-health="${r.health}">
      <div class="name"><span style="color:${color(r.region)}">${esc(r.region)}</span><span class="badge ${r.health}" data-role="health">${r.health.toUpperCase()}</span></div>
      <div>mode <b data-field="mode">${esc(r.mode ?? "—")}</b></div>
      <div>lease ${r.leaseRemainingSeconds === null ? "—" : r.leaseRemainingSeconds > 0 ? `${num(r.leaseRemainingSeconds)} s left` : `<b class="reason">expired ${num(-r.leaseRemainingSeconds)} s ago</b>`}</div>
      <div class="muted">heartbeat ${ago(r.lastHeartbeatAt, now)}</div>
      ${r.reasons.map((x) => `<div class="reason">${esc(x)}</div>`).join("")}
    </div>`,
    )
    .join("");
  const strip = s.regions
    .map((r) => {
      const vals = s.history.map((h) => h.health[r]);
      const w = 6;
      const rects = vals
        .map(
          (v, i) =>
            `<rect x="${i * w}" y="0" width="${w - 1}" height="10" fill="${v === 1 ? "#1a7f37" : v === 0.5 ? "#b35900" : v === 0 ? "#c62828" : "#d1d5db"}"/>`,
        )
        .join("");
      return `<div><span style="display:inline-block;width:48px">${esc(r)}</span><svg width="${vals.length * w}" height="10">${rects}</svg></div>`;
    })
    .join("");
  frame(
    "regions",
    p,
    `<div class="regions">${cards}</div><div class="charts"><div><div class="muted">health over the last ${Math.round((s.history.length * s.pollMs) / 1000)} s</div>${strip}</div></div>`,
  );
}

function routing(s) {
  const p = s.panels.routing;
  const t = p.data.tenants;
  const regionsY = Object.fromEntries(s.regions.map((r, i) => [r, 14 + i * 24]));
  const shown = t.slice(0, 30);
  const rowH = Math.max(14, Math.min(22, (s.regions.length * 24) / Math.max(1, shown.length)));
  const height = Math.max(s.regions.length * 24, shown.length * rowH) + 8;
  const links = shown
    .map((x, i) => {
      const y1 = 10 + i * rowH;
      const y2 = regionsY[x.homeRegion] ?? 10;
      return `<text x="0" y="${y1 + 4}" font-size="11">${esc(x.name.length > 27 ? `${x.name.slice(0, 26)}…` : x.name)}</text>
        <path d="M180 ${y1} C 260 ${y1}, 300 ${y2}, 380 ${y2}" stroke="${color(x.homeRegion)}" fill="none" opacity="${x.stale ? 0.3 : 0.8}"/>
        <text x="${280}" y="${(y1 + y2) / 2 - 2}" font-size="9" fill="#6b7280">e${esc(x.regionEpoch)}</text>`;
    })
    .join("");
  const nodes = s.regions
    .map(
      (r) =>
        `<rect x="382" y="${regionsY[r] - 9}" width="60" height="18" rx="4" fill="${color(r)}"/><text x="412" y="${regionsY[r] + 4}" font-size="11" fill="#fff" text-anchor="middle">${esc(r)}</text>`,
    )
    .join("");
  const rows = t
    .map(
      (x) => `<tr data-tenant="${esc(x.tenantId)}" class="${x.stale ? "stale" : ""}">
      <td>${esc(x.name)} <span class="muted">${short(x.tenantId)}</span></td><td>${esc(x.residencyPolicy)}</td>
      <td data-field="home" style="color:${color(x.homeRegion)}"><b>${esc(x.homeRegion)}</b></td>
      <td data-field="epoch" class="num">${esc(x.regionEpoch)}</td><td>${esc(x.fenceStatus)}</td><td>${esc(x.status)}</td>
      <td>${esc(x.drTarget ?? "none")}</td>
      <td>${x.snapshotHome === null ? '<span class="muted">not in snapshot</span>' : x.snapshotHome !== x.homeRegion || x.snapshotEpoch !== x.regionEpoch ? `<b class="reason">edges: ${esc(x.snapshotHome)}@${esc(x.snapshotEpoch)}</b>` : "same"}</td></tr>`,
    )
    .join("");
  const e = p.data.edge;
  const edge = e
    ? `<div class="${e.stale ? "stale" : ""}">edge: ${e.requests} requests, ${e.routingErrors} routing errors, ${e.cachedLookups} routed with a cached snapshot, stale reads ${e.staleReads}/${e.reads}${e.reads ? ` (${((100 * e.staleReads) / e.reads).toFixed(1)} %)` : ""}</div>`
    : "";
  frame(
    "routing",
    p,
    `<div class="muted">routing snapshot v${esc(p.data.snapshotVersion ?? "—")} generated ${time(p.data.snapshotGeneratedAt)} · ${t.length} tenants</div>${edge}
    <div class="charts"><svg width="450" height="${height}" role="img">${links}${nodes}</svg>
    <table><thead><tr><th>tenant</th><th>policy</th><th>home</th><th class="num">epoch</th><th>fence</th><th>status</th><th>DR target</th><th>edge snapshot</th></tr></thead><tbody>${rows}</tbody></table></div>`,
  );
}

function latency(s) {
  const p = s.panels.latency;
  const rows = p.data.rows
    .map(
      (r) => `<tr class="${r.stale ? "stale" : ""}" data-latency="${esc(r.region)}:${esc(r.operation)}">
      <td>${esc(r.kind)}</td><td>${esc(r.operation)}</td><td style="color:${color(r.region)}">${esc(r.region)}</td>
      <td class="num">${r.count}</td><td class="num" data-field="p50">${num(r.p50Ms, 1)}</td><td class="num" data-field="p95">${num(r.p95Ms, 1)}</td>
      <td class="num">${num(r.p99Ms, 1)}</td><td class="num">${r.recentCount}</td><td class="num">${num(r.recentP95Ms, 1)}</td></tr>`,
    )
    .join("");
  frame(
    "latency",
    p,
    `<div class="charts">${lineChart(perRegion(s, "writeP95Ms"), { width: 460, height: 120, unit: " ms", title: `write p95 per region, last ${p.data.windowSeconds} s window` })}
    <table style="width:auto"><thead><tr><th>kind</th><th>operation</th><th>region</th><th class="num">n</th><th class="num">p50 ms</th><th class="num">p95 ms</th><th class="num">p99 ms</th><th class="num">n (${p.data.windowSeconds} s)</th><th class="num">p95 ms (${p.data.windowSeconds} s)</th></tr></thead>
    <tbody>${rows || '<tr><td colspan="9" class="muted">no requests served yet</td></tr>'}</tbody></table></div>
    <div class="muted">Percentiles from the cells' histogram buckets (interpolated, as Prometheus's histogram_quantile), since each cell process started; the last two columns only over the recent window.</div>`,
  );
}

function lag(s) {
  const p = s.panels.lag;
  const rows = p.data.rows
    .map(
      (
        r,
      ) => `<tr class="${r.stale ? "stale" : ""}"><td style="color:${color(r.sourceRegion)}">${esc(r.sourceRegion)}</td>
      <td class="num">${num(r.projectionLagSeconds, 1)}</td><td class="num">${num(r.replicationLagSeconds, 1)}</td><td class="num">${num(r.standbyPendingEvents)}</td></tr>`,
    )
    .join("");
  frame(
    "lag",
    p,
    `<table><thead><tr><th>source</th><th class="num">→ read model (s)</th><th class="num">→ DR standbys (s)</th><th class="num">standby pending</th></tr></thead><tbody>${rows}</tbody></table>
    <div class="charts">${lineChart(perRegion(s, "projectionLagSeconds"), { width: 300, unit: " s", title: "projection lag" })}${lineChart(perRegion(s, "replicationLagSeconds"), { width: 300, unit: " s", title: "replication lag" })}</div>`,
  );
}

function watermarks(s, now) {
  const p = s.panels.watermarks;
  const label = { fresh: "FRESH", stale: "STALE", unknown: "UNKNOWN" };
  const rows = p.data.rows
    .map(
      (
        r,
      ) => `<tr class="${r.stale ? "stale" : ""}" data-watermark="${esc(r.region)}" data-freshness="${r.freshness}">
      <td style="color:${color(r.region)}">${esc(r.region)}</td>
      <td data-field="asOf" data-as-of="${esc(r.asOf ?? "")}">${r.asOf ? `${time(r.asOf)} <span class="muted">(${ago(r.asOf, now)})</span>` : '<span class="muted">nothing ingested yet</span>'}</td>
      <td class="num" data-field="lag">${num(r.lagSeconds, 1)}</td>
      <td><span class="badge wm-${r.freshness}" data-role="freshness">${label[r.freshness]}</span></td>
      <td class="num" data-field="late">${num(r.lateEvents)}</td></tr>`,
    )
    .join("");
  const g = p.data.globalAsOf;
  const summary = g
    ? `global figures are as of <b data-field="globalAsOf">${time(g)}</b>, the least fresh region${p.data.staleRegions.length ? ` · <b class="reason">not fresh: ${p.data.staleRegions.map(esc).join(", ")}</b>` : ""}`
    : `<b class="reason">no global figure: ${p.data.staleRegions.length ? `${p.data.staleRegions.map(esc).join(", ")} not fresh` : "freshness unknown"}</b>`;
  frame(
    "watermarks",
    p,
    `<div>${summary}</div><div class="muted">warehouse in ${esc(p.data.analyticsRegion ?? "—")}; lag as the warehouse measured it at the dashboard's read</div>
    <div class="charts"><table style="width:auto"><thead><tr><th>region</th><th>as of</th><th class="num">lag (s)</th><th>freshness</th><th class="num">late events</th></tr></thead><tbody>${rows}</tbody></table>
    ${lineChart(perRegion(s, "watermarkLagSeconds"), { width: 420, unit: " s", title: "watermark lag" })}</div>`,
  );
}

function backlog(s) {
  const p = s.panels.backlog;
  const bars = p.data.rows.map((r) => ({
    label: r.region,
    value: r.backlogEvents,
    color: color(r.region),
    stale: r.stale,
  }));
  const rows = p.data.rows
    .map(
      (
        r,
      ) => `<tr class="${r.stale ? "stale" : ""}"><td>${esc(r.region)}</td><td class="num">${num(r.backlogEvents)}</td>
      <td class="num">${num(r.oldestUnpublishedAgeSeconds, 1)}</td><td class="num">${num(r.publishedEvents)}</td><td>${r.natsConnected === null ? "—" : r.natsConnected ? "yes" : '<b class="reason">no</b>'}</td></tr>`,
    )
    .join("");
  frame(
    "backlog",
    p,
    `${barChart(bars, { unit: " events" })}<table><thead><tr><th>region</th><th class="num">backlog</th><th class="num">oldest (s)</th><th class="num">published</th><th>NATS</th></tr></thead><tbody>${rows}</tbody></table>
    <div class="charts">${lineChart(perRegion(s, "backlogEvents"), { width: 300, unit: "", title: "backlog over time" })}</div>`,
  );
}

function residency(s) {
  const p = s.panels.residency;
  const bars = p.data.rows.map((r) => ({
    label: `${r.policy} → ${r.targetRegion}`,
    value: r.attempts,
    color: r.where === "catalog" ? "#b91c1c" : color(r.where.slice(5)),
    stale: r.stale,
  }));
  frame(
    "residency",
    p,
    `<div><span class="big" data-field="total">${p.data.total}</span> refused attempts (placements, promotions, migrations, exports, support reads)</div>
    ${barChart(bars)}<div class="muted">${p.data.rows.map((r) => `${esc(r.where)}: ${esc(r.policy)} → ${esc(r.targetRegion)} ${r.attempts}`).join(" · ")}</div>
    <div class="charts">${lineChart([{ name: "total", color: "#b91c1c", values: history(s, "residencyAttempts") }], { width: 300, height: 60 })}</div>`,
  );
}

function conflicts(s) {
  const p = s.panels.conflicts;
  const rows = p.data.items
    .slice(-10)
    .reverse()
    .map(
      (c) =>
        `<tr><td>${esc(c.status)}</td><td>${esc(c.aggregateType)}</td><td>${esc(c.homeRegion)} ↔ ${esc(c.conflictingRegion)}</td><td>${esc(c.conflictType)}</td><td>${short(c.tenantId)}</td><td>${time(c.detectedAt)}</td></tr>`,
    )
    .join("");
  frame(
    "conflicts",
    p,
    `<div><span class="big" data-field="open">${p.data.open}</span> open · ${p.data.resolved} resolved</div>
    ${rows ? `<table><thead><tr><th>status</th><th>aggregate</th><th>regions</th><th>type</th><th>tenant</th><th>detected</th></tr></thead><tbody>${rows}</tbody></table>` : '<div class="muted">no conflicts detected</div>'}
    <div class="charts">${lineChart([{ name: "open", color: "#b35900", values: history(s, "openConflicts") }], { width: 300, height: 60 })}</div>`,
  );
}

function dr(s, now) {
  const p = s.panels.dr;
  const rows = p.data.rows
    .map(
      (
        r,
      ) => `<tr class="${r.stale ? "stale" : ""}" data-dr="${esc(r.tenantId)}"><td>${esc(r.name ?? short(r.tenantId))}</td><td>${esc(r.residencyPolicy ?? "")}</td>
      <td>${esc(r.homeRegion)}</td><td>${r.drRegion ? esc(r.drRegion) : '<span class="muted">none: the policy allows no other region</span>'}</td>
      <td>${r.drRegion ? `<span class="badge ${r.ready ? "" : "no"}">${r.ready ? "READY" : "NOT READY"}</span>` : '<span class="muted">n/a</span>'}</td>
      <td>${r.lastDrillAt ? `${time(r.lastDrillAt)} → ${esc(r.lastDrillTo)} (${ago(r.lastDrillAt, now)})` : '<span class="muted">never drilled</span>'}</td></tr>`,
    )
    .join("");
  frame(
    "dr",
    p,
    `<div>${p.data.ready} of ${p.data.rows.length} tenants ready to fail over · ${p.data.noTarget} have no DR region by policy</div>
    <table><thead><tr><th>tenant</th><th>policy</th><th>home</th><th>DR region</th><th>ready</th><th>last drill</th></tr></thead><tbody>${rows}</tbody></table>`,
  );
}

/** 42 s, 17 min, 5.3 h, 2.1 d */
const age = (seconds) =>
  seconds === null || seconds === undefined
    ? "—"
    : seconds < 120
      ? `${Math.round(seconds)} s`
      : seconds < 7200
        ? `${Math.round(seconds / 60)} min`
        : seconds < 172_800
          ? `${(seconds / 3600).toFixed(1)} h`
          : `${(seconds / 86_400).toFixed(1)} d`;

/** The time of day within the last 20 h; the date as well before that. */
const stamp = (iso, now) =>
  now - Date.parse(iso) < 20 * 3600_000 ? time(iso) : new Date(iso).toLocaleString([], { hour12: false });

function backups(s, now) {
  const p = s.panels.backups;
  const label = { fresh: "FRESH", stale: "STALE", none: "NO BACKUP YET", unknown: "UNKNOWN" };
  const rows = p.data.rows
    .map(
      (
        r,
      ) => `<tr class="${r.stale ? "stale" : ""}" data-backup="${esc(r.region)}:${esc(r.storeRegion ?? "none")}" data-freshness="${r.freshness}">
      <td style="color:${color(r.region)}">${esc(r.region)}</td><td>${r.storeRegion ? esc(r.storeRegion) : '<span class="muted">—</span>'}</td>
      <td data-field="completedAt" data-completed-at="${esc(r.lastCompletedAt ?? "")}">${r.lastCompletedAt ? stamp(r.lastCompletedAt, now) : '<span class="muted">no backup yet</span>'}</td>
      <td class="num" data-field="age" data-age-seconds="${r.ageSeconds === null ? "" : r.ageSeconds.toFixed(0)}">${age(r.ageSeconds)}</td>
      <td><span class="badge bk-${r.freshness}" data-role="freshness">${label[r.freshness]}</span></td></tr>`,
    )
    .join("");
  const aged = p.data.rows.filter((r) => r.ageSeconds !== null);
  // Minutes while every backup is recent (a simulation's), hours otherwise.
  const unit = Math.max(0, ...aged.map((r) => r.ageSeconds)) < 7200 ? ["min", 60] : ["h", 3600];
  const bars = aged.map((r) => ({
    label: `${r.region} → ${r.storeRegion}`,
    value: Math.round((r.ageSeconds / unit[1]) * 100) / 100,
    color: r.freshness === "fresh" ? color(r.region) : "#b35900",
    stale: r.stale,
  }));
  const notFresh = p.data.notFresh;
  frame(
    "backups",
    p,
    `<div>${notFresh.length ? `<b class="reason" data-field="notFresh">no fresh backup: ${notFresh.map(esc).join(", ")}</b>` : "every region has a fresh backup"}</div>
    <div class="muted">last completed backup per source region and store region (catalog's record); stale after ${age(p.data.staleAfterSeconds)}</div>
    <div class="charts"><table style="width:auto"><thead><tr><th>region</th><th>store</th><th>last completed</th><th class="num">age</th><th>freshness</th></tr></thead><tbody>${rows}</tbody></table>
    <div><div class="muted">age of the last backup (${unit[0]})</div>${barChart(bars, { width: 440, unit: ` ${unit[0]}` })}</div></div>`,
  );
}

function render(s) {
  const now = Date.parse(s.generatedAt);
  for (const f of [regions, routing, latency, lag, watermarks, backlog, residency, conflicts, dr, backups]) {
    try {
      f(s, now);
    } catch (e) {
      console.error(f.name, e);
    }
  }
  const faults = s.faults?.items ?? [];
  document.getElementById("faults").innerHTML = faults.length
    ? `Simulation faults active: ${faults.map((f) => `${esc(f.kind)} ${esc(f.target)}`).join(", ")}`
    : "";
  document.getElementById("sources").innerHTML = `Sources: ${s.sources
    .map(
      (x) =>
        `<span class="${x.ok ? "" : "down"}" title="${esc(x.error ?? "")}">${esc(x.name)}${x.ok ? "" : " ✗"}</span>`,
    )
    .join(" · ")}`;
}

let lastOk = 0;
async function poll() {
  const live = document.getElementById("live");
  try {
    const res = await fetch("/api/state", { cache: "no-store" });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const s = await res.json();
    render(s);
    lastOk = Date.now();
    live.dataset.live = "ok";
    live.textContent = `live · updated ${time(s.generatedAt)}`;
  } catch (e) {
    // The dashboard's own server is gone: say so on every panel rather than keep old numbers.
    live.dataset.live = "down";
    live.textContent = `dashboard server unreachable (${e.message})${lastOk ? ` · last update ${time(new Date(lastOk).toISOString())}` : ""}`;
    for (const el of document.querySelectorAll("[data-panel]")) el.dataset.status = "unavailable";
  } finally {
    setTimeout(poll, POLL_MS);
  }
}
poll();
