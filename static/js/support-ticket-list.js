/* A customer's ticket list: new tickets and status or priority changes appear live. */
(function () {
  "use strict";

  const table = document.querySelector("[data-ticket-list]");
  if (!table || !window.Live) return;
  const body = table.tBodies[0];
  const empty = body.querySelector("[data-empty]");
  const LABELS = {
    open: "Open", pending: "Pending", resolved: "Resolved", closed: "Closed",
    urgent: "Urgent", high: "High", normal: "Normal", low: "Low",
  };

  function badge(field, value, className) {
    return Live.el("span", { class: `badge ${className} arrived`, dataset: { field, value } }, LABELS[value] || value);
  }

  function update(id, field, value, className) {
    const old = body.querySelector(`tr[data-ticket-id="${id}"] [data-field="${field}"]`);
    if (old) old.replaceWith(badge(field, value, className));
  }

  function add(data) {
    if (body.querySelector(`tr[data-ticket-id="${data.ticket_id}"]`)) return;
    const url = table.dataset.ticketUrl.replace(/\/0\/$/, `/${data.ticket_id}/`);
    const opened = new Date(data.created_at).toLocaleString("en-GB", {
      timeZone: "UTC", hour12: false,
      day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
    });
    body.prepend(Live.el("tr", { class: "arrived", dataset: { ticketId: String(data.ticket_id) } },
      Live.el("td", { class: "col-ref" }, Live.el("a", { href: url }, data.reference)),
      Live.el("td", { class: "subject" }, Live.el("a", { href: url }, data.subject)),
      Live.el("td", {}, badge("status", data.status, "status-" + data.status)),
      Live.el("td", {}, badge("priority", data.priority, data.priority)),
      Live.el("td", { class: "col-time" }, Live.el("time", { datetime: data.created_at }, opened)),
    ));
    empty.hidden = true;
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
