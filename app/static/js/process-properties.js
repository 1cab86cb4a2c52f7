// Our provider for bpmn-js-properties-panel (vendor/properties-panel.min.js, window.CeppPropertiesPanel):
// a user task's lane (the known lanes, with their labels) and form (from forms/, with a preview); a sequence
// flow out of a gateway: its condition picked (outcome, supervisory department, hours above N) or typed and
// checked as you type, or the gateway's default; a service task's registered operation; a lane's key.
// ``window.ceppProcessProperties(config, texts, checkExpression)`` answers the bpmn-js module to add.
(function () {
  'use strict';
  const P = window.CeppPropertiesPanel;
  if (!P) return;
  const { h, useService, useEffect, useState } = P;

  window.ceppProcessProperties = function (config, T, checkExpression) {
    const is = (element, type) => element && element.businessObject && element.businessObject.$instanceOf(type);

    // ------------------------------------------------------------ the SpiffWorkflow extension elements
    function extension(moddle, bo, type, create) {
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
      const props = extension(null, bo, 'spiffworkflow:Properties', false);
      const found = props && (props.properties || []).find((p) => p.name === name);
      return found ? found.value : '';
    }

    function setProperties(modeling, moddle, element, values) {
      const bo = element.businessObject;
      const props = extension(moddle, bo, 'spiffworkflow:Properties', true);
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

    function laneOf(registry, element) {
      return registry.filter((e) => e.type === 'bpmn:Lane' &&
        (e.businessObject.flowNodeRef || []).includes(element.businessObject))[0] || null;
    }

    function moveToLane(registry, modeling, element, key) {
      let lane = registry.filter((e) => e.type === 'bpmn:Lane' && e.businessObject.name === key)[0];
      if (!lane) { // a lane the diagram does not have yet: added at the bottom
        const lanes = registry.filter((e) => e.type === 'bpmn:Lane');
        const last = lanes.sort((a, b) => (a.y + a.height) - (b.y + b.height)).pop();
        if (!last) return;
        lane = modeling.addLane(last, 'bottom');
        modeling.updateProperties(lane, { name: key });
      }
      const dy = (lane.y + lane.height / 2) - (element.y + element.height / 2);
      modeling.moveElements([element], { x: 0, y: dy });
    }

    const laneOptions = () => [{ value: '', label: '—' }].concat(config.lanes.map((l) => ({
      value: l.key, label: l.label })));

    // ------------------------------------------------------------ user task: lane and form
    function TaskLane({ element, id }) {
      const registry = useService('elementRegistry');
      const modeling = useService('modeling');
      return h(P.SelectEntry, {
        element, id, label: T.lane, description: T.lane_task_help,
        getValue: () => { const lane = laneOf(registry, element); return lane ? lane.businessObject.name || '' : ''; },
        setValue: (value) => { if (value) moveToLane(registry, modeling, element, value); },
        getOptions: laneOptions,
      });
    }

    function TaskForm({ element, id }) {
      const modeling = useService('modeling');
      const moddle = useService('moddle');
      return h(P.SelectEntry, {
        element, id, label: T.form,
        getValue: () => property(element.businessObject, 'formJsonSchemaFilename'),
        setValue: (value) => {
          const form = config.forms.find((f) => f.name === value);
          setProperties(modeling, moddle, element, {
            formJsonSchemaFilename: value, formUiSchemaFilename: form ? form.ui : '' });
        },
        getOptions: () => [{ value: '', label: '—' }].concat(config.forms.map((f) => ({
          value: f.name, label: f.title + ' · ' + f.name }))),
      });
    }

    function FormPreview({ element, id }) {
      const form = config.forms.find((f) => f.name === property(element.businessObject, 'formJsonSchemaFilename'));
      if (!form) return null;
      return h('div', { class: 'bio-properties-panel-entry form-preview', 'data-entry-id': id, id: 'p-form-preview' },
        h('div', { class: 'fw-semibold' }, T.form_preview + T.colon + form.title),
        h('ul', null, form.fields.map((f) => h('li', null, f))));
    }

    // ------------------------------------------------------------ a lane: which relation it stands for
    function LaneKey({ element, id }) {
      const modeling = useService('modeling');
      return h(P.SelectEntry, {
        element, id, label: T.lane, description: T.lane_help,
        getValue: () => element.businessObject.name || '',
        setValue: (value) => modeling.updateProperties(element, { name: value }),
        getOptions: () => laneOptions().map((o) => (o.value ? { value: o.value, label: o.label + '（' + o.value + '）' } : o)),
      });
    }

    // ------------------------------------------------------------ service task: a registered operation
    function Operation({ element, id }) {
      const modeling = useService('modeling');
      const moddle = useService('moddle');
      return h(P.SelectEntry, {
        element, id, label: T.operation, description: T.operation_help,
        getValue: () => {
          const op = extension(null, element.businessObject, 'spiffworkflow:ServiceTaskOperator', false);
          return op ? op.id || '' : '';
        },
        setValue: (value) => {
          const bo = element.businessObject;
          const op = extension(moddle, bo, 'spiffworkflow:ServiceTaskOperator', true);
          op.id = value;
          if (!op.resultVariable) op.resultVariable = 'result';
          modeling.updateProperties(element, { extensionElements: bo.extensionElements });
        },
        getOptions: () => [{ value: '', label: '—' }].concat(config.operations.map((o) => ({ value: o, label: o }))),
      });
    }

    // ------------------------------------------------------------ sequence flow out of a gateway
    const conditionOf = (element) => {
      const expression = element.businessObject.conditionExpression;
      return expression ? expression.body || '' : '';
    };
    const isDefault = (element) => element.businessObject.sourceRef.default === element.businessObject;
    const HOURS = /^hours\s*>\s*(\d+(?:\.\d+)?)$/;

    function setCondition(modeling, moddle, element, text) {
      const expression = text ? moddle.create('bpmn:FormalExpression', { body: text }) : undefined;
      modeling.updateProperties(element, { conditionExpression: expression });
    }

    function DefaultFlow({ element, id }) {
      const modeling = useService('modeling');
      const moddle = useService('moddle');
      const registry = useService('elementRegistry');
      return h(P.CheckboxEntry, {
        element, id, label: T.default_flow,
        getValue: () => isDefault(element),
        setValue: (value) => {
          const gateway = registry.get(element.businessObject.sourceRef.id);
          modeling.updateProperties(gateway, { default: value ? element.businessObject : undefined });
          if (value) setCondition(modeling, moddle, element, '');
        },
      });
    }

    function ConditionPick({ element, id }) {
      const modeling = useService('modeling');
      const moddle = useService('moddle');
      return h(P.SelectEntry, {
        element, id, label: T.pick_label, disabled: isDefault(element),
        getValue: () => {
          const text = conditionOf(element).trim();
          if (HOURS.test(text)) return 'hours';
          const found = T.picks.find((p) => p[2] === text);
          return found ? found[0] : '';
        },
        setValue: (value) => {
          const chosen = T.picks.find((p) => p[0] === value);
          if (!chosen) return;
          const current = HOURS.exec(conditionOf(element).trim());
          setCondition(modeling, moddle, element, chosen[2].replace('{N}', current ? current[1] : '40'));
        },
        getOptions: () => [{ value: '', label: T.pick }].concat(T.picks.map((p) => ({ value: p[0], label: p[1] }))),
      });
    }

    function HoursN({ element, id }) {
      const modeling = useService('modeling');
      const moddle = useService('moddle');
      const debounce = useService('debounceInput');
      if (!HOURS.test(conditionOf(element).trim())) return null;
      return h(P.NumberFieldEntry, {
        element, id, label: T.hours_n, min: 0, debounce,
        getValue: () => Number(HOURS.exec(conditionOf(element).trim())[1]),
        setValue: (value) => setCondition(modeling, moddle, element, 'hours > ' + (Number(value) || 0)),
      });
    }

    function ConditionText({ element, id }) {
      const modeling = useService('modeling');
      const moddle = useService('moddle');
      const debounce = useService('debounceInput');
      const text = conditionOf(element);
      const [check, setCheck] = useState(null);
      useEffect(() => {
        let live = true;
        if (!text.trim()) { setCheck(null); return undefined; }
        checkExpression(text).then((answer) => { if (live) setCheck(answer); });
        return () => { live = false; };
      }, [text]);
      const description = check && h('span', { id: 'p-condition-check', class: check.valid ? 'text-success-emphasis' : 'text-danger-emphasis' },
        check.valid ? T.expression_ok : check.message);
      return h(P.TextFieldEntry, {
        element, id, label: T.condition, debounce, disabled: isDefault(element),
        description: description || T.condition_help,
        getValue: () => conditionOf(element),
        setValue: (value) => setCondition(modeling, moddle, element, (value || '').trim()),
      });
    }

    // ------------------------------------------------------------ the provider
    function Provider(propertiesPanel) {
      propertiesPanel.registerProvider(400, this);
    }
    Provider.$inject = ['propertiesPanel'];
    Provider.prototype.getGroups = function (element) {
      return function (groups) {
        const entries = [];
        const entry = (id, component, isEdited) => entries.push({ id, component, element, isEdited });
        if (is(element, 'bpmn:UserTask') || is(element, 'bpmn:ManualTask')) {
          entry('cepp-lane', TaskLane, P.isSelectEntryEdited);
          entry('cepp-form', TaskForm, P.isSelectEntryEdited);
          entry('cepp-form-preview', FormPreview);
        } else if (is(element, 'bpmn:ServiceTask')) {
          entry('cepp-operation', Operation, P.isSelectEntryEdited);
        } else if (is(element, 'bpmn:Lane')) {
          entry('cepp-lane-key', LaneKey, P.isSelectEntryEdited);
        } else if (is(element, 'bpmn:SequenceFlow') && is({ businessObject: element.businessObject.sourceRef },
          'bpmn:Gateway')) {
          entry('cepp-default', DefaultFlow, P.isCheckboxEntryEdited);
          entry('cepp-pick', ConditionPick, P.isSelectEntryEdited);
          entry('cepp-hours', HoursN, P.isNumberFieldEntryEdited);
          entry('cepp-condition', ConditionText, P.isTextFieldEntryEdited);
        }
        if (entries.length) {
          const group = { id: 'cepp', label: T.platform_group, entries };
          const general = groups.findIndex((g) => g.id === 'general');
          groups.splice(general >= 0 ? general + 1 : 0, 0, group);
        }
        return groups;
      };
    };

    return { __init__: ['ceppPropertiesProvider'], ceppPropertiesProvider: ['type', Provider] };
  };
})();
