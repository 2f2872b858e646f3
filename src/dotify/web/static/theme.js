// The colour theme: the visitor's choice (kept in localStorage) over the system's
// prefers-color-scheme. Loaded in <head> so the page never paints in the wrong theme.
"use strict";
(() => {
  const KEY = "dotify-theme";
  const root = document.documentElement;
  const system = () => (matchMedia("(prefers-color-scheme: light)").matches ? "light" : "dark");
  const stored = () => { try { return localStorage.getItem(KEY); } catch { return null; } };
  const current = () => root.dataset.theme || system();

  function apply(theme) {
    if (theme) root.dataset.theme = theme; else delete root.dataset.theme;
    const button = document.getElementById("theme");
    if (!button) return;
    const other = current() === "dark" ? "light" : "dark";
    button.querySelector(".theme-label").textContent = `${other[0].toUpperCase()}${other.slice(1)} theme`;
    button.dataset.shows = current();
  }

  const chosen = stored();
  if (chosen === "light" || chosen === "dark") root.dataset.theme = chosen;
  document.addEventListener("DOMContentLoaded", () => {
    apply(root.dataset.theme);
    document.getElementById("theme")?.addEventListener("click", () => {
      const next = current() === "dark" ? "light" : "dark";
      try { localStorage.setItem(KEY, next); } catch { /* private mode: this page only */ }
      apply(next);
    });
    matchMedia("(prefers-color-scheme: light)").addEventListener("change", () => apply(root.dataset.theme));
  });
})();
