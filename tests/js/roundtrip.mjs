// Reads a BPMN file and writes it back the way the browser editor (bpmn-js) saves it.
import { BpmnModdle } from '../../app/static/node_modules/bpmn-moddle/dist/index.js';
import fs from 'fs';

const [source, target] = process.argv.slice(2);
const moddle = new BpmnModdle();
const { rootElement } = await moddle.fromXML(fs.readFileSync(source, 'utf8'));
// the edit an administrator makes by dragging: the supervisory review moves to the HR bureau's lane
const lanes = rootElement.rootElements.find((e) => e.$type === 'bpmn:Process').laneSets[0].lanes;
const from = lanes.find((l) => l.name === 'supervisory_department');
const to = lanes.find((l) => l.name === 'hr_bureau');
const moved = from.flowNodeRef.filter((n) => n.$type === 'bpmn:UserTask');
from.flowNodeRef = from.flowNodeRef.filter((n) => !moved.includes(n));
to.flowNodeRef.push(...moved);
const { xml } = await moddle.toXML(rootElement, { format: true });
fs.writeFileSync(target, xml);
