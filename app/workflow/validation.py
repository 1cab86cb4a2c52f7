"""Validation that teaches: every problem of a BPMN or DMN text at once, each naming its element (id and name)
and saying how to mend it, in the request's language.

:func:`validate` never raises on a bad file: whatever is wrong with it becomes a :class:`Problem`. What the
engine itself refuses (``versions.parse_bundle``) is asked last, so a diagram this module accepts can be
deployed.
"""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from flask_babel import gettext as _
from lxml import etree
from SpiffWorkflow.spiff.parser import VALIDATOR

from app.workflow import engine, registry
from app.workflow.forms import FORM_NAME, FORMS_DIR, form_exists, form_files, load_form
from app.workflow.lanes import known_lanes

MAX_BYTES = 2 * 1024 * 1024

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DMN_NAMESPACES = frozenset({
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd", "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "https://www.omg.org/spec/DMN/20191111/MODEL/", "http://www.omg.org/spec/DMN/20191111/MODEL/",
    "https://www.omg.org/spec/DMN/20230324/MODEL/"})
#: Extension namespaces of other engines: their attributes (Java classes, ``${...}`` expressions, listeners)
#: mean nothing here.
FOREIGN_ENGINES = {
    "http://camunda.org/schema/1.0/bpmn": "Camunda",
    "http://camunda.org/schema/1.0/dmn": "Camunda",
    "http://camunda.org/schema/zeebe/1.0": "Camunda 8 (Zeebe)",
    "http://activiti.org/bpmn": "Activiti / Flowable",
    "http://flowable.org/bpmn": "Flowable",
    "http://www.jboss.org/drools": "jBPM",
}
#: ``${approved}`` / ``#{bean.check()}``: JUEL/SpEL, the expression language of Java engines.
_JAVA_EXPRESSION = re.compile(r"[$#]\{[^}]*\}")
_FORM_PROPS = ("formJsonSchemaFilename", "formUiSchemaFilename")
_TASKS = {"task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask", "receiveTask",
          "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess"}
