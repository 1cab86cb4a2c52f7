// The in-browser BPMN editor of process administration: load the current version, save as a new one.
(async function () {
  const root = document.getElementById('process-editor');
  if (!root || !window.BpmnJS) return;
  const message = document.getElementById('editor-message');
  const show = (kind, text) => {
    message.className = 'alert alert-' + kind;
    message.textContent = text;
  };
  const modeler = new window.BpmnJS({ container: '#canvas' });
  try {
    const source = await fetch(root.dataset.source, { credentials: 'same-origin' });
    await modeler.importXML(await source.text());
    modeler.get('canvas').zoom('fit-viewport');
  } catch (err) {
    show('danger', String(err));
    return;
  }
  document.getElementById('save').addEventListener('click', async () => {
    show('info', root.dataset.saving);
    const { xml } = await modeler.saveXML({ format: true });
    const answer = await fetch(root.dataset.save, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/xml', 'X-CSRFToken': root.dataset.csrf },
      body: xml,
    });
    const body = await answer.json();
    if (answer.ok) {
      window.location.href = body.redirect;
    } else {
      const error = body.error || {};
      show('danger', root.dataset.failed + root.dataset.colon + (error.message || '') + ' ' +
        Object.values(error.fields || {}).join(root.dataset.separator));
    }
  });
})();
