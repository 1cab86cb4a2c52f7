"""Add (or replace) the diagram layout (BPMN DI) of a BPMN file, so bpmn-js and other
modelers can open a diagram that was written by hand.

    .venv/bin/python scripts/bpmn_layout.py processes/credit_hour_approval.bpmn

Elements are placed in columns by their longest distance from the start event (back edges
of loops ignored) and in rows by their lane; flows are drawn as orthogonal connectors.
The process semantics are untouched: only the bpmndi section is rewritten.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
NS = {"bpmn": BPMN, "bpmndi": BPMNDI}

SIZES = {"startEvent": (36, 36), "endEvent": (36, 36), "exclusiveGateway": (50, 50),
         "parallelGateway": (50, 50), "boundaryEvent": (36, 36)}
TASK = (110, 70)
COL_W, ROW_H, LANE_LABEL, X0 = 160, 110, 30, 60


def layout(path: Path) -> None:
    tree = etree.parse(str(path))
    root = tree.getroot()
    process = root.find(f"{{{BPMN}}}process")
    nodes = {el.get("id"): el for el in process if el.get("id") and etree.QName(el).localname not in
             ("laneSet", "sequenceFlow") and etree.QName(el).localname != "documentation"}
    flows = process.findall(f"{{{BPMN}}}sequenceFlow")
    succ: dict[str, list[str]] = defaultdict(list)
    for f in flows:
        succ[f.get("sourceRef")].append(f.get("targetRef"))
    starts = [i for i, el in nodes.items() if etree.QName(el).localname == "startEvent"]

    # longest-path layering on the graph without back edges (DFS order)
    order: list[str] = []
    state: dict[str, int] = {}
    back: set[tuple[str, str]] = set()

    def dfs(n: str) -> None:
        state[n] = 1
        for m in succ[n]:
            if state.get(m) == 1:
                back.add((n, m))
            elif m not in state:
                dfs(m)
        state[n] = 2
        order.append(n)

    for s in starts:
        dfs(s)
    for n in nodes:
        if n not in state:
            dfs(n)
    col = dict.fromkeys(nodes, 0)
    for n in reversed(order):
        for m in succ[n]:
            if (n, m) not in back:
                col[m] = max(col[m], col[n] + 1)

    lanes = process.findall(".//bpmn:lane", NS)
    lane_of = {ref.text: lane.get("id") for lane in lanes for ref in lane.findall("bpmn:flowNodeRef", NS)}
    # rows inside each lane: elements sharing a column stack downwards
    slot: dict[str, int] = {}
    used: dict[tuple[str, int], int] = defaultdict(int)
    for n in sorted(nodes, key=lambda i: col[i]):
        key = (lane_of.get(n, ""), col[n])
        slot[n] = used[key]
        used[key] += 1
    lane_rows = {lane.get("id"): max([used[(lane.get("id"), c)] for c in range(max(col.values()) + 1)] + [1])
                 for lane in lanes}
    lane_y: dict[str, int] = {}
    y = 40
    for lane in lanes:
        lane_y[lane.get("id")] = y
        y += lane_rows[lane.get("id")] * ROW_H + 20
    width = X0 + (max(col.values()) + 1) * COL_W + 40

    bounds: dict[str, tuple[int, int, int, int]] = {}
    for n, el in nodes.items():
        w, h = SIZES.get(etree.QName(el).localname, TASK)
        cx = X0 + LANE_LABEL + col[n] * COL_W + COL_W // 2
        cy = lane_y.get(lane_of.get(n, ""), 40) + slot[n] * ROW_H + ROW_H // 2 + 10
        bounds[n] = (cx - w // 2, cy - h // 2, w, h)

    for old in root.findall(f"{{{BPMNDI}}}BPMNDiagram"):
        root.remove(old)
    diagram = etree.SubElement(root, f"{{{BPMNDI}}}BPMNDiagram", id=f"Diagram_{process.get('id')}")
    collab = root.find(f"{{{BPMN}}}collaboration")
    plane = etree.SubElement(diagram, f"{{{BPMNDI}}}BPMNPlane", id=f"Plane_{process.get('id')}",
                             bpmnElement=(collab.get("id") if collab is not None else process.get("id")))

    def bounds_el(parent, x, y, w, h):
        etree.SubElement(parent, f"{{{DC}}}Bounds", x=str(x), y=str(y), width=str(w), height=str(h))

    if collab is not None:
        part = collab.find(f"{{{BPMN}}}participant")
        shape = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNShape", id=f"{part.get('id')}_di",
                                 bpmnElement=part.get("id"), isHorizontal="true")
        bounds_el(shape, X0 - 30, 40, width - X0 + 30, y - 40)
    for lane in lanes:
        shape = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNShape", id=f"{lane.get('id')}_di",
                                 bpmnElement=lane.get("id"), isHorizontal="true")
        bounds_el(shape, X0, lane_y[lane.get("id")], width - X0, lane_rows[lane.get("id")] * ROW_H + 20)
    for n, (x, y0, w, h) in bounds.items():
        attrs = {"id": f"{n}_di", "bpmnElement": n}
        if etree.QName(nodes[n]).localname == "exclusiveGateway":
            attrs["isMarkerVisible"] = "true"
        shape = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNShape", **attrs)
        bounds_el(shape, x, y0, w, h)
    for f in flows:
        s, t = bounds[f.get("sourceRef")], bounds[f.get("targetRef")]
        sx, sy = s[0] + s[2], s[1] + s[3] // 2
        tx, ty = t[0], t[1] + t[3] // 2
        if tx <= sx:  # back edge: leave from the bottom, come into the bottom
            sx, sy = s[0] + s[2] // 2, s[1] + s[3]
            tx, ty = t[0] + t[2] // 2, t[1] + t[3]
            low = max(sy, ty) + 15
            points = [(sx, sy), (sx, low), (tx, low), (tx, ty)]
        elif sy == ty:
            points = [(sx, sy), (tx, ty)]
        else:
            mid = (sx + tx) // 2
            points = [(sx, sy), (mid, sy), (mid, ty), (tx, ty)]
        edge = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNEdge", id=f"{f.get('id')}_di", bpmnElement=f.get("id"))
        for px, py in points:
            etree.SubElement(edge, f"{{{DI}}}waypoint", x=str(px), y=str(py))

    for sub in process.findall(f"{{{BPMN}}}subProcess"):
        _layout_subprocess(root, sub, lane_of)

    etree.cleanup_namespaces(root, top_nsmap={"bpmndi": BPMNDI, "dc": DC, "di": DI})
    etree.indent(tree, space="  ")
    tree.write(str(path), xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _layout_subprocess(root, sub, lane_of: dict[str, str]) -> None:
    """A (collapsed) sub-process gets its own diagram plane, as modelers draw a drill-down:
    columns by longest path from its start event, rows by the lane of each element."""
    nodes = {el.get("id"): el for el in sub if el.get("id") and etree.QName(el).localname != "sequenceFlow"}
    flows = sub.findall(f"{{{BPMN}}}sequenceFlow")
    succ: dict[str, list[str]] = defaultdict(list)
    for f in flows:
        succ[f.get("sourceRef")].append(f.get("targetRef"))
    col = dict.fromkeys(nodes, 0)
    for _ in range(len(nodes)):  # longest path; sub-processes here are acyclic
        for n in nodes:
            for m in succ[n]:
                if m in col:
                    col[m] = max(col[m], col[n] + 1)
    lane_ids = list(dict.fromkeys(lane_of.get(n, "") for n in nodes))
    used: dict[tuple[str, int], int] = defaultdict(int)
    row: dict[str, int] = {}
    for n in nodes:
        lane = lane_of.get(n, "")
        row[n] = lane_ids.index(lane) * 2 + used[(lane, col[n])]
        used[(lane, col[n])] += 1
    diagram = etree.SubElement(root, f"{{{BPMNDI}}}BPMNDiagram", id=f"Diagram_{sub.get('id')}")
    plane = etree.SubElement(diagram, f"{{{BPMNDI}}}BPMNPlane", id=f"Plane_{sub.get('id')}",
                             bpmnElement=sub.get("id"))
    bounds: dict[str, tuple[int, int, int, int]] = {}
    for n, el in nodes.items():
        w, h = SIZES.get(etree.QName(el).localname, TASK)
        cx, cy = X0 + col[n] * COL_W + COL_W // 2, 40 + row[n] * ROW_H + ROW_H // 2
        bounds[n] = (cx - w // 2, cy - h // 2, w, h)
        attrs = {"id": f"{n}_di", "bpmnElement": n}
        if etree.QName(el).localname == "exclusiveGateway":
            attrs["isMarkerVisible"] = "true"
        shape = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNShape", **attrs)
        etree.SubElement(shape, f"{{{DC}}}Bounds", x=str(bounds[n][0]), y=str(bounds[n][1]), width=str(w),
                         height=str(h))
    for f in flows:
        s, t = bounds[f.get("sourceRef")], bounds[f.get("targetRef")]
        sx, sy, tx, ty = s[0] + s[2], s[1] + s[3] // 2, t[0], t[1] + t[3] // 2
        mid = (sx + tx) // 2
        points = [(sx, sy), (tx, ty)] if sy == ty else [(sx, sy), (mid, sy), (mid, ty), (tx, ty)]
        edge = etree.SubElement(plane, f"{{{BPMNDI}}}BPMNEdge", id=f"{f.get('id')}_di", bpmnElement=f.get("id"))
        for px, py in points:
            etree.SubElement(edge, f"{{{DI}}}waypoint", x=str(px), y=str(py))


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        layout(Path(arg))
        print(f"laid out {arg}")
