// The staff console's only script (no build step): keeps the day's grid live. The server sends
// an event for every change of the clinic's schedule; the grid is then fetched again through the
// page's own session and swapped in. Without this script every page still works (a reload shows
// the changes). A form being filled in is never replaced: the swap waits until focus leaves it.
(function () {
  "use strict";
  var grid = document.getElementById("grid");
  if (!grid || !window.EventSource) { return; }
  var live = document.getElementById("live");
  var pending = false;
  var timer = null;

  function busy() {
    var active = document.activeElement;
    return active && active !== document.body && grid.contains(active) && active.closest("form");
  }

  function openDetails() {
    var ids = [];
    grid.querySelectorAll("details[open]").forEach(function (d) {
      var item = d.closest("[data-id]");
      if (item) { ids.push(item.getAttribute("data-id")); }
    });
    return ids;
  }

  function refresh() {
    if (busy()) { pending = true; return; }
    pending = false;
    fetch(grid.getAttribute("data-src"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.status === 401) { window.location.reload(); return null; }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html === null || busy()) { pending = pending || html !== null; return; }
        var open = openDetails();
        grid.innerHTML = html;
        open.forEach(function (id) {
          var item = grid.querySelector('[data-id="' + id + '"] details');
          if (item) { item.open = true; }
        });
        live.textContent = "Updated " + new Date().toLocaleTimeString();
      })
      .catch(function () { live.textContent = "Offline: retrying"; });
  }

  function soon() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 50);  // a burst of changes is one fetch
  }

  var events = new EventSource(grid.getAttribute("data-events"));
  events.addEventListener("change", soon);
  events.addEventListener("open", soon);  // (re)connected: catch up on anything missed meanwhile
  grid.addEventListener("focusout", function () { if (pending) { setTimeout(function () { if (pending) { refresh(); } }, 0); } });
  setInterval(soon, 30000);  // holds' remaining minutes
})();
