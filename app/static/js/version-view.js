// A process version's diagram, read-only; beside an earlier version, the added, removed and changed elements
// highlighted (the differences are computed by the server: #diff-data).
(async function () {
  'use strict';
  const root = document.getElementById('version-view');
  if (!root || !window.BpmnJS) return;
  const changes = JSON.parse(document.getElementById('diff-data').textContent || 'null');
  async function show(container, url, markers) {
    const viewer = new window.BpmnJS({ container: container });
    const answer = await fetch(url, { credentials: 'same-origin' });
    await viewer.importXML(await answer.text());
    const canvas = viewer.get('canvas');
    canvas.zoom('fit-viewport');
    const registry = viewer.get('elementRegistry');
    Object.entries(markers).forEach(([marker, ids]) => ids.forEach((id) => {
      if (registry.get(id)) canvas.addMarker(id, marker);
    }));
    return viewer;
  }
  const changed = changes ? Object.keys(changes.changed) : [];
  await show('#canvas', root.dataset.xml, changes ? { 'diff-added': changes.added, 'diff-changed': changed } : {});
  if (root.dataset.base) {
    await show('#base-canvas', root.dataset.base, { 'diff-removed': changes.removed, 'diff-changed': changed });
  }
})();
