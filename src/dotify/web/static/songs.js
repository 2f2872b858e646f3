// Song rows: rank, title, artists, home market, match, the reason in words, the standings
// in each queried country, and three actions: play (Spotify's embed player, loaded only on
// click), open in Spotify, and the chart-history sparkline (inline SVG from
// /api/songs/history). Also the exports: copy URIs and download CSV.
// Server data only ever goes into the page as text (textContent, never innerHTML).
"use strict";
window.dotifySongs = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const EMBED = "https://open.spotify.com/embed/track/";
  const LINE_COLOURS = ["var(--series-1)", "var(--series-2)", "var(--series-3)", "var(--series-4)"];
  const el = (tag, props, ...children) => {
    const node = Object.assign(document.createElement(tag), props || {});
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  };
  const svg = (tag, attrs) => {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    return node;
  };
  const trackId = (uri) => (uri || "").split(":")[2] || "";

  function compact(n) {
    if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
    if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
    if (n >= 1e3) return `${Math.round(n / 1e3)}K`;
    return String(n);
  }

  function standing(s) {
    const item = el("span", { className: `standing${s.charted ? "" : " absent"}${s.wanted ? "" : " avoided"}` });
    const name = el("span", { className: "where", textContent: s.code.toUpperCase(), title: s.name });
    let text;
    if (!s.charted) text = " never charted";
    else if (s.peak === null || s.peak === undefined) text = " charted";
    else text = ` #${s.peak}${s.streams ? ` · ${compact(s.streams)}` : ""}`;
    item.append(el("span", { className: "sr", textContent: `${s.name}: ` }), name,
      el("span", { textContent: text }));
    if (s.charted && s.streams) item.append(el("span", { className: "unit", textContent: " streams" }));
    name.setAttribute("aria-hidden", "true");
    return item;
  }

  function row(s, countries) {
    const li = el("li", { className: "song-row" });
    const rank = el("span", { className: "rank", textContent: String(s.rank) });
    const title = el("span", { className: "title", textContent: s.title });
    const head = el("p", { className: "line" }, title);
    if (s.home) {
      const home = el("span", { className: "home", title: `Home market: ${s.home.name}` },
        el("span", { className: "sr", textContent: "home market " }),
        el("span", { textContent: s.home.code.toUpperCase() }));
      head.append(" ", home);
    }
    const body = el("div", { className: "song" }, head,
      el("p", { className: "artists", textContent: s.artists }));
    if (s.reason) body.append(el("p", { className: "reason", textContent: s.reason }));
    if (s.standings && s.standings.length) {
      body.append(el("p", { className: "standings" }, ...s.standings.map(standing)));
    }
    body.append(actions(s, countries, body));
    const match = el("span", { className: "match", title: "how close the song comes to the best score this query could reach" },
      el("b", { textContent: `${Math.round(s.match)}%` }), el("small", { textContent: "match" }));
    li.append(rank, body, match);
    return li;
  }

  function actions(s, countries, body) {
    const bar = el("p", { className: "actions" });
    const id = trackId(s.uri);
    if (id) {
      const play = el("button", { type: "button", className: "chip play", textContent: "Play" });
      play.setAttribute("aria-expanded", "false");
      play.setAttribute("aria-label", `Play ${s.title}`);
      play.addEventListener("click", () => togglePlayer(play, body, id, s.title));
      bar.append(play);
    }
    if (s.url) {
      const open = el("a", { className: "chip", href: s.url, target: "_blank", rel: "noopener",
        textContent: "Open in Spotify" });
      open.setAttribute("aria-label", `Open in Spotify: ${s.title}`);
      bar.append(open);
    }
    if (s.key && countries.length) {
      const chart = el("button", { type: "button", className: "chip chart", textContent: "Chart history" });
      chart.setAttribute("aria-expanded", "false");
      chart.setAttribute("aria-label", `Chart history of ${s.title}`);
      chart.addEventListener("click", () => toggleHistory(chart, body, s, countries));
      bar.append(chart);
    }
    return bar;
  }

  // The player is Spotify's embed page in a frame: nothing is asked of Spotify before this click.
  function togglePlayer(button, body, id, title) {
    let box = body.querySelector(".player");
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    button.textContent = open ? "Close player" : "Play";
    if (!open) { box?.remove(); return; }
    box = el("div", { className: "player" });
    const frame = el("iframe", { src: `${EMBED}${encodeURIComponent(id)}`, title: `Spotify player: ${title}`,
      loading: "eager", width: "100%", height: "80" });
    frame.setAttribute("allow", "encrypted-media; clipboard-write");
    box.append(frame);
    button.closest(".actions").after(box);
  }

  async function toggleHistory(button, body, s, countries) {
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    let box = body.querySelector(".history-box");
    if (!open) { box?.remove(); return; }
    box = el("div", { className: "history-box" }, el("p", { className: "note", textContent: "Loading the chart history…" }));
    (body.querySelector(".player") || button.closest(".actions")).after(box);
    const params = new URLSearchParams({ key: s.key, countries: countries.join(",") });
    try {
      const response = await fetch(`/api/songs/history?${params}`);
      const data = await response.json();
      if (!response.ok) throw new Error(typeof data.detail === "string" ? data.detail : `status ${response.status}`);
      box.replaceChildren(sparkline(data));
    } catch (err) {
      box.replaceChildren(el("p", { className: "note", textContent: `No chart history: ${err.message}` }));
    }
  }

  // Position over time, one line per country: #1 at the top, #200 at the bottom.
  function sparkline(data) {
    const series = data.countries.filter((c) => c.points.length);
    if (!series.length) {
      return el("p", { className: "note", textContent: "The chart database holds no positions of this song in these countries." });
    }
    const days = series.flatMap((c) => c.points.map((p) => Date.parse(p[0])));
    const first = Math.min(...days), last = Math.max(...days), span = Math.max(1, last - first);
    const worst = Math.max(10, ...series.flatMap((c) => c.points.map((p) => p[1])));
    const W = 300, H = 60, pad = 3;
    const x = (day) => pad + (W - 2 * pad) * (Date.parse(day) - first) / span;
    const y = (pos) => pad + (H - 2 * pad) * (pos - 1) / Math.max(1, worst - 1);
    const day = (t) => new Date(t).toISOString().slice(0, 10);
    const best = (c) => Math.min(...c.points.map((p) => p[1]));
    const colourOf = (c) => LINE_COLOURS[data.countries.indexOf(c) % LINE_COLOURS.length];
    const words = series.map((c) => `${c.name}: best #${best(c)} on ${c.points.length} charts`);
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "sparkline", role: "img",
      "aria-label": `Chart position from ${day(first)} to ${day(last)}. ${words.join("; ")}` });
    for (const c of series) {
      const pts = c.points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(" ");
      const line = c.points.length > 1
        ? svg("polyline", { points: pts, stroke: colourOf(c), fill: "none", "stroke-width": 1.6 })
        : svg("circle", { cx: x(c.points[0][0]), cy: y(c.points[0][1]), r: 2.5, fill: colourOf(c) });
      line.setAttribute("data-code", c.code);
      root.append(line);
    }
    const legend = el("p", { className: "spark-legend" }, ...data.countries.map((c) => {
      const key = el("i", {});
      key.style.background = colourOf(c);
      return el("span", {}, key, `${c.name}: ${c.points.length ? `best #${best(c)}` : "never charted"}`);
    }));
    const scale = el("p", { className: "spark-scale note",
      textContent: `top: #1 · bottom: #${worst} · ${day(first)} to ${day(last)}` });
    return el("div", {}, root, legend, scale);
  }

  function render(list, songs, countries) {
    list.replaceChildren(...songs.map((s) => row(s, countries)));
    if (!songs.length) list.append(el("li", { className: "empty", textContent: "No songs left after the filters." }));
  }

  // ---- exports ----
  const csvCell = (v) => {
    const text = v === null || v === undefined ? "" : String(v);
    // a leading = + - @ would run as a formula in a spreadsheet: quote it as text
    const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
    return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
  };

  function csv(data) {
    const codes = (data.songs[0]?.standings || []).map((s) => s.code);
    const header = ["rank", "title", "artists", "match", "home_market", "reason",
      ...codes.flatMap((c) => [`peak_${c}`, `streams_${c}`]), "spotify_uri", "url"];
    const lines = data.songs.map((s) => {
      const by = Object.fromEntries((s.standings || []).map((x) => [x.code, x]));
      return [s.rank, s.title, s.artists, s.match, s.home ? s.home.code : "", s.reason || "",
        ...codes.flatMap((c) => [by[c]?.peak ?? "", by[c]?.streams ?? ""]), s.uri || "", s.url || ""];
    });
    return [header, ...lines].map((cells) => cells.map(csvCell).join(",")).join("\r\n") + "\r\n";
  }

  function download(name, text) {
    const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
    const a = el("a", { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  async function copy(text) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {  // no clipboard permission (or not a secure context): the old way
      const area = el("textarea", { value: text });
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.append(area);
      area.select();
      const done = document.execCommand("copy");
      area.remove();
      return done;
    }
  }

  return { render, csv, download, copy };
})();
