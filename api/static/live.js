/* Live parts of a page: every element with data-live-src is reloaded from that address when
   the alert stream (/api/v1/stream, authenticated by the session cookie) announces a change,
   when the stream (re)connects (changes made meanwhile), and once a minute (device states
   are not streamed). The texts come from the page (#live-status), so they are translated. */
(function () {
  "use strict";
  var regions = Array.prototype.slice.call(document.querySelectorAll("[data-live-src]"));
  var status = document.getElementById("live-status");
  if (!regions.length) return;
  var timer = null;
  var last = 0;
  var MIN_GAP_MS = 2000;
  var REFRESH_EVERY_MS = 60000;

  function say(state) {
    if (!status) return;
    status.dataset.state = state;
    var text = status.dataset["text" + state.charAt(0).toUpperCase() + state.slice(1)];
    if (text) status.textContent = text;
  }

  function reload(region) {
    // Do not pull rows someone selected for an action (the alert table) from under them:
    // changes wait until they act or clear the selection.
    if (region.querySelector("input[type=checkbox]:checked")) {
      say("paused");
      schedule(5000);
      return;
    }
    // Nor the page from under someone using it: try again when they move on.
    if (region.contains(document.activeElement) && document.activeElement !== document.body) {
      schedule(2000);
      return;
    }
    fetch(region.dataset.liveSrc, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (response.redirected) {  // the session ended: the server sent us to the login form
          window.location.reload();
          return null;
        }
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html === null) return;
        region.innerHTML = html;
        region.dataset.refreshed = String(Date.now());
        if (status && status.dataset.state === "paused") say("live");
      })
      .catch(function () { say("lost"); });
  }

  // A burst of changes (a storm of repeats) costs one reload, and reloads are at least
  // MIN_GAP_MS apart: a busy site does not turn every open dashboard into a load generator.
  function schedule(delayMs) {
    if (timer !== null) return;  // a reload is on its way already and will see this change
    var wait = Math.max(delayMs, last + MIN_GAP_MS - Date.now());
    timer = setTimeout(function () {
      timer = null;
      last = Date.now();
      regions.forEach(reload);
    }, wait);
  }

  if (window.EventSource) {
    var source = new EventSource("/api/v1/stream");
    source.addEventListener("open", function () { say("live"); schedule(0); });
    source.addEventListener("alert_change", function () { schedule(300); });
    source.addEventListener("error", function () { say("lost"); });
  }
  setInterval(function () { schedule(0); }, REFRESH_EVERY_MS);
})();
