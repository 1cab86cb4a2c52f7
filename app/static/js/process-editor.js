// The in-browser chain editor of process administration (bpmn-js): a properties panel of our own (lane,
// form with a preview, name, condition picker checked as you type, service operation), the problems of the
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

  const modeler = new window.BpmnJS({
    container: '#canvas',
    additionalModules: [{ translate: ['value', translate] }],
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
  const modeling = get('modeling');
  const moddle = get('moddle');
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

  // ---------------------------------------------------------------- properties of the selected element
  const panel = $('properties');
  let selected = null;
  modeler.on('selection.changed', ({ newSelection }) => {
    selected = newSelection.length === 1 ? newSelection[0] : null;
    renderPanel();
  });
  modeler.on('element.changed', ({ element }) => {
    if (selected && element.id === selected.id && !panel.contains(document.activeElement)) renderPanel();
  });

  function extension(bo, type, create) {
    let ext = bo.extensionElements;
    if (!ext) {
      if (!create) return null;
      ext = moddle.create('bpmn:ExtensionElements', { values: [] });
      ext.$parent = bo;
      bo.extensionElements = ext;
    }
    let found = (ext.values || []).find((v) => v.$type === type);
    if (!found && create) {
      found = moddle.create(type, type === 'spiffworkflow:Properties' ? { properties: [] } : {});
      found.$parent = ext;
      ext.values = (ext.values || []).concat([found]);
    }
    return found;
  }

  function property(bo, name) {
    const props = extension(bo, 'spiffworkflow:Properties', false);
    const found = props && (props.properties || []).find((p) => p.name === name);
    return found ? found.value : '';
  }

  function setProperties(element, values) {
    const bo = element.businessObject;
    const props = extension(bo, 'spiffworkflow:Properties', true);
    Object.entries(values).forEach(([name, value]) => {
      let found = (props.properties || []).find((p) => p.name === name);
      if (!value) {
        props.properties = (props.properties || []).filter((p) => p !== found);
        return;
      }
      if (!found) {
        found = moddle.create('spiffworkflow:Property', { name: name });
        found.$parent = props;
        props.properties = (props.properties || []).concat([found]);
      }
      found.value = value;
    });
    modeling.updateProperties(element, { extensionElements: bo.extensionElements });
  }

  function laneOf(element) {
    return registry.filter((e) => e.type === 'bpmn:Lane' &&
      (e.businessObject.flowNodeRef || []).includes(element.businessObject))[0] || null;
  }

  function moveToLane(element, key) {
    let lane = registry.filter((e) => e.type === 'bpmn:Lane' && e.businessObject.name === key)[0];
    if (!lane) {
      const lanes = registry.filter((e) => e.type === 'bpmn:Lane');
      const last = lanes.sort((a, b) => (a.y + a.height) - (b.y + b.height)).pop();
      if (!last) return;
      lane = modeling.addLane(last, 'bottom');
      modeling.updateProperties(lane, { name: key });
    }
    const dy = (lane.y + lane.height / 2) - (element.y + element.height / 2);
    modeling.moveElements([element], { x: 0, y: dy });
  }

  const field = (label, control, help) => '<div class="mb-3"><label class="form-label small fw-semibold">' +
    escape(label) + '</label>' + control + (help ? '<div class="form-text">' + help + '</div>' : '') + '</div>';
  const options = (items, current) => items.map(([value, label]) => '<option value="' + escape(value) + '"' +
    (value === current ? ' selected' : '') + '>' + escape(label) + '</option>').join('');

  function renderPanel() {
    if (!selected || selected.type === 'label') {
      panel.innerHTML = '<p class="text-muted small mb-0">' + escape(T.select_hint) + '</p>';
      return;
    }
    const el = selected;
    const bo = el.businessObject;
    const kind = el.type.replace('bpmn:', '');
    let html = '<div class="small text-muted mb-2">' + escape(T.kinds[kind] || kind) + ' · <code>' +
      escape(el.id) + '</code></div>';
    if (kind !== 'Lane') {
      html += field(T.name, '<input class="form-control form-control-sm" id="p-name" value="' +
        escape(bo.name || '') + '">');
    }
    if (kind === 'Lane') {
      html += field(T.lane, '<select class="form-select form-select-sm" id="p-lane-name">' +
        options([['', '—']].concat(config.lanes.map((l) => [l.key, l.label + '（' + l.key + '）'])), bo.name || '') +
        '</select>', escape(T.lane_help));
    }
    if (kind === 'UserTask' || kind === 'ManualTask') {
      const lane = laneOf(el);
      const current = lane ? lane.businessObject.name : '';
      html += field(T.lane, '<select class="form-select form-select-sm" id="p-lane">' +
        options([['', '—']].concat(config.lanes.filter((l) => l.key !== 'applicant' || true)
          .map((l) => [l.key, l.label])), current) + '</select>', escape(T.lane_task_help));
      const form = property(bo, 'formJsonSchemaFilename');
      html += field(T.form, '<select class="form-select form-select-sm" id="p-form">' +
        options([['', '—']].concat(config.forms.map((f) => [f.name, f.title + ' · ' + f.name])), form) +
        '</select>', '') + '<div id="p-form-preview">' + preview(form) + '</div>';
    }
    if (kind === 'ServiceTask') {
      const op = extension(bo, 'spiffworkflow:ServiceTaskOperator', false);
      html += field(T.operation, '<select class="form-select form-select-sm" id="p-operation">' +
        options([['', '—']].concat(config.operations.map((o) => [o, o])), op ? op.id : '') + '</select>',
      escape(T.operation_help));
    }
    if (kind === 'SequenceFlow' && /Gateway$/.test(bo.sourceRef.$type)) {
      const gateway = bo.sourceRef;
      const text = bo.conditionExpression ? (bo.conditionExpression.body || '') : '';
      const isDefault = gateway.default === bo;
      html += '<div class="form-check mb-2"><input class="form-check-input" type="checkbox" id="p-default"' +
        (isDefault ? ' checked' : '') + '><label class="form-check-label small" for="p-default">' +
        escape(T.default_flow) + '</label></div>';
      html += field(T.condition, '<select class="form-select form-select-sm mb-1" id="p-pick">' +
        options([['', T.pick]].concat(T.picks.map((p) => [p[0], p[1]])), '') + '</select>' +
        '<div class="input-group input-group-sm mb-1 d-none" id="p-n-group"><span class="input-group-text">N</span>' +
        '<input type="number" class="form-control" id="p-n" value="40" min="0"></div>' +
        '<input class="form-control form-control-sm font-monospace" id="p-condition" value="' + escape(text) +
        '"' + (isDefault ? ' disabled' : '') + ' placeholder="outcome == \'approve\'">' +
        '<div id="p-condition-check" class="form-text"></div>', escape(T.condition_help));
    }
    panel.innerHTML = html;
    bindPanel(el);
  }

  function preview(name) {
    const form = config.forms.find((f) => f.name === name);
    if (!form) return '';
    return '<div class="form-preview"><div class="fw-semibold">' + escape(form.title) + '</div><ul>' +
      form.fields.map((f) => '<li>' + escape(f) + '</li>').join('') + '</ul></div>';
  }

  function bindPanel(el) {
    const on = (id, event, fn) => { const node = $(id); if (node) node.addEventListener(event, fn); };
    on('p-name', 'change', (e) => modeling.updateLabel(el, e.target.value));
    on('p-lane-name', 'change', (e) => modeling.updateProperties(el, { name: e.target.value }));
    on('p-lane', 'change', (e) => { if (e.target.value) moveToLane(el, e.target.value); });
    on('p-form', 'change', (e) => {
      const form = config.forms.find((f) => f.name === e.target.value);
      setProperties(el, { formJsonSchemaFilename: e.target.value, formUiSchemaFilename: form ? form.ui : '' });
      $('p-form-preview').innerHTML = preview(e.target.value);
    });
    on('p-operation', 'change', (e) => {
      const bo = el.businessObject;
      const op = extension(bo, 'spiffworkflow:ServiceTaskOperator', true);
      op.id = e.target.value;
      if (!op.resultVariable) op.resultVariable = 'result';
      modeling.updateProperties(el, { extensionElements: bo.extensionElements });
    });
    on('p-default', 'change', (e) => {
      const gateway = registry.get(el.businessObject.sourceRef.id);
      modeling.updateProperties(gateway, { default: e.target.checked ? el.businessObject : undefined });
      if (e.target.checked) setCondition(el, '');
      renderPanel();
    });
    const input = $('p-condition');
    const pick = $('p-pick');
    if (!input) return;
    const fromPick = () => {
      const chosen = T.picks.find((p) => p[0] === pick.value);
      $('p-n-group').classList.toggle('d-none', !(chosen && chosen[2].includes('{N}')));
      if (!chosen) return;
      input.value = chosen[2].replace('{N}', String(Number($('p-n').value) || 0));
      input.dispatchEvent(new Event('input'));
      input.dispatchEvent(new Event('change'));
    };
    pick.addEventListener('change', fromPick);
    on('p-n', 'input', fromPick);
    let timer = null;
    input.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(() => checkExpression(input.value), 250);
    });
    input.addEventListener('change', () => setCondition(el, input.value.trim()));
    if (input.value) checkExpression(input.value);
  }

  function setCondition(el, text) {
    const expression = text ? moddle.create('bpmn:FormalExpression', { body: text }) : undefined;
    modeling.updateProperties(el, { conditionExpression: expression });
  }

  async function post(url, body, extra) {
    const answer = await fetch(url + (extra || ''), {
      method: 'POST', credentials: 'same-origin', body: body,
      headers: { 'Content-Type': 'application/xml', 'X-CSRFToken': root.dataset.csrf },
    });
    return { ok: answer.ok, body: await answer.json() };
  }

  async function checkExpression(text) {
    const out = $('p-condition-check');
    if (!out) return;
    if (!text.trim()) { out.textContent = ''; return; }
    const { body } = await post(root.dataset.validate, text, '?expression=1');
    out.className = 'form-text ' + (body.valid ? 'text-success' : 'text-danger');
    out.textContent = body.valid ? T.expression_ok : body.message;
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
  renderPanel();
  check();
})();
