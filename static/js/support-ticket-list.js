/*
 * A customer's ticket list: new tickets (on its first page, the newest) and status or priority
 * changes appear live and are announced to screen readers.
 */
(function () {
  "use strict";

  const table = document.querySelector("[data-ticket-list]");
  if (!table || !window.Live) return;
  const body = table.tBodies[0];
  const empty = body.querySelector("[data-empty]");
  // Labels as the models define them ({% support_choices %}).
  const CHOICES = JSON.parse(document.getElementById("support-choices").textContent);

  function label(field, value) {
    return CHOICES[field][value] || value;
  }

  function badge(field, value, className) {
    return Live.el("span", { class: `badge ${className} arrived`, dataset: { field, value } }, label(field, value));
  }

  function update(id, field, value, className) {
    const row = body.querySelector(`tr[data-ticket-id="${id}"]`);
    const old = row && row.querySelector(`[data-field="${field}"]`);
    if (!old || old.dataset.value === value) return;
    old.replaceWith(badge(field, value, className));
    Live.announce(`${row.querySelector(".col-ref").textContent} ${field}: ${label(field, value)}`);
  }

  function add(data) {
    if (!("newest" in table.dataset)) return;
    if (body.querySelector(`tr[data-ticket-id="${data.ticket_id}"]`)) return;
    const url = table.dataset.ticketUrl.replace(/\/0\/$/, `/${data.ticket_id}/`);
    const opened = new Date(data.created_at).toLocaleString("en-GB", {
      timeZone: "UTC", hour12: false,
      day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
    });
    body.prepend(Live.el("tr", { class: "arrived", dataset: { ticketId: String(data.ticket_id) } },
      Live.el("td", { class: "col-ref" }, data.reference),
      Live.el("td", { class: "subject" }, Live.el("a", { href: url }, data.subject)),
      Live.el("td", { class: "col-status" }, badge("status", data.status, "status-" + data.status)),
      Live.el("td", { class: "col-priority" }, badge("priority", data.priority, data.priority)),
      Live.el("td", { class: "col-time", dataset: { label: "Opened" } }, Live.el("time", { datetime: data.created_at }, opened)),
    ));
    empty.hidden = true;
    Live.announce(`New ticket ${data.reference}: ${data.subject}`);
  }

  Live.stream({
    onEvent(event) {
      const data = event.data || {};
      if (event.type === "support.ticket.created.v1") add(data);
      else if (event.type === "support.ticket.status_changed.v1") update(data.ticket_id, "status", data.status, "status-" + data.status);
      else if (event.type === "support.ticket.prioritized.v1") update(data.ticket_id, "priority", data.priority, data.priority);
    },
  });
})();
