// Live refresh for the campaignconnector dashboard. The pages are complete
// without it: this only reloads the page's figures in place every few
// seconds (the body's data-refresh) while the page is visible, the "live"
// box is ticked and no form field has the focus.
(function () {
  'use strict';
  var body = document.body;
  var every = parseInt(body.getAttribute('data-refresh') || '0', 10);
  var toggle = document.getElementById('live');
  if (!every || !toggle || !window.fetch || !window.DOMParser) {
    return;
  }
  toggle.closest('label').hidden = false;
  var busy = false;

  function editing() {
    var a = document.activeElement;
    return a && /^(INPUT|SELECT|TEXTAREA)$/.test(a.tagName) && a !== toggle;
  }

  function swap(doc, selector) {
    var fresh = doc.querySelector(selector);
    var current = document.querySelector(selector);
    if (!fresh || !current) {
      return;
    }
    // Copy the list first: adopting a node removes it from fresh's
    // live childNodes.
    var nodes = Array.prototype.slice.call(fresh.childNodes).map(function (n) {
      return document.adoptNode(n);
    });
    current.replaceChildren.apply(current, nodes);
  }

  function refresh() {
    if (busy || document.hidden || !toggle.checked || editing()) {
      return;
    }
    busy = true;
    fetch(window.location.href, {credentials: 'same-origin', cache: 'no-store', headers: {'Accept': 'text/html'}})
      .then(function (r) {
        if (!r.ok) {
          throw new Error('HTTP ' + r.status);
        }
        return r.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, 'text/html');
        swap(doc, '#main');
        swap(doc, '.clock');
        body.classList.remove('stale');
      })
      .catch(function () {
        body.classList.add('stale');
      })
      .then(function () {
        busy = false;
      });
  }

  window.setInterval(refresh, every * 1000);
})();
