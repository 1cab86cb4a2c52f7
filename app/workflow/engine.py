"""The only module that touches SpiffWorkflow objects.

It parses BPMN (with its DMN and forms) into cached specs keyed by content hash, lints
them, runs every expression in a restricted environment, and steps and (de)serializes
workflows. The rest of the platform sees :class:`Run`, :class:`ReadyTask` and plain dicts.
"""

from __future__ import annotations

import ast
import copy
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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

_EXPR_NODES: tuple[type, ...] = (
    ast.Expression, ast.Constant, ast.Name, ast.Load, ast.Store,
    ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
    ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod,
    ast.Compare, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn,
    ast.Is, ast.IsNot, ast.IfExp, ast.Subscript, ast.Slice,
    ast.List, ast.Tuple, ast.Set, ast.Dict, ast.Call,
)
_STMT_NODES: tuple[type, ...] = (ast.Module, ast.Assign, ast.AugAssign, ast.Expr)

#: At most this many syntax nodes in one expression or script: what one evaluation can do between two
#: checks of the CPU budget stays small (a BPMN condition or script is a few lines).
MAX_NODES = 1000


class UnsafeExpression(ValueError):
    """An expression uses something outside the whitelist."""


def _check_tree(tree: ast.AST, statements: bool) -> None:
    allowed = _EXPR_NODES + (_STMT_NODES if statements else ())
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        raise UnsafeExpression(f"too long ({len(nodes)} syntax elements, at most {MAX_NODES})")
    called = {id(n.func) for n in nodes if isinstance(n, ast.Call)}
    for node in nodes:
        if not isinstance(node, allowed):
            raise UnsafeExpression(f"{type(node).__name__} is not allowed")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise UnsafeExpression(f"name {node.id!r} is not allowed")
        if isinstance(node, ast.Name) and node.id in SAFE_FUNCTIONS and id(node) not in called:
            raise UnsafeExpression(f"{node.id!r} can only be called")
        if isinstance(node, ast.Call) and (
            not isinstance(node.func, ast.Name) or node.func.id not in SAFE_FUNCTIONS or node.keywords
        ):
            raise UnsafeExpression("only calls to " + ", ".join(sorted(SAFE_FUNCTIONS)) + " are allowed")
        if isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if not all(isinstance(t, ast.Name) for t in targets):
                raise UnsafeExpression("only `name = expression` assignments are allowed")


# --------------------------------------------------------------------------- budgets

#: Bounds on what one operation may build, so an edited diagram cannot stall a request or exhaust memory
#: (``x = x*x`` repeated, ``'a' * 10**9``, ``s = s + s`` repeated, ``'%09999999d' % 1``,
#: ``str([[0]*1000]*1000)``, ``sum([[0]*1000]*1000, [])``). Sizes are counted by :func:`size_of`.
MAX_INT_BITS = 4096
#: The size of any one value an expression builds.
MAX_LENGTH = 100_000
#: The size of a task's data after a script ran on it.
MAX_DATA = 200_000
#: SpiffWorkflow walks a workflow's task tree at most 1000 levels deep: a deeper task is silently left out
#: (the instance would look finished). No task may be deeper than this.
MAX_TREE_DEPTH = 800


class LimitExceeded(ValueError):
    """An operation in a BPMN expression would build a value beyond the bounds above."""


class BudgetExceeded(LimitExceeded):
    """A run of the engine took more steps, CPU time or data than :data:`LIMITS` allow."""


def size_of(value: Any, limit: int) -> int:
    """The size of ``value`` counted as its text would be: one per object, plus the length of each string,
    plus a unit per 64 bits of an integer; a list holding one value a thousand times counts it a thousand
    times (its text, a copy or its JSON does). Raises :class:`LimitExceeded` as soon as it passes ``limit``
    (so it costs at most ``limit`` steps)."""
    total = 0
    stack = [value]
    pop, extend = stack.pop, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is str or kind is bytes:
            total += 1 + len(item)
        elif kind is dict:
            total += 1
            extend(item.keys())
            extend(item.values())
        elif kind is list or kind is tuple:
            total += 1
            extend(item)
        elif kind is int:
            total += 1 + (item.bit_length() >> 6)
        elif kind in _UNIT_TYPES:
            total += 1
        else:  # subclasses, sets
            total += 1
            if isinstance(item, str | bytes):
                total += len(item)
            elif isinstance(item, int):
                total += item.bit_length() >> 6
            elif isinstance(item, dict):
                extend(item.keys())
                extend(item.values())
            elif isinstance(item, list | tuple | set | frozenset):
                extend(item)
        if total > limit:
            raise LimitExceeded(f"value larger than {limit} (counting every item and character)")
    return total


