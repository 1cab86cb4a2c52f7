"""The only module that touches SpiffWorkflow objects.

It parses BPMN (with its DMN and forms) into cached specs keyed by content hash, lints
them, runs every expression in a restricted environment, and steps and (de)serializes
workflows. The rest of the platform sees :class:`Run`, :class:`ReadyTask` and plain dicts.
"""

from __future__ import annotations

import ast
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.specs.defaults import EndEvent, StartEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.defaults import ServiceTask
from SpiffWorkflow.util.task import TaskState

# --------------------------------------------------------------------------- restricted expressions

#: Helpers a BPMN or DMN expression may call. Nothing else is callable.
SAFE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len, "min": min, "max": max, "abs": abs, "round": round, "sum": sum,
    "any": any, "all": all, "int": int, "float": float, "str": str, "bool": bool,
}

_EXPR_NODES: tuple[type, ...] = (
    ast.Expression, ast.Constant, ast.Name, ast.Load, ast.Store,
    ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
    ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod,
    ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn,
    ast.Is, ast.IsNot, ast.IfExp, ast.Subscript, ast.Slice,
    ast.List, ast.Tuple, ast.Set, ast.Dict, ast.Call,
)
_STMT_NODES: tuple[type, ...] = (ast.Module, ast.Assign, ast.AugAssign, ast.Expr)


class UnsafeExpression(ValueError):
    """An expression uses something outside the whitelist."""


def _check_tree(tree: ast.AST, statements: bool) -> None:
    allowed = _EXPR_NODES + (_STMT_NODES if statements else ())
    for node in ast.walk(tree):
        if not isinstance(node, allowed):
            raise UnsafeExpression(f"{type(node).__name__} is not allowed")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise UnsafeExpression(f"name {node.id!r} is not allowed")
        if isinstance(node, ast.Call) and (
            not isinstance(node.func, ast.Name) or node.func.id not in SAFE_FUNCTIONS or node.keywords
        ):
            raise UnsafeExpression("only calls to " + ", ".join(sorted(SAFE_FUNCTIONS)) + " are allowed")
        if isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if not all(isinstance(t, ast.Name) for t in targets):
                raise UnsafeExpression("only `name = expression` assignments are allowed")


#: Bounds on what one operation may build, so an edited diagram cannot stall a request or exhaust memory
#: (``x = x*x`` repeated, ``'a' * 10**9``, ``s = s + s`` repeated, ``'%09999999d' % 1``).
MAX_INT_BITS = 4096
MAX_LENGTH = 100_000


class LimitExceeded(ValueError):
    """An operation in a BPMN expression would build a value beyond the bounds above."""


def _size(value: Any) -> int | None:
    return len(value) if isinstance(value, str | bytes | list | tuple) else None


def _guard_int(result_bits: int) -> None:
    if result_bits > MAX_INT_BITS:
        raise LimitExceeded(f"integer result beyond {MAX_INT_BITS} bits")


def _guarded_mul(a: Any, b: Any) -> Any:
    for seq, n in ((a, b), (b, a)):
        size = _size(seq)
        if size is not None and isinstance(n, int) and size * max(n, 0) > MAX_LENGTH:
            raise LimitExceeded(f"sequence result beyond {MAX_LENGTH} items")
    if isinstance(a, int) and isinstance(b, int):
        _guard_int(a.bit_length() + b.bit_length())
    return a * b


def _guarded_add(a: Any, b: Any) -> Any:
    sa, sb = _size(a), _size(b)
    if sa is not None and sb is not None and sa + sb > MAX_LENGTH:
        raise LimitExceeded(f"sequence result beyond {MAX_LENGTH} items")
    if isinstance(a, int) and isinstance(b, int):
        _guard_int(max(a.bit_length(), b.bit_length()) + 1)
    return a + b


def _guarded_mod(a: Any, b: Any) -> Any:
    if isinstance(a, str | bytes):
        raise LimitExceeded("string formatting with % is not allowed")
    return a % b


#: What a whitelisted operator becomes once an expression is checked (the names start with "_", which
#: no expression may use, so none can shadow or call them directly).
_GUARDS: dict[str, Callable[[Any, Any], Any]] = {
    "_guarded_mul": _guarded_mul, "_guarded_add": _guarded_add, "_guarded_mod": _guarded_mod}
