/* The campaign page: each unfinished run's progress bar polls the run's progress view
   (GET .../runs/<id>/progress/) every second until the run is done, failed or cancelled. */
(function () {
  "use strict";
  var POLL_MS = 1000;

  function show(cell, p) {
    var row = cell.closest("tr");
    var bar = cell.querySelector("progress");
    bar.max = 100;
    bar.value = p.percent;
    cell.querySelector(".campaign-run-percent").textContent = p.percent + "%";
    cell.querySelector(".campaign-run-chunks").textContent = p.chunks_done + "/" + p.chunks_total + " chunks";
    cell.dataset.status = p.status;
    cell.dataset.percent = p.percent;
    var status = row.querySelector(".campaign-run-status");
    if (status && status.firstChild) status.firstChild.textContent = p.status;
    var issued = row.querySelector(".campaign-run-issued");
    if (issued) issued.textContent = p.issued;
    var audience = row.querySelector(".campaign-run-audience");
    if (audience) audience.textContent = p.audience_size;
  }

  function poll(cell) {
    fetch(cell.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (p) {
        show(cell, p);
        if (!p.finished) window.setTimeout(function () { poll(cell); }, POLL_MS);
      })
      .catch(function () { window.setTimeout(function () { poll(cell); }, POLL_MS * 5); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".campaign-run-progress").forEach(function (cell) {
      var bar = cell.querySelector("progress");
      var value = Math.round((100 * bar.value) / (bar.max || 1));
      cell.querySelector(".campaign-run-percent").textContent = value + "%";
      cell.dataset.percent = value;
      if (cell.dataset.status === "queued" || cell.dataset.status === "running") poll(cell);
    });
  });
})();
