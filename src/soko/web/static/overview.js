// Draws the overview's bar chart of revenue by channel from the JSON the page embeds.
(function () {
  "use strict";
  var source = document.getElementById("channel-chart-data");
  var target = document.getElementById("channel-chart");
  if (!source || !target || typeof Plotly === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var trace = {
    type: "bar",
    x: data.labels,
    y: data.values,
    text: data.text,
    textposition: "auto",
    hovertemplate: "%{x}<br>%{text}<extra></extra>",
    marker: { color: "#2f6f8f" }
  };
  var layout = {
    margin: { l: 70, r: 10, t: 10, b: 60 },
    yaxis: { title: { text: data.axis_title }, tickformat: ",d", rangemode: "tozero", automargin: true },
    xaxis: { automargin: true },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { family: "inherit", size: 12 }
  };
  Plotly.newPlot(target, [trace], layout, { displayModeBar: false, responsive: true });
})();
