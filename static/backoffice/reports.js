// The reports page's chart: revenue, upstream cost, margin and refunds of activations and the
// rentals' net revenue per period (Chart.js, vendored). A file, not an inline script, so a
// Content-Security-Policy of 'self' allows it.
(function () {
  const source = document.getElementById("bo-chart-data");
  const canvas = document.getElementById("bo-chart");
  if (!source || !canvas || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const line = (label, values, color) => ({
    label, data: values.map(Number), borderColor: color, backgroundColor: color,
    cubicInterpolationMode: "monotone",  // no curve above or below the figures
  });
  new Chart(canvas, {
    type: "line",
    // The container sets the height: a phone-wide chart stays readable.
    options: { maintainAspectRatio: false },
    data: {
      labels: data.labels,
      datasets: [
        line("Revenue", data.revenue, "#2b6cb0"),
        line("Upstream cost", data.cost, "#c05621"),
        line("Margin", data.margin, "#2f855a"),
        line("Refunded", data.refunded, "#c53030"),
        line("Rentals (net)", data.rentals, "#6b46c1"),
      ],
    },
  });
})();
