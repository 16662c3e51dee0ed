/* The merchant dashboard: each card fetches its JSON view and draws it with Chart.js.
   The charts are kept on window.fanbaseDashboard (name -> {json, chart}) for the browser tests. */
(function () {
  "use strict";
  var state = (window.fanbaseDashboard = { charts: {}, loaded: 0, total: 0 });
  var palette = ["#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b83280", "#2c7a7b", "#975a16", "#4a5568", "#c53030", "#276749"];
  var dayAxis = { title: { display: true, text: "day (UTC)" }, ticks: { maxTicksLimit: 8 } };

  function percentAxis(text) {
    return {
      beginAtZero: true,
      title: { display: true, text: text },
      ticks: { callback: function (v) { return Math.round(v * 100) + "%"; } },
    };
  }
  function countAxis(text) {
    return { beginAtZero: true, title: { display: true, text: text }, ticks: { precision: 0 } };
  }
  function pct(v) { return v === null || v === undefined ? "–" : (v * 100).toFixed(1) + "%"; }
  function signedPct(v) { return v === null || v === undefined ? "–" : (v >= 0 ? "+" : "") + (v * 100).toFixed(1) + " pts"; }
  function el(tag, text) { var e = document.createElement(tag); if (text !== undefined) e.textContent = text; return e; }

  function table(headers, rows) {
    var t = el("table"), thead = el("thead"), tr = el("tr"), tbody = el("tbody");
    headers.forEach(function (h) { tr.appendChild(el("th", h)); });
    thead.appendChild(tr); t.appendChild(thead);
    rows.forEach(function (cells) {
      var row = el("tr");
      cells.forEach(function (c) { var td = el("td"); if (c instanceof Node) td.appendChild(c); else td.textContent = c; row.appendChild(td); });
      tbody.appendChild(row);
    });
    t.appendChild(tbody);
    return t;
  }

  var builders = {
    "iron-fan-ratio": function (d) {
      return {
        type: "line",
        data: {
          labels: d.labels,
          datasets: d.series.map(function (s, i) {
            return {
              label: s.label, data: s.data, borderColor: s.kind === "all" ? "#1a202c" : palette[i % palette.length],
              borderDash: s.kind === "all" ? [6, 4] : [], spanGaps: true, pointRadius: 0,
              borderWidth: s.kind === "brand" || s.kind === "all" ? 3 : 1.5,
            };
          }),
        },
        options: { scales: { x: dayAxis, y: percentAxis("iron fans / fans (%)") } },
      };
    },
    "members-weekly": function (d) {
      return {
        type: "bar",
        data: {
          labels: d.labels,
          datasets: [
            { type: "line", label: "members (at week's end)", data: d.members, borderColor: palette[0], yAxisID: "y" },
            { label: "joins", data: d.joins, backgroundColor: palette[2], yAxisID: "y1" },
            { label: "leaves", data: d.leaves, backgroundColor: palette[8], yAxisID: "y1" },
          ],
        },
        options: {
          scales: {
            x: { title: { display: true, text: "week starting (UTC)" } },
            y: countAxis("members"),
            y1: Object.assign(countAxis("joins and leaves per week"), { position: "right", grid: { drawOnChartArea: false } }),
          },
        },
      };
    },
    tiers: function (d) {
      return {
        type: "bar",
        data: { labels: d.labels, datasets: [{ label: "active members on " + d.date, data: d.members, backgroundColor: palette.slice(0, d.labels.length) }] },
        options: { scales: { x: { title: { display: true, text: "tier" } }, y: countAxis("members") } },
      };
    },
    repurchase: function (d, card) {
      card.querySelector(".dashboard-summary").textContent =
        "Latest " + pct(d.latest) + " (change over 30 days: " + signedPct(d.change_30d) + ")";
      return {
        type: "line",
        data: { labels: d.labels, datasets: [{ label: "repurchase rate", data: d.rate, borderColor: palette[1], pointRadius: 0 }] },
        options: { scales: { x: dayAxis, y: percentAxis("buyers with 2+ orders in 90 days (%)") } },
      };
    },
    "coupon-funnel": function (d, card) {
      var rows = d.templates.map(function (t) { return ["template", t.name, t.issued, t.redeemed, t.expired, pct(t.rate)]; })
        .concat(d.campaigns.map(function (c) { return ["campaign", c.name, c.issued, c.redeemed, c.expired, pct(c.rate)]; }));
      var summary = card.querySelector(".dashboard-summary");
      summary.textContent = "";
      summary.appendChild(table(["per", "name", "issued", "redeemed", "expired", "redeemed / issued"], rows));
      return {
        type: "bar",
        data: {
          labels: d.templates.map(function (t) { return t.name; }),
          datasets: [
            { label: "issued", data: d.templates.map(function (t) { return t.issued; }), backgroundColor: palette[0] },
            { label: "redeemed", data: d.templates.map(function (t) { return t.redeemed; }), backgroundColor: palette[2] },
            { label: "expired", data: d.templates.map(function (t) { return t.expired; }), backgroundColor: palette[7] },
          ],
        },
        options: { scales: { x: { title: { display: true, text: "coupon template" } }, y: countAxis("coupons (last 90 days)") } },
      };
    },
    points: function (d) {
      return {
        type: "line",
        data: {
          labels: d.labels,
          datasets: [
            { label: "outstanding (liability)", data: d.outstanding, borderColor: palette[3], pointRadius: 0 },
            { label: "expiring within 30 days", data: d.expiring_30d, borderColor: palette[8], pointRadius: 0 },
          ],
        },
        options: { scales: { x: dayAxis, y: countAxis("points") } },
      };
    },
  };

  var tables = {
    "koe-leaderboard": function (d, card) {
      card.querySelector(".dashboard-summary").textContent = "Snapshot of " + d.date + "; change against 30 days before.";
      return table(
        ["account", "fans", "iron fans", "iron-fan ratio", "change over 30 days"],
        d.rows.map(function (r) { return ["@" + r.handle, r.fans, r.iron_fans, pct(r.ratio), signedPct(r.change_30d)]; })
      );
    },
    rollouts: function (d) {
      return table(
        ["product", "stage", "since", "sent", "opened", "open rate"],
        d.rows.map(function (r) {
          var stage = el("span", r.stage.replace("_", " "));
          stage.className = "dashboard-stage " + r.stage;
          if (r.held_reason) stage.title = r.held_reason;
          return [r.title + " (" + r.sku + ")", stage, r.stage_started_at.slice(0, 16).replace("T", " "), r.sent, r.opened, pct(r.open_rate)];
        })
      );
    },
  };

  function draw(card, json) {
    var name = card.dataset.chart;
    card.querySelector(".dashboard-loading").hidden = true;
    var entry = (state.charts[name] = { json: json, chart: null });
    if (json.empty) {
      var empty = card.querySelector(".dashboard-empty");
      empty.textContent = json.empty_hint;
      empty.hidden = false;
      var box = card.querySelector(".dashboard-canvas, .dashboard-body");
      if (box) box.hidden = true;
      return;
    }
    if (tables[name]) {
      card.querySelector(".dashboard-body").appendChild(tables[name](json.data, card));
      return;
    }
    var config = builders[name](json.data, card);
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options);
    config.options.plugins = Object.assign({ title: { display: false }, legend: { position: "bottom" } }, config.options.plugins);
    entry.chart = new window.Chart(card.querySelector("canvas"), config);
  }

  function load(card) {
    fetch(card.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status + " " + r.statusText); return r.json(); })
      .then(function (json) { draw(card, json); })
      .catch(function (err) {
        card.querySelector(".dashboard-loading").textContent = "Could not load this chart (" + err.message + "). Reload the page to try again.";
      })
      .finally(function () { state.loaded += 1; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var cards = document.querySelectorAll("[data-chart]");
    state.total = cards.length;
    cards.forEach(load);
  });
})();
