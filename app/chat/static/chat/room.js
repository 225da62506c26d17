// Parley's room client: the opt-in protocol (parley.v1) with acks, idempotent
// resends, presence, and reconnection with backoff that catches up from the
// last message seen. Messages not yet acknowledged are kept in sessionStorage,
// so a reload (or a crashed server) loses none: they are sent again, and their
// client ids make that harmless. Everything a user typed is shown with textContent.
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("parley-config").textContent);
  var table = document.querySelector("#chat tbody");
  var log = document.querySelector(".log");
  var statusEl = document.getElementById("status");
  var errorEl = document.getElementById("error");
  var membersEl = document.getElementById("members");
  var form = document.getElementById("chatform");
  var handleInput = document.getElementById("handle");
  var messageInput = document.getElementById("message");

  var lastId = config.lastId;      // highest message id shown
  var pending = new Map();         // client_id -> {frame, row}; resent until acked
  var pendingKey = "parley.pending." + config.label;
  var resendTimer = null;
  var members = new Map();         // connection id -> member
  var socket = null;
  var socketHandle = "";           // the name the current socket announced (presence)
  var attempt = 0;

  handleInput.value = localStorage.getItem("parley.handle") || "";

  function socketUrl() {
    var scheme = location.protocol === "https:" ? "wss" : "ws";
    var query = "?after=" + lastId;
    socketHandle = handleInput.value.trim();
    if (socketHandle) query += "&handle=" + encodeURIComponent(socketHandle);
    return scheme + "://" + location.host + "/chat/" + encodeURIComponent(config.label) + "/" + query;
  }

  function setStatus(text, state) {
    statusEl.textContent = text;
    statusEl.className = "status " + state;
  }

  function showError(text) {
    errorEl.textContent = text;
    errorEl.hidden = !text;
  }

  function row(frame, pendingRow) {
    var tr = document.createElement("tr");
    [frame.timestamp || "", frame.handle, frame.message].forEach(function (value, i) {
      var td = document.createElement("td");
      td.className = ["time", "handle", "text"][i];
      td.textContent = value;
      tr.appendChild(td);
    });
    if (pendingRow) tr.className = "pending";
    return tr;
  }

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function savePending() {
    var frames = [];
    pending.forEach(function (item) { frames.push(item.frame); });
    try { sessionStorage.setItem(pendingKey, JSON.stringify(frames)); } catch (e) { /* full: keep in memory */ }
  }

  function addPending(frame) {
    var tr = row({ timestamp: "sending…", handle: frame.handle, message: frame.message }, true);
    table.appendChild(tr);
    scrollDown();
    pending.set(frame.client_id, { frame: frame, row: tr });
    savePending();
  }

  function settle(clientId) {
    var mine = clientId && pending.get(clientId);
    if (!mine) return;
    mine.row.remove();
    pending.delete(clientId);
    savePending();
  }

  function sendPending() {  // in the order typed: the server keeps each sender's order
    if (!socket || socket.readyState !== WebSocket.OPEN) return;
    pending.forEach(function (item) { socket.send(JSON.stringify(item.frame)); });
  }

  function resendLater(seconds) {  // honour retry_after, with jitter
    if (resendTimer) return;
    resendTimer = setTimeout(function () { resendTimer = null; sendPending(); },
                             seconds * 1000 * (1 + Math.random() / 2));
  }

  function onError(frame) {
    showError(frame.detail);
    var mine = frame.client_id && pending.get(frame.client_id);
    if (!mine || frame.close) return;
    if (frame.code === "rate_limited" || frame.code === "overloaded") {
      resendLater(frame.retry_after || 1);
    } else {  // refused for good (too long, invalid): never send it again
      mine.row.className = "failed";
      pending.delete(frame.client_id);
      savePending();
    }
  }

  function onMessage(frame) {
    if (frame.id <= lastId) return;  // already shown (catch-up overlap)
    lastId = frame.id;
    settle(frame.client_id);
    var tr = row(frame, false);
    tr.dataset.id = frame.id;
    table.appendChild(tr);
    scrollDown();
  }

  function renderMembers() {
    membersEl.textContent = "";
    members.forEach(function (member) {
      var li = document.createElement("li");
      li.textContent = member.handle || "anonymous";
      li.dataset.id = member.id;
      membersEl.appendChild(li);
    });
  }

  var handlers = {
    message: onMessage,
    ack: function (frame) { if (frame.id <= lastId) settle(frame.client_id); },
    error: onError,
    welcome: function () { showError(""); },
    presence: function (frame) {
      members.clear();
      frame.members.forEach(function (m) { members.set(m.id, m); });
      renderMembers();
    },
    join: function (frame) { members.set(frame.member.id, frame.member); renderMembers(); },
    leave: function (frame) { members.delete(frame.member.id); renderMembers(); },
    truncated: function () { showError("Some older messages were skipped; reload to see all."); },
  };

  function connect() {
    setStatus(attempt ? "reconnecting…" : "connecting…", "connecting");
    socket = new WebSocket(socketUrl(), config.subprotocol);
    socket.onopen = function () {
      attempt = 0;
      setStatus("live", "live");
      sendPending();
    };
    socket.onmessage = function (event) {
      var frame = JSON.parse(event.data);
      var handler = handlers[frame.type];
      if (handler) handler(frame);
    };
    socket.onclose = function (event) {
      setStatus("offline, retrying", "offline");
      if (event.code === 4404) { showError("This room does not exist."); return; }
      attempt += 1;
      var delay = Math.min(10000, 500 * Math.pow(2, attempt - 1)) * (0.5 + Math.random() / 2);
      setTimeout(connect, delay);
    };
  }

  // Presence shows the name a socket announced when it opened: after a change
  // of name, open a new socket at once (catch-up and resends keep it seamless).
  function announceHandle() {
    var handle = handleInput.value.trim();
    if (!handle || handle === socketHandle) return;
    localStorage.setItem("parley.handle", handle);
    if (!socket || socket.readyState > WebSocket.OPEN) return;  // the retry will use it
    socket.onclose = null;
    socket.close(1000, "handle changed");
    connect();
  }

  handleInput.addEventListener("change", announceHandle);

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var handle = handleInput.value.trim();
    var text = messageInput.value;
    if (!handle || !text.trim()) return;
    localStorage.setItem("parley.handle", handle);
    announceHandle();
    var clientId = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()).replace(/[^A-Za-z0-9.-]/g, "");
    var frame = { type: "message", handle: handle, message: text, client_id: clientId };
    addPending(frame);
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
    messageInput.value = "";
    messageInput.focus();
  });

  try {  // what an earlier load of this page sent but saw no ack for
    JSON.parse(sessionStorage.getItem(pendingKey) || "[]").forEach(addPending);
  } catch (e) { sessionStorage.removeItem(pendingKey); }
  scrollDown();
  connect();
})();
