// Conveyor dashboard: auto-refresh of the live region (#live) with htmx, without a reload.
// The interval is chosen in the header (kept in localStorage) and can be paused; a refresh
// is skipped while the user has selected rows or changed a form field, so neither a
// selection nor a half-typed edit is ever lost. No inline script anywhere (strict CSP).
(function () {
  "use strict";
  var KEY = "conveyor.refresh";
  var timer = null;

  function dirty(root) {
    var fields = root.querySelectorAll("input, textarea, select");
    for (var i = 0; i < fields.length; i++) {
      var el = fields[i];
      if (el.type === "checkbox" || el.type === "radio") {
        if (el.checked !== el.defaultChecked) return true;
      } else if (el.tagName === "SELECT") {
        for (var j = 0; j < el.options.length; j++) {
          if (el.options[j].selected !== el.options[j].defaultSelected) return true;
        }
      } else if (el.type !== "hidden" && el.value !== el.defaultValue) {
        return true;
      }
    }
    var active = document.activeElement;
    return root.contains(active) && active.matches("textarea, input:not([type=checkbox])" +
                                                   ":not([type=radio]):not([type=hidden])");
  }

  function interval() {
    var chooser = document.getElementById("refresh-interval");
    var chosen = chooser ? parseInt(chooser.value, 10) : 0;
    var live = document.getElementById("live");
    var fast = live ? parseInt(live.getAttribute("data-live") || "0", 10) : 0;
    if (!chosen) return 0;
    return fast ? Math.min(fast, chosen) : chosen;
  }

  function refresh() {
    var live = document.getElementById("live");
    var status = document.getElementById("refresh-status");
    if (!live || document.hidden || dirty(live)) { schedule(); return; }
    htmx.ajax("GET", window.location.href, {target: "#live", select: "#live", swap: "outerHTML"})
      .then(function () {
        if (status) status.textContent = "updated " + new Date().toLocaleTimeString();
        schedule();
      }, schedule);
  }

  function schedule() {
    if (timer) clearTimeout(timer);
    timer = null;
    var seconds = interval();
    if (seconds > 0) timer = setTimeout(refresh, seconds * 1000);
  }

  function selectAll(event) {
    var box = event.target;
    if (!box.matches || !box.matches("[data-select-all]")) return;
    var rows = document.querySelectorAll("input[data-row]");
    for (var i = 0; i < rows.length; i++) rows[i].checked = box.checked;
  }

  function confirmSubmit(event) {
    var button = event.submitter;
    var text = button && button.getAttribute("data-confirm");
    if (text && !window.confirm(text)) event.preventDefault();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var chooser = document.getElementById("refresh-interval");
    if (chooser) {
      var saved = window.localStorage.getItem(KEY);
      if (saved !== null && chooser.querySelector('option[value="' + saved + '"]')) {
        chooser.value = saved;
      }
      chooser.addEventListener("change", function () {
        window.localStorage.setItem(KEY, chooser.value);
        schedule();
      });
    }
    document.addEventListener("change", selectAll);
    document.addEventListener("submit", confirmSubmit);
    document.addEventListener("htmx:afterSwap", schedule);
    schedule();
  });
})();
