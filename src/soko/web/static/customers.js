// Draws the Customers page's cohort retention heat map and CLV histogram from the JSON the
// page embeds (figures computed on the server, so the page and the API agree).
(function () {
  "use strict";
  if (typeof Plotly === "undefined") {
    return;
  }
  var common = {
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { family: "inherit", size: 12 }
  };
  var options = { displayModeBar: false, responsive: true };

  function read(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  var cohorts = read("cohort-chart-data");
  var cohortTarget = document.getElementById("cohort-chart");
  if (cohorts && cohortTarget) {
    var labels = cohorts.cohorts.map(function (c, i) {
      return c + " (" + cohorts.sizes[i].toLocaleString() + ")";
    });
    var heat = {
      type: "heatmap",
      x: cohorts.months,
      y: labels,
      z: cohorts.z,
      zmin: 0,
      zmax: 50,
      colorscale: [[0, "#f4f7f9"], [0.2, "#b9d3e0"], [1, "#1f5673"]],
      hovertemplate: "%{y}<br>+%{x}: %{z:.1f}%<extra></extra>",
      colorbar: { title: { text: "%" }, thickness: 12 }
    };
    var heatLayout = Object.assign({}, common, {
      margin: { l: 110, r: 10, t: 10, b: 50 },
      height: Math.max(300, 22 * labels.length + 80),
      xaxis: { title: { text: cohorts.labels.months }, dtick: 1 },
      yaxis: { title: { text: cohorts.labels.cohort }, autorange: "reversed", automargin: true }
    });
    Plotly.newPlot(cohortTarget, [heat], heatLayout, options);
  }

  var clv = read("clv-chart-data");
  var clvTarget = document.getElementById("clv-chart");
  if (clv && clvTarget) {
    var last = clv.counts.length - 1;
    var names = clv.low.map(function (low, i) {
      var from = Math.round(low).toLocaleString();
      return i === last ? "≥ " + from : from + "–" + Math.round(clv.high[i]).toLocaleString();
    });
    var bars = {
      type: "bar",
      x: names,
      y: clv.counts,
      marker: { color: "#2f6f8f" },
      hovertemplate: "%{x}<br>%{y}<extra></extra>"
    };
    var barLayout = Object.assign({}, common, {
      margin: { l: 60, r: 10, t: 10, b: 90 },
      bargap: 0.05,
      xaxis: { title: { text: clv.labels.clv }, tickangle: -45, automargin: true },
      yaxis: { title: { text: clv.labels.customers }, rangemode: "tozero" }
    });
    Plotly.newPlot(clvTarget, [bars], barLayout, options);
  }
})();
