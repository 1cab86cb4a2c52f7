// The in-browser chain editor of process administration (bpmn-js): bpmn-js-properties-panel with our provider
// (process-properties.js: lane, form with a preview, condition picker checked as you type, service
// operation), the problems of the
// diagram (a click selects the element), a dry run of sample cases, undo/redo and a warning before leaving
// unsaved work. Texts come from the page (#editor-texts); the modeler's own from bpmn-zh.js in Chinese.
(async function () {
  'use strict';
  const root = document.getElementById('process-editor');
  if (!root || !window.BpmnJS) return;
  const config = JSON.parse(document.getElementById('editor-config').textContent);
  const T = JSON.parse(document.getElementById('editor-texts').textContent);
  const chinese = (document.documentElement.lang || '').startsWith('zh');
  const $ = (id) => document.getElementById(id);
  const message = $('editor-message');
  const show = (kind, text) => {
    message.className = 'alert alert-' + kind;
    message.textContent = text;
  };
  const escape = (text) => String(text == null ? '' : text).replace(/[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  const laneLabel = (key) => (config.lanes.find((l) => l.key === key) || {}).label || key;

  function translate(template, replacements) {
    const text = (chinese && window.BPMN_ZH && window.BPMN_ZH[template.trim()]) || template;
    return text.replace(/{([^}]+)}/g, (_, key) => (replacements || {})[key] || '{' + key + '}');
  }

  // the SpiffWorkflow extension elements, so that new tasks get forms and operations as typed elements
  const spiff = {
    name: 'SpiffWorkflow', prefix: 'spiffworkflow', uri: 'http://spiffworkflow.org/bpmn/schema/1.0/core',
    xml: { tagAlias: 'lowerCase' }, associations: [],
    types: [
      { name: 'Properties', superClass: ['Element'],
        properties: [{ name: 'properties', type: 'Property', isMany: true }] },
      { name: 'Property', superClass: ['Element'], properties: [
        { name: 'name', isAttr: true, type: 'String' }, { name: 'value', isAttr: true, type: 'String' }] },
      { name: 'ServiceTaskOperator', superClass: ['Element'], properties: [
        { name: 'id', isAttr: true, type: 'String' }, { name: 'resultVariable', isAttr: true, type: 'String' },
        { name: 'parameters', type: 'Parameters' }] },
      { name: 'Parameters', superClass: ['Element'],
        properties: [{ name: 'parameters', type: 'Parameter', isMany: true }] },
      { name: 'Parameter', superClass: ['Element'], properties: [
        { name: 'id', isAttr: true, type: 'String' }, { name: 'type', isAttr: true, type: 'String' },
        { name: 'value', isAttr: true, type: 'String' }] },
      { name: 'PreScript', superClass: ['Element'], properties: [{ name: 'value', isBody: true, type: 'String' }] },
      { name: 'PostScript', superClass: ['Element'], properties: [{ name: 'value', isBody: true, type: 'String' }] },
      { name: 'InstructionsForEndUser', superClass: ['Element'],
        properties: [{ name: 'value', isBody: true, type: 'String' }] },
    ],
  };

  const P = window.CeppPropertiesPanel;
  const modeler = new window.BpmnJS({
    container: '#canvas',
    propertiesPanel: { parent: '#properties', layout: { groups: { general: { open: true }, cepp: { open: true } } } },
    additionalModules: [{ translate: ['value', translate] }, P.BpmnPropertiesPanelModule,
      P.BpmnPropertiesProviderModule, window.ceppProcessProperties(config, T, (text) => checkExpression(text))],
    moddleExtensions: { spiffworkflow: spiff },
  });
  const get = (name) => modeler.get(name);
  root.modeler = modeler; // for the browser tests
  try {
    const source = await fetch(root.dataset.source, { credentials: 'same-origin' });
    await modeler.importXML(await source.text());
  } catch (err) {
    show('danger', String(err));
    return;
  }
  const canvas = get('canvas');
  const registry = get('elementRegistry');
  const commandStack = get('commandStack');
  const overlays = get('overlays');

  // readable from the start: full size, the start of the chain at the left, clear of the palette
  canvas.zoom(1);
  const box = canvas.viewbox();
  canvas.viewbox({ x: box.inner.x - 130, y: box.inner.y - 20, width: box.width, height: box.height });

  // ---------------------------------------------------------------- lanes with their labels
  function labelLanes() {
    overlays.remove({ type: 'lane-label' });
    registry.filter((e) => e.type === 'bpmn:Lane').forEach((lane) => {
      canvas.addMarker(lane, 'cepp-lane'); // its raw key is hidden: the label below says who it is
      const key = lane.businessObject.name || '';
      const known = config.lanes.some((l) => l.key === key);
      overlays.add(lane, 'lane-label', { position: { top: 4, left: 36 },
        html: '<div class="lane-label' + (known ? '' : ' unknown') + '">' +
          escape(known ? laneLabel(key) : T.unknown_lane + ' ' + key) + '</div>' });
    });
  }
  labelLanes();

  // ---------------------------------------------------------------- unsaved work, undo / redo
  let dirty = false;
  const undo = $('undo');
  const redo = $('redo');
  modeler.on('commandStack.changed', () => {
    dirty = true;
    undo.disabled = !commandStack.canUndo();
    redo.disabled = !commandStack.canRedo();
    labelLanes();
    scheduleCheck();
  });
  undo.addEventListener('click', () => commandStack.undo());
  redo.addEventListener('click', () => commandStack.redo());
  window.addEventListener('beforeunload', (event) => {
    if (dirty) {
      event.preventDefault();
      event.returnValue = '';
    }
  });

  async function post(url, body, extra) {
    const answer = await fetch(url + (extra || ''), {
      method: 'POST', credentials: 'same-origin', body: body,
      headers: { 'Content-Type': 'application/xml', 'X-CSRFToken': root.dataset.csrf },
    });
    return { ok: answer.ok, body: await answer.json() };
  }

  async function checkExpression(text) {
    const { body } = await post(root.dataset.validate, text, '?expression=1');
    return body;
  }

  // ---------------------------------------------------------------- problems, checked as you work
  const problemList = $('problems');
  let checkTimer = null;
  function scheduleCheck() {
    clearTimeout(checkTimer);
    checkTimer = setTimeout(check, 800);
  }
  function mark(ids, marker) {
    registry.getAll().forEach((e) => canvas.removeMarker(e.id, marker));
    ids.forEach((id) => { if (registry.get(id)) canvas.addMarker(id, marker); });
  }
  async function check() {
    const { xml } = await modeler.saveXML({ format: true });
    const { body } = await post(root.dataset.validate, xml);
    const problems = body.problems || [];
    $('problem-count').textContent = problems.length ? T.problems_n.replace('{n}', problems.length) : T.no_problems;
    $('problem-count').className = 'badge ' + (problems.length ? 'text-bg-danger' : 'text-bg-success');
    problemList.innerHTML = problems.map((p, i) => '<li><button type="button" class="btn btn-link btn-sm p-0 ' +
      'text-start problem" data-i="' + i + '">' + escape(p.message) + '</button></li>').join('');
    problemList.querySelectorAll('.problem').forEach((button) => button.addEventListener('click', () => {
      const problem = problems[Number(button.dataset.i)];
      const element = problem.element_id && registry.get(problem.element_id);
      if (element) {
        get('selection').select(element);
        canvas.scrollToElement(element);
      }
    }));
    mark(problems.map((p) => p.element_id).filter(Boolean), 'has-problem');
    return problems;
  }
  $('check').addEventListener('click', check);

  // ---------------------------------------------------------------- dry run
  $('dry-run').addEventListener('click', async () => {
    const out = $('paths');
    out.innerHTML = '<p class="small text-muted">' + escape(T.running) + '</p>';
    const { xml } = await modeler.saveXML({ format: true });
    const { body } = await post(root.dataset.dryRun, xml);
    if (!body.valid) {
      out.innerHTML = '<p class="small text-danger">' + escape(T.fix_first) + '</p>';
      check();
      return;
    }
    out.innerHTML = '<p class="small ' + (body.deployable ? 'text-success' : 'text-danger') + '">' +
      escape(body.deployable ? T.all_end : T.stranded) + '</p><ol class="paths">' + body.paths.map((p, i) => {
      const [mode, at] = p.scenario.split(':');
      const where = at ? (registry.get(at) && registry.get(at).businessObject.name) || at : '';
      const title = T.scenarios[mode].replace('{step}', where) + ' · ' + T.applicants[p.applicant];
      const steps = p.steps.map((s) => escape(s.name) + '<span class="text-muted">（' +
        escape(s.lane_label || s.lane || '') + (s.outcome ? ' · ' + escape(T.outcomes[s.outcome] || s.outcome) : '') +
        '）</span>').join(' → ');
      const end = p.stranded ? '<span class="text-danger"> ✗ ' + escape(T.stranded_at) + ' ' +
        escape(p.stranded_at || '') + '</span>' : ' → <span class="text-success">' +
        escape((registry.get(p.end_id) && registry.get(p.end_id).businessObject.name) || p.end_id) + '</span>';
      return '<li><button type="button" class="btn btn-link btn-sm p-0 text-start path" data-i="' + i + '">' +
        escape(title) + '</button><div class="small">' + steps + end + '</div></li>';
    }).join('') + '</ol>';
    out.querySelectorAll('.path').forEach((button) => button.addEventListener('click', () => {
      const path = body.paths[Number(button.dataset.i)];
      mark(path.steps.map((s) => s.element_id).concat(path.end_id ? [path.end_id] : []), 'on-path');
    }));
  });

  // ---------------------------------------------------------------- save a draft on the server
  $('save-draft').addEventListener('click', async () => {
    const { xml } = await modeler.saveXML({ format: true });
    const { ok, body } = await post(root.dataset.draft, xml);
    if (ok) {
      dirty = false;
      show('success', body.message);
    } else {
      const error = body.error || {};
      show('danger', root.dataset.failed + root.dataset.colon + (error.message || ''));
    }
  });

  // ---------------------------------------------------------------- save (deploy)
  $('save').addEventListener('click', async () => {
    show('info', root.dataset.saving);
    const { xml } = await modeler.saveXML({ format: true });
    const { ok, body } = await post(root.dataset.save, xml);
    if (ok) {
      dirty = false;
      window.location.href = body.redirect;
    } else {
      const error = body.error || {};
      show('danger', root.dataset.failed + root.dataset.colon + (error.message || '') + ' ' +
        Object.values(error.fields || {}).join(root.dataset.separator));
      check();
    }
  });
  check();
})();
