// The colour theme: the visitor's choice (kept in localStorage) over the system's
// prefers-color-scheme, always written to <html data-theme>, the one thing the style sheet
// reads. Loaded in <head> so the page never paints in the wrong theme.
"use strict";
(() => {
  const KEY = "dotify-theme";
  const root = document.documentElement;
  const system = () => (matchMedia("(prefers-color-scheme: light)").matches ? "light" : "dark");
  const stored = () => { try { return localStorage.getItem(KEY); } catch { return null; } };
  const current = () => root.dataset.theme;

  function apply(theme) {
    root.dataset.theme = theme;
    const button = document.getElementById("theme");
    if (!button) return;
    const other = current() === "dark" ? "light" : "dark";
    button.querySelector(".theme-label").textContent = `${other[0].toUpperCase()}${other.slice(1)} theme`;
    button.dataset.shows = current();
  }

  const chosen = () => (["light", "dark"].includes(stored()) ? stored() : system());
  root.dataset.theme = chosen();
  document.addEventListener("DOMContentLoaded", () => {
    apply(chosen());
    document.getElementById("theme")?.addEventListener("click", () => {
      const next = current() === "dark" ? "light" : "dark";
      try { localStorage.setItem(KEY, next); } catch { /* private mode: this page only */ }
      apply(next);
    });
    matchMedia("(prefers-color-scheme: light)").addEventListener("change", () => apply(chosen()));
  });
})();
