// The battle admin's live page: polls live.json every 2 s and redraws the standings table, the equity chart (one
// line per participant, Chart.js) and each participant's trades. On the results page (data-once) it draws once.
(function () {
  "use strict";
  const root = document.getElementById("content-main");
  const url = root && root.dataset.liveUrl;
  if (!url) return;
  const once = root.dataset.once === "1";
  const colors = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d"];
  let chart = null;

  function cell(text) { const td = document.createElement("td"); td.textContent = text == null ? "—" : text; return td; }

  function drawTable(data) {
    const body = document.querySelector("#standings tbody");
    if (!body) return;
    body.replaceChildren(...data.standings.map((r) => {
      const tr = document.createElement("tr");
      tr.dataset.agent = r.agent_id;
      [r.rank, r.agent_name + (r.status === "eliminated" ? " (eliminated)" : ""), r.equity, r.roi_pct, r.total_pnl,
       r.sharpe_ratio, r.max_drawdown_pct, r.win_rate, r.profit_factor, r.total_trades, r.value]
        .forEach((v) => tr.appendChild(cell(v)));
      return tr;
    }));
    const status = document.getElementById("battle-status");
    if (status) status.textContent = data.status;
    const asOf = document.getElementById("as-of");
    if (asOf) asOf.textContent = data.as_of ? "round " + data.round + " at " + data.as_of : "";
    const el = document.getElementById("elapsed");
    if (el) el.textContent = data.elapsed_seconds;
    const rem = document.getElementById("remaining");
    if (rem) rem.textContent = data.remaining_seconds == null ? "no limit" : data.remaining_seconds + " s";
  }

  function drawChart(data) {
    const canvas = document.getElementById("equity-chart");
    if (!canvas || !window.Chart) return;
    const datasets = data.series.map((s, i) => ({
      label: s.agent_name, data: s.points.map((p) => ({ x: p[0], y: Number(p[1]) })),
      borderColor: colors[i % colors.length], backgroundColor: colors[i % colors.length], pointRadius: 0,
      borderWidth: 2, tension: 0,
    }));
    if (chart) {
      chart.data.datasets = datasets;
      chart.update("none");
    } else {
      chart = new window.Chart(canvas, {
        type: "line", data: { datasets },
        options: { animation: false, maintainAspectRatio: false, parsing: false,
                   scales: { x: { type: "linear", title: { display: true, text: "seconds since start" } },
                             y: { title: { display: true, text: "equity (USDT)" } } } },
      });
      window.battleChart = chart; // for the browser tests
    }
  }

  function drawTrades(data) {
    const box = document.getElementById("trades");
    if (!box) return;
    const names = Object.fromEntries(data.standings.map((r) => [r.agent_id, r.agent_name]));
    box.replaceChildren(...Object.entries(data.trades).map(([agent, fills]) => {
      const table = document.createElement("table");
      table.className = "participant-trades";
      table.dataset.agent = agent;
      const cap = table.createCaption();
      cap.textContent = (names[agent] || agent) + " — " + fills.length + " fill(s)";
      fills.forEach((f) => {
        const tr = table.insertRow();
        [f.created_at.slice(11, 19), f.side, f.symbol, f.quantity, f.price, f.realized_pnl]
          .forEach((v) => tr.appendChild(cell(v)));
      });
      return table;
    }));
  }

  async function poll() {
    try {
      const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (r.ok) {
        const data = await r.json();
        drawTable(data);
        drawChart(data);
        drawTrades(data);
        window.battleLive = data; // for the browser tests
      }
    } catch (e) { /* try again at the next tick */ }
    if (!once) setTimeout(poll, 2000);
  }
  poll();
})();