_GUARDED_OPS = {ast.Mult: "_guarded_mul", ast.Add: "_guarded_add", ast.Mod: "_guarded_mod"}


class _Guard(ast.NodeTransformer):
    """``a * b`` → ``_guarded_mul(a, b)`` (and ``+``, ``%``); ``x *= b`` → ``x = _guarded_mul(x, b)``."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        name = _GUARDED_OPS.get(type(node.op))
        if name is None:
            return node
        return ast.copy_location(ast.Call(ast.Name(name, ast.Load()), [node.left, node.right], []), node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        name = _GUARDED_OPS.get(type(node.op))
        if name is None:
            return node
        target = node.target  # a Name: _check_tree allows nothing else
        call = ast.Call(ast.Name(name, ast.Load()), [ast.Name(target.id, ast.Load()), node.value], [])  # type: ignore[attr-defined]
        return ast.copy_location(ast.Assign([ast.Name(target.id, ast.Store())], call), node)  # type: ignore[attr-defined]


_COMPILED: dict[tuple[str, str], tuple[Any, list[str]]] = {}
_COMPILED_LOCK = threading.Lock()


def _compile(text: str, mode: str) -> tuple[Any, list[str]]:
    key = (text, mode)
    entry = _COMPILED.get(key)
    if entry is None:
        try:
            tree = ast.parse(text.strip(), mode=mode)
            _check_tree(tree, statements=(mode == "exec"))
            assigned = [n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]
            tree = ast.fix_missing_locations(_Guard().visit(tree))
            entry = (compile(tree, "<bpmn>", mode), assigned)
        except (RecursionError, MemoryError):
            raise UnsafeExpression("nested too deeply") from None
        except ValueError as exc:  # e.g. a NUL character
            raise UnsafeExpression(str(exc)) from None
        with _COMPILED_LOCK:
            _COMPILED[key] = entry
    return entry


def check_expression(text: str) -> None:
    """Raise SyntaxError or UnsafeExpression when ``text`` is not an acceptable expression."""
    _compile(text, "eval")


def check_script(text: str) -> None:
    _compile(text, "exec")


class SafeEnvironment(TaskDataEnvironment):
    """Evaluates only whitelisted expressions, with no builtins; scripts only assign names."""

    def __init__(self) -> None:
        super().__init__(dict(SAFE_FUNCTIONS))

    def _globals(self, context: dict, external: dict | None) -> dict:
        g: dict[str, Any] = {"__builtins__": {}}
        g.update(self.globals)
        if external:
            g.update(external)
        g.update({k: v for k, v in context.items() if not k.startswith("_")})
        g.update(_GUARDS)
        return g

    def evaluate(self, expression, context, external_context=None):  # type: ignore[override]
        code, _ = _compile(expression, "eval")
        return eval(code, self._globals(context, external_context))  # noqa: S307 - whitelisted AST

    def execute(self, script, context, external_context=None):  # type: ignore[override]
        code, assigned = _compile(script, "exec")
        g = self._globals(context, external_context)
        exec(code, g)  # noqa: S102 - whitelisted AST
        for name in assigned:
            context[name] = g[name]
        return True


_ENVIRONMENT = SafeEnvironment()

#: Called for a service task: (operation name, evaluated params, task data) -> JSON-able result.
ServiceHandler = Callable[[str, dict[str, Any], dict[str, Any]], Any]


class _Engine(PythonScriptEngine):
    """Script engine bound to one run, so service tasks reach that run's handler."""

    def __init__(self, service_handler: ServiceHandler | None) -> None:
        super().__init__(environment=_ENVIRONMENT)
        self.service_handler = service_handler

    def call_service(self, task, operation_name=None, operation_params=None, **_):  # type: ignore[override]
        if self.service_handler is None:
            raise EngineError(f"service task {task.task_spec.bpmn_id} ran without a handler")
        params = {k: v["value"] for k, v in (operation_params or {}).items()}
        result = self.service_handler(operation_name, params, task.data)
        return json.dumps(result if result is not None else {}, default=str)


# --------------------------------------------------------------------------- parsing and linting


class EngineError(Exception):
    """The engine could not step an instance (broken diagram data, failed service task)."""


class ProcessDefinitionError(ValueError):
    """A BPMN/DMN file or its forms cannot be used; ``element`` names the offending element."""

    def __init__(self, message: str, element: str | None = None, line: int | None = None) -> None:
        where = f" (element {element}" + (f", line {line}" if line else "") + ")" if element else ""
        super().__init__(message + where)
        self.element = element
        self.line = line


