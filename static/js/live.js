/*
 * Live pages: one socket to /ws/stream/ that reconnects by itself and resumes.
 *
 *   Live.stream({ onEvent(event) {...} });   // event: a CloudEvents 1.0 object
 *   Live.el("li", { class: "row" }, user.name)  // builds DOM; text is always text
 *   Live.announce("New ticket T-000042")     // said politely by screen readers
 *
 * The page renders its state in HTML and names the last event it reflects
 * (<meta name="stream-since">); the socket asks for everything after it, so nothing published
 * between the render and the connection is missed. Each event is applied once. A user whose
 * login ends is told so and sent to the login page (<meta name="login-url">).
 */
(function () {
  "use strict";

  // The server's close codes (docs/architecture.md, "The live stream"). 4408, 4429, 4503 and
  // any other code: reconnect with `since`, backing off.
  const CLOSE = {
    UNAUTHENTICATED: 4401,
    TOO_SLOW: 4408,
    TOO_FAR_BEHIND: 4410,
    TOO_MANY_SOCKETS: 4429,
    SIGNED_OUT: 4440,
    UNAVAILABLE: 4503,
  };
  // Long enough for a screen reader to say that the login ended before the page changes.
  const SIGNED_OUT_MS = 2000;
  // A server that cannot listen yet (4503, its Redis is down) opens the socket only to close
  // it at once: a socket counts as live once it has stayed open this long, so that such a
  // socket neither shows "Live" nor resets the back-off.
  const SETTLE_MS = 500;
  // Announcements are gathered for this long and said as one; a burst (a reconnect's catch-up)
  // is summed up instead of read out item by item.
  const ANNOUNCE_MS = 1000;
  const ANNOUNCE_MAX = 3;

  function stream({ onEvent, onStatus } = {}) {
    const meta = document.querySelector('meta[name="stream-since"]');
    let since = meta ? meta.content : "";
    const seen = new Set();
    let retries = 0;
    let socket = null;
    let settled = null;
    // Screen readers announce the changes too ("Reconnecting…").
    document.querySelectorAll("[data-stream-status]").forEach((node) => {
      node.setAttribute("role", "status");
    });

    function status(state) {
      document.querySelectorAll("[data-stream-status]").forEach((node) => {
        node.dataset.streamStatus = state;
        node.textContent = {
          live: "Live",
          connecting: "Connecting…",
          offline: "Reconnecting…",
          crowded: "Too many live pages open; retrying…",
          "signed-out": "Signed out",
        }[state];
      });
      if (onStatus) onStatus(state);
    }

    function connect() {
      status(retries ? "offline" : "connecting");
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const query = since ? "?since=" + encodeURIComponent(since) : "";
      socket = new WebSocket(`${scheme}://${location.host}/ws/stream/${query}`);
      socket.onopen = () => {
        settled = setTimeout(() => {
          retries = 0;
          status("live");
        }, SETTLE_MS);
      };
      socket.onmessage = (message) => {
        const event = JSON.parse(message.data);
        since = event.id;
        if (seen.has(event.id)) return;
        seen.add(event.id);
        try {
          onEvent(event);
        } catch (error) {
          console.error("could not apply event", event, error);
        }
      };
      socket.onclose = (close) => {
        clearTimeout(settled);
        if (close.code === CLOSE.UNAUTHENTICATED || close.code === CLOSE.SIGNED_OUT) {
          signedOut();
          return;
        }
        if (close.code === CLOSE.TOO_FAR_BEHIND) {
          location.reload();
          return;
        }
        status(close.code === CLOSE.TOO_MANY_SOCKETS ? "crowded" : "offline");
        // Back off up to 10 s, with jitter so that a restarted server is not stampeded.
        const delay = Math.min(10000, 500 * 2 ** retries) * (0.5 + Math.random() / 2);
        retries += 1;
        setTimeout(connect, delay);
      };
    }

    // No reconnecting: only logging in again opens the stream.
    function signedOut() {
      status("signed-out");
      announce("You were signed out. Taking you to the login page.");
      const login = new URL(document.querySelector('meta[name="login-url"]').content, location.href);
      login.searchParams.set("next", location.pathname + location.search);
      setTimeout(() => location.assign(login), SIGNED_OUT_MS);
    }

    connect();
    return {
      close() {
        clearTimeout(settled);
        socket.onclose = null;
        socket.close();
      },
      get socket() {
        return socket;
      },
    };
  }

  const announcements = [];
  let announcing = null;

  function announce(text) {
    const region = document.querySelector("[data-announcer]");
    if (!region || !text || announcements.includes(text)) return;
    announcements.push(text);
    if (announcing) return;
    announcing = setTimeout(() => {
      const count = announcements.length;
      region.textContent = count <= ANNOUNCE_MAX
        ? announcements.join(". ")
        : `${count} updates. Latest: ${announcements[count - 1]}`;
      announcements.length = 0;
      announcing = null;
    }, ANNOUNCE_MS);
  }

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  window.Live = { stream, el, announce, CLOSE };
})();
