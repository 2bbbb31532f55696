// An open board or task page learns that someone else changed the board: every few seconds it asks
// GET /boards/<id>/changes with the ETag it holds (a short request, answered 304 while nothing changed),
// and shows "<who> <did what>. Reload" for changes by others since the page was read (a task page: to its task).
(function () {
  "use strict";
  var banner = document.getElementById("changes");
  if (!banner || !window.fetch) { return; }
  var url = banner.dataset.url, me = banner.dataset.me, task = banner.dataset.task || null;
  var seen = parseInt(banner.dataset.seq, 10) || 0, etag = null, news = [];
  var text = banner.querySelector(".changes-text"), reload = banner.querySelector("a");
  var PERIOD = 1500, HIDDEN_PERIOD = 10000, MAX_PERIOD = 30000, failures = 0;

  reload.setAttribute("href", window.location.pathname + window.location.search);

  function show(items) {
    items.forEach(function (item) {
      if (item.seq > seen && item.actor_id !== me && (!task || item.task_id === task)) { news.push(item); }
      seen = Math.max(seen, item.seq);
    });
    if (!news.length) { return; }
    var last = news[news.length - 1];
    var more = news.length > 1 ? " (and " + (news.length - 1) + " more change" + (news.length > 2 ? "s" : "") + ")" : "";
    text.textContent = last.actor + " " + last.what + more + ". ";
    banner.hidden = false;
  }

  function schedule() {
    var period = document.hidden ? HIDDEN_PERIOD : PERIOD;
    window.setTimeout(poll, Math.min(MAX_PERIOD, period * Math.pow(2, failures)));
  }

  function poll() {
    var headers = etag ? { "If-None-Match": etag } : {};
    fetch(url, { headers: headers, cache: "no-store", credentials: "same-origin", redirect: "error" })
      .then(function (response) {
        failures = 0;
        if (response.status === 304) { return null; }
        if (!response.ok) { throw new Error(String(response.status)); }
        etag = response.headers.get("ETag");
        return response.json();
      })
      .then(function (body) {
        if (body) { show((body.items || []).slice().sort(function (a, b) { return a.seq - b.seq; })); }
      })
      .catch(function () { failures = Math.min(failures + 1, 4); })
      .then(schedule);
  }

  schedule();
}());
