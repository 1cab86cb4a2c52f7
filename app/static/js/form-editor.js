// Forms of process administration: a new form's name (the list page), and a form's JSON Schema and UI schema
// edited with a live preview rendered by the server as applicants and reviewers will see it, with what is
// wrong under each text; a warning before leaving unsaved work.
(function () {
  'use strict';
  const create = document.getElementById('new-form');
  if (create) {
    create.addEventListener('submit', (event) => {
      event.preventDefault();
      window.location.href = create.dataset.base + encodeURIComponent(document.getElementById('new-name').value) +
        '?new=1';
    });
  }
  const editor = document.getElementById('form-editor');
  if (!editor) return;
  const schema = document.getElementById('schema');
  const ui = document.getElementById('ui');
  const preview = document.getElementById('form-preview');
  let dirty = false;
  let timer = null;
  async function refresh() {
    const answer = await fetch(editor.dataset.preview, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': editor.dataset.csrf },
      body: JSON.stringify({ schema: schema.value, ui: ui.value }),
    });
    const body = await answer.json();
    [['schema', schema], ['ui', ui]].forEach(([key, input]) => {
      const out = document.getElementById(key + '-check');
      const error = (body.errors || {})[key];
      input.classList.toggle('is-invalid', Boolean(error));
      out.className = 'form-text ' + (error ? 'text-danger-emphasis' : 'text-success-emphasis');
      out.textContent = error || editor.dataset.ok || '✓';
    });
    if (body.html) preview.innerHTML = body.html; // rendered by the server's templates (escaped there)
  }
  [schema, ui].forEach((input) => input.addEventListener('input', () => {
    dirty = true;
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  }));
  editor.addEventListener('submit', () => { dirty = false; });
  window.addEventListener('beforeunload', (event) => {
    if (dirty) { event.preventDefault(); event.returnValue = ''; }
  });
  refresh();
})();
