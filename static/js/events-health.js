/*
 * The event health page, live: each events.health.changed.v1 the scheduler publishes to
 * operators redraws the figures. Ages (the oldest pending delivery, a silent heartbeat) are
 * counted here from the moments the snapshot names, so the server publishes only changes.
 * Screen readers hear changes of state only: a new dead letter, a worker cluster that
 * stopped or came back; never the figures that move all the time.
 */
(function () {
  "use strict";

  const root = document.querySelector("[data-event-health]");
  if (!root || !window.Live) return;
  const table = root.querySelector("[data-health]");
  const deliveriesUrl = root.dataset.deliveriesUrl;
  const field = (name) => root.querySelector(`[data-field="${name}"]`);
  let deadLetters = Number(field("dead-letters").textContent);
  let beating = null; // the beating clusters' names, once a snapshot arrived

  function age(since) {
    const seconds = Math.max(0, Math.floor((Date.now() - new Date(since)) / 1000));
    const minutes = Math.floor(seconds / 60);
    const hours = Math.floor(minutes / 60);
    if (hours) return `${hours} h ${minutes % 60} min`;
    if (minutes) return `${minutes} min ${seconds % 60} s`;
    return `${seconds} s`;
  }

  function moment(since) {
    return Live.el("time", { datetime: since }, age(since));
  }

  function tick() {
    root.querySelectorAll("time[datetime]").forEach((node) => {
      node.textContent = age(node.getAttribute("datetime"));
    });
  }

  function bar(className, width) {
    const fill = Live.el("span");
    fill.style.width = `${width}%`;
    return Live.el("div", { class: className }, fill);
  }

  function none(text) {
    return Live.el("span", { class: "muted" }, text);
  }

  function row(figures, slowest) {
    const link = new URL(deliveriesUrl, location.href);
    link.searchParams.set("handler", figures.handler);
    const rate = figures.success_rate === null
      ? none("no runs")
      : [bar("progress", figures.success_rate), `${figures.success_rate}%`];
    const p95 = figures.p95_ms === null
      ? none("–")
      : [bar("progress latency", Math.round((100 * figures.p95_ms) / slowest)), `${figures.p95_ms} ms`];
    return Live.el("tr", { dataset: { handler: figures.handler } },
      Live.el("td", {}, Live.el("a", { href: link.pathname + link.search }, figures.handler)),
      Live.el("td", { dataset: { label: "Succeeded" } }, figures.succeeded),
      Live.el("td", { dataset: { label: "Failed" } }, figures.failed),
      Live.el("td", { dataset: { label: "Dead" } }, figures.dead),
      Live.el("td", { dataset: { label: "Skipped" } }, figures.skipped),
      Live.el("td", { dataset: { label: "Success rate" } }, rate),
      Live.el("td", { dataset: { label: "p50" } }, figures.p50_ms === null ? none("–") : `${figures.p50_ms} ms`),
      Live.el("td", { dataset: { label: "p95" } }, p95),
    );
  }

  function drawHandlers(handlers) {
    const slowest = Math.max(0, ...handlers.map((figures) => figures.p95_ms || 0)) || 1;
    table.tBodies[0].replaceChildren(...handlers.map((figures) => row(figures, slowest)));
    table.closest(".table-wrap").hidden = handlers.length === 0;
    root.querySelector("p.empty").hidden = handlers.length > 0;
  }

  function drawHeartbeats(snapshot) {
    const items = [
      Live.el("li", {}, "Scheduler: ", snapshot.scheduler ? `${snapshot.scheduler}, beating` : "none running"),
    ];
    for (const cluster of snapshot.clusters) {
      const state = cluster.silent_since ? ["silent for ", moment(cluster.silent_since)] : "beating";
      items.push(Live.el("li", {}, `Workers ${cluster.name}: `, state));
    }
    if (!snapshot.clusters.length) items.push(Live.el("li", {}, "Workers: no cluster beating"));
    field("heartbeats").replaceChildren(...items);
  }

  function announceChanges(snapshot) {
    if (snapshot.dead_letters > deadLetters) {
      const added = snapshot.dead_letters - deadLetters;
      Live.announce(`${added} new dead letter${added === 1 ? "" : "s"}, ${snapshot.dead_letters} in all`);
    }
    deadLetters = snapshot.dead_letters;
    // A cluster that stops beating may also drop off the list (another one sweeps it out).
    const now = new Set(snapshot.clusters.filter((c) => !c.silent_since).map((c) => c.name));
    if (beating) {
      for (const name of beating) if (!now.has(name)) Live.announce(`Workers ${name} stopped beating`);
      for (const name of now) if (!beating.has(name)) Live.announce(`Workers ${name} beating`);
    }
    beating = now;
  }

  function draw(snapshot) {
    announceChanges(snapshot);
    const depth = snapshot.queue_depth;
    field("queue-depth").textContent = depth === null
      ? "Redis unreachable"
      : `${depth} task${depth === 1 ? "" : "s"} waiting`;
    field("dead-letters").textContent = String(snapshot.dead_letters);
    field("dead-letters-link").hidden = snapshot.dead_letters === 0;
    field("oldest-pending").replaceChildren(
      ...(snapshot.oldest_pending_since ? [moment(snapshot.oldest_pending_since), " old"] : ["None waiting"]),
    );
    drawHeartbeats(snapshot);
    drawHandlers(snapshot[table.dataset.window]);
  }

  Live.stream({
    onEvent(event) {
      if (event.type === "events.health.changed.v1" && event.data) draw(event.data);
    },
  });
  tick();
  setInterval(tick, 1000);
})();
