/*
 * Notifications on the training dashboards: a notification that arrives live is added to the
 * list from the page's <template data-notification-template>, its text set as text, and is
 * announced to screen readers.
 */
(function () {
  "use strict";

  function add(data) {
    const list = document.querySelector("[data-notifications]");
    const template = document.querySelector("template[data-notification-template]");
    if (!list || !template || list.dataset.role !== data.role) return false;
    if (list.querySelector(`[data-notification-id="${data.notification_id}"]`)) return false;
    const item = template.content.firstElementChild.cloneNode(true);
    item.dataset.notificationId = data.notification_id;
    const message = item.querySelector('[data-field="message"]');
    message.textContent = data.message;
    // Each "Mark read" says which notification it marks, for a screen reader's list of buttons.
    item.querySelector('[data-field="read-label"]').textContent = `: ${data.message}`;
    if (data.url) message.setAttribute("href", data.url);
    else message.removeAttribute("href");
    item.querySelector("time").setAttribute("datetime", data.created_at);
    const form = item.querySelector("form");
    form.action = form.getAttribute("action").replace("/0/", `/${data.notification_id}/`);
    list.prepend(item);
    const empty = document.querySelector("[data-notifications-empty]");
    if (empty) empty.hidden = true;
    Live.announce(`Notification: ${data.message}`);
    const unread = document.querySelector('[data-field="unread-count"]');
    if (unread) {
      unread.textContent = `${parseInt(unread.textContent, 10) + 1 || 1} unread`;
    }
    return true;
  }

  window.TrainingNotifications = { add };
})();
