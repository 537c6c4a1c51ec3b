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
  // The chart's words in the reader's language (the page puts them in spec.text), with
  // {version}, {value} and {sla} filled in; the English fallback when a word is missing.
  const say = (spec, key, fallback, vars) =>
    Object.entries(vars || {}).reduce(
      (text, [name, value]) => text.replaceAll(`{${name}}`, value),
      (spec.text && spec.text[key]) || fallback,
    );
  const BAND_COLOR = { moderate: "#b7950b", significant: "#c0392b" };
  const align = (labels, points, key) => {
    const byX = new Map(points.map((p) => [p.x, p[key]]));
    return labels.map((x) => (byX.has(x) ? byX.get(x) : null));
  };

  const builders = {
    rates(spec) {
      const labels = xs(spec.series);
      const datasets = [];
      Object.entries(spec.series).forEach(([version, points], i) => {
        // A bucket the period holds only part of: a hollow point on a dashed line.
        const partial = align(labels, points, "partial");
        const hollow = (ctx) => (partial[ctx.dataIndex] ? "#fff" : color(i));
        const dashed = { borderDash: (ctx) => (partial[ctx.p1DataIndex] ? [3, 3] : undefined) };
        datasets.push(
          { label: say(spec, "low", `${version} 95% CI, low`, { version }), data: align(labels, points, "lo"), borderWidth: 0, pointRadius: 0, fill: false },
          { label: say(spec, "interval", `${version} 95% CI`, { version }), data: align(labels, points, "hi"), borderWidth: 0, pointRadius: 0, backgroundColor: color(i, 0.15), fill: "-1" },
          { label: say(spec, "correction", `${version} correction rate`, { version }), data: align(labels, points, "y"), borderColor: color(i), backgroundColor: color(i), pointBackgroundColor: hollow, segment: dashed, tension: 0.2 },
          { label: say(spec, "complaint", `${version} complaint rate`, { version }), data: align(labels, points, "complaint"), borderColor: color(i), borderDash: [4, 4], pointRadius: 0 },
        );
      });
      const lows = new Set(Object.keys(spec.series).map((version) => say(spec, "low", `${version} 95% CI, low`, { version })));
      return {
        type: "line",
        data: { labels, datasets },
        options: {
          spanGaps: true,
          scales: { y: { beginAtZero: true, ticks: percent } },
          plugins: { legend: { labels: { filter: (item) => !lows.has(item.text) } } },
        },
      };
    },
    offline(spec) {
      return {
        type: "bar",
        data: {
          labels: spec.labels,
          datasets: [
            { label: say(spec, "offline", "offline accuracy (at release)"), data: spec.offline, backgroundColor: color(6) },
            { label: say(spec, "online", "online proxy, all predictions"), data: spec.online, backgroundColor: color(0) },
            { label: say(spec, "feedback", "online proxy, among feedback"), data: spec.feedback, backgroundColor: color(1) },
          ],
        },
        options: { scales: { y: { beginAtZero: true, max: 1, ticks: percent } } },
      };
    },
    pairs(spec) {
      return {
        type: "bar",
        data: { labels: spec.labels, datasets: [{ label: say(spec, "corrections", "corrections"), data: spec.values, backgroundColor: color(4) }] },
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
      // A point is coloured by its band only when the change is beyond noise.
      const pointColor = (bands, i) => (ctx) => BAND_COLOR[bands[ctx.dataIndex]] || color(i, 0.35);
      const pointSize = (bands) => (ctx) => (BAND_COLOR[bands[ctx.dataIndex]] ? 5 : 2);
      Object.entries(spec.series).forEach(([version, points], i) => {
        const labelBands = align(labels, points, "labels_band");
        const confidenceBands = align(labels, points, "confidence_band");
        datasets.push(
          { label: say(spec, "labels", `${version} labels`, { version }), data: align(labels, points, "labels"), borderColor: color(i), backgroundColor: color(i), pointBackgroundColor: pointColor(labelBands, i), pointRadius: pointSize(labelBands) },
          { label: say(spec, "confidence", `${version} confidence`, { version }), data: align(labels, points, "confidence"), borderColor: color(i), borderDash: [4, 4], backgroundColor: color(i), pointBackgroundColor: pointColor(confidenceBands, i), pointRadius: pointSize(confidenceBands) },
        );
      });
      // Legend entries for the two colours (no line of their own).
      ["moderate", "significant"].forEach((band) => {
        datasets.push({ label: say(spec, band, `${band} change`), data: [], borderColor: BAND_COLOR[band], backgroundColor: BAND_COLOR[band] });
      });
      return { type: "line", data: { labels, datasets }, options: { spanGaps: true, scales: { y: { beginAtZero: true } } } };
    },
    reliability(spec) {
      const datasets = Object.entries(spec.series).map(([version, points], i) => ({
        label: say(spec, "correction", `${version} correction rate`, { version }),
        data: points,
        borderColor: color(i),
        backgroundColor: color(i),
      }));
      datasets.push({
        label: say(spec, "calibrated", "calibrated (1 − confidence)"),
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
            x: { type: "linear", min: 0, max: 1, title: { display: true, text: say(spec, "x", "confidence") } },
            y: { beginAtZero: true, max: 1, ticks: percent },
          },
        },
      };
    },
    latency(spec) {
      const labels = xs(spec.series);
      const datasets = [];
      Object.entries(spec.series).forEach(([version, points], i) => {
        const partial = align(labels, points, "partial");
        const hollow = (ctx) => (partial[ctx.dataIndex] ? "#fff" : color(i));
        datasets.push(
          { label: say(spec, "p50", `${version} p50 (ms)`, { version }), data: align(labels, points, "p50"), borderColor: color(i), backgroundColor: color(i), pointBackgroundColor: hollow },
          { label: say(spec, "p95", `${version} p95 (ms)`, { version }), data: align(labels, points, "p95"), borderColor: color(i), borderDash: [4, 4], backgroundColor: color(i), pointBackgroundColor: hollow },
        );
      });
      if (spec.sla !== null && spec.sla !== undefined) {
        datasets.push({ label: say(spec, "sla", `SLA p95 (${spec.sla} ms)`, { sla: spec.sla }), data: labels.map(() => spec.sla), borderColor: "#c0392b", borderWidth: 1, pointRadius: 0 });
      }
      return { type: "line", data: { labels, datasets }, options: { spanGaps: true, scales: { y: { beginAtZero: true } } } };
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