_UNIT_TYPES = frozenset({bool, float, type(None), Decimal, date})


@dataclass(frozen=True)
class Limits:
    """What one run of the engine (starting an instance, or one completed task and the steps after it) may
    spend. Set from the app's config (``WORKFLOW_MAX_STEPS``, ``WORKFLOW_MAX_CPU_SECONDS``) through
    :func:`set_limits`."""

    #: Tasks the engine runs without waiting for a person (a loop with no user task ends here).
    max_steps: int = 200
    #: CPU seconds of the running thread, checked at every task and inside expressions.
    cpu_seconds: float = 2.0
    #: The summed size (:func:`size_of`) of the data of the tasks run: every task keeps a copy of its data
    #: in the stored state, so this bounds what one run adds to it.
    run_data: int = 2_000_000


LIMITS = Limits()


def set_limits(limits: Limits) -> None:
    """Use ``limits`` for every run from now on (the app sets them from its config at start-up)."""
    global LIMITS
    LIMITS = limits


class _Budget:
    """What is left of :class:`Limits` for the run (or the single evaluation) under way."""

    __slots__ = ("limits", "deadline", "steps", "data", "_ticks")

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.deadline = time.thread_time() + limits.cpu_seconds
        self.steps = 0
        self.data = 0
        self._ticks = 0

    def tick(self) -> None:
        """Called by every guarded operation; looks at the clock every 16th call."""
        self._ticks += 1
        if not self._ticks & 15:
            self.check_time()

    def check_time(self) -> None:
        if time.thread_time() > self.deadline:
            raise BudgetExceeded(f"more than {self.limits.cpu_seconds:g} s of CPU in one run")

    def step(self, task: Any) -> None:
        """Before the engine runs ``task``."""
        self.steps += 1
        if self.steps > self.limits.max_steps:
            raise BudgetExceeded(f"more than {self.limits.max_steps} tasks in one run without waiting for a person"
                                 f" (a loop without a user task?), at {_where(task)}")
        self.check_time()
        try:
            self.data += size_of(task.data, self.limits.run_data - self.data)
        except LimitExceeded:
            raise BudgetExceeded(f"the data of one run grew beyond {self.limits.run_data}, at {_where(task)}") from None
        if task.depth > MAX_TREE_DEPTH:
            raise BudgetExceeded(f"more than {MAX_TREE_DEPTH} steps in this instance's history, at {_where(task)}")


def _where(task: Any) -> str:
    return getattr(task.task_spec, "bpmn_id", None) or task.task_spec.name


_BUDGET: ContextVar[_Budget | None] = ContextVar("workflow_budget", default=None)


@contextmanager
def _budget_scope(limits: Limits | None = None) -> Iterator[_Budget]:
    """The budget of the run under way, or a new one for this run (or this single evaluation)."""
    current = _BUDGET.get()
    if current is not None:
        yield current
        return
    budget = _Budget(limits or LIMITS)
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def _tick() -> None:
    budget = _BUDGET.get()
    if budget is not None:
        budget.tick()


def _guard_int(result_bits: int) -> None:
    if result_bits > MAX_INT_BITS:
        raise LimitExceeded(f"integer result beyond {MAX_INT_BITS} bits")


def _sequence(value: Any) -> bool:
    return isinstance(value, str | bytes | list | tuple)


def _guarded_mul(a: Any, b: Any) -> Any:
    _tick()
    for seq, n in ((a, b), (b, a)):
        if _sequence(seq) and isinstance(n, int):
            # each copy counts whole: [[0] * 1000] * 1000 is a million items to str(), == or JSON
            if (size_of(seq, MAX_LENGTH) - 1) * max(n, 0) > MAX_LENGTH:
                raise LimitExceeded(f"sequence result beyond {MAX_LENGTH}")
    if isinstance(a, int) and isinstance(b, int):
        _guard_int(a.bit_length() + b.bit_length())
    return a * b


def _guarded_add(a: Any, b: Any) -> Any:
    _tick()
    if _sequence(a) and _sequence(b):
        size_of(b, MAX_LENGTH - size_of(a, MAX_LENGTH))
    if isinstance(a, int) and isinstance(b, int):
        _guard_int(max(a.bit_length(), b.bit_length()) + 1)
    return a + b


