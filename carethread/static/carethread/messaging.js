/* Messaging pages: htmx settings and small keyboard / screen-reader helpers.
   Loaded as a static file (the Content Security Policy allows no inline script). */
(function () {
  "use strict";
  if (window.htmx) {
    // No inline <style> (blocked by the policy), no eval, and no copies of pages, which hold
    // health information, in the browser's storage.
    window.htmx.config.includeIndicatorStyles = false;
    window.htmx.config.allowEval = false;
    window.htmx.config.allowScriptTags = false;
    window.htmx.config.historyEnabled = false;
    window.htmx.config.historyCacheSize = 0;
    window.htmx.config.refreshOnHistoryMiss = true;
    window.htmx.config.selfRequestsOnly = true;
  }

  // After htmx replaced the practice panel, a button that is gone (e.g. "Claim") leaves focus
  // nowhere: put it on the panel's heading so keyboard and screen-reader users keep their place.
  document.addEventListener("htmx:afterSettle", function () {
    var active = document.activeElement;
    if (!active || active === document.body) {
      var heading = document.getElementById("panel-heading");
      if (heading) {
        heading.focus();
      }
    }
  });

  // A form that came back with errors: move focus to its summary so it is read out first.
  function focusErrors() {
    var summary = document.querySelector("[data-autofocus]");
    if (summary) {
      summary.focus();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusErrors);
  } else {
    focusErrors();
  }
})();
