// Entry of the properties-panel bundle (scripts/build_static.sh): bpmn-js-properties-panel and the pieces of
// @bpmn-io/properties-panel our own provider (js/process-properties.js) builds its entries from, exposed as
// window.CeppPropertiesPanel next to the bpmn-js modeler served from node_modules.
export { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, useService } from 'bpmn-js-properties-panel';
export {
  CheckboxEntry, Group, NumberFieldEntry, SelectEntry, TextFieldEntry, isCheckboxEntryEdited,
  isNumberFieldEntryEdited, isSelectEntryEdited, isTextFieldEntryEdited,
} from '@bpmn-io/properties-panel';
export { h } from '@bpmn-io/properties-panel/preact';
export { useEffect, useState } from '@bpmn-io/properties-panel/preact/hooks';
