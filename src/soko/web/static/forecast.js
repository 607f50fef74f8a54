// Draws one SKU's recent sales, estimated demand (out-of-stock days, spikes to review and days
// left out as one-offs marked) and its forecast with intervals, from the JSON the Forecast
// page embeds.
(function () {
  "use strict";
  var node = document.getElementById("forecast-chart-data");
  var target = document.getElementById("forecast-chart");
  if (typeof Plotly === "undefined" || !node || !target) {
    return;
  }
  var d = JSON.parse(node.textContent);
  var traces = [];
  if (d.history) {
    traces.push({ x: d.history.ds, y: d.history.sales, type: "bar", name: d.labels.sales,
      marker: { color: "#9fb8c8" } });
    traces.push({ x: d.history.ds, y: d.history.estimate, type: "scatter", mode: "lines",
      name: d.labels.estimate, line: { color: "#1f5673", width: 1 } });
    var outX = [], outY = [];
    d.history.censored.forEach(function (c, i) {
      if (c) { outX.push(d.history.ds[i]); outY.push(d.history.estimate[i]); }
    });
    traces.push({ x: outX, y: outY, type: "scatter", mode: "markers", name: d.labels.censored,
      marker: { color: "#c0392b", symbol: "x", size: 7 } });
    // Spikes sit on the day's sales: the bar the planner is asked about.
    [["review", "#8e44ad", "diamond-open"], ["left_out", "#555555", "circle-open"]].forEach(
      function (kind) {
        var xs = [], ys = [];
        d.history[kind[0]].forEach(function (on, i) {
          if (on) { xs.push(d.history.ds[i]); ys.push(d.history.sales[i]); }
        });
        if (xs.length) {
          traces.push({ x: xs, y: ys, type: "scatter", mode: "markers", name: d.labels[kind[0]],
            marker: { color: kind[1], symbol: kind[2], size: 11, line: { width: 2 } } });
        }
      });
  }
  traces.push({ x: d.ds, y: d.q90, type: "scatter", mode: "lines", line: { width: 0 },
    showlegend: false, hoverinfo: "skip" });
  traces.push({ x: d.ds, y: d.q10, type: "scatter", mode: "lines", line: { width: 0 },
    fill: "tonexty", fillcolor: "rgba(230,126,34,0.25)", name: d.labels.band80 });
  traces.push({ x: d.ds, y: d.q95, type: "scatter", mode: "lines", name: d.labels.band90,
    line: { color: "#e67e22", width: 1, dash: "dot" } });
  traces.push({ x: d.ds, y: d.mean, type: "scatter", mode: "lines", name: d.labels.mean,
    line: { color: "#e67e22", width: 2 } });
  Plotly.newPlot(target, traces, {
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
    font: { family: "inherit", size: 12 }, height: 360,
    margin: { l: 40, r: 10, t: 10, b: 40 }, legend: { orientation: "h" }, bargap: 0.1
  }, { displayModeBar: false, responsive: true });
})();
