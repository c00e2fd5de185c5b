// The console's only script, served from the binary: live updates (Server-Sent Events, with
// polling when they are blocked) and keyboard shortcuts. Pages work without it.
(function () {
  "use strict";
  var main = document.querySelector("main");
  var live = document.getElementById("live");
  var caseId = main && main.getAttribute("data-case");
  var version = main && main.getAttribute("data-version");
  var seen = main && main.getAttribute("data-events");

  function say(text) { if (live) { live.textContent = text; } }

  function showCounts(counts) {
    Object.keys(counts).forEach(function (tab) {
      var cell = document.querySelector('.count[data-tab="' + tab + '"]');
      if (cell && cell.textContent !== String(counts[tab])) { cell.textContent = String(counts[tab]); }
    });
  }

  var leased = main && main.getAttribute("data-leased") === "true";
  var lastActivity = "";
  function showCase(state) {
    if (!caseId || state.id !== caseId) { return; }
    if (String(state.version) !== version) {
      var holder = state.lease ? "claimed by " + state.lease.holder + " until " + state.lease.expires_at : "not claimed";
      say(lastActivity + "This case changed (now " + state.status + ", " + holder + "): reload to see it.");
    } else if (leased && !state.lease) {
      leased = false;
      say("The lease lapsed: anyone may claim this case now.");
    }
  }

  // What happened to the open case while the page was open: announced and added to the timeline.
  function showActivity(entry) {
    var timeline = document.querySelector("ol.timeline");
    if (timeline) {
      var item = document.createElement("li");
      var kind = document.createElement("strong");
      kind.textContent = entry.type;
      item.appendChild(document.createTextNode(entry.at + " · "));
      item.appendChild(kind);
      item.appendChild(document.createTextNode(" by " + entry.actor));
      timeline.appendChild(item);
    }
    lastActivity = entry.actor + ": " + entry.type.replace(/_/g, " ") + ". ";
    say(lastActivity);
  }

  function poll() {
    setInterval(function () {
      fetch("/console/counts.json", { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (counts) { if (counts) { showCounts(counts); } })
        .catch(function () {});
    }, 5000);
  }

  if (window.EventSource) {
    var failures = 0;
    var query = caseId ? "?case=" + encodeURIComponent(caseId) + (seen ? "&after=" + encodeURIComponent(seen) : "") : "";
    var source = new EventSource("/console/live" + query);
    source.addEventListener("activity", function (e) { showActivity(JSON.parse(e.data)); });
    source.addEventListener("counts", function (e) { failures = 0; showCounts(JSON.parse(e.data)); });
    source.addEventListener("case", function (e) { showCase(JSON.parse(e.data)); });
    source.onerror = function () {
      failures += 1;
      if (failures > 3) { source.close(); poll(); }
    };
  } else {
    poll();
  }

  // Lease countdowns on claimed rows.
  function countdown() {
    Array.prototype.forEach.call(document.querySelectorAll("time.lease"), function (node) {
      var left = Math.round((Date.parse(node.getAttribute("datetime")) - Date.now()) / 1000);
      node.textContent = left > 0 ? Math.floor(left / 60) + " min " + (left % 60) + " s left" : "lease lapsed";
    });
  }
  countdown();
  setInterval(countdown, 1000);

  // Keyboard: j/k move, Enter opens, n next case, c claim, a approve, r reject, e escalate,
  // / search, ? the shortcut sheet; never while typing in a field.
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-href]"));
  var current = -1;
  function select(index) {
    if (!rows.length) { return; }
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach(function (row, i) { row.classList.toggle("selected", i === current); row.setAttribute("aria-selected", i === current ? "true" : "false"); });
    rows[current].focus();
  }
  function submit(selector) {
    var form = document.querySelector(selector);
    if (form) { form.requestSubmit ? form.requestSubmit() : form.submit(); }
  }
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT" || target.isContentEditable);
    if (typing || event.ctrlKey || event.metaKey || event.altKey) { return; }
    var sheet = document.getElementById("shortcuts");
    switch (event.key) {
      case "j": select(current + 1); break;
      case "k": select(current - 1); break;
      case "Enter": if (current >= 0) { window.location = rows[current].getAttribute("data-href"); } else { return; } break;
      case "n": submit('form[data-key="n"]'); break;
      case "c": submit('form[data-key="c"]'); break;
      case "a": submit('form[data-key="a"]'); break;
      case "e": submit('form[data-key="e"]'); break;
      case "r": {
        var reject = document.getElementById("reject");
        if (reject) { reject.open = true; document.getElementById("reason").focus(); }
        break;
      }
      case "/": { var search = document.getElementById("search"); if (search) { search.focus(); } break; }
      case "?": if (sheet) { sheet.hidden = !sheet.hidden; } break;
      default: return;
    }
    event.preventDefault();
  });
})();
