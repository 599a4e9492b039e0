// smsbox dashboard: copy buttons and countdowns. No framework; htmx does the rest.
(function () {
  "use strict";

  // Copy buttons: <button data-copy="text"> (or data-copy-from="#id" for an element's text).
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy], [data-copy-from]");
    if (!button) return;
    var text = button.dataset.copy;
    if (button.dataset.copyFrom) {
      var source = document.querySelector(button.dataset.copyFrom);
      text = source ? (source.value || source.textContent).trim() : "";
    }
    copy(text).then(function () {
      var label = button.textContent;
      button.classList.add("copied");
      button.textContent = button.dataset.copiedLabel || "✓";
      setTimeout(function () {
        button.classList.remove("copied");
        button.textContent = label;
      }, 1500);
    });
  });

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
    return Promise.resolve();
  }

  // Countdowns: <span data-countdown="seconds left, as the server counted them">. Counted with
  // the monotonic clock from the moment the element appeared, so a wrong client clock does not
  // matter and every poll starts again from the server's figure.
  // <button data-enable-in="seconds"> becomes usable when its time is up.
  function format(seconds) {
    var s = Math.max(0, Math.ceil(seconds));
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    var mm = (h ? String(m).padStart(2, "0") : String(m)) + ":" + String(r).padStart(2, "0");
    if (h >= 48) return Math.floor(h / 24) + "d " + (h % 24) + "h";
    return h ? h + ":" + mm : mm;
  }

  function arm(root) {
    var now = performance.now();
    root.querySelectorAll("[data-countdown], [data-enable-in]").forEach(function (el) {
      if (el._armed === undefined) el._armed = now;
    });
  }

  function tick() {
    var now = performance.now();
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      if (el._armed === undefined) el._armed = now;
      var left = parseFloat(el.dataset.countdown) - (now - el._armed) / 1000;
      el.textContent = format(left);
    });
    document.querySelectorAll("[data-enable-in]").forEach(function (el) {
      if (el._armed === undefined) el._armed = now;
      var left = parseFloat(el.dataset.enableIn) - (now - el._armed) / 1000;
      if (left <= 0 && el.disabled) {
        el.disabled = false;
        var wait = el.querySelector(".wait");
        if (wait) wait.remove();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    arm(document);
    tick();
    setInterval(tick, 250);
  });

  // Keep the keyboard focus on the same control when htmx replaces the order list.
  var focusedId = null;
  document.addEventListener("htmx:beforeSwap", function () {
    var active = document.activeElement;
    focusedId = active && active.id ? active.id : null;
  });
  // A list that brings its own messages replaces those the page was loaded with.
  document.addEventListener("htmx:afterSwap", function () {
    if (document.querySelector("#orders > .messages, #developer > .messages")) {
      document.querySelectorAll("main > .messages").forEach(function (old) { old.remove(); });
    }
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    arm(event.target);
    tick();
    if (focusedId) {
      var again = document.getElementById(focusedId);
      if (again) again.focus();
    }
  });
})();
