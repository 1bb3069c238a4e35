/*
 * The agents' live queue: new tickets appear, priority changes re-sort, assignments and
 * status update, the first-response countdown ticks, breached tickets are highlighted.
 * On a phone the same rows are drawn as cards (CSS); arrivals, new priorities and breaches
 * are announced to screen readers.
 */
(function () {
  "use strict";

  const table = document.querySelector("[data-queue]");
  if (!table || !window.Live) return;
  const rows = table.querySelector("[data-queue-rows]");
  const empty = rows.querySelector("[data-empty]");
  const view = table.dataset.view;
  const userId = Number(table.dataset.userId);
  // Labels, ranks and active statuses as the models define them ({% support_choices %}).
  const CHOICES = JSON.parse(document.getElementById("support-choices").textContent);
  const ACTIVE = new Set(CHOICES.active);

  function urlFor(template, id) {
    return template.replace(/\/0\/$/, `/${id}/`);
  }

  function reference(row) {
    return row.querySelector(".col-ref").textContent;
  }

  function rowOf(id) {
    return rows.querySelector(`tr[data-ticket-id="${id}"]`);
  }

  function duration(seconds) {
    const minutes = Math.floor(Math.abs(seconds) / 60);
    const days = Math.floor(minutes / 1440);
    const hours = Math.floor((minutes % 1440) / 60);
    if (days) return `${days} d ${hours} h`;
    if (hours) return `${hours} h ${minutes % 60} min`;
    return `${minutes} min`;
  }

  function renderSla(row) {
    const cell = row.querySelector('[data-field="sla"]');
    if (row.dataset.responded) {
      cell.replaceChildren(Live.el("span", { class: "sla-met" }, "Answered"));
      return;
    }
    if (!row.dataset.due) {
      cell.replaceChildren(Live.el("span", { class: "muted" }, "Prioritising…"));
      return;
    }
    const left = (new Date(row.dataset.due) - Date.now()) / 1000;
    const text = left >= 0 ? `in ${duration(left)}` : `overdue ${duration(left)}`;
    const parts = [];
    if (row.classList.contains("breached")) parts.push(Live.el("span", { class: "sla-breached" }, "Breached"), " ");
    parts.push(Live.el("span", { class: left >= 0 && left < 3600 ? "sla-soon" : "" }, text));
    cell.replaceChildren(...parts);
  }

  function sortKey(row) {
    return [Number(row.dataset.rank), row.dataset.due || "9999", row.dataset.created];
  }

  function compare(a, b) {
    const ka = sortKey(a), kb = sortKey(b);
    for (let i = 0; i < ka.length; i++) {
      if (ka[i] < kb[i]) return -1;
      if (ka[i] > kb[i]) return 1;
    }
    return 0;
  }

  function place(row) {
    // Insert (or move) the row at its place in priority, due-time, age order.
    const others = [...rows.querySelectorAll("tr[data-ticket-id]")].filter((r) => r !== row);
    const before = others.find((other) => compare(row, other) < 0) || empty;
    if (row.nextElementSibling !== before) rows.insertBefore(row, before);
    empty.hidden = true;
  }

  function remove(row) {
    row.classList.add("leaving");
    setTimeout(() => {
      row.remove();
      empty.hidden = rows.querySelector("tr[data-ticket-id]") !== null;
    }, 600);
  }

  function badge(field, value, className) {
    return Live.el("span", { class: `badge ${className} arrived`, dataset: { field, value } }, CHOICES[field][value] || value);
  }

  function assigneeContent(name) {
    return name ? name : Live.el("span", { class: "muted" }, "Unassigned");
  }

  function addRow(data) {
    // A new ticket is unassigned: it belongs in every view but "assigned to me".
    if (rowOf(data.ticket_id) || view === "mine") return;
    place(buildRow(data));
    Live.announce(`New ticket ${data.reference}: ${data.subject}`);
  }

  function qualifies(ticket) {
    if (view === "all") return true;
    return ACTIVE.has(ticket.status) && (view !== "mine" || ticket.assignee === userId);
  }

  async function loadRow(ticketId) {
    // An event about a ticket this view does not show yet (assigned to me, reopened).
    const response = await fetch(urlFor(table.dataset.ticketApiUrl, ticketId), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!response.ok) return;
    const ticket = await response.json();
    if (rowOf(ticket.id) || !qualifies(ticket)) return;
    const row = buildRow({ ...ticket, ticket_id: ticket.id });
    row.dataset.due = ticket.sla_due_at || "";
    row.dataset.responded = ticket.first_responded_at ? "1" : "";
    if (ticket.sla_breached_at && !ticket.first_responded_at) row.classList.add("breached");
    row.querySelector('[data-field="assignee"]').replaceChildren(assigneeContent(ticket.assignee_name));
    renderSla(row);
    place(row);
  }

  function buildRow(data) {
    const row = Live.el("tr", {
      class: "arrived",
      dataset: { ticketId: String(data.ticket_id), rank: String(CHOICES.rank[data.priority]), due: "", created: data.created_at, responded: "" },
    },
      Live.el("td", { class: "col-ref" }, data.reference),
      Live.el("td", { class: "subject" }, Live.el("a", { href: urlFor(table.dataset.ticketUrl, data.ticket_id) }, data.subject)),
      Live.el("td", { class: "col-customer", dataset: { label: "Customer" } }, data.customer_name),
      // Events published before tickets recorded their channel carry none.
      Live.el("td", { class: "col-channel", dataset: { label: "Channel", field: "channel", value: data.channel || "" } },
        data.channel ? CHOICES.channel[data.channel] || data.channel : ""),
      Live.el("td", { class: "col-priority" }, badge("priority", data.priority, data.priority)),
      Live.el("td", { class: "col-status" }, badge("status", data.status, "status-" + data.status)),
      Live.el("td", { class: "col-assignee", dataset: { label: "Assignee", field: "assignee" } }, assigneeContent("")),
      Live.el("td", { class: "col-sla", dataset: { label: "First response", field: "sla" } }),
    );
    renderSla(row);
    return row;
  }

  function replaceBadge(row, field, value, className) {
    const old = row.querySelector(`[data-field="${field}"]`);
    if (old) old.replaceWith(badge(field, value, className));
  }

  const apply = {
    "support.ticket.created.v1": addRow,
    "support.ticket.prioritized.v1": (data, row) => {
      if (!row) {
        // Pushed by another process, it may overtake the ticket's own arrival.
        if (view !== "mine") loadRow(data.ticket_id);
        return;
      }
      if (row.querySelector('[data-field="priority"]').dataset.value !== data.priority) {
        Live.announce(`${reference(row)} is now ${CHOICES.priority[data.priority]} priority`);
      }
      row.dataset.rank = String(CHOICES.rank[data.priority]);
      row.dataset.due = data.sla_due_at || "";
      replaceBadge(row, "priority", data.priority, data.priority);
      renderSla(row);
      place(row);
    },
    "support.ticket.status_changed.v1": (data, row) => {
      if (!row) {
        if (ACTIVE.has(data.status)) loadRow(data.ticket_id);
        return;
      }
      replaceBadge(row, "status", data.status, "status-" + data.status);
      if (view !== "all" && !ACTIVE.has(data.status)) remove(row);
    },
    "support.ticket.assigned.v1": (data, row) => {
      if (!row) {
        if (view === "mine" && data.assignee_id === userId) loadRow(data.ticket_id);
        return;
      }
      const cell = row.querySelector('[data-field="assignee"]');
      cell.replaceChildren(assigneeContent(data.assignee_name));
      cell.classList.add("arrived");
      if (view === "mine" && data.assignee_id !== userId) remove(row);
    },
    "support.ticket.message_posted.v1": (data, row) => {
      if (!row || !data.from_agent) return;
      row.dataset.responded = "1";
      row.classList.remove("breached");
      renderSla(row);
    },
    "support.ticket.sla_breached.v1": (data, row) => {
      if (!row || row.dataset.responded) return;
      row.classList.add("breached", "arrived");
      renderSla(row);
      Live.announce(`First response overdue on ${reference(row)}`);
    },
  };

  Live.stream({
    onEvent(event) {
      const handler = apply[event.type];
      if (!handler || !event.data) return;
      const row = rowOf(event.data.ticket_id);
      if (event.type === "support.ticket.created.v1") handler(event.data);
      else handler(event.data, row);
    },
  });

  // The countdown: the server painted it; keep it true as time passes.
  setInterval(() => rows.querySelectorAll("tr[data-ticket-id]").forEach(renderSla), 30000);
  rows.querySelectorAll("tr[data-ticket-id]").forEach(renderSla);
})();
