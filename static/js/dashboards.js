// Charts of the online quality page, drawn with the vendored Chart.js from the JSON the page
// carries beside each canvas (<script type="application/json">: data, never code). The same
// numbers are in the table under each chart and in its CSV download.
(function () {
  "use strict";
  const PALETTE = ["#2956d6", "#e07a10", "#1e8e5a", "#8e44ad", "#c0392b", "#16a0b5", "#7f8c8d", "#b7950b"];
  const color = (i, alpha) => {
    const hex = PALETTE[i % PALETTE.length];
    if (alpha === undefined) return hex;
    const n = parseInt(hex.slice(1), 16);
    return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
  };
  const percent = { callback: (v) => `${Math.round(v * 1000) / 10} %` };
  const xs = (series) => [...new Set(Object.values(series).flat().map((p) => p.x))].sort();
  const align = (labels, points, key) => {
    const byX = new Map(points.map((p) => [p.x, p[key]]));
    return labels.map((x) => (byX.has(x) ? byX.get(x) : null));
  };

  const builders = {
    rates(spec) {
      const labels = xs(spec.series);
      const datasets = [];
      Object.entries(spec.series).forEach(([version, points], i) => {
        datasets.push(
          { label: `${version} 95 % low`, data: align(labels, points, "lo"), borderWidth: 0, pointRadius: 0, fill: false },
          { label: `${version} 95 % interval`, data: align(labels, points, "hi"), borderWidth: 0, pointRadius: 0, backgroundColor: color(i, 0.15), fill: "-1" },
          { label: `${version} correction rate`, data: align(labels, points, "y"), borderColor: color(i), backgroundColor: color(i), tension: 0.2 },
          { label: `${version} complaint rate`, data: align(labels, points, "complaint"), borderColor: color(i), borderDash: [4, 4], pointRadius: 0 },
        );
      });
      return {
        type: "line",
        data: { labels, datasets },
        options: {
          spanGaps: true,
          scales: { y: { beginAtZero: true, ticks: percent } },
          plugins: { legend: { labels: { filter: (item) => !item.text.endsWith("low") } } },
        },
      };
    },
    offline(spec) {
      return {
        type: "bar",
        data: {
          labels: spec.labels,
          datasets: [
            { label: "offline accuracy (at release)", data: spec.offline, backgroundColor: color(6) },
            { label: "online proxy, all predictions", data: spec.online, backgroundColor: color(0) },
            { label: "online proxy, among feedback", data: spec.feedback, backgroundColor: color(1) },
          ],
        },
        options: { scales: { y: { beginAtZero: true, max: 1, ticks: percent } } },
      };
    },
    pairs(spec) {
      return {
        type: "bar",
        data: { labels: spec.labels, datasets: [{ label: "corrections", data: spec.values, backgroundColor: color(4) }] },
        options: { indexAxis: "y", plugins: { legend: { display: false } } },
      };
    },
    shares(spec) {
      return {
        type: "bar",
        data: {
          labels: spec.labels,
          datasets: spec.datasets.map((d, i) => ({ label: d.label, data: d.values, backgroundColor: color(i) })),
        },
        options: { scales: { x: { stacked: true }, y: { stacked: true, max: 1, ticks: percent } } },
      };
    },
    psi(spec) {
      const labels = xs(spec.series);
      const datasets = [];
      Object.entries(spec.series).forEach(([version, points], i) => {
        datasets.push(
          { label: `${version} labels`, data: align(labels, points, "labels"), borderColor: color(i), backgroundColor: color(i) },
          { label: `${version} confidence`, data: align(labels, points, "confidence"), borderColor: color(i), borderDash: [4, 4], backgroundColor: color(i) },
        );
      });
      spec.bands.forEach((value, i) => {
        datasets.push({
          label: i ? `significant (${value})` : `moderate (${value})`,
          data: labels.map(() => value),
          borderColor: i ? "#c0392b" : "#b7950b",
          borderWidth: 1,
          pointRadius: 0,
          borderDash: [2, 2],
        });
      });
      return { type: "line", data: { labels, datasets }, options: { spanGaps: true, scales: { y: { beginAtZero: true } } } };
    },
    reliability(spec) {
      const datasets = Object.entries(spec.series).map(([version, points], i) => ({
        label: `${version} correction rate`,
        data: points,
        borderColor: color(i),
        backgroundColor: color(i),
      }));
      datasets.push({
        label: "calibrated (1 − confidence)",
        data: [{ x: 0, y: 1 }, { x: 1, y: 0 }],
        borderColor: "#7f8c8d",
        borderDash: [4, 4],
        pointRadius: 0,
      });
      return {
        type: "line",
        data: { datasets },
        options: {
          scales: {
            x: { type: "linear", min: 0, max: 1, title: { display: true, text: "confidence" } },
            y: { beginAtZero: true, max: 1, ticks: percent },
          },
        },
      };
    },
    latency(spec) {
      const datasets = [
        { label: "p50 (ms)", data: spec.p50, backgroundColor: color(0) },
        { label: "p95 (ms)", data: spec.p95, backgroundColor: color(1) },
      ];
      if (spec.sla !== null && spec.sla !== undefined) {
        datasets.push({ type: "line", label: `SLA p95 (${spec.sla} ms)`, data: spec.labels.map(() => spec.sla), borderColor: "#c0392b", pointRadius: 0 });
      }
      return { type: "bar", data: { labels: spec.labels, datasets }, options: { scales: { y: { beginAtZero: true } } } };
    },
  };

  function draw() {
    if (!window.Chart) return;
    document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
      const source = document.getElementById(canvas.dataset.chart);
      if (!source) return;
      const spec = JSON.parse(source.textContent);
      const build = builders[spec.kind];
      if (!build) return;
      const config = build(spec);
      config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options);
      canvas.chart = new window.Chart(canvas, config);
      canvas.dataset.drawn = "true";
    });
  }

  document.addEventListener("DOMContentLoaded", draw);
})();
