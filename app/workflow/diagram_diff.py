"""What changed between two versions of a diagram, element by element (matched by id): the elements added,
removed and changed, and for each changed one what changed (name, lane, form, condition, connections...)."""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"


@dataclass
class DiagramDiff:
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    #: {element id: the aspects that changed: type, name, lane, form, condition, source, target, operation,
    #: script, default}
    changed: dict[str, list[str]] = field(default_factory=dict)


def _elements(xml: str) -> dict[str, dict[str, str]]:
    root = etree.fromstring(xml.encode(), etree.XMLParser(resolve_entities=False, no_network=True))
    lane_of: dict[str, str] = {}
    for lane in root.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.iterfind(f"{{{BPMN_NS}}}flowNodeRef"):
            lane_of[(ref.text or "").strip()] = lane.get("name") or ""
    out: dict[str, dict[str, str]] = {}
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        for el in process.iter():
            if not isinstance(el.tag, str) or etree.QName(el).namespace != BPMN_NS or not el.get("id"):
                continue
            kind = etree.QName(el).localname
            if kind in ("process", "laneSet", "extensionElements"):
                continue
            props = {p.get("name"): p.get("value") for p in el.iterfind(
                f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}properties/{{{SPIFF_NS}}}property")}
            operator = el.find(f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}serviceTaskOperator")
            out[el.get("id")] = {
                "type": kind, "name": el.get("name") or "", "lane": lane_of.get(el.get("id"), ""),
                "form": props.get("formJsonSchemaFilename") or "",
                "condition": (el.findtext(f"{{{BPMN_NS}}}conditionExpression") or "").strip(),
                "source": el.get("sourceRef") or "", "target": el.get("targetRef") or "",
                "operation": operator.get("id") if operator is not None else "",
                "script": (el.findtext(f"{{{BPMN_NS}}}script") or "").strip(),
                "default": el.get("default") or "",
            }
    return out


def diff(old_xml: str, new_xml: str) -> DiagramDiff:
    old, new = _elements(old_xml), _elements(new_xml)
    result = DiagramDiff(added=[i for i in new if i not in old], removed=[i for i in old if i not in new])
    for element_id in old.keys() & new.keys():
        aspects = [k for k, v in old[element_id].items() if new[element_id][k] != v]
        if aspects:
            result.changed[element_id] = aspects
    result.changed = dict(sorted(result.changed.items()))
    return result


def names(*xmls: str) -> dict[str, str]:
    """{element id: name} over the given diagrams (the later ones win), for listing the changes readably."""
    out: dict[str, str] = {}
    for xml in xmls:
        out.update({i: e["name"] for i, e in _elements(xml).items() if e["name"]})
    return out
