// The map page: a t-SNE scatter and a clustered similarity heatmap drawn as inline SVG
// from GET /api/map. Names go in with textContent only.
"use strict";
(() => {
  const NS = "http://www.w3.org/2000/svg";
  const PALETTE = ["#1ed760", "#4dabf7", "#ff922b", "#f06595", "#ffd43b", "#9775fa", "#20c997",
    "#ff6b6b", "#74c0fc", "#e599f7", "#a9e34b", "#ffa8a8", "#63e6be", "#fab005"];
  const tip = document.getElementById("tip");
  const svg = (tag, attrs) => {
    const el = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
    return el;
  };
  const go = (c) => { location.href = `/country/${encodeURIComponent(c.code)}`; };
  const hover = (el, text) => {
    el.addEventListener("mousemove", (e) => {
      tip.textContent = text;
      tip.hidden = false;
      tip.style.left = `${Math.min(e.clientX + 12, innerWidth - tip.offsetWidth - 8)}px`;
      tip.style.top = `${e.clientY + 14}px`;
    });
    el.addEventListener("mouseleave", () => { tip.hidden = true; });
  };

  function legend(regions, colour) {
    const ul = document.getElementById("legend");
    for (const r of regions) {
      const li = document.createElement("li");
      const dot = document.createElement("i");
      dot.style.background = colour[r];
      li.append(dot, document.createTextNode(r));
      ul.append(li);
    }
  }

  function scatter(data, colour) {
    const W = 900, H = 560, pad = 20, right = 110;
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "2-D map of countries" });
    data.countries.forEach((c, i) => {
      const [x, y] = data.xy[i];
      const cx = pad + x * (W - pad - right), cy = pad + (1 - y) * (H - 2 * pad);
      const g = svg("g", { class: "country", "data-code": c.code });
      const dot = svg("circle", { cx, cy, r: 7, fill: colour[c.region], class: "pt" });
      const label = svg("text", { x: cx + 9, y: cy + 3 });
      label.textContent = c.name;
      const title = svg("title");
      title.textContent = `${c.name} (${c.region})`;
      dot.append(title);
      g.append(dot, label);
      hover(dot, `${c.name} · ${c.region}`);
      dot.addEventListener("click", () => go(c));
      root.append(g);
    });
    document.getElementById("scatter").append(root);
  }

  function heatmap(data, colour) {
    const n = data.countries.length, cell = 10, left = 124, top = 8, size = n * cell;
    const root = svg("svg", { viewBox: `0 0 ${left + size + 4} ${top + size + 4}`, role: "img",
      "aria-label": "country similarity heatmap" });
    const lo = Math.min(...data.similarity.flat());
    data.countries.forEach((c, i) => {
      const label = svg("text", { x: left - 14, y: top + i * cell + cell * 0.8, "text-anchor": "end" });
      label.textContent = c.name;
      const swatch = svg("rect", { x: left - 10, y: top + i * cell + 2, width: 6, height: cell - 4, fill: colour[c.region] });
      root.append(label, swatch);
      data.similarity[i].forEach((s, j) => {
        const t = (s - lo) / Math.max(1e-9, 1 - lo);
        const rect = svg("rect", { x: left + j * cell, y: top + i * cell, width: cell, height: cell,
          fill: `hsl(${200 - 55 * t}, ${25 + 55 * t}%, ${9 + 43 * t}%)`, class: "cell" });
        const other = data.countries[j];
        hover(rect, `${c.name} · ${other.name}: ${s.toFixed(2)}`);
        rect.addEventListener("click", () => go(other));
        root.append(rect);
      });
    });
    document.getElementById("heatmap").append(root);
  }

  fetch("/api/map").then(async (r) => {
    const data = await r.json();
    if (!r.ok) throw new Error(typeof data.detail === "string" ? data.detail : `status ${r.status}`);
    const regions = [...new Set(data.countries.map((c) => c.region))];
    const colour = Object.fromEntries(regions.map((r, i) => [r, PALETTE[i % PALETTE.length]]));
    legend(regions, colour);
    scatter(data, colour);
    heatmap(data, colour);
  }).catch((err) => {
    const box = document.getElementById("map-error");
    box.textContent = `The map cannot be drawn: ${err.message}`;
    box.hidden = false;
  });
})();
