// opsbot console: live chat over server-sent events, posting without a page
// reload, buttons, threads and older history. Loaded from /static (the CSP
// allows no inline script); every request that changes state carries the
// session's CSRF token in the X-CSRF-Token header.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.content : "";

  function post(url, fields) {
    var body = new URLSearchParams(fields);
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Accept": "application/json" }
    }).then(function (r) {
      if (r.status === 401) { location.href = "/login?next=" + encodeURIComponent(location.pathname); }
      return r;
    });
  }

  function fragment(html) {
    var t = document.createElement("template");
    t.innerHTML = html; // server-rendered, escaped HTML
    return t.content.firstElementChild;
  }

  var chat = document.querySelector(".chat");
  if (!chat) { return; }
  var room = chat.dataset.room;
  var list = document.getElementById("messages");
  var form = chat.querySelector("form.compose");
  var input = form.querySelector('input[name="text"]');
  var threadInput = form.querySelector('input[name="thread"]');
  var threadNote = form.querySelector(".threadnote");

  function nearBottom() {
    return window.innerHeight + window.scrollY >= document.body.scrollHeight - 80;
  }
  function place(m) {
    if (document.getElementById("m-" + m.id)) { return; }
    var el = fragment(m.html);
    var stick = nearBottom();
    var parent = m.thread ? document.getElementById("r-" + m.thread) : null;
    (parent || list).appendChild(el);
    if (stick) { el.scrollIntoView({ block: "end" }); }
  }
  function edit(m) {
    var old = document.getElementById("m-" + m.id);
    if (!old) { return; }
    var el = fragment(m.html);
    var replies = old.querySelector(".replies");
    var fresh = el.querySelector(".replies");
    if (replies && fresh) { fresh.replaceWith(replies); }
    old.replaceWith(el);
  }

  var es = new EventSource("/rooms/" + encodeURIComponent(room) + "/events?after=" + (chat.dataset.last || "0"));
  es.addEventListener("message", function (e) { place(JSON.parse(e.data)); });
  es.addEventListener("edit", function (e) { edit(JSON.parse(e.data)); });
  es.addEventListener("open", function () { chat.classList.add("live"); });
  es.addEventListener("error", function () { chat.classList.remove("live"); });

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    post(form.action, { text: text, thread: threadInput.value }).then(function (r) {
      if (r.ok) { input.value = ""; }
    });
  });

  function setThread(root) {
    threadInput.value = root || "";
    threadNote.hidden = !root;
    input.focus();
  }
  form.querySelector(".unthread").addEventListener("click", function () { setThread(""); });

  document.addEventListener("click", function (e) {
    var b = e.target.closest("button.action");
    if (b) {
      b.disabled = true;
      post("/rooms/" + encodeURIComponent(room) + "/actions", {
        id: b.dataset.actionId, value: b.dataset.value, thread: b.dataset.thread === "0" ? "" : b.dataset.thread
      }).then(function (r) { if (!r.ok) { b.disabled = false; } });
      return;
    }
    var a = e.target.closest("a.reply");
    if (a) { e.preventDefault(); setThread(a.dataset.root); return; }
    var older = e.target.closest("button.older");
    if (older) {
      fetch("/rooms/" + encodeURIComponent(room) + "/messages?before=" + older.dataset.before, {
        credentials: "same-origin", headers: { "Accept": "application/json" }
      }).then(function (r) { return r.json(); }).then(function (d) {
        var first = list.firstChild;
        (d.messages || []).forEach(function (m) {
          if (document.getElementById("m-" + m.id)) { return; }
          var el = fragment(m.html);
          var parent = m.thread ? document.getElementById("r-" + m.thread) : null;
          if (parent) { parent.appendChild(el); } else { list.insertBefore(el, first); }
        });
        if (d.next_before) { older.dataset.before = d.next_before; } else { older.remove(); }
      });
    }
  });
  if (list.lastElementChild) { list.lastElementChild.scrollIntoView({ block: "end" }); }
})();
