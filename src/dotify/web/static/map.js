// The map page, drawn as inline SVG from GET /api/map: a t-SNE scatter (zoom, pan, search,
// labels placed so that none overlaps another or a point) and the clustered similarity
// heatmap (colour scale, row and column names). Names go in with textContent only.
"use strict";
(() => {
  const NS = "http://www.w3.org/2000/svg";
  const PALETTE = ["#1ea952", "#3b8fd9", "#e8780c", "#d6457d", "#b59a00", "#8a63d2", "#12a38a",
    "#e03e3e", "#5c9fd6", "#c061cb", "#6f9a1a", "#d9734e", "#2aa198", "#a16207"];
  // viridis, dark to bright: readable on the light and the dark theme alike
  const RAMP = ["#440154", "#482878", "#3e4989", "#31688e", "#26828e", "#1f9e89", "#35b779",
    "#6ece58", "#b5de2b", "#fde725"];
  const PAD = 28, DOT = 6, LINE = 14, MAX_ZOOM = 12;
  const $ = (id) => document.getElementById(id);
  const tip = $("tip");
  const svg = (tag, attrs) => {
    const el = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
    return el;
  };
  let data, colour, plot = null, heatCells = [], found = -1, tipFor = null, lastPointer = "mouse";
  const view = { k: 1, x: 0, y: 0 };

  // ---- the tooltip ----
  function showTip(text, x, y, owner) {
    tip.textContent = text;
    tip.hidden = false;
    tip.style.left = `${Math.max(8, Math.min(x + 12, innerWidth - tip.offsetWidth - 8))}px`;
    tip.style.top = `${Math.min(y + 14, innerHeight - tip.offsetHeight - 8)}px`;
    tipFor = owner;
  }
  function hideTip() { tip.hidden = true; tipFor = null; }
  const tipAt = (el, text, owner) => {
    const r = el.getBoundingClientRect();
    showTip(text, r.left + r.width / 2, r.top + r.height / 2, owner);
  };

  function legend(regions) {
    $("legend").replaceChildren(...regions.map((r) => {
      const li = document.createElement("li");
      const dot = document.createElement("i");
      dot.style.background = colour[r];
      li.append(dot, document.createTextNode(r));
      return li;
    }));
  }

  // ---- the scatter: data xy in [0, 1] -> plot pixels, then the zoom ----
  const base = (i) => [PAD + data.xy[i][0] * (plot.W - 2 * PAD), PAD + (1 - data.xy[i][1]) * (plot.H - 2 * PAD)];
  const onScreen = (i) => { const [x, y] = base(i); return [x * view.k + view.x, y * view.k + view.y]; };

  function drawScatter() {
    const box = $("scatter");
    const W = Math.max(300, Math.round(box.clientWidth)), H = Math.round(W * (W < 600 ? 1.0 : 0.6));
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "group", tabindex: "0",
      "aria-label": "2-D map of countries: arrow keys move it, + and − zoom", "aria-describedby": "map-help" });
    const dots = svg("g"), labels = svg("g", { "aria-hidden": "true" });
    root.append(dots, labels);
    plot = { root, W, H, points: [] };
    data.countries.forEach((c, i) => {
      const link = svg("a", { href: `/country/${encodeURIComponent(c.code)}`, class: "country",
        "data-code": c.code, "aria-label": `${c.name}, ${c.region}` });
      const dot = svg("circle", { r: DOT, fill: colour[c.region], class: "pt" });
      link.append(dot);
      dots.append(link);
      const label = svg("text", { "data-code": c.code });
      label.textContent = c.name;
      labels.append(label);
      const p = { c, i, link, dot, label, width: 0 };
      plot.points.push(p);
      const text = `${c.name} · ${c.region}`;
      link.addEventListener("mouseenter", (e) => showTip(text, e.clientX, e.clientY, c.code));
      link.addEventListener("mouseleave", hideTip);
      link.addEventListener("focus", () => tipAt(dot, text, `focus ${c.code}`));
      link.addEventListener("blur", hideTip);
      link.addEventListener("click", (e) => {  // a first tap names the country, a second opens it
        const tapped = e.detail !== 0 && lastPointer === "touch";  // detail 0: Enter on a key
        if (tapped && tipFor !== c.code) { e.preventDefault(); tipAt(dot, text, c.code); }
      });
    });
    box.replaceChildren(root);
    for (const p of plot.points) p.width = p.label.getComputedTextLength() || p.c.name.length * 7;
    gestures(root);
    layout();
  }

  // Labels go where they overlap no other label and no point: right, left, above or below
  // the point, tried in that order; a label with no room stays hidden (its name is on hover
  // and focus), except the searched country's, which is placed first.
  function layout() {
    const { W, H } = plot;
    const spots = plot.points.map((p) => { const [x, y] = onScreen(p.i); return { p, x, y, in: x >= 0 && y >= 0 && x <= W && y <= H }; });
    for (const s of spots) { s.p.dot.setAttribute("cx", s.x.toFixed(1)); s.p.dot.setAttribute("cy", s.y.toFixed(1)); }
    const taken = [];
    const clear = (b, self) => b.x0 >= 0 && b.y0 >= 0 && b.x1 <= W && b.y1 <= H
      && !taken.some((t) => b.x0 < t.x1 && b.x1 > t.x0 && b.y0 < t.y1 && b.y1 > t.y0)
      && !spots.some((s) => s !== self && s.in && s.x + DOT > b.x0 && s.x - DOT < b.x1 && s.y + DOT > b.y0 && s.y - DOT < b.y1);
    const order = [...spots].sort((a, b) => (b.p.i === found) - (a.p.i === found));
    for (const s of order) {
      const { label, width: w } = s.p;
      label.classList.toggle("found", s.p.i === found);
      s.p.dot.classList.toggle("found", s.p.i === found);
      const candidates = [
        { x0: s.x + DOT + 3, y0: s.y - LINE / 2, anchor: "start" },
        { x0: s.x - DOT - 3 - w, y0: s.y - LINE / 2, anchor: "end" },
        { x0: s.x - w / 2, y0: s.y - DOT - 2 - LINE, anchor: "middle" },
        { x0: s.x - w / 2, y0: s.y + DOT + 2, anchor: "middle" },
      ].map((b) => ({ ...b, x1: b.x0 + w, y1: b.y0 + LINE }));
      const spot = s.in ? candidates.find((b) => clear(b, s)) || (s.p.i === found ? candidates[0] : null) : null;
      label.style.display = spot ? "" : "none";
      if (!spot) continue;
      taken.push(spot);
      const x = spot.anchor === "start" ? spot.x0 : spot.anchor === "end" ? spot.x1 : (spot.x0 + spot.x1) / 2;
      label.setAttribute("x", x.toFixed(1));
      label.setAttribute("y", (spot.y1 - 3).toFixed(1));
      label.setAttribute("text-anchor", spot.anchor);
    }
  }

  // ---- zoom and pan: buttons, Ctrl + wheel, drag, pinch, keys ----
  function zoomAt(factor, cx, cy) {
    const k = Math.min(MAX_ZOOM, Math.max(1, view.k * factor));
    view.x = cx - (cx - view.x) * (k / view.k);
    view.y = cy - (cy - view.y) * (k / view.k);
    view.k = k;
    panBy(0, 0);
  }
  function panBy(dx, dy) {
    view.x = Math.min(0, Math.max(plot.W - plot.W * view.k, view.x + dx));
    view.y = Math.min(0, Math.max(plot.H - plot.H * view.k, view.y + dy));
    layout();
  }
  function centreOn(i, k) {
    const [x, y] = base(i);
    view.k = k;
    view.x = plot.W / 2 - x * k;
    view.y = plot.H / 2 - y * k;
    panBy(0, 0);
  }

  function gestures(root) {
    const toPlot = (e) => {
      const r = root.getBoundingClientRect();
      return [(e.clientX - r.left) * plot.W / r.width, (e.clientY - r.top) * plot.H / r.height];
    };
    const pointers = new Map();
    let moved = 0;
    root.addEventListener("pointerdown", (e) => {
      lastPointer = e.pointerType;
      pointers.set(e.pointerId, toPlot(e));
      moved = 0;
    });
    root.addEventListener("pointermove", (e) => {
      if (!pointers.has(e.pointerId)) return;
      // once it is a drag, keep the pointer (a click at its end is then no click on a point)
      if (moved > 3 && !root.hasPointerCapture(e.pointerId)) root.setPointerCapture(e.pointerId);
      const before = pointers.get(e.pointerId), now = toPlot(e);
      if (pointers.size === 2) {
        const other = [...pointers.entries()].find(([id]) => id !== e.pointerId)[1];
        const apart = (a) => Math.hypot(a[0] - other[0], a[1] - other[1]) || 1;
        zoomAt(apart(now) / apart(before), (now[0] + other[0]) / 2, (now[1] + other[1]) / 2);
      } else {
        panBy(now[0] - before[0], now[1] - before[1]);
        root.classList.add("dragging");
      }
      moved += Math.hypot(now[0] - before[0], now[1] - before[1]);
      pointers.set(e.pointerId, now);
    });
    const release = (e) => { pointers.delete(e.pointerId); root.classList.remove("dragging"); };
    root.addEventListener("pointerup", release);
    root.addEventListener("pointercancel", release);
    root.addEventListener("click", (e) => { if (moved > 6) { e.preventDefault(); e.stopPropagation(); } }, true);
    root.addEventListener("wheel", (e) => {
      if (!e.ctrlKey) return;  // a plain wheel scrolls the page
      e.preventDefault();
      const [x, y] = toPlot(e);
      zoomAt(Math.exp(-e.deltaY / 300), x, y);
    }, { passive: false });
    root.addEventListener("keydown", (e) => {
      const step = 40, moves = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
      if (moves[e.key]) { e.preventDefault(); panBy(...moves[e.key]); }
      else if (e.key === "+" || e.key === "=") { e.preventDefault(); zoomAt(1.5, plot.W / 2, plot.H / 2); }
      else if (e.key === "-") { e.preventDefault(); zoomAt(1 / 1.5, plot.W / 2, plot.H / 2); }
      else if (e.key === "0") { e.preventDefault(); reset(); }
    });
  }
  function reset() { view.k = 1; view.x = 0; view.y = 0; layout(); }

  // ---- the heatmap ----
  function rampAt(t) {
    const at = Math.max(0, Math.min(1, t)) * (RAMP.length - 1), i = Math.min(RAMP.length - 2, Math.floor(at));
    const mix = (a, b, f) => Math.round(a + (b - a) * f);
    const [a, b] = [RAMP[i], RAMP[i + 1]].map((h) => [1, 3, 5].map((o) => parseInt(h.slice(o, o + 2), 16)));
    return `rgb(${a.map((v, j) => mix(v, b[j], at - i)).join(",")})`;
  }

  function drawHeatmap() {
    const n = data.countries.length, cell = 11, left = 120, top = 96, size = n * cell;
    const lo = Math.min(...data.similarity.flat());
    const scale = $("heat-scale");
    const ramp = document.createElement("span");
    ramp.className = "ramp";
    ramp.style.background = `linear-gradient(90deg, ${RAMP.join(", ")})`;
    scale.replaceChildren("cosine similarity ", Object.assign(document.createElement("b"), { textContent: lo.toFixed(2) }),
      ramp, Object.assign(document.createElement("b"), { textContent: "1.00" }));
    const root = svg("svg", { viewBox: `0 0 ${left + size + 56} ${top + size + 4}`, role: "group",
      "aria-label": "country similarity heatmap" });
    const cells = svg("g");
    root.append(cells);
    heatCells = [];
    data.countries.forEach((c, i) => {
      const row = svg("a", { href: `/country/${encodeURIComponent(c.code)}`, "aria-label": `${c.name}: open its page` });
      const name = svg("text", { x: left - 12, y: top + i * cell + cell * 0.8, "text-anchor": "end", class: "row-name" });
      name.textContent = c.name;
      row.append(name);
      const column = svg("text", { x: 0, y: 0, transform: `translate(${left + i * cell + cell * 0.75},${top - 6}) rotate(-60)`,
        class: "col-name", "aria-hidden": "true" });
      column.textContent = c.name;
      const swatch = svg("rect", { x: left - 9, y: top + i * cell + 2, width: 6, height: cell - 4, fill: colour[c.region] });
      root.append(row, column, swatch);
      heatCells.push(data.similarity[i].map((s, j) => {
        const rect = svg("rect", { x: left + j * cell, y: top + i * cell, width: cell, height: cell,
          fill: rampAt((s - lo) / Math.max(1e-9, 1 - lo)), class: "cell", "data-i": i, "data-j": j });
        cells.append(rect);
        return rect;
      }));
    });
    const say = (rect) => { const i = +rect.dataset.i, j = +rect.dataset.j;
      return `${data.countries[i].name} · ${data.countries[j].name}: ${data.similarity[i][j].toFixed(2)}`; };
    cells.addEventListener("mousemove", (e) => { if (e.target.dataset.i) showTip(say(e.target), e.clientX, e.clientY, "cell"); });
    cells.addEventListener("mouseleave", hideTip);
    cells.addEventListener("click", (e) => { if (e.target.dataset.i) tipAt(e.target, say(e.target), "cell"); });
    $("heatmap").replaceChildren(root);
    if (found >= 0) mark(found);  // a country found before the heatmap was drawn
  }

  function mark(i) {  // the row and column of country i in the heatmap
    heatCells[i]?.forEach((r) => r.classList.add("found"));
    heatCells.forEach((row) => row[i].classList.add("found"));
  }

  // ---- search ----
  function find(text) {
    const key = text.trim().toLowerCase();
    const i = data.countries.findIndex((c) => c.name.toLowerCase() === key || c.code === key);
    const status = $("map-found");
    heatCells.flat().forEach((r) => r.classList.remove("found"));
    if (i < 0) {
      found = -1;
      layout();
      status.textContent = key ? `No country called “${text.trim()}” on this map.` : "";
      return;
    }
    found = i;
    centreOn(i, Math.max(view.k, 3));
    mark(i);
    const near = data.similarity[i].map((s, j) => [s, j]).filter(([, j]) => j !== i)
      .sort((a, b) => b[0] - a[0]).slice(0, 5);
    const c = data.countries[i];
    const open = Object.assign(document.createElement("a"), { href: `/country/${encodeURIComponent(c.code)}`, textContent: c.name });
    status.replaceChildren(open, " is most like ", ...near.flatMap(([s, j], k) => [
      `${data.countries[j].name} ${s.toFixed(2)}`, k < near.length - 1 ? ", " : "."]));
  }

  function start(body) {
    data = body;
    const regions = [...new Set(data.countries.map((c) => c.region))];
    colour = Object.fromEntries(regions.map((r, i) => [r, PALETTE[i % PALETTE.length]]));
    legend(regions);
    $("map-names").replaceChildren(...data.countries.map((c) => Object.assign(document.createElement("option"), { value: c.name })));
    drawScatter();
    $("map-loading").hidden = true;
    // the heatmap, below the scatter, once the scatter is painted: at 73 countries its
    // 5,329 cells put the first paint off from 194 to 303 ms (bench_web_pages.py --home)
    requestAnimationFrame(() => setTimeout(drawHeatmap));
    $("map-search").addEventListener("submit", (e) => { e.preventDefault(); find($("find").value); });
    $("zoom-in").addEventListener("click", () => zoomAt(1.5, plot.W / 2, plot.H / 2));
    $("zoom-out").addEventListener("click", () => zoomAt(1 / 1.5, plot.W / 2, plot.H / 2));
    $("zoom-reset").addEventListener("click", reset);
    let width = innerWidth;
    addEventListener("resize", () => {
      if (innerWidth === width) return;
      width = innerWidth;
      const k = view.k;
      drawScatter();
      if (found >= 0) centreOn(found, k); else reset();
    });
  }

  fetch("/api/map").then(async (r) => {
    const body = await r.json();
    if (!r.ok) throw new Error(typeof body.detail === "string" ? body.detail : `status ${r.status}`);
    start(body);
  }).catch((err) => {
    $("map-loading").hidden = true;
    const box = $("map-error");
    box.textContent = `The map cannot be drawn: ${err.message}`;
    box.hidden = false;
  });
})();
