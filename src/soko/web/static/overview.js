// Soko's chart look, shared by its pages (window.SokoCharts), and the overview's charts:
// revenue by channel as bars, and a sparkline under each headline figure.
(function () {
  "use strict";
  var ACCENT = "#2f6f8f";
  var look = {
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { family: "inherit", size: 12, color: "#1d2a33" }
  };
  var options = { displayModeBar: false, responsive: true };

  function layout(extra) {
    return Object.assign({}, look, extra);
  }

  function bars(target, data) {
    var trace = {
      type: "bar",
      x: data.labels,
      y: data.values,
      text: data.text,
      textposition: "auto",
      hovertemplate: "%{x}<br>%{text}<extra></extra>",
      marker: { color: ACCENT }
    };
    Plotly.newPlot(target, [trace], layout({
      margin: { l: 70, r: 10, t: 10, b: 60 },
      yaxis: { title: { text: data.axis_title }, tickformat: ",d", rangemode: "tozero", automargin: true },
      xaxis: { automargin: true }
    }), options);
  }

  // A small trend line without axes; hovering a point shows its week and formatted value.
  function sparkline(target, data) {
    var trace = {
      type: "scatter",
      mode: "lines",
      x: data.labels,
      y: data.values,
      text: data.text,
      line: { color: ACCENT, width: 2, shape: "spline", smoothing: 0.6 },
      fill: "tozeroy",
      fillcolor: "rgba(47,111,143,0.10)",
      hovertemplate: "%{x}<br>%{text}<extra></extra>",
      connectgaps: false
    };
    Plotly.newPlot(target, [trace], layout({
      margin: { l: 0, r: 0, t: 2, b: 0 },
      height: 40,
      xaxis: { visible: false, fixedrange: true },
      yaxis: { visible: false, fixedrange: true, rangemode: "tozero" },
      showlegend: false
    }), { displayModeBar: false, responsive: true, staticPlot: false });
  }

  window.SokoCharts = { look: look, options: options, bars: bars, sparkline: sparkline };

  if (typeof Plotly === "undefined") {
    return;
  }
  var source = document.getElementById("channel-chart-data");
  var target = document.getElementById("channel-chart");
  if (source && target) {
    bars(target, JSON.parse(source.textContent));
  }
  document.querySelectorAll("script[type='application/json'][data-sparkline]").forEach(function (node) {
    var spot = document.getElementById(node.dataset.sparkline);
    if (spot) {
      sparkline(spot, JSON.parse(node.textContent));
    }
  });
})();