def _guarded_mod(a: Any, b: Any) -> Any:
    _tick()
    if isinstance(a, str | bytes):
        raise LimitExceeded("string formatting with % is not allowed")
    return a % b


def _bounded(value: Any) -> Any:
    """A list, tuple, set or dict an expression writes out: bounded like the results of ``*`` and ``+``."""
    _tick()
    size_of(value, MAX_LENGTH)
    return value


def _checked(value: Any) -> Any:
    """After a comparison or a subscript (their work grows with their operands, their result does not)."""
    _tick()
    return value


def _safe_str(value: Any = "") -> str:
    _tick()
    if isinstance(value, str):
        return value
    size_of(value, MAX_LENGTH)
    text = str(value)
    if len(text) > MAX_LENGTH:
        raise LimitExceeded(f"text longer than {MAX_LENGTH} characters")
    return text


_NO_START = object()


def _safe_sum(values: Any, start: Any = _NO_START) -> Any:
    """``sum``, in linear time for lists and tuples (the builtin copies the total at every item), and with
    every addition bounded."""
    _tick()
    total = 0 if start is _NO_START else start
    if isinstance(total, str | bytes):
        raise TypeError("sum() can't sum strings")
    if isinstance(total, list | tuple):
        items = list(total)
        size = size_of(total, MAX_LENGTH)
        for value in values:
            if type(value) is not type(total):
                raise TypeError(f"can only concatenate {type(total).__name__} (not {type(value).__name__!r})")
            size += size_of(value, MAX_LENGTH - size)
            items.extend(value)
            _tick()
        return type(total)(items)
    for value in values:
        total = _guarded_add(total, value)
    return total


def _safe_round(number: Any, ndigits: Any = None) -> Any:
    _tick()
    if ndigits is None:
        return round(number)
    if isinstance(ndigits, int) and abs(ndigits) > 100:  # round(1, -10**6) computes 10**(10**6)
        raise LimitExceeded("round() to more than 100 digits")
    return round(number, ndigits)


#: Helpers a BPMN or DMN expression may call. Nothing else is callable.
SAFE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len, "min": min, "max": max, "abs": abs, "round": _safe_round, "sum": _safe_sum,
    "any": any, "all": all, "int": int, "float": float, "str": _safe_str, "bool": bool,
}

#: What a whitelisted operator becomes once an expression is checked (the names start with "_", which
#: no expression may use, so none can shadow or call them directly).
_GUARDS: dict[str, Callable[..., Any]] = {
    "_guarded_mul": _guarded_mul, "_guarded_add": _guarded_add, "_guarded_mod": _guarded_mod,
    "_bounded": _bounded, "_checked": _checked}
_GUARDED_OPS = {ast.Mult: "_guarded_mul", ast.Add: "_guarded_add", ast.Mod: "_guarded_mod"}


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(ast.Name(name, ast.Load()), list(args), [])