@dataclass(frozen=True)
class TaskInfo:
    spec_id: str
    name: str
    lane: str | None
    form: str | None
    ui_form: str | None
    properties: dict[str, str] = field(default_factory=dict)
    instructions: str | None = None


@dataclass
class ParsedProcess:
    key: str
    name: str
    content_hash: str
    spec: Any
    subprocess_specs: dict
    user_tasks: dict[str, TaskInfo]
    start: TaskInfo
    end_outcomes: dict[str, str]


_SPECS: dict[str, ParsedProcess] = {}


def cached(content_hash: str) -> ParsedProcess | None:
    return _SPECS.get(content_hash)


def _info(ts) -> TaskInfo:
    ext = getattr(ts, "extensions", {}) or {}
    props = dict(ext.get("properties") or {})
    return TaskInfo(
        spec_id=ts.bpmn_id,
        name=ts.bpmn_name or ts.bpmn_id,
        lane=ts.lane,
        form=props.get("formJsonSchemaFilename"),
        ui_form=props.get("formUiSchemaFilename"),
        properties=props,
        instructions=ext.get("instructionsForEndUser"),
    )


def _check(text: str | None, what: str, element: str, statements: bool = False) -> None:
    if not text:
        return
    try:
        _compile(text, "exec" if statements else "eval")
    except (SyntaxError, UnsafeExpression) as exc:
        raise ProcessDefinitionError(f"{what} {text!r} is not allowed: {exc}", element) from None


_BPMN_NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL"}


def _check_flow_refs(root: etree._Element) -> None:
    """SpiffWorkflow silently ignores an <outgoing>/<incoming> naming no sequence flow."""
    flows = set(root.xpath("//bpmn:sequenceFlow/@id", namespaces=_BPMN_NS))
    for ref in root.xpath("//bpmn:outgoing | //bpmn:incoming", namespaces=_BPMN_NS):
        if (ref.text or "").strip() not in flows:
            owner = ref.getparent().get("id")
            raise ProcessDefinitionError(f"sequence flow {ref.text!r} does not exist", owner, ref.sourceline)


def parse_process(
    bpmn_xml: str,
    *,
    content_hash: str,
    dmn_files: dict[str, str] | None = None,
    forms: Iterable[str] = (),
    lanes: Iterable[str] = (),
    operations: Iterable[str] = (),
) -> ParsedProcess:
    """Parse, validate and lint one BPMN file; cache and return the result.

    Rejects a file that does not parse, uses a lane outside ``lanes``, references a form not
    in ``forms`` or an operation not in ``operations``, or holds an expression that is not
    whitelisted. Every message names the element.
    """
    hit = _SPECS.get(content_hash)
    if hit is not None:
        return hit
    forms, lanes, operations = set(forms), set(lanes), set(operations)
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        for name, text in (dmn_files or {}).items():
            parser.add_dmn_str(text.encode() if isinstance(text, str) else text, filename=name)
        root = etree.fromstring(bpmn_xml.encode())
        _check_flow_refs(root)
        parser.add_bpmn_xml(root, filename="process.bpmn")
        ids = parser.get_process_ids()
        if len(ids) != 1:
            raise ProcessDefinitionError(f"expected exactly one executable process, found {len(ids)}")
        key = ids[0]
        spec = parser.get_spec(key)
        subs = parser.get_subprocess_specs(key)
    except etree.XMLSyntaxError as exc:
        raise ProcessDefinitionError(f"not well-formed XML: {exc.msg}", line=exc.lineno) from None
    except SpiffWorkflowException as exc:
        element = getattr(exc, "id", None) or None
        raise ProcessDefinitionError(str(exc).splitlines()[0], element) from None

    user_tasks: dict[str, TaskInfo] = {}
    start: TaskInfo | None = None
    end_outcomes: dict[str, str] = {}
    all_specs = [spec, *subs.values()]
    for process_spec in all_specs:
        for ts in process_spec.task_specs.values():
            bpmn_id = getattr(ts, "bpmn_id", None)
            if bpmn_id is None:
                continue
            if getattr(ts, "manual", False):
                info = _info(ts)
                if info.lane is None:
                    raise ProcessDefinitionError("user task is not in a lane", bpmn_id)
                if info.lane not in lanes:
                    raise ProcessDefinitionError(f"unknown lane {info.lane!r}", bpmn_id)
                if not info.form:
                    raise ProcessDefinitionError("user task has no formJsonSchemaFilename", bpmn_id)
                user_tasks[bpmn_id] = info
            if isinstance(ts, StartEvent) and process_spec is spec:
                start = _info(ts)
            if isinstance(ts, EndEvent):
                end_outcomes[bpmn_id] = (_info(ts).properties.get("outcome") or "completed")
            for info in [_info(ts)] if getattr(ts, "extensions", None) else []:
                for form_name in (info.form, info.ui_form):
                    if form_name and form_name not in forms:
                        raise ProcessDefinitionError(f"form {form_name!r} not found", bpmn_id)
            for condition, _target in getattr(ts, "cond_task_specs", []) or []:
                if condition is not None:
                    _check(condition.args[0], "condition", bpmn_id)
            _check(getattr(ts, "script", None), "script", bpmn_id, statements=True)
            _check(getattr(ts, "prescript", None), "pre-script", bpmn_id, statements=True)
            _check(getattr(ts, "postscript", None), "post-script", bpmn_id, statements=True)
            event = getattr(ts, "event_definition", None)
            _check(getattr(event, "expression", None), "timer expression", bpmn_id)
            if isinstance(ts, ServiceTask):
                if ts.operation_name not in operations:
                    raise ProcessDefinitionError(f"unknown service operation {ts.operation_name!r}", bpmn_id)
                for param in ts.operation_params.values():
                    _check(param["value"], "parameter", bpmn_id)
    if start is None:
        raise ProcessDefinitionError("the process has no start event", key)
    parsed = ParsedProcess(
        key=key,
        name=spec.description or key,
        content_hash=content_hash,
        spec=spec,
        subprocess_specs=subs,
        user_tasks=user_tasks,
        start=start,
        end_outcomes=end_outcomes,
    )
    spec.content_hash = content_hash
    _SPECS[content_hash] = parsed
    return parsed


