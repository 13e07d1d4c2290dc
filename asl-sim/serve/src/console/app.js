// asl-sim console: keeps the parts of a page marked data-live fresh by polling the same
// URL (only while the page carries #poll) and swapping those parts in place. Without
// JavaScript every page is complete as served; this only saves the reload.
(function () {
  'use strict';
  var live = document.getElementById('live');
  var editing = false;
  // Typing in a form inside a live part pauses the refresh: nothing the user wrote is lost.
  document.addEventListener('input', function () { editing = true; if (live) { live.textContent = 'paused while you edit'; } });
  function pollMs(doc) {
    var p = doc.getElementById('poll');
    return p ? parseInt(p.getAttribute('data-poll'), 10) || 1500 : 0;
  }
  function swap(doc) {
    var parts = document.querySelectorAll('[data-live][id]');
    for (var i = 0; i < parts.length; i++) {
      var fresh = doc.getElementById(parts[i].id);
      if (!fresh || parts[i].innerHTML === fresh.innerHTML) { continue; }
      // <details> the reader opened stay open across the swap.
      var wasOpen = [];
      var before = parts[i].querySelectorAll('details');
      for (var k = 0; k < before.length; k++) { wasOpen.push(before[k].open); }
      parts[i].innerHTML = fresh.innerHTML;
      var after = parts[i].querySelectorAll('details');
      for (var m = 0; m < after.length && m < wasOpen.length; m++) { after[m].open = wasOpen[m]; }
    }
  }
  function tick() {
    if (editing || document.hidden) { schedule(pollMs(document)); return; }
    var x = new XMLHttpRequest();
    x.open('GET', location.href);
    x.setRequestHeader('Accept', 'text/html');
    x.onload = function () {
      if (x.status !== 200) { if (live) { live.textContent = 'refresh failed (' + x.status + ')'; } schedule(pollMs(document) * 2); return; }
      var doc = new DOMParser().parseFromString(x.responseText, 'text/html');
      swap(doc);
      var next = pollMs(doc);
      if (live) { live.textContent = next ? 'live' : ''; live.setAttribute('data-updated', String(Date.now())); }
      if (!next) {
        var p = document.getElementById('poll');
        if (p) { p.parentNode.removeChild(p); }
      }
      schedule(next);
    };
    x.onerror = function () { if (live) { live.textContent = 'offline'; } schedule(5000); };
    x.send();
  }
  function schedule(ms) { if (ms > 0) { setTimeout(tick, ms); } }
  if (live && pollMs(document)) { live.textContent = 'live'; }
  schedule(pollMs(document));
  document.documentElement.setAttribute('data-console-ready', '1');
})();
