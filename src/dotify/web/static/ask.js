// The query page: build "Colombia x Turkey - Germany" term by term, or type it whole.
// After an answer the form folds to one line and the songs come into view, focus on their
// heading; the URL holds the query (shareable, back and forward work) once it answered.
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
  let answer = null; // the last answer shown (for the exports)
  const results = $("results"), form = $("form-body"), summary = $("summary");

  const norm = (s) => s.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
    .replace(/[._-]/g, " ").replace(/\s+/g, " ").trim();
  const keysOf = (c) => [c.name, c.code, ...c.aliases].map(norm);
  const escape = (s) => s.replace(/[.*+?^${}()|[\]\\\/-]/g, "\\$&");
  // a letter typed into a country box stays a letter ("Mexico" keeps its x) unless the box
  // already names a country and no name goes on with that letter ("Colombia" then "x")
  const isSign = (key) => opOf.has(key) && !/\p{L}/u.test(key);
  const endsTerm = (text, key) => isSign(key) || (opOf.has(key) && !!resolve(text)
    && !countries.some((c) => keysOf(c).some((k) => k.startsWith(norm(text + key)))));

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
      else if (!results.hidden) askBuilder(true, false);
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
      } else if ((e.key === "=" || endsTerm(input.value, e.key)) && resolve(input.value) && box === lastTerm()) {
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
      if (!results.hidden) askBuilder(true, false);
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

  // Mark the terms the server did not know (and only those) after an error.
  function markUnknown(name) {
    for (const t of terms.querySelectorAll(".term")) {
      const value = t.querySelector("input").value;
      t.classList.toggle("unknown", !!name && norm(value) === norm(name));
    }
  }

  const tokens = () => [...terms.children].map((el) => el.tagName === "SELECT" ? el.value : el.querySelector("input").value.trim());

  // Split "Colombia x Turkey - Germany" into builder parts (known names spelled as the
  // registry does, unknown ones kept as typed); null when it is more than terms and
  // operators (brackets, numbers), which only the typed box can hold.
  function partsOf(q) {
    const pieces = q.trim().replace(/\s*=\s*$/, "").split(split);
    const parts = pieces.map((p, i) => i % 2 ? opOf.get(p) : ((resolve(p) || {}).name || p.trim()));
    const simple = parts.every((p, i) => p && (i % 2 || !/[()\d]/.test(p)));
    return simple ? parts : null;
  }

  // ---- asking the server ----
  function showError(message, suggestions, unknown) {
    errorBox.replaceChildren(message);
    if (suggestions && suggestions.length) {
      const line = document.createElement("p");
      line.className = "did-you-mean";
      line.append("Did you mean ");
      suggestions.forEach((name, i) => {
        const button = Object.assign(document.createElement("button"), { type: "button",
          className: "suggestion", textContent: name });
        button.addEventListener("click", () => useSuggestion(unknown, name));
        line.append(button, i < suggestions.length - 1 ? " or " : "?");
      });
      errorBox.append(line);
    }
    errorBox.hidden = false;
  }

  function hideError() {
    errorBox.hidden = true;
    errorBox.replaceChildren();
    markUnknown(null);
  }

  // A clicked suggestion takes the unknown name's place, in the builder and the typed box.
  function useSuggestion(unknown, name) {
    const box = [...terms.querySelectorAll(".term input")].find((i) => norm(i.value) === norm(unknown || ""));
    const typed = $("expression");
    if (unknown) {
      const at = typed.value.toLowerCase().indexOf(unknown.toLowerCase());
      if (at >= 0) typed.value = typed.value.slice(0, at) + name + typed.value.slice(at + unknown.length);
    }
    if (box) {
      box.value = name;
      box.closest(".term").classList.add("known");
      askBuilder(true);
    } else {
      setBuilder(partsOf(typed.value) || []);
      ask({ expression: typed.value }, typed.value, true);
    }
  }

  function describe(body, status) {
    const detail = body && body.detail;
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) return detail.map((d) => d.msg || JSON.stringify(d)).join("; ");
    return `The server answered with status ${status}.`;
  }

  // The Songs box: a whole number from 1 to 100, or a message beside it and no query.
  function songsWanted() {
    const text = nBox.value.trim();
    const n = Number(text);
    const ok = /^\d+$/.test(text) && n >= 1 && n <= 100;
    nBox.setAttribute("aria-invalid", String(!ok));
    $("n-error").textContent = ok ? "" : "Songs: a whole number from 1 to 100.";
    $("n-error").hidden = ok;
    return ok ? n : null;
  }

  async function ask(query, q, push, focus = true) {
    const n = songsWanted();
    if (n === null) { nBox.focus(); return; }
    hideError();
    last = { query, q };
    const body = { ...query, n, discover: discover.checked };
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
    if (!response.ok) {  // the query stays in the form, the URL and history stay as they were
      results.hidden = true;
      unfold(false);
      markUnknown(data && data.unknown);
      showError(describe(data, response.status), data && data.suggestions, data && data.unknown);
      return;
    }
    if (push) pushUrl(q);
    render(data);
    if (focus) {  // a new question: fold the form, bring the answer into view
      fold(data);
      bringIntoView();
    } else {  // a knob or a term changed in the open form: it stays open
      $("summary-query").textContent = prettyParsed(data.parsed);
    }
  }

  function askBuilder(push, focus = true) {
    const parts = tokens().filter((t, i, all) => t !== "" || i < all.length - 1);
    if (parts.length && parts[parts.length - 1] === "") parts.pop();
    while (parts.length && labelOf.has(parts[parts.length - 1])) parts.pop();
    if (!parts.length) { showError("Pick a country first."); return; }
    if (parts.some((p) => p === "")) { showError("A country is missing: fill it in, or remove the operator before it."); return; }
    const q = parts.join(" ");
    $("expression").value = q;
    ask({ tokens: parts }, q, push, focus);
  }

  const prettyParsed = (parsed) => parsed.split(" ").map((word) => prettyOf.get(word) || word).join(" ");

  function render(data) {
    answer = data;
    const pretty = prettyParsed(data.parsed);
    $("results-title").replaceChildren("Music like ", Object.assign(document.createElement("b"), { textContent: pretty }));
    document.title = `Music like ${pretty} · dotify`;
    $("results-note").hidden = data.world_weight !== 0;
    $("export-status").textContent = "";
    const codes = (data.songs[0]?.standings || []).map((s) => s.code);
    window.dotifySongs.render($("songs"), data.songs, codes);
    const save = $("save-spotify");
    if (save && save.tagName === "A") save.href = `/spotify/login?${new URLSearchParams(location.search)}`;
    results.hidden = false;
  }

  // ---- the folded form: one line with the query and an edit button ----
  function fold(data) {
    $("summary-query").textContent = prettyParsed(data.parsed);
    summary.hidden = false;
    form.hidden = true;
    $("edit").setAttribute("aria-expanded", "false");
  }

  function unfold(focusForm) {
    summary.hidden = true;
    form.hidden = false;
    $("edit").setAttribute("aria-expanded", "true");
    if (focusForm) (terms.querySelector(".term:last-child input") || $("expression")).focus();
  }

  function bringIntoView() {
    const heading = $("results-title");
    results.scrollIntoView({ block: "start" });
    heading.focus({ preventScroll: true });
  }

  // ---- the URL holds the query: shareable, and the back button works ----
  function pushUrl(q) {
    const params = new URLSearchParams({ q });
    if (nBox.value !== "10") params.set("n", nBox.value.trim());
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
    hideError();
    if (!q) {
      setBuilder([]);
      results.hidden = true;
      unfold(false);
      document.title = "Music like… · dotify";
      return;
    }
    setBuilder(partsOf(q) || []);
    ask({ expression: q }, q, false);
  }

  function showPopularity() {
    popOut.textContent = popTouched || pop.dataset.default ? Number(pop.value).toFixed(2) : "auto";
  }

  // ---- exports ----
  function exportStatus(text) { $("export-status").textContent = text; }

  $("copy-uris").addEventListener("click", async () => {
    const uris = (answer?.songs || []).map((s) => s.uri).filter(Boolean);
    const done = uris.length && await window.dotifySongs.copy(uris.join("\n"));
    exportStatus(done ? `Copied ${uris.length} Spotify URIs: paste them into a Spotify playlist.`
      : "The URIs could not be copied.");
  });
  $("download-csv").addEventListener("click", () => {
    if (!answer) return;
    const name = `dotify ${answer.parsed.replace(/[^\w+-]+/g, " ").trim()}.csv`.replace(/\s+/g, "-");
    window.dotifySongs.download(name, window.dotifySongs.csv(answer));
    exportStatus(`Downloaded ${answer.songs.length} songs as ${name}.`);
  });
  const save = $("save-spotify");
  if (save && save.tagName === "BUTTON") {
    save.addEventListener("click", () => {
      const help = $("spotify-help");
      help.hidden = !help.hidden;
      save.setAttribute("aria-expanded", String(!help.hidden));
    });
  }

  // ---- wiring ----
  ops.addEventListener("click", (e) => {
    const button = e.target.closest("button[data-op]");
    if (button) choose(button.dataset.op);
  });
  $("free").addEventListener("submit", (e) => {
    e.preventDefault();
    const q = $("expression").value.trim();
    if (!q) { showError("Type an expression, e.g. Colombia x Turkey - Germany."); return; }
    const parts = partsOf(q);
    if (parts) setBuilder(parts);
    ask({ expression: q }, q, true);
  });
  $("edit").addEventListener("click", () => unfold(true));
  pop.addEventListener("input", () => { popTouched = true; showPopularity(); });
  nBox.addEventListener("input", () => { if (nBox.getAttribute("aria-invalid") === "true") songsWanted(); });
  for (const knob of [nBox, pop, discover]) {
    knob.addEventListener("change", () => { if (last && !results.hidden) ask(last.query, last.q, true, false); });
  }
  $("clear").addEventListener("click", () => {
    setBuilder([]);
    $("expression").value = "";
    hideError();
    results.hidden = true;
    last = null;
    answer = null;
    document.title = "Music like… · dotify";
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
