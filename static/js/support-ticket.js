/*
 * A ticket page (customer or agent): new messages, status, priority, assignee and SLA
 * changes appear as they happen and are announced to screen readers. Text from users is
 * always inserted as text.
 */
(function () {
  "use strict";

  const page = document.querySelector("[data-ticket]");
  if (!page || !window.Live) return;
  const ticketId = Number(page.dataset.ticketId);
  // Labels as the models define them ({% support_choices %}).
  const CHOICES = JSON.parse(document.getElementById("support-choices").textContent);
  const FIELDS = { status: "Status", priority: "Priority" };

  function formatTime(iso) {
    return new Date(iso).toLocaleString("en-GB", {
      timeZone: "UTC", hour12: false,
      day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
    });
  }

  function setBadge(field, value, classFor) {
    const label = CHOICES[field][value] || value;
    const current = page.querySelector(`[data-field="${field}"]`);
    if (current && current.dataset.value !== value) Live.announce(`${FIELDS[field]}: ${label}`);
    page.querySelectorAll(`[data-field="${field}"]`).forEach((badge) => {
      badge.className = "badge " + classFor(value);
      badge.dataset.value = value;
      badge.textContent = label;
      badge.classList.add("arrived");
    });
    const control = page.querySelector(`[data-control="${field}"]`);
    if (control) control.value = value;
  }

  function channelLabel(channel) {
    return CHOICES.channel[channel] || channel;
  }

  // A message's files are stored after the message itself, so the event that announces it
  // cannot list them: the page, rendered again by the server, can. Only mail brings files.
  async function loadAttachments(messageId) {
    const response = await fetch(location.pathname, {
      headers: { Accept: "text/html" },
      credentials: "same-origin",
    });
    if (!response.ok) return;
    const rendered = new DOMParser().parseFromString(await response.text(), "text/html");
    const files = rendered.querySelector(`[data-message-id="${messageId}"] [data-attachments]`);
    const message = page.querySelector(`[data-message-id="${messageId}"]`);
    if (!files || !message || message.querySelector("[data-attachments]")) return;
    message.append(document.importNode(files, true));
  }

  function addMessage(data, internal) {
    const list = page.querySelector("[data-messages]");
    if (!list || list.querySelector(`[data-message-id="${data.message_id}"]`)) return;
    const classes = ["message", "arrived"];
    if (internal) classes.push("internal");
    else if (data.from_agent) classes.push("from-agent");
    const tag = internal
      ? Live.el("span", { class: "badge" }, "Internal note")
      : data.from_agent ? Live.el("span", { class: "badge normal" }, "Support") : null;
    // Events published before messages recorded their channel carry none.
    const channel = data.channel
      ? Live.el("span", { class: "channel", dataset: { channel: data.channel } }, "via " + channelLabel(data.channel))
      : null;
    const message = Live.el(
      "article",
      { class: classes.join(" "), dataset: { messageId: String(data.message_id) } },
      Live.el("div", { class: "meta" },
        Live.el("strong", {}, data.author_name), tag, channel,
        Live.el("time", { datetime: data.created_at }, formatTime(data.created_at))),
      Live.el("div", { class: "pre" }, data.body),
    );
    const empty = list.querySelector("[data-empty]");
    if (empty) empty.hidden = true;
    list.insertBefore(message, empty);
    const kind = internal ? "Internal note" : data.from_agent ? "Reply" : "Message";
    // Mail is the channel worth hearing; "via Web" on every reply would be noise.
    const via = data.channel === "email" ? ` via ${channelLabel(data.channel)}` : "";
    Live.announce(`${kind} from ${data.author_name}${via}: ${data.body.slice(0, 140)}`);
    if (data.channel === "email") loadAttachments(data.message_id);
  }

  function setField(field, ...content) {
    page.querySelectorAll(`[data-field="${field}"]`).forEach((node) => {
      node.replaceChildren(...content);
      node.classList.add("arrived");
    });
  }

  const apply = {
    "support.ticket.message_posted.v1": (data) => {
      addMessage(data, false);
      if (data.from_agent) {
        const sla = page.querySelector('[data-field="sla"]');
        if (sla && !sla.dataset.responded) {
          sla.dataset.responded = "1";
          sla.classList.remove("breached");
          setField("sla", Live.el("span", { class: "sla-met" }, "Answered " + formatTime(data.created_at)));
        }
      }
    },
    "support.ticket.note_added.v1": (data) => addMessage(data, true),
    "support.ticket.status_changed.v1": (data) => setBadge("status", data.status, (v) => "status-" + v),
    "support.ticket.prioritized.v1": (data) => {
      setBadge("priority", data.priority, (v) => v);
      setField("priority-reason", "");
      if (data.sla_due_at) {
        setField("sla-due", formatTime(data.sla_due_at));
        const sla = page.querySelector('[data-field="sla"]');
        if (sla && !sla.dataset.responded) {
          sla.dataset.due = data.sla_due_at;
          setField("sla", "due " + formatTime(data.sla_due_at));
        }
      }
    },
    "support.ticket.assigned.v1": (data) => {
      setField("assignee", data.assignee_name
        ? data.assignee_name : Live.el("span", { class: "muted" }, "Unassigned"));
      Live.announce(data.assignee_name ? `Assigned to ${data.assignee_name}` : "Unassigned");
    },
    "support.ticket.sla_breached.v1": () => {
      const sla = page.querySelector('[data-field="sla"]');
      if (!sla || sla.dataset.responded) return;
      sla.classList.add("breached");
      sla.prepend(Live.el("span", { class: "sla-breached" }, "Breached "));
      Live.announce("First response overdue");
    },
  };

  Live.stream({
    onEvent(event) {
      if (!event.data || event.data.ticket_id !== ticketId) return;
      const handler = apply[event.type];
      if (handler) handler(event.data);
    },
  });
})();
