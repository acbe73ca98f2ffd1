// The review page's keyboard shortcuts (documented on the page). A static file: the CSP allows no inline script.
"use strict";
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) {
    const note = document.getElementById("id_note");
    if (note && event.target === note && event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (note.value.trim()) document.querySelector('[data-shortcut="r"]').click();
    }
    return;
  }
  const target = event.target;
  if (target.closest && target.closest("textarea, input, select, [contenteditable]")) {
    if (event.key === "Escape") target.blur();
    return;
  }
  const key = event.key.toLowerCase();
  if (key === "a" || key === "n") {
    const control = document.querySelector(`[data-shortcut="${key}"]`);
    if (control) {
      event.preventDefault();
      control.click();
    }
  } else if (key === "r") {
    const note = document.getElementById("id_note");
    const control = document.querySelector('[data-shortcut="r"]');
    if (!note || !control) return;
    event.preventDefault();
    if (note.value.trim()) control.click();
    else note.focus();
  }
});
