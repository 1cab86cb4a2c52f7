// The decision table editor of process administration (dmn-js): the annual verification table edited in the
// browser, every cell checked on the server as you work (a problem cell outlined, a click on a problem goes
// to it), tried on inputs, deployed as a new version; undo/redo and a warning before leaving unsaved work.
(async function () {
  'use strict';
  const root = document.getElementById('rule-editor');
  if (!root || !window.DmnJS) return;
  const T = JSON.parse(document.getElementById('rule-texts').textContent);
  const chinese = (document.documentElement.lang || '').startsWith('zh');
  const $ = (id) => document.getElementById(id);
  const readonly = Boolean(root.dataset.readonly);
  const message = $('rule-message');
  const show = (kind, text) => { message.className = 'alert alert-' + kind; message.textContent = text; };
  const escape = (text) => String(text == null ? '' : text).replace(/[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  function translate(template, replacements) {
    const text = (chinese && window.DMN_ZH && window.DMN_ZH[template]) || template;
    return text.replace(/{([^}]+)}/g, (_, key) => (replacements || {})[key] || '{' + key + '}');
  }
  const modeler = new window.DmnJS({
    container: '#table-editor',
    common: { additionalModules: [{ translate: ['value', translate] }] },
    decisionTable: { additionalModules: [{ translate: ['value', translate] }] },
  });
  root.modeler = modeler; // for the browser tests
  try {
    const source = await fetch(root.dataset.source, { credentials: 'same-origin' });
    await modeler.importXML(await source.text());
    const table = modeler.getViews().find((v) => v.type === 'decisionTable');
    if (table) await modeler.open(table);
  } catch (err) {
    show('danger', String(err));
    return;
  }
  const viewer = modeler.getActiveViewer();
  const commandStack = viewer.get('commandStack');

  async function post(url, body, extra) {
    const answer = await fetch(url + (extra || ''), {
      method: 'POST', credentials: 'same-origin', body: body,
      headers: { 'Content-Type': 'application/xml', 'X-CSRFToken': root.dataset.csrf },
    });
    return { ok: answer.ok, body: await answer.json() };
  }
  const xml = async () => (await modeler.saveXML({ format: true })).xml;

  // ---------------------------------------------------------------- problems, checked as you work
  let problems = [];
  function mark() {
    document.querySelectorAll('#table-editor td.has-problem').forEach((td) => td.classList.remove('has-problem'));
    problems.forEach((p) => {
      if (!p.element_id) return;
      document.querySelectorAll('#table-editor [data-element-id="' + CSS.escape(p.element_id) + '"]')
        .forEach((td) => td.classList.add('has-problem'));
    });
  }
  async function check() {
    const { body } = await post(root.dataset.validate, await xml());
    problems = body.problems || [];
    $('problem-count').textContent = problems.length ? T.problems_n.replace('{n}', problems.length) : T.no_problems;
    $('problem-count').className = 'badge ' + (problems.length ? 'text-bg-danger' : 'text-bg-success');
    $('rule-problems').innerHTML = problems.map((p, i) => '<li><button type="button" class="btn btn-link btn-sm ' +
      'p-0 text-start problem" data-i="' + i + '">' + escape(p.message) + '</button></li>').join('');
    $('rule-problems').querySelectorAll('.problem').forEach((button) => button.addEventListener('click', () => {
      const problem = problems[Number(button.dataset.i)];
      const cell = problem.element_id &&
        document.querySelector('#table-editor [data-element-id="' + CSS.escape(problem.element_id) + '"]');
      if (cell) { cell.scrollIntoView({ block: 'center' }); cell.focus(); }
    }));
    mark();
  }
  let timer = null;
  let dirty = false;
  viewer.on('elements.changed', () => {
    if (readonly) return;
    dirty = true;
    $('undo').disabled = !commandStack.canUndo();
    $('redo').disabled = !commandStack.canRedo();
    clearTimeout(timer);
    timer = setTimeout(check, 600);
  });
  viewer.on('elements.changed', () => setTimeout(mark, 0)); // the table re-renders its cells
  window.addEventListener('beforeunload', (event) => {
    if (dirty) { event.preventDefault(); event.returnValue = ''; }
  });
  if (!readonly) {
    $('undo').addEventListener('click', () => commandStack.undo());
    $('redo').addEventListener('click', () => commandStack.redo());
    $('check').addEventListener('click', check);
    $('save').addEventListener('click', async () => {
      show('info', T.saving);
      const { ok, body } = await post(root.dataset.save, await xml());
      if (ok) {
        dirty = false;
        window.location.href = body.redirect;
        return;
      }
      const error = body.error || {};
      show('danger', T.failed + T.colon + (error.message || '') + ' ' +
        Object.values(error.fields || {}).join(T.separator));
      check();
    });
  }

  // ---------------------------------------------------------------- try the table on inputs
  $('try-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const query = new URLSearchParams(new FormData(event.target)).toString();
    const { ok, body } = await post(root.dataset.try, await xml(), '?' + query);
    const out = $('try-answer');
    if (!ok) {
      const error = body.error || {};
      out.innerHTML = '<dd class="col-12 text-danger">' + escape((error.message || '') + ' ' +
        Object.values(error.fields || {}).join(T.separator)) + '</dd>';
      return;
    }
    out.innerHTML = Object.entries(body.answer).map(([k, v]) => '<dt class="col-5"><code>' + escape(k) +
      '</code></dt><dd class="col-7 mb-1">' + escape(v) + '</dd>').join('');
  });
  check();
})();
