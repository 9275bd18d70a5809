// Follows a running deployment's log on /deployments/{id}.
(function () {
  "use strict";
  var pre = document.getElementById("deploy-log");
  var status = document.getElementById("deploy-status");
  if (!pre || pre.dataset.final === "true") return;
  var url = pre.dataset.follow;
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) {
        if (!d) return;
        var atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
        pre.textContent = d.log;
        if (status) status.textContent = d.status;
        if (atEnd) pre.scrollTop = pre.scrollHeight;
        if (!d.final) setTimeout(poll, 2000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
})();