class _Guard(ast.NodeTransformer):
    """``a * b`` → ``_guarded_mul(a, b)`` (and ``+``, ``%``); ``x *= b`` → ``x = _guarded_mul(x, b)``;
    ``[…]``, ``(…)``, ``{…}`` → ``_bounded(…)``; a comparison or subscript → ``_checked(…)``, and a chained
    comparison ``a < b < c`` → ``_checked(a < b) and _checked(b < c)`` (nothing an expression does has side
    effects, so evaluating ``b`` twice changes nothing)."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        name = _GUARDED_OPS.get(type(node.op))
        if name is None:
            return node
        return ast.copy_location(_call(name, node.left, node.right), node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        name = _GUARDED_OPS.get(type(node.op))
        if name is None:
            return node
        target = node.target  # a Name: _check_tree allows nothing else
        call = _call(name, ast.Name(target.id, ast.Load()), node.value)  # type: ignore[attr-defined]
        return ast.copy_location(ast.Assign([ast.Name(target.id, ast.Store())], call), node)  # type: ignore[attr-defined]

    def _bound(self, node: ast.expr) -> ast.AST:
        self.generic_visit(node)
        return ast.copy_location(_call("_bounded", node), node)

    visit_List = visit_Tuple = visit_Set = visit_Dict = _bound

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        self.generic_visit(node)
        return ast.copy_location(_call("_checked", node), node)

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        lefts = [node.left, *node.comparators[:-1]]
        parts: list[ast.expr] = [
            _call("_checked", ast.Compare(copy.deepcopy(left), [op], [right]))
            for left, op, right in zip(lefts, node.ops, node.comparators, strict=True)]
        return ast.copy_location(parts[0] if len(parts) == 1 else ast.BoolOp(ast.And(), parts), node)


#: Compiled expressions and scripts kept per process: the deployed definitions' are few, but the editor checks
#: every text an administrator types, so the oldest entries give way beyond this many.
COMPILED_CACHE_SIZE = 20_000
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
            while len(_COMPILED) >= COMPILED_CACHE_SIZE:
                del _COMPILED[next(iter(_COMPILED))]  # the oldest first (dicts keep insertion order)
            _COMPILED[key] = entry
    return entry


def check_expression(text: str) -> None:
    """Raise SyntaxError or UnsafeExpression when ``text`` is not an acceptable expression."""
    _compile(text, "eval")


def check_script(text: str) -> None:
    _compile(text, "exec")


class SafeEnvironment(TaskDataEnvironment):
    """Evaluates only whitelisted expressions, with no builtins; scripts only assign names. Every evaluation
    runs within the budget of the engine run under way (or one of its own) and its result is bounded."""

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
        with _budget_scope() as budget:
            budget.check_time()
            result = eval(code, self._globals(context, external_context))  # noqa: S307 - whitelisted AST
            size_of(result, MAX_LENGTH)
        return result

    def execute(self, script, context, external_context=None):  # type: ignore[override]
        code, assigned = _compile(script, "exec")
        g = self._globals(context, external_context)
        with _budget_scope() as budget:
            budget.check_time()
            exec(code, g)  # noqa: S102 - whitelisted AST
            for name in assigned:
                context[name] = g[name]
            try:
                size_of(context, MAX_DATA)
            except LimitExceeded:
                raise LimitExceeded(f"the task data grew beyond {MAX_DATA}") from None
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


def _expressions(ts: Any) -> Iterator[tuple[str, str, bool]]:
    """(what, text, is a script) of every expression a task spec runs."""
    for condition, _target in getattr(ts, "cond_task_specs", []) or []:
        if condition is not None and condition.args[0]:
            yield "condition", condition.args[0], False
    for what, attr in (("script", "script"), ("pre-script", "prescript"), ("post-script", "postscript")):
        if getattr(ts, attr, None):
            yield what, getattr(ts, attr), True
    expression = getattr(getattr(ts, "event_definition", None), "expression", None)
    if expression:
        yield "timer expression", expression, False
    if isinstance(ts, ServiceTask):
        for param in ts.operation_params.values():
            if param["value"]:
                yield "parameter", param["value"], False


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
    cache: bool = True,
) -> ParsedProcess:
    """Parse, validate and lint one BPMN file; cache (unless ``cache`` is false: a draft being checked) and
    return the result.

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
            for what, text, statements in _expressions(ts):
                _check(text, what, bpmn_id, statements)
            if isinstance(ts, ServiceTask) and ts.operation_name not in operations:
                raise ProcessDefinitionError(f"unknown service operation {ts.operation_name!r}", bpmn_id)
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
    if cache:
        _SPECS[content_hash] = parsed
    return parsed


#: Elements at which a running instance stops until someone (or a message, or a timer) acts.
_WAIT_STATES = {"userTask", "manualTask", "receiveTask", "intermediateCatchEvent", "eventBasedGateway"}
#: Elements that hold a flow of their own: they wait when something inside them does.
_CONTAINERS = {"subProcess", "transaction", "adHocSubProcess"}


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _waits(el: etree._Element) -> bool:
    name = _local(el)
    if name in _WAIT_STATES or name == "callActivity":  # a called process cannot be seen from here
        return True
    return name in _CONTAINERS and any(
        isinstance(d.tag, str) and _local(d) in _WAIT_STATES | {"callActivity"} for d in el.iter())


def _loops(scope: etree._Element) -> Iterator[tuple[list[etree._Element], bool]]:
    """The loops of one process or subprocess: each group of elements that all reach one another through
    sequence flows (and boundary events), in document order, and whether a flow leaves the group."""
    ns = _BPMN_NS["bpmn"]
    nodes = {el.get("id"): el for el in scope if isinstance(el.tag, str) and el.get("id")
             and el.tag.startswith("{" + ns + "}") and _local(el) not in ("sequenceFlow", "laneSet")}
    edges: dict[str, list[str]] = {n: [] for n in nodes}
    for el in nodes.values():
        if _local(el) == "boundaryEvent" and el.get("attachedToRef") in edges:
            edges[el.get("attachedToRef")].append(el.get("id"))
    for flow in scope.iterfind(f"{{{ns}}}sequenceFlow"):
        if flow.get("sourceRef") in edges and flow.get("targetRef") in edges:
            edges[flow.get("sourceRef")].append(flow.get("targetRef"))
    order = list(nodes)
    for group in _strongly_connected(order, edges):
        if len(group) > 1 or group[0] in edges[group[0]]:
            members = set(group)
            leaves = any(target not in members for member in group for target in edges[member])
            yield [nodes[n] for n in order if n in members], leaves


