// The post form's live preview panel: the unsaved form, rendered by the server in the reader's template,
// refreshed a moment after the editor stops typing. Nothing is saved or cached. A static file (CSP).
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const panel = document.getElementById("editorial-preview-panel");
  const toggle = document.getElementById("editorial-preview-toggle");
  const form = panel && panel.closest("form");
  if (!panel || !toggle || !form) return;
  const frame = panel.querySelector("iframe");
  const status = panel.querySelector(".editorial-preview-status");
  const DELAY_MS = 500;
  let timer = null;
  let running = null;

  async function refresh() {
    if (running) running.abort();
    running = new AbortController();
    status.textContent = "Updating the preview…";
    try {
      const response = await fetch(panel.dataset.previewUrl, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        cache: "no-store",
        signal: running.signal,
      });
      frame.srcdoc = await response.text();
      status.textContent = response.ok
        ? "The article as readers will see it (not saved)."
        : `The preview failed (HTTP ${response.status}).`;
    } catch (error) {
      if (error.name !== "AbortError") status.textContent = `The preview failed: ${error.message}`;
    }
  }

  function later() {
    if (panel.hidden) return;
    clearTimeout(timer);
    timer = setTimeout(refresh, DELAY_MS);
  }

  toggle.addEventListener("click", () => {
    panel.hidden = !panel.hidden;
    document.body.classList.toggle("editorial-previewing", !panel.hidden);
    toggle.setAttribute("aria-expanded", String(!panel.hidden));
    toggle.textContent = panel.hidden ? "Show live preview" : "Hide live preview";
    if (!panel.hidden) refresh();
  });
  form.addEventListener("input", later);
  form.addEventListener("change", later);
});