_GATEWAYS = {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway"}
_EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
_NODES = _TASKS | _GATEWAYS | _EVENTS


@dataclass(frozen=True)
class Problem:
    element_id: str | None
    element_name: str | None
    message: str


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _ns(el: etree._Element) -> str:
    return etree.QName(el).namespace or "" if isinstance(el.tag, str) else ""


class _Report:
    """The problems found so far; each message starts with the element it concerns."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self._seen: set[tuple[str | None, str]] = set()

    def add(self, el: etree._Element | None, message: str, element_id: str | None = None) -> None:
        element_id = el.get("id") if el is not None else element_id
        name = (el.get("name") or el.get("label") or None) if el is not None else None
        if name and element_id:
            message = _("“%(name)s”（%(id)s）：%(message)s", name=name, id=element_id, message=message)
        elif element_id:
            message = _("%(id)s：%(message)s", id=element_id, message=message)
        if (element_id, message) in self._seen:
            return
        self._seen.add((element_id, message))
        self.problems.append(Problem(element_id, name, message))


def validate(xml: str | bytes, *, expected_key: str | None = None) -> list[Problem]:
    """Every problem of a BPMN (or DMN) text; an empty list when it can be deployed. Never raises.
    ``expected_key``: the process the text must define (a draft of that process)."""
    report = _Report()
    try:
        _validate(xml, expected_key, report)
    except Exception as exc:  # noqa: BLE001 - a file no check foresaw: still an answer, never a 500
        report.add(None, _("检查时出错，文件可能不完整：%(detail)s", detail=str(exc).splitlines()[0][:300]))
    return report.problems


def _validate(xml: str | bytes, expected_key: str | None, report: _Report) -> None:
    data = xml.encode() if isinstance(xml, str) else xml
    if not data.strip():
        report.add(None, _("内容为空：请提交 BPMN 2.0 或 DMN 的 XML 文本"))
        return
    if len(data) > MAX_BYTES:
        report.add(None, _("文件太大：流程文件不能超过 2MB"))
        return
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        report.add(None, _("不是格式正确的 XML（第 %(line)s 行）：%(detail)s。请用建模工具重新导出文件",
                           line=exc.lineno or "?", detail=exc.msg))
        return
    _check_foreign(root, report)
    if _local(root) == "definitions" and _ns(root) in DMN_NAMESPACES:
        _check_dmn(root, report)
        return
    if _local(root) != "definitions" or _ns(root) != BPMN_NS:
        report.add(None, _("这不是 BPMN 2.0 文件（根元素应为 bpmn:definitions），也不是 DMN 决策表"))
        return
    _check_schema(root, report)
    processes = root.findall(f"{{{BPMN_NS}}}process")
    if len(processes) != 1:
        report.add(None, _("文件应当只有一个流程（bpmn:process），现在有 %(n)s 个", n=len(processes)))
        if not processes:
            return
    process = processes[0]
    key = process.get("id") or ""
    if expected_key is not None and key != expected_key:
        report.add(process, _("流程标识是“%(key)s”，应为“%(expected)s”：草稿只能修改原有流程，请不要改动流程的 id",
                              key=key, expected=expected_key))
    forms_dir = _forms_dir(expected_key or key)
    forms = _check_process(process, forms_dir, report)
    if not report.problems:
        _check_with_engine(data.decode("utf-8", "replace"), forms_dir, forms, root, report)


def _forms_dir(key: str) -> Path:
    """forms/, or the folder of a process that keeps its forms beside its diagram (``ProcessHooks.directory``)."""
    hooks = registry.hooks_for(key)
    return hooks.directory if hooks is not None and hooks.directory is not None else FORMS_DIR


# --------------------------------------------------------------------------- other engines and the schema


def _check_foreign(root: etree._Element, report: _Report) -> None:
    """Diagrams made for Camunda, Activiti, Flowable...: say so, element by element."""
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        engines = {FOREIGN_ENGINES[etree.QName(a).namespace] for a in el.attrib
                   if etree.QName(a).namespace in FOREIGN_ENGINES}
        if _ns(el) in FOREIGN_ENGINES:
            if el.getparent() is not None and _ns(el.getparent()) in FOREIGN_ENGINES:
                continue  # reported at the outermost foreign element
            engines.add(FOREIGN_ENGINES[_ns(el)])
            owner = _owner(el)
            report.add(owner, _("含有 %(engine)s 引擎的扩展（%(tag)s），本平台不会执行它：Java 类、监听器和表单键"
                                "都不起作用。请改用本平台的表单、泳道和已登记的服务操作",
                                engine=" / ".join(sorted(engines)), tag=etree.QName(el).localname))
            continue
        if engines:
            attrs = ", ".join(sorted(etree.QName(a).localname for a in el.attrib
                                     if etree.QName(a).namespace in FOREIGN_ENGINES))
            report.add(el, _("含有 %(engine)s 引擎的属性（%(attrs)s），本平台不会执行它们（例如 Java 类或"
                             "表达式）。请删除这些属性，改用本平台的表单、泳道和已登记的服务操作",
                             engine=" / ".join(sorted(engines)), attrs=attrs))
        if el.text and _JAVA_EXPRESSION.search(el.text) and _local(el) in (
                "conditionExpression", "script", "text", "timeDuration", "timeDate", "timeCycle"):
            report.add(_owner(el), _("表达式 %(expr)s 是 Java 流程引擎（JUEL）的写法，本平台不支持。"
                                     "请写成 Python 表达式，例如 outcome == 'approve'",
                                     expr=el.text.strip()[:80]))


def _owner(el: etree._Element) -> etree._Element:
    """The nearest ancestor (or itself) with an id: the element a problem is shown on."""
    node: etree._Element | None = el
    while node is not None and not node.get("id"):
        node = node.getparent()
    return node if node is not None else el


def _check_schema(root: etree._Element, report: _Report) -> None:
    """Every error of the BPMN 2.0 XSD, each at the element of its line."""
    copied = copy.deepcopy(root)
    VALIDATOR.preprocess(copied)
    if VALIDATOR.validator.validate(copied):
        return
    by_line = {el.sourceline: el for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    for error in list(VALIDATOR.validator.error_log)[:20]:
        el = by_line.get(error.line)
        report.add(el, _("不符合 BPMN 2.0 规范（第 %(line)s 行）：%(detail)s。请用建模工具打开并重新保存",
                         line=error.line, detail=error.message))


# --------------------------------------------------------------------------- one process


def _check_process(process: etree._Element, forms_dir: Path, report: _Report) -> dict[str, dict]:
    """The checks of one process, element by element; returns the forms it uses that exist."""
    lanes = known_lanes()
    available = form_files(forms_dir)
    forms: dict[str, dict] = {}
    lane_of: dict[str, str] = {}
    for lane in process.iter(f"{{{BPMN_NS}}}lane"):
        name = (lane.get("name") or "").strip()
        refs = [(r.text or "").strip() for r in lane.iterfind(f"{{{BPMN_NS}}}flowNodeRef")]
        if lane.find(f"{{{BPMN_NS}}}childLaneSet") is not None:
            continue
        if name not in lanes:
            report.add(lane, _("泳道名称“%(name)s”不是平台认识的组织关系。请选择其中之一：%(choices)s",
                               name=name, choices=_lane_choices(lanes)))
        for ref in refs:
            lane_of[ref] = name
    names = _ElementNames(process)
    for scope in process.iter(f"{{{BPMN_NS}}}process", *(f"{{{BPMN_NS}}}{c}" for c in
                                                          ("subProcess", "transaction", "adHocSubProcess"))):
        _check_graph(scope, names, report)
    for el in process.iter():
        kind = _local(el)
        if _ns(el) != BPMN_NS:
            continue
        if kind in ("userTask", "manualTask"):
            if el.get("id") not in lane_of:
                report.add(el, _("用户任务不在任何泳道里：请把它拖进办理它的组织所在的泳道（如 %(example)s）",
                                 example=_(lanes.get("hr_province", "hr_province"))))
            _check_forms(el, forms_dir, available, forms, report, required=True)
        elif kind == "startEvent":
            _check_forms(el, forms_dir, available, forms, report, required=False)
        elif kind == "serviceTask":
            _check_operation(el, report)
    _check_expressions(process, forms, report)
    return forms


def _lane_choices(lanes: dict[str, str]) -> str:
    return _list(_("%(key)s（%(label)s）", key=key, label=_(label)) for key, label in lanes.items())


def _list(items: Iterable[str]) -> str:
    """Items as a list in the request's language (、 in Chinese)."""
    return _("、").join(items)


def _properties(el: etree._Element) -> dict[str, str]:
    return {p.get("name"): p.get("value") or "" for p in el.iterfind(
        f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}properties/{{{SPIFF_NS}}}property")}


def _check_forms(el: etree._Element, forms_dir: Path, available: list[str], forms: dict[str, dict],
                 report: _Report, *, required: bool) -> None:
    props = _properties(el)
    schema = props.get("formJsonSchemaFilename")
    if not schema:
        if required:
            report.add(el, _("用户任务没有指定表单：请在属性面板里选择办理人填写的表单（审核步骤一般用 %(form)s）",
                             form="review.schema.json"))
        return
    for prop in _FORM_PROPS:
        name = props.get(prop)
        if not name:
            continue
        if not FORM_NAME.fullmatch(name) or ".." in name or not form_exists(name, forms_dir):
            report.add(el, _("表单“%(name)s”不存在。可用的表单：%(choices)s", name=name,
                             choices=_list(n for n in available if n.endswith(
                                 ".schema.json" if prop == _FORM_PROPS[0] else ".uischema.json"))))
            continue
        try:
            forms[name] = load_form(name, forms_dir)
        except (ValueError, OSError) as exc:
            report.add(el, _("表单“%(name)s”不是有效的 JSON：%(detail)s", name=name, detail=str(exc)[:200]))


def _check_operation(el: etree._Element, report: _Report) -> None:
    operator = el.find(f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}serviceTaskOperator")
    operations = registry.operation_names()
    if operator is None or not operator.get("id"):
        report.add(el, _("服务任务没有指定要执行的操作：请从已登记的操作中选择一个：%(choices)s",
                         choices=_list(operations)))
    elif operator.get("id") not in operations:
        report.add(el, _("服务操作“%(name)s”没有在平台登记，无法执行。已登记的操作：%(choices)s",
                         name=operator.get("id"), choices=_list(operations)))


class _ElementNames:
    """Ids and elements of one process."""

    def __init__(self, process: etree._Element) -> None:
        self.by_id = {el.get("id"): el for el in process.iter() if isinstance(el.tag, str) and el.get("id")}


# --------------------------------------------------------------------------- the flow


def _check_graph(scope: etree._Element, names: _ElementNames, report: _Report) -> None:
    """Reachability, gateways and tasks with several outgoing flows, in one process or subprocess."""
    nodes = {el.get("id"): el for el in scope if _ns(el) == BPMN_NS and _local(el) in _NODES and el.get("id")}
    flows = [el for el in scope if _ns(el) == BPMN_NS and _local(el) == "sequenceFlow"]
    out: dict[str, list[etree._Element]] = {n: [] for n in nodes}
    edges: dict[str, list[str]] = {n: [] for n in nodes}
    back: dict[str, list[str]] = {n: [] for n in nodes}
    for flow in flows:
        source, target = flow.get("sourceRef"), flow.get("targetRef")
        for ref in (source, target):
            if ref not in nodes:
                report.add(flow, _("顺序流连接的元素“%(ref)s”不存在或不在同一个流程里：请删除这条连线后重新连接",
                                   ref=ref or ""))
        if source in nodes and target in nodes:
            out[source].append(flow)
            edges[source].append(target)
            back[target].append(source)
    for node in nodes.values():
        if _local(node) == "boundaryEvent" and node.get("attachedToRef") in nodes:
            edges[node.get("attachedToRef")].append(node.get("id"))
            back[node.get("id")].append(node.get("attachedToRef"))
    starts = [n for n, el in nodes.items() if _local(el) == "startEvent"]
    ends = [n for n, el in nodes.items() if _local(el) == "endEvent"]
    if not starts and _local(scope) == "process":
        report.add(scope, _("流程没有开始事件：请从工具栏添加一个开始事件并连到第一个步骤"))
    if not ends and _local(scope) == "process":
        report.add(scope, _("流程没有结束事件：每条路径都要走到一个结束事件"))
    reached = _reach(starts, edges)
    finishing = _reach(ends, back)
    for node_id, el in nodes.items():
        kind = _local(el)
        if starts and node_id not in reached and kind != "startEvent":
            report.add(el, _("从开始事件走不到这一步：请用顺序流把它和前面的步骤连起来，或删除它"))
        elif ends and node_id not in finishing and kind != "endEvent":
            report.add(el, _("从这一步走不到任何结束事件，申请会停在这里：请给它连一条通往后续步骤或结束事件的顺序流"))
        if kind in _TASKS and len(out[node_id]) > 1:
            report.add(el, _("任务有 %(n)s 条流出的顺序流，平台不支持：一个任务只能有一条流出线；"
                             "要分支，请在任务后加一个排他网关，再从网关分出各条带条件的流向", n=len(out[node_id])))
        if kind in ("exclusiveGateway", "inclusiveGateway"):
            _check_gateway(el, out[node_id], names, report)


def _reach(starts: Iterable[str], edges: dict[str, list[str]]) -> set[str]:
    seen = set(starts)
    stack = list(seen)
    while stack:
        for nxt in edges[stack.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _condition(flow: etree._Element) -> str:
    cond = flow.find(f"{{{BPMN_NS}}}conditionExpression")
    return (cond.text or "").strip() if cond is not None else ""


def _check_gateway(gateway: etree._Element, outgoing: list[etree._Element], names: _ElementNames,
                   report: _Report) -> None:
    if len(outgoing) < 2:
        return
    default = gateway.get("default")
    ids = {f.get("id") for f in outgoing}
    if default and default not in ids:
        report.add(gateway, _("默认流向“%(flow)s”不是从这个网关流出的顺序流：请重新选择默认流向", flow=default))
        default = None
    for flow in outgoing:
        if flow.get("id") != default and not _condition(flow):
            target = names.by_id.get(flow.get("targetRef"))
            report.add(flow, _("从网关“%(gateway)s”流向“%(target)s”的顺序流没有条件：请给它设置条件"
                               "（如 outcome == 'approve'），或把它设为网关的默认流向",
                               gateway=gateway.get("name") or gateway.get("id"),
                               target=(target.get("name") or target.get("id")) if target is not None else ""))
    if default is None and not _complete([_condition(f) for f in outgoing]):
        report.add(gateway, _("网关没有默认流向，条件也没有覆盖所有情况（例如审核结果的同意、不同意并结案、"
                              "不同意并退案三种）：请把一条流向设为默认流向，条件都不满足时走这条"))


#: The values a review outcome or an applicant's revision may take (the platform's forms fix them).
_VALUE_SETS = ({"approve", "reject", "return"}, {"resubmit", "withdraw"})


def _complete(conditions: list[str]) -> bool:
    """Whether conditions like ``outcome == 'approve'`` cover every value the field can take."""
    covered: dict[str, set[str]] = {}
    for text in conditions:
        try:
            tree = ast.parse(text, mode="eval").body
        except SyntaxError:
            return False
        if not (isinstance(tree, ast.Compare) and isinstance(tree.left, ast.Name) and len(tree.ops) == 1
                and isinstance(tree.ops[0], ast.Eq) and isinstance(tree.comparators[0], ast.Constant)):
            return False
        covered.setdefault(tree.left.id, set()).add(tree.comparators[0].value)
    return len(covered) == 1 and any(values <= next(iter(covered.values())) for values in _VALUE_SETS)


# --------------------------------------------------------------------------- expressions


def _expressions(process: etree._Element) -> Iterator[tuple[etree._Element, str, str, bool]]:
    """(element, what, text, is a script) of every expression and script of a process."""
    for el in process.iter():
        if not isinstance(el.tag, str) or not (el.text or "").strip():
            continue
        kind, owner = _local(el), _owner(el.getparent()) if el.getparent() is not None else el
        text = el.text.strip()
        if _JAVA_EXPRESSION.search(text):
            continue  # told already: another engine's expression
        if kind == "conditionExpression":
            yield owner, _("条件"), text, False
        elif kind == "script" and _ns(el) == BPMN_NS:
            yield owner, _("脚本"), text, True
        elif kind in ("preScript", "postScript") and _ns(el) == SPIFF_NS:
            yield _owner(el), _("前置脚本") if kind == "preScript" else _("后置脚本"), text, True
        elif kind in ("timeDuration", "timeDate", "timeCycle"):
            yield owner, _("定时表达式"), text, False
    for param in process.iter(f"{{{SPIFF_NS}}}parameter"):
        if param.get("value"):
            yield _owner(param), _("服务参数 %(name)s", name=param.get("id") or ""), param.get("value"), False


def check_text(text: str, statements: bool = False) -> str | None:
    """Why an expression (or a script) is refused, in the request's language; None when it is fine."""
    try:
        (engine.check_script if statements else engine.check_expression)(text)
    except SyntaxError as exc:
        return _("写法有误（%(detail)s）：请检查括号、引号和运算符，例如 outcome == 'approve' 或 hours > 40",
                 detail=exc.msg or "syntax error")
    except engine.UnsafeExpression as exc:
        return _("用了沙箱不允许的写法（%(detail)s）：只能使用数据名、比较、算术、and/or/not 以及 "
                 "len、min、max、sum 等函数；不能导入模块、调用其他函数或访问以下划线开头的名称和属性",
                 detail=_unsafe_detail(str(exc)))
    return None


_NODE_LABELS = {
    "Attribute": "属性访问（.）", "Lambda": "lambda", "Import": "import", "ImportFrom": "import",
    "ListComp": "推导式", "SetComp": "推导式", "DictComp": "推导式", "GeneratorExp": "推导式",
    "NamedExpr": ":=", "Starred": "*", "For": "for 循环", "While": "while 循环", "FunctionDef": "def",
    "Await": "await", "Yield": "yield", "JoinedStr": "f 字符串", "Try": "try", "Raise": "raise"}


def _unsafe_detail(detail: str) -> str:
    """The sandbox's reason (engine.UnsafeExpression, in English) in the request's language."""
    if match := re.fullmatch(r"(\w+) is not allowed", detail):
        return _("不允许 %(what)s", what=_(_NODE_LABELS.get(match.group(1), match.group(1))))
    if match := re.fullmatch(r"name '(.*)' is not allowed", detail):
        return _("不允许以下划线开头的名称 %(name)s", name=match.group(1))
    if detail.startswith("only calls to"):
        return _("只能调用 %(names)s", names=_list(sorted(engine.SAFE_FUNCTIONS)))
    if match := re.fullmatch(r"'(.*)' can only be called", detail):
        return _("函数 %(name)s 只能直接调用", name=match.group(1))
    if detail.startswith("only `name = expression`"):
        return _("只能给数据名赋值（名称 = 表达式）")
    if detail.startswith("too long"):
        return _("表达式太长")
    if detail == "nested too deeply":
        return _("嵌套太深")
    return detail


def _check_expressions(process: etree._Element, forms: dict[str, dict], report: _Report) -> None:
    known = set(registry.DATA_NAMES) | set(engine.SAFE_FUNCTIONS) | {"True", "False", "None"}
    for schema in forms.values():
        known.update((schema.get("properties") or {}).keys())
    known.update(_dmn_outputs())
    for op in process.iter(f"{{{SPIFF_NS}}}serviceTaskOperator"):
        if op.get("resultVariable"):
            known.add(op.get("resultVariable"))
    checked: list[tuple[etree._Element, str, set[str]]] = []
    for el, what, text, statements in _expressions(process):
        reason = check_text(text, statements)
        if reason is not None:
            report.add(el, _("%(what)s %(text)s %(reason)s", what=what, text=text[:120], reason=reason))
            continue
        tree = ast.parse(text, mode="exec" if statements else "eval")
        read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Store)}
        known.update(n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
        checked.append((el, what, read))
    for el, what, read in checked:
        missing = sorted(read - known)
        if missing:
            report.add(el, _("%(what)s用到的 %(names)s 没有任何表单字段、脚本或平台提供：请检查拼写，"
                             "或先在表单里加上这个字段", what=what, names=_list(missing)))


def _dmn_outputs() -> set[str]:
    from app.workflow.versions import PROCESSES_DIR

    names: set[str] = set()
    for path in PROCESSES_DIR.glob("*.dmn"):
        try:
            names.update(etree.parse(str(path)).xpath("//*[local-name()='output']/@name"))
        except etree.XMLSyntaxError:
            continue
    return names


def _check_with_engine(text: str, forms_dir: Path, forms: dict[str, dict], root: etree._Element,
                       report: _Report) -> None:
    """What the engine refuses beyond the checks above (loops without a person, XSD details...)."""
    from app.workflow import versions

    try:
        versions.parse_bundle(versions.bundle_from_text(text, forms_dir=forms_dir), cache=False)
    except engine.ProcessDefinitionError as exc:
        el = next((e for e in root.iter() if isinstance(e.tag, str) and e.get("id") == exc.element), None)
        detail = str(exc)
        report.add(el, _("流程引擎拒绝了这个流程：%(detail)s", detail=detail), element_id=exc.element)


# --------------------------------------------------------------------------- DMN


def _check_dmn(root: etree._Element, report: _Report) -> None:
    """Every cell of a decision table: input expressions, input entries and output entries in the sandbox."""
    ns = _ns(root)
    tables = root.findall(f".//{{{ns}}}decisionTable")
    if not tables:
        report.add(None, _("DMN 文件里没有决策表（decisionTable）"))
    for table in tables:
        n_inputs = len(table.findall(f"{{{ns}}}input"))
        n_outputs = len(table.findall(f"{{{ns}}}output"))
        for expr in table.iterfind(f"{{{ns}}}input/{{{ns}}}inputExpression/{{{ns}}}text"):
            reason = check_text((expr.text or "").strip())
            if reason is not None:
                report.add(_owner(expr), _("输入表达式 %(text)s %(reason)s", text=expr.text, reason=reason))
        for rule in table.iterfind(f"{{{ns}}}rule"):
            inputs = rule.findall(f"{{{ns}}}inputEntry")
            outputs = rule.findall(f"{{{ns}}}outputEntry")
            if len(inputs) != n_inputs or len(outputs) != n_outputs:
                report.add(rule, _("规则的单元格数与表头不符：应有 %(i)s 个输入、%(o)s 个输出",
                                   i=n_inputs, o=n_outputs))
            for entry in inputs:
                text = (entry.findtext(f"{{{ns}}}text") or "").strip()
                if text in ("", "-"):
                    continue
                cell = text.replace("?", "v")
                if check_text(cell) is not None and check_text(f"v {cell}") is None:
                    continue
                reason = check_text(cell)
                if reason is not None:
                    report.add(entry, _("输入单元格 %(text)s %(reason)s", text=text, reason=reason))
            for entry in outputs:
                text = (entry.findtext(f"{{{ns}}}text") or "").strip()
                reason = check_text(text) if text else None
                if reason is not None:
                    report.add(entry, _("输出单元格 %(text)s %(reason)s", text=text, reason=reason))
