"""DMN decision tables (``processes/<key>.dmn``) evaluated outside any process instance.

A table is parsed with SpiffWorkflow's DMN parser, every cell is linted through the same
whitelist as BPMN expressions, and the parsed table is cached in memory by content hash.
Cells run in the restricted expression environment of :mod:`app.workflow.engine`.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context
from lxml import etree
from SpiffWorkflow.dmn.engine.DMNEngine import DMNEngine
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
from sqlalchemy import select

from app.workflow.engine import ProcessDefinitionError, _check, _Engine
from app.workflow.versions import PROCESSES_DIR


class DecisionError(ValueError):
    """A decision table could not be evaluated (no rule matched, a cell failed)."""


@dataclass(frozen=True)
class Decision:
    key: str
    name: str
    content_hash: str
    engine: DMNEngine


_CACHE: dict[str, Decision] = {}
_LOCK = threading.Lock()


def decisions_dir() -> Path:
    """Where ``<key>.dmn`` files live: ``DECISIONS_DIR`` in the config, else ``processes/``."""
    if has_app_context() and current_app.config.get("DECISIONS_DIR"):
        return Path(current_app.config["DECISIONS_DIR"])
    return PROCESSES_DIR


def parse_decision(text: str, key: str) -> Decision:
    """Parse and lint one DMN text whose decision id is ``key``; cached by content hash."""
    content_hash = hashlib.sha256(text.encode()).hexdigest()
    hit = _CACHE.get(content_hash)
    if hit is not None and hit.key == key:
        return hit
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        parser.add_dmn_str(text.encode(), filename=f"{key}.dmn")
        engine = parser.get_engine(key, None)
        name = parser.dmn_parsers[key].get_name() or key
    except etree.XMLSyntaxError as exc:
        raise ProcessDefinitionError(f"not well-formed XML: {exc.msg}", line=exc.lineno) from None
    except SpiffWorkflowException as exc:
        raise ProcessDefinitionError(str(exc).splitlines()[0], getattr(exc, "id", None) or key) from None
    except Exception as exc:  # noqa: BLE001 - lxml/KeyError on a file that is not a DMN decision table
        raise ProcessDefinitionError(f"not a DMN decision table with id {key!r}: {exc}", key) from None
    table = engine.decision_table
    for inp in table.inputs:
        _check(inp.expression, "input expression", inp.id)
    for rule in table.rules:
        for entry in rule.inputEntries:
            for lhs in entry.lhs:
                if lhs is not None:
                    # "?" stands for the input value; otherwise the cell is "<input> <cell>" or "== <cell>".
                    text_ = lhs.replace("?", "v")
                    try:
                        _check(text_, "input entry", entry.id)
                    except ProcessDefinitionError:
                        _check(f"v {text_}", "input entry", entry.id)
        for out in rule.outputEntries:
            _check(getattr(out, "text", None), "output entry", out.id)
    decision = Decision(key=key, name=name, content_hash=content_hash, engine=engine)
    with _LOCK:
        _CACHE[content_hash] = decision
    return decision


#: How long a worker trusts what it last learnt of the deployed table of a key: another worker sees a
#: deployment within this time (the deploying worker at once); an approval's writes stay one batch.
ACTIVE_CHECK_SECONDS = 30.0


def _memo() -> dict[str, tuple[float, str | None]]:
    return current_app.extensions.setdefault("deployed_decisions", {})


def forget_active(key: str) -> None:
    """Called when a table is deployed: this worker asks the database again at the next evaluation."""
    if has_app_context():
        _memo().pop(key, None)


def _active_hash(key: str) -> str | None:
    """The content hash of the table an administrator deployed for ``key`` (None: the file answers)."""
    if not has_app_context():
        return None
    hit = _memo().get(key)
    now = time.monotonic()
    if hit is not None and now - hit[0] < ACTIVE_CHECK_SECONDS:
        return hit[1]
    from app.extensions import db
    from app.workflow.models import DecisionVersion

    found = db.session.scalar(select(DecisionVersion.content_hash).where(
        DecisionVersion.decision_key == key, DecisionVersion.active.is_(True)))
    _memo()[key] = (now, found)
    return found


def active_text(key: str) -> str:
    """The text of the table that answers for ``key``: the deployed one, else ``processes/<key>.dmn``."""
    content_hash = _active_hash(key)
    if content_hash is not None:
        from app.extensions import db
        from app.workflow.models import DecisionVersion

        text = db.session.scalar(select(DecisionVersion.dmn_xml).where(
            DecisionVersion.decision_key == key, DecisionVersion.content_hash == content_hash))
        if text is not None:
            return text
    path = decisions_dir() / f"{key}.dmn"
    if not path.is_file():
        raise ProcessDefinitionError(f"decision table {path.name} not found", key)
    return path.read_text(encoding="utf-8")


def load_decision(key: str) -> Decision:
    content_hash = _active_hash(key)
    hit = _CACHE.get(content_hash) if content_hash is not None else None
    if hit is not None and hit.key == key:
        return hit
    return parse_decision(active_text(key), key)


class _Workflow:
    def __init__(self) -> None:
        self.script_engine = _Engine(None)


class _TaskStub:
    """What SpiffWorkflow's DMN engine needs from a task: its data and the script engine."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.workflow = _Workflow()
        self.task_spec = None


def evaluate(decision: Decision, inputs: dict[str, Any]) -> dict[str, Any]:
    try:
        result = decision.engine.result(_TaskStub(dict(inputs)))
    except Exception as exc:  # noqa: BLE001 - a cell failed at run time
        raise DecisionError(f"decision {decision.key} failed: {str(exc).splitlines()[0]}") from None
    if not result:
        raise DecisionError(f"no rule of decision {decision.key} matches {inputs!r}")
    return dict(result)


def evaluate_decision(key: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Evaluate ``processes/<key>.dmn`` for ``inputs``; the answer also holds ``_rule_hash``."""
    decision = load_decision(key)
    try:
        memo_key: Any = (decision.content_hash, tuple(sorted(inputs.items())))
        hash(memo_key)
    except TypeError:  # unhashable inputs: evaluate every time
        memo_key = None
    hit = _RESULTS.get(memo_key) if memo_key is not None else None
    if hit is None:
        hit = evaluate(decision, inputs)
        hit["_rule_hash"] = decision.content_hash
        if memo_key is not None:
            with _LOCK:
                if len(_RESULTS) >= 4096:
                    _RESULTS.clear()
                _RESULTS[memo_key] = hit
    return dict(hit)


#: Answers by (table content hash, inputs): a table's cells are whitelisted pure expressions, so the same
#: inputs always give the same answer (the annual verification asks once per approval).
_RESULTS: dict[Any, dict[str, Any]] = {}
