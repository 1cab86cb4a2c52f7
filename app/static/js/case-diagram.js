/* The case page's live diagram: the BPMN the case runs on, with the steps it passed (green) and the steps
   it waits at (amber), drawn by bpmn-js's viewer from the platform's own static files. */
(function () {
  'use strict';
  var box = document.getElementById('case-diagram');
  if (!box || typeof BpmnJS === 'undefined') { return; }
  fetch(box.dataset.url, {credentials: 'same-origin', headers: {Accept: 'application/json'}})
    .then(function (r) { return r.json(); })
    .then(function (state) {
      var viewer = new BpmnJS({container: box});
      return viewer.importXML(state.xml).then(function () {
        var canvas = viewer.get('canvas');
        var registry = viewer.get('elementRegistry');
        canvas.zoom('fit-viewport', 'auto');
        (state.completed || []).forEach(function (id) {
          if (registry.get(id)) { canvas.addMarker(id, 'case-done'); }
        });
        (state.current || []).forEach(function (id) {
          if (registry.get(id)) { canvas.addMarker(id, 'case-now'); }
        });
        var now = registry.get((state.current || [])[0]);
        if (box.clientWidth < 700 && canvas.zoom() < 0.6) {  // a phone: readable, centred on where it waits
          canvas.zoom(0.6);
          if (now) { canvas.scrollToElement(now); }
        }
        box.dataset.drawn = String(registry.getAll().length);
      });
    })
    .catch(function () { box.textContent = box.getAttribute('aria-label') + ' —'; });
}());
