// The seed's chat.js (the talk's channels-example static/chat.js), line for
// line, with plain DOM APIs where it used jQuery and a few lines where it used
// ReconnectingWebSocket. Same behaviour: one table row per frame received,
// its three cells set as text; on submit, send {handle, message} as JSON.
(function () {
  // ReconnectingWebSocket, reduced to what chat.js relies on: send(), onmessage,
  // and opening the socket again (after a second) whenever it closes.
  function ReconnectingWebSocket(url) {
    var self = this;
    function open() {
      var ws = new WebSocket(url);
      ws.onmessage = function (event) { if (self.onmessage) self.onmessage(event); };
      ws.onclose = function () { setTimeout(open, 1000); };
      self.ws = ws;
    }
    this.send = function (data) { self.ws.send(data); };
    open();
  }

  // When we're using HTTPS, use WSS too.
  var ws_scheme = window.location.protocol == "https:" ? "wss" : "ws";
  var chatsock = new ReconnectingWebSocket(ws_scheme + '://' + window.location.host + "/chat" + window.location.pathname);

  chatsock.onmessage = function (message) {
    var data = JSON.parse(message.data);
    // $("#chat").append($("<tr>")): jQuery puts a row appended to a table into its tbody.
    var chat = document.querySelector("#chat tbody");
    var ele = document.createElement("tr");
    [data.timestamp, data.handle, data.message].forEach(function (value) {
      if (value === undefined) return;  // .text(undefined) reads, so nothing was appended
      var td = document.createElement("td");
      td.textContent = value;  // $("<td></td>").text(value)
      ele.appendChild(td);
    });
    chat.appendChild(ele);
  };

  document.getElementById("chatform").addEventListener("submit", function (event) {
    var message = {
      handle: document.getElementById("handle").value,
      message: document.getElementById("message").value,
    };
    chatsock.send(JSON.stringify(message));
    var input = document.getElementById("message");
    input.value = "";
    input.focus();
    event.preventDefault();  // return false;
  });
})();