# --------------------------------------------------------------------------- serialization


class _SpecByReference(BpmnWorkflowConverter):
    """Instance JSON holds only a reference to its spec; specs are stored once per version."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["spec_ref"] = workflow.spec.content_hash
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct):
        parsed = _SPECS[dct.pop("spec_ref")]
        workflow = self.target_class(parsed.spec, parsed.subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _make_serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = _SpecByReference
    registry = BpmnWorkflowSerializer.configure(config)
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda d: Decimal(d["value"]))
    registry.register(date, lambda v: {"value": v.isoformat()}, lambda d: date.fromisoformat(d["value"]))
    return BpmnWorkflowSerializer(registry)


_SERIALIZER = _make_serializer()
SERIALIZER_VERSION: str = _SERIALIZER.VERSION


# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class ReadyTask:
    id: str
    info: TaskInfo


class _Parked:
    """Workflows kept in memory after their state was committed, each with the exact state text it was
    stored as, under a key (the services use the instance id).

    Loading skips deserialization only when the state read from the database is that very text, so
    the database stays the only source of truth: a state changed by another process, another
    database, or a rolled-back action simply misses and is deserialized. An entry is taken out when
    it is loaded (a failed action never leaves a half-stepped workflow behind). Bounded: the oldest
    entries go first.
    """

    def __init__(self, capacity: int = 256) -> None:
        self.capacity = capacity
        self._runs: dict[Any, tuple[str, BpmnWorkflow]] = {}
        self._lock = threading.Lock()

    def put(self, key: Any, state_json: str, workflow: BpmnWorkflow) -> None:
        with self._lock:
            self._runs.pop(key, None)
            self._runs[key] = (state_json, workflow)
            self._trim()

    def resize(self, capacity: int) -> None:
        with self._lock:
            self.capacity = max(0, capacity)
            self._trim()

    def _trim(self) -> None:
        """Drop the oldest entries beyond the capacity (the caller holds the lock)."""
        while len(self._runs) > self.capacity:
            self._runs.pop(next(iter(self._runs)))

    def take(self, key: Any, state_json: str) -> BpmnWorkflow | None:
        with self._lock:
            entry = self._runs.pop(key, None)
        return entry[1] if entry is not None and entry[0] == state_json else None

    def __len__(self) -> int:
        return len(self._runs)


PARKED = _Parked()


class Run:
    """One workflow loaded for one action: step it, read it, dump it."""

    def __init__(self, parsed: ParsedProcess, workflow: BpmnWorkflow) -> None:
        self.parsed = parsed
        self.workflow = workflow
        self.dumped: str | None = None
        self._ready: list | None = None  # the READY user tasks, until the workflow steps again

    @classmethod
    def start(cls, parsed: ParsedProcess, data: dict, service_handler: ServiceHandler | None = None) -> Run:
        wf = BpmnWorkflow(parsed.spec, parsed.subprocess_specs, script_engine=_Engine(service_handler))
        wf.task_tree.set_data(**data)
        run = cls(parsed, wf)
        run._step()
        return run

    @classmethod
    def load(cls, parsed: ParsedProcess, state_json: str, service_handler: ServiceHandler | None = None,
             parked_as: Any = None) -> Run:
        """The workflow stored as ``state_json``; taken from :data:`PARKED` when it holds that state under
        ``parked_as``."""
        wf = PARKED.take(parked_as, state_json) if parked_as is not None else None
        if wf is None or wf.spec is not parsed.spec:
            wf = _SERIALIZER.deserialize_json(state_json)
        wf.script_engine = _Engine(service_handler)
        return cls(parsed, wf)

    def dump(self) -> str:
        self.dumped = _SERIALIZER.serialize_json(self.workflow)
        return self.dumped

    def park(self, key: Any) -> None:
        """Keep this workflow in memory under ``key`` as the state it was last dumped as (call once that
        state is committed, and only if the workflow did not change since)."""
        self.workflow.script_engine = None  # drop the handler and whatever its closure holds
        PARKED.put(key, self.dumped, self.workflow)

    def ready_ids(self) -> set[str]:
        return {str(t.id) for t in self._ready_user_tasks()}

    def _ready_user_tasks(self) -> list:
        if self._ready is None:
            self._ready = self.workflow.get_tasks(state=TaskState.READY, manual=True)
        return self._ready

    def _step(self) -> None:
        self._ready = None
        try:
            self.workflow.refresh_timers()
            self.workflow.do_engine_steps()
        except WorkflowException as exc:
            raise EngineError(str(exc).splitlines()[0]) from exc

    def ready_tasks(self) -> list[ReadyTask]:
        out = []
        for task in self._ready_user_tasks():
            info = self.parsed.user_tasks.get(task.task_spec.bpmn_id) or _info(task.task_spec)
            out.append(ReadyTask(str(task.id), info))
        return out

    def is_ready(self, task_id: str) -> bool:
        try:
            task = self.workflow.get_task_from_id(UUID(task_id))
        except Exception:  # noqa: BLE001 - unknown id
            return False
        return task is not None and task.state == TaskState.READY and task.task_spec.manual

    def task_data(self, task_id: str) -> dict:
        return dict(self.workflow.get_task_from_id(UUID(task_id)).data)

    def complete(self, task_id: str, data: dict) -> None:
        """Complete a READY user task with ``data`` and run the engine to the next wait."""
        if not self.is_ready(task_id):
            raise EngineError(f"task {task_id} is not ready")
        task = self.workflow.get_task_from_id(UUID(task_id))
        task.set_data(**data)
        self._ready = None
        try:
            task.run()
        except WorkflowException as exc:
            raise EngineError(str(exc).splitlines()[0]) from exc
        self._step()

    def cancel(self) -> None:
        self._ready = None
        self.workflow.cancel()

    def is_completed(self) -> bool:
        return self.workflow.is_completed()

    def end_outcome(self) -> str | None:
        """The ``outcome`` property of the end event the instance finished at."""
        if not self.workflow.is_completed():
            return None
        for task in self.workflow.get_tasks(state=TaskState.COMPLETED, spec_class=EndEvent):
            if task.workflow is self.workflow:
                return self.parsed.end_outcomes.get(task.task_spec.bpmn_id, "completed")
        return "cancelled"

    def data(self) -> dict:
        """The data as the next actor sees it (or the final data of a finished instance)."""
        ready = self._ready_user_tasks()
        if ready:
            return dict(ready[0].data)
        if self.workflow.is_completed():
            return dict(self.workflow.data)
        last = self.workflow.get_tasks(state=TaskState.COMPLETED)
        return dict(last[-1].data) if last else {}