def _strongly_connected(order: list[str], edges: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm without recursion (an uploaded diagram may have thousands of elements)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    for root in order:
        if root in index:
            continue
        work = [(root, iter(edges[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                groups.append(group)
    return groups


def _check_loops(root: etree._Element) -> None:
    """A loop must wait for someone somewhere, and must have a way out."""
    ns = _BPMN_NS["bpmn"]
    for scope in root.iter(f"{{{ns}}}process", *(f"{{{ns}}}{c}" for c in _CONTAINERS)):
        for loop, leaves in _loops(scope):
            ids = [el.get("id") for el in loop]
            path = " → ".join(ids[:8]) + (" …" if len(ids) > 8 else "")
            if not any(_waits(el) for el in loop):
                raise ProcessDefinitionError(
                    f"the loop {path} has no user task: it would run without end", ids[0], loop[0].sourceline)
            if not leaves:
                raise ProcessDefinitionError(f"the loop {path} has no way out", ids[0], loop[0].sourceline)


def _names(text: str, statements: bool) -> tuple[set[str], set[str]]:
    """The names an expression or script reads, and those it assigns."""
    tree = ast.parse(text.strip(), mode="exec" if statements else "eval")
    read: set[str] = set()
    written: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (written if isinstance(node.ctx, ast.Store) else read).add(node.id)
    return read, written


def lint_definition(parsed: ParsedProcess, bpmn_xml: str, *, data_names: Iterable[str]) -> None:
    """The checks a new diagram must also pass before it is deployed (stored versions are not checked
    again): every loop waits for a person and has a way out, and every name an expression reads is
    provided by something — a form field, a script, a service task's result, or ``data_names`` (what the
    platform puts in an instance's data). Raises :class:`ProcessDefinitionError` naming the element."""
    _check_loops(etree.fromstring(bpmn_xml.encode()))
    known = set(data_names) | set(SAFE_FUNCTIONS)
    uses: list[tuple[str, str, set[str]]] = []
    for process_spec in [parsed.spec, *parsed.subprocess_specs.values()]:
        for ts in process_spec.task_specs.values():
            bpmn_id = getattr(ts, "bpmn_id", None)
            if bpmn_id is None:
                continue
            if isinstance(ts, ServiceTask):
                known.add(ts.result_variable)
            for what, text, statements in _expressions(ts):
                read, written = _names(text, statements)
                known |= written
                uses.append((bpmn_id, what, read))
    for bpmn_id, what, read in uses:
        missing = sorted(read - known)
        if missing:
            raise ProcessDefinitionError(
                f"{what} uses {', '.join(map(repr, missing))}, which no form field, script or the platform "
                "provides", bpmn_id)


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


@contextmanager
def _engine_errors() -> Iterator[None]:
    """What goes wrong while the engine runs, as :class:`EngineError` (its message the first line)."""
    try:
        yield
    except EngineError:
        raise
    except (WorkflowException, LimitExceeded) as exc:
        raise EngineError(str(exc).splitlines()[0]) from exc
    except RecursionError as exc:  # SpiffWorkflow predicts a loop of unconditional flows without end
        raise EngineError("the diagram loops without end (recursion limit reached)") from exc


class Run:
    """One workflow loaded for one action: step it, read it, dump it.

    Starting an instance, or completing a task and the steps after it, is one run: it may take at most
    :data:`LIMITS` (tasks, CPU time, data) and then fails with :class:`EngineError`.
    """

    def __init__(self, parsed: ParsedProcess, workflow: BpmnWorkflow) -> None:
        self.parsed = parsed
        self.workflow = workflow
        self.dumped: str | None = None
        self._ready: list | None = None  # the READY user tasks, until the workflow steps again
        self._cancelled = False

    @classmethod
    def start(cls, parsed: ParsedProcess, data: dict, service_handler: ServiceHandler | None = None) -> Run:
        with _budget_scope(), _engine_errors():
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
        """Run the engine to the next wait, within the budget of the run under way."""
        self._ready = None
        with _budget_scope() as budget, _engine_errors():
            self.workflow.refresh_timers()
            self.workflow.do_engine_steps(will_complete_task=budget.step)
            if self.workflow.is_completed() and not self._cancelled and self._end_event() is None:
                # SpiffWorkflow stops looking 1000 levels down its task tree: what lies deeper seems finished
                raise EngineError("the instance stopped without reaching an end event")

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
        """Complete a READY user task with ``data`` and run the engine to the next wait (one budget for both)."""
        if not self.is_ready(task_id):
            raise EngineError(f"task {task_id} is not ready")
        task = self.workflow.get_task_from_id(UUID(task_id))
        task.set_data(**data)
        self._ready = None
        with _budget_scope() as budget, _engine_errors():
            budget.step(task)
            task.run()
            self._step()

    def cancel(self) -> None:
        self._ready = None
        self._cancelled = True
        self.workflow.cancel()

    def is_completed(self) -> bool:
        return self.workflow.is_completed()

    def end_outcome(self) -> str | None:
        """The ``outcome`` property of the end event the instance finished at."""
        if not self.workflow.is_completed():
            return None
        end = self._end_event()
        return "cancelled" if end is None else self.parsed.end_outcomes.get(end, "completed")

    def end_event(self) -> str | None:
        """The id of the end event a finished instance reached (None while it runs, or when cancelled)."""
        return self._end_event()

    def _end_event(self) -> str | None:
        """The id of the end event this workflow (not a subprocess) completed at, if any."""
        for task in self.workflow.get_tasks(state=TaskState.COMPLETED, spec_class=EndEvent):
            if task.workflow is self.workflow:
                return task.task_spec.bpmn_id
        return None

    def data(self) -> dict:
        """The data as the next actor sees it (or the final data of a finished instance)."""
        ready = self._ready_user_tasks()
        if ready:
            return dict(ready[0].data)
        if self.workflow.is_completed():
            return dict(self.workflow.data)
        last = self.workflow.get_tasks(state=TaskState.COMPLETED)
        return dict(last[-1].data) if last else {}


# --------------------------------------------------------------------------- migration to another version


@dataclass(frozen=True)
class MigrationCheck:
    """Whether a running workflow can move to another version of its process, and why not."""

    #: The bpmn ids of the READY user tasks (where the case stands now).
    current: tuple[str, ...]
    #: ``None`` when it can move; else ``current_removed`` (the step it stands at is gone from the new
    #: version), ``history_removed`` (a step it passed is gone) or ``error: …``.
    refusal: str | None
    #: The bpmn ids of its tasks whose specs the new version no longer has.
    removed: tuple[str, ...] = ()

    @property
    def movable(self) -> bool:
        return self.refusal is None


def migrate(state_json: str, new: ParsedProcess, service_handler: ServiceHandler | None = None
            ) -> tuple[MigrationCheck, Run | None]:
    """Move a stored workflow onto the spec of ``new`` (tasks aligned by BPMN id; the READY and WAITING
    ones are reset and predicted again on the new spec), in memory: the run to save, or None with the
    reason it cannot move. SpiffWorkflow's diff decides which tasks the new version lacks."""
    from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow

    workflow = _SERIALIZER.deserialize_json(state_json)
    ready = workflow.get_tasks(state=TaskState.READY, manual=True)
    current = tuple(t.task_spec.bpmn_id for t in ready)
    top, subs = diff_workflow(_SERIALIZER.registry, workflow, new.spec, new.subprocess_specs)
    removed = tuple(sorted({getattr(t.task_spec, "bpmn_id", None) or t.task_spec.name for t in top.removed}))
    if any(t in top.removed for t in ready):
        return MigrationCheck(current, "current_removed", removed), None
    if subs:
        return MigrationCheck(current, "error: subprocesses are not migrated", removed), None
    try:
        migrate_workflow(top, workflow, new.spec)
        workflow.script_engine = _Engine(service_handler)
        run = Run(new, workflow)
        run._step()
        # a task of a removed step left in the tree would not load again: try it now
        _SERIALIZER.deserialize_json(run.dump())
    except (EngineError, WorkflowException, KeyError, AttributeError, ValueError) as exc:
        reason = "history_removed" if removed else f"error: {str(exc).splitlines()[0] if str(exc) else exc!r}"
        return MigrationCheck(current, reason, removed), None
    return MigrationCheck(current, None, removed), run


def quiet_engine_logs() -> None:
    """SpiffWorkflow logs every task state change at INFO: keep its loggers to warnings (structured logs)."""
    logging.getLogger("spiff").setLevel(logging.WARNING)
