// The query page: build "Colombia x Turkey - Germany" term by term, or type it whole.
// Data from the server is only ever put into the page with textContent (never innerHTML).
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const terms = $("terms"), ops = $("ops"), errorBox = $("error");
  const nBox = $("n"), pop = $("popularity"), popOut = $("popularity-value"), discover = $("discover");
  let countries = [];
  // The operators, from /api/operators (the one table in dotify.query.arithmetic):
  let operators = [];        // in the table's order, for the operator pickers
  let opOf = new Map();      // any spelling -> the symbol the form sends ("×" -> "x")
  let labelOf = new Map();   // symbol -> the face of its button ("x" -> "×")
  let prettyOf = new Map();  // how "parsed" writes it -> its face ("*" -> "×")
  let split = /$^/;          // a typed expression cut at its operators
  let popTouched = false;
  let last = null; // the last query asked, re-asked when a knob changes

  const norm = (s) => s.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
    .replace(/[._-]/g, " ").replace(/\s+/g, " ").trim();
  const keysOf = (c) => [c.name, c.code, ...c.aliases].map(norm);
  const escape = (s) => s.replace(/[.*+?^${}()|[\]\\\/-]/g, "\\$&");
  // a letter typed into a country box stays a letter: "Mexico" keeps its x
  const isSign = (key) => opOf.has(key) && !/\p{L}/u.test(key);

  function useOperators(list) {
    operators = list;
    opOf = new Map(list.flatMap((op) => [op.symbol, ...op.aliases].map((s) => [s, op.symbol])));
    labelOf = new Map(list.map((op) => [op.symbol, op.label]));
    prettyOf = new Map(list.map((op) => [op.canonical, op.label]));
    const spellings = [...opOf.keys()].sort((a, b) => b.length - a.length).map(escape);
    split = new RegExp(`\\s+(${spellings.join("|")})\\s+`);
  }

  const resolve = (text) => countries.find((c) => keysOf(c).includes(norm(text))) || null;

  function matches(text) {
    const key = norm(text);
    const pool = countries.some((c) => c.in_model) ? countries.filter((c) => c.in_model) : countries;
    if (!key) return pool.slice(0, 8);
    const scored = [];
    for (const c of pool) {
      const keys = keysOf(c);
      if (keys.some((k) => k.startsWith(key))) scored.push([0, c]);
      else if (keys.some((k) => k.includes(key))) scored.push([1, c]);
    }
    scored.sort((a, b) => a[0] - b[0] || a[1].name.localeCompare(b[1].name));
    return scored.slice(0, 8).map((s) => s[1]);
  }

  // ---- the builder: country inputs alternating with operator pickers ----
  function countryTerm(value) {
    const box = document.createElement("div");
    box.className = "term";
    const input = document.createElement("input");
    Object.assign(input, { type: "text", className: "country", value: value || "",
      placeholder: "a country", autocomplete: "off", spellcheck: false });
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-label", "Country");
    const list = document.createElement("ul");
    list.className = "suggest";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    box.append(input, list);
    let active = -1;

    const close = () => { list.hidden = true; active = -1; input.setAttribute("aria-expanded", "false"); };
    const mark = () => {
      const known = resolve(input.value);
      box.classList.toggle("known", !!known);
      box.classList.remove("unknown");
      refreshOps();
    };
    const pick = (c) => {
      input.value = c.name;
      close();
      mark();
      if (box === lastTerm()) { ops.querySelector(".op")?.focus(); }
      else if (!$("results").hidden) askBuilder(true);
    };
    const highlight = (i) => {
      const items = [...list.children];
      active = (i + items.length) % items.length;
      items.forEach((li, j) => li.setAttribute("aria-selected", String(j === active)));
      items[active]?.scrollIntoView({ block: "nearest" });
    };
    const open = () => {
      list.replaceChildren();
      for (const c of matches(input.value)) {
        const li = document.createElement("li");
        li.setAttribute("role", "option");
        const name = document.createElement("span");
        name.textContent = c.name;
        const region = document.createElement("small");
        region.textContent = c.region;
        li.append(name, region);
        li.addEventListener("mousedown", (e) => { e.preventDefault(); pick(c); });
        list.append(li);
      }
      list.hidden = list.children.length === 0;
      input.setAttribute("aria-expanded", String(!list.hidden));
      active = -1;
      if (!list.hidden && norm(input.value)) highlight(0);
    };
    input.addEventListener("input", () => { open(); mark(); });
    input.addEventListener("focus", open);
    input.addEventListener("blur", () => setTimeout(close, 100));
    input.addEventListener("keydown", (e) => {
      if (e.key === "ArrowDown") { e.preventDefault(); if (list.hidden) open(); else highlight(active + 1); }
      else if (e.key === "ArrowUp") { e.preventDefault(); if (!list.hidden) highlight(active - 1); }
      else if (e.key === "Escape") { close(); }
      else if (e.key === "Enter") {
        e.preventDefault();
        const items = matches(input.value);
        if (!list.hidden && active >= 0 && items[active]) pick(items[active]);
        else { close(); askBuilder(true); }
      } else if ((e.key === "=" || isSign(e.key)) && resolve(input.value) && box === lastTerm()) {
        e.preventDefault();
        choose(e.key === "=" ? "=" : opOf.get(e.key));
      }
    });
    return box;
  }

  function operatorPick(op) {
    const select = document.createElement("select");
    select.className = "op-pick";
    select.setAttribute("aria-label", "Operator");
    for (const op of operators) select.append(new Option(op.label, op.symbol));
    select.append(new Option("remove", "remove"));
    select.value = op;
    select.addEventListener("change", () => {
      if (select.value === "remove") { select.nextElementSibling?.remove(); select.remove(); refreshOps(); }
      if (!$("results").hidden) askBuilder(true);
    });
    return select;
  }

  const lastTerm = () => terms.lastElementChild;
  const refreshOps = () => {  // operators appear once the last term is a known country
    ops.hidden = !lastTerm() || !resolve(lastTerm().querySelector("input").value);
  };

  function choose(op) {
    if (op === "=") { askBuilder(true); return; }
    terms.append(operatorPick(op));
    const term = countryTerm("");
    terms.append(term);
    refreshOps();
    term.querySelector("input").focus();
  }

  function setBuilder(parts) {
    terms.replaceChildren();
    parts.forEach((p, i) => terms.append(i % 2 ? operatorPick(p) : countryTerm(p)));
    if (!parts.length) terms.append(countryTerm(""));
    terms.querySelectorAll(".term").forEach((t) => t.classList.toggle("known", !!resolve(t.querySelector("input").value)));
    refreshOps();
  }

  const tokens = () => [...terms.children].map((el) => el.tagName === "SELECT" ? el.value : el.querySelector("input").value.trim());

  // Split "Colombia x Turkey - Germany" into builder parts when every term is a known country.
  function partsOf(q) {
    const pieces = q.trim().replace(/\s*=\s*$/, "").split(split);
    const parts = pieces.map((p, i) => i % 2 ? opOf.get(p) : (resolve(p) || {}).name);
    return parts.every(Boolean) ? parts : null;
  }

  // ---- asking the server ----
  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  function describe(body, status) {
    const detail = body && body.detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) return detail.map((d) => d.msg || JSON.stringify(d)).join("; ");
    return `The server answered with status ${status}.`;
  }

  async function ask(query, q, push) {
    errorBox.hidden = true;
    last = { query, q };
    const body = { ...query, n: Math.min(100, Math.max(1, parseInt(nBox.value, 10) || 10)),
      discover: discover.checked };
    if (popTouched) body.popularity = parseFloat(pop.value);
    let response, data;
    try {
      response = await fetch("/api/recommendations", { method: "POST",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      data = await response.json().catch(() => null);
    } catch (err) {
      showError(`Cannot reach the dotify server (${err.message}).`);
      return;
    }
    if (push) pushUrl(q);
    if (!response.ok) {
      $("results").hidden = true;
      showError(describe(data, response.status));
      return;
    }
    render(data);
  }

  function askBuilder(push) {
    const parts = tokens().filter((t, i, all) => t !== "" || i < all.length - 1);
    if (parts.length && parts[parts.length - 1] === "") parts.pop();
    while (parts.length && labelOf.has(parts[parts.length - 1])) parts.pop();
    if (!parts.length) { showError("Pick a country first."); return; }
    if (parts.some((p) => p === "")) { showError("A country is missing: fill it in, or remove the operator before it."); return; }
    terms.querySelectorAll(".term").forEach((t) => t.classList.toggle("unknown", !resolve(t.querySelector("input").value)));
    const q = parts.join(" ");
    $("expression").value = q;
    ask({ tokens: parts }, q, push);
  }

  function render(data) {
    const title = $("results-title");
    const pretty = data.parsed.split(" ").map((word) => prettyOf.get(word) || word).join(" ");
    title.replaceChildren("Music like ", Object.assign(document.createElement("b"), { textContent: pretty }));
    $("results-note").hidden = data.world_weight !== 0;
    const list = $("songs");
    list.replaceChildren();
    for (const s of data.songs) {
      const li = document.createElement("li");
      const rank = Object.assign(document.createElement("span"), { className: "rank", textContent: String(s.rank) });
      const song = Object.assign(document.createElement("span"), { className: "song" });
      const name = document.createElement(s.url ? "a" : "span");
      name.textContent = s.title;
      name.className = "title";
      if (s.url) { name.href = s.url; name.target = "_blank"; name.rel = "noopener"; }
      const artists = Object.assign(document.createElement("span"), { className: "artists", textContent: s.artists });
      song.append(name, artists);
      const score = Object.assign(document.createElement("span"), { className: "score" });
      const bar = Object.assign(document.createElement("span"), { className: "bar" });
      const fill = document.createElement("i");
      fill.style.width = `${Math.max(0, Math.min(100, s.match))}%`;
      bar.append(fill);
      score.title = "match: the score over the best the expression could reach";
      score.append(bar, document.createTextNode(String(Math.round(s.match))));
      const parts = Object.entries(s.contributions || {}).map(([k, v]) => `${k} ${v >= 0 ? "+" : "−"}${Math.abs(v).toFixed(2)}`);
      if (parts.length > 1) {
        song.append(Object.assign(document.createElement("span"), { className: "why", textContent: parts.join(" · "),
          title: "each country's share of the score" }));
      }
      li.append(rank, song, score);
      list.append(li);
    }
    if (!data.songs.length) list.append(Object.assign(document.createElement("li"), { textContent: "No songs left after the filters." }));
    $("results").hidden = false;
  }

  // ---- the URL holds the query: shareable, and the back button works ----
  function pushUrl(q) {
    const params = new URLSearchParams({ q });
    if (nBox.value !== "10") params.set("n", nBox.value);
    if (popTouched) params.set("popularity", pop.value);
    if (discover.checked) params.set("discover", "1");
    const url = `/?${params}`;
    if (url !== location.pathname + location.search) history.pushState({ q }, "", url);
  }

  function fromUrl() {
    const params = new URLSearchParams(location.search);
    const q = params.get("q") || "";
    nBox.value = params.get("n") || "10";
    discover.checked = params.get("discover") === "1";
    popTouched = params.has("popularity");
    pop.value = popTouched ? params.get("popularity") : (pop.dataset.default || "0.5");
    showPopularity();
    $("expression").value = q;
    errorBox.hidden = true;
    if (!q) { setBuilder([]); $("results").hidden = true; return; }
    setBuilder(partsOf(q) || []);
    ask({ expression: q }, q, false);
  }

  function showPopularity() {
    popOut.textContent = popTouched || pop.dataset.default ? Number(pop.value).toFixed(2) : "auto";
  }

  ops.addEventListener("click", (e) => {
    const button = e.target.closest("button[data-op]");
    if (button) choose(button.dataset.op);
  });
  $("free").addEventListener("submit", (e) => {
    e.preventDefault();
    const q = $("expression").value.trim();
    if (!q) { showError("Type an expression, e.g. Colombia x Turkey - Germany."); return; }
    setBuilder(partsOf(q) || []);
    ask({ expression: q }, q, true);
  });
  pop.addEventListener("input", () => { popTouched = true; showPopularity(); });
  for (const knob of [nBox, pop, discover]) {
    knob.addEventListener("change", () => { if (last && !$("results").hidden) ask(last.query, last.q, true); });
  }
  $("clear").addEventListener("click", () => {
    setBuilder([]);
    $("expression").value = "";
    errorBox.hidden = true;
    $("results").hidden = true;
    last = null;
    history.pushState({}, "", "/");
    terms.querySelector("input").focus();
  });
  window.addEventListener("popstate", fromUrl);

  setBuilder([]);
  const load = (url) => fetch(url).then((r) => r.json());
  Promise.all([load("/api/countries"), load("/api/operators")]).then(([list, table]) => {
    countries = list;
    useOperators(table);
    fromUrl();
  }).catch((err) => showError(`Cannot load the countries and operators (${err.message}).`));
})();
