/*
 * Small inline-SVG charts for the instructor dashboard: a bar chart and a funnel.
 * Drawn to the container's size, which CSS fixes, so a redraw never shifts the page.
 */
(function () {
  "use strict";

  const SVG = "http://www.w3.org/2000/svg";
  const DAY_LABEL_WIDTH = 48; // px, "28 Nov" at 11 px and a gap
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  function svgEl(tag, attributes = {}, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function canvas(container, label) {
    const width = Math.max(container.clientWidth, 240);
    const height = Math.max(container.clientHeight, 160);
    const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label });
    svg.append(svgEl("title", {}, label));
    container.replaceChildren(svg);
    return { svg, width, height };
  }

  function dayLabel(iso) {
    const [, month, day] = iso.split("-").map(Number);
    return `${day} ${MONTHS[month - 1]}`;
  }

  /* points: [{day: "2026-11-26", value: 3}], oldest first; the last one is today. */
  function bars(container, points) {
    const total = points.reduce((sum, p) => sum + p.value, 0);
    // The text alternative carries the numbers: every day that had any.
    const days = points.filter((p) => p.value).map((p) => `${dayLabel(p.day)}: ${p.value}`);
    const label = `Enrollments per day: ${total} in ${points.length} days` + (days.length ? ` (${days.join(", ")})` : "");
    const { svg, width, height } = canvas(container, label);
    const top = 18;
    const bottom = 22;
    const plot = height - top - bottom;
    const max = Math.max(1, ...points.map((p) => p.value));
    const slot = width / points.length;
    const barWidth = Math.max(4, slot * 0.62);
    // Day labels, counted back from today, as often as they fit side by side (a phone: fewer).
    const labelEvery = Math.max(2, Math.ceil(DAY_LABEL_WIDTH / slot));
    svg.append(svgEl("line", { class: "axis", x1: 0, x2: width, y1: top + plot + 0.5, y2: top + plot + 0.5 }));
    points.forEach((point, index) => {
      const x = index * slot + (slot - barWidth) / 2;
      const barHeight = point.value ? Math.max(2, (plot * point.value) / max) : 0;
      const y = top + plot - barHeight;
      const bar = svgEl("rect", {
        class: index === points.length - 1 ? "bar today" : "bar",
        x, y, width: barWidth, height: barHeight, rx: 2,
        "data-day": point.day, "data-value": point.value,
      });
      bar.append(svgEl("title", {}, `${dayLabel(point.day)}: ${point.value}`));
      svg.append(bar);
      if (point.value) {
        svg.append(svgEl("text", { class: "value", x: x + barWidth / 2, y: y - 4, "text-anchor": "middle" }, point.value));
      }
      if ((points.length - 1 - index) % labelEvery === 0) {
        svg.append(svgEl("text", { x: x + barWidth / 2, y: height - 6, "text-anchor": "middle" }, dayLabel(point.day)));
      }
    });
  }

  /* stages: [{label: "Enrolled", value: 10}, ...]; each is a share of the first. */
  function funnel(container, stages) {
    const summary = stages.map((s) => `${s.label} ${s.value}`).join(", ");
    const { svg, width, height } = canvas(container, `Completion funnel: ${summary}`);
    const labelWidth = 82;
    const valueWidth = 78;
    const track = width - labelWidth - valueWidth;
    const rowHeight = height / stages.length;
    const barHeight = Math.min(34, rowHeight * 0.6);
    const base = stages[0].value;
    stages.forEach((stage, index) => {
      const y = index * rowHeight + (rowHeight - barHeight) / 2;
      const share = base ? stage.value / base : 0;
      svg.append(svgEl("text", { x: 0, y: y + barHeight / 2 + 4 }, stage.label));
      svg.append(svgEl("rect", { class: "track", x: labelWidth, y, width: track, height: barHeight, rx: 4 }));
      const bar = svgEl("rect", {
        class: `stage-${index}`, x: labelWidth, y, width: Math.max(0, track * share), height: barHeight, rx: 4,
        "data-stage": stage.label.toLowerCase(), "data-value": stage.value,
      });
      svg.append(bar);
      const percent = base ? ` (${Math.round(share * 100)}%)` : "";
      svg.append(svgEl("text", { class: "value", x: width, y: y + barHeight / 2 + 4, "text-anchor": "end" }, `${stage.value}${percent}`));
    });
  }

  window.TrainingCharts = { bars, funnel };
})();
