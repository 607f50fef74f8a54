// Draws the Suppliers page's box plot of measured lead times from the JSON the page embeds.
(function () {
  "use strict";
  var source = document.getElementById("lead-time-chart-data");
  var target = document.getElementById("lead-time-chart");
  if (!source || !target || typeof Plotly === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var traces = data.series.map(function (s) {
    return {
      type: "box",
      name: s.name,
      x: s.days,
      boxpoints: "outliers",
      marker: { color: "#2f6f8f" },
      hovertemplate: s.name + ": %{x}<extra></extra>"
    };
  });
  var promised = data.series.filter(function (s) { return s.promised !== null; });
  traces.push({
    type: "scatter",
    mode: "markers",
    name: data.promised_label,
    x: promised.map(function (s) { return s.promised; }),
    y: promised.map(function (s) { return s.name; }),
    marker: { symbol: "diamond", size: 10, color: "#c05621" },
    hovertemplate: data.promised_label + ": %{x}<extra></extra>"
  });
  var layout = {
    margin: { l: 80, r: 10, t: 10, b: 50 },
    xaxis: { title: { text: data.axis_title }, rangemode: "tozero", automargin: true },
    yaxis: { automargin: true, autorange: "reversed" },
    showlegend: false,
    height: Math.max(260, 40 * data.series.length + 80),
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { family: "inherit", size: 12 }
  };
  Plotly.newPlot(target, traces, layout, { displayModeBar: false, responsive: true });
})();
