"""Dry run of a draft diagram: play generated sample cases through the real engine, in memory (nothing is
stored, service tasks are not called), and report each path as the steps it took with the lane that would
hold each, or where a case would be stranded.

The sample cases: approve everywhere; return once at each review step, then resubmit and approve; reject at
each review step; each for an applicant whose unit has a supervisory department and one whose unit has none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from app.workflow import engine, registry
from app.workflow.lanes import known_lanes

#: User tasks one sample case may pass before it is called stranded (a loop that never ends).
MAX_TASKS = 60


@dataclass(frozen=True)
class Step:
    element_id: str
    name: str
    lane: str | None
    outcome: str | None


@dataclass
class PathResult:
    scenario: str
    #: ``with_supervisory`` or ``without_supervisory``: the sample applicant.
    applicant: str
    steps: list[Step] = field(default_factory=list)
    end_id: str | None = None
    end_outcome: str | None = None
    #: Why the case would not reach an end (and where), or None.
    stranded: str | None = None
    stranded_at: str | None = None


def _sample(schema: dict, overrides: dict[str, Any]) -> dict[str, Any]:
    """A value for each field of a form: the chosen outcome, else the first allowed value, a default, or a
    plausible sample of its type."""
    out: dict[str, Any] = {}
    for name, prop in (schema.get("properties") or {}).items():
        if name in overrides:
            out[name] = overrides[name]
        elif "default" in prop:
            out[name] = prop["default"]
        elif prop.get("oneOf") and "const" in prop["oneOf"][0]:
            out[name] = prop["oneOf"][0]["const"]
        elif prop.get("enum"):
            out[name] = prop["enum"][0]
        elif prop.get("type") in ("integer", "number"):
            out[name] = prop.get("minimum", 12) or 12
        elif prop.get("type") == "boolean":
            out[name] = False
        elif prop.get("type") == "array":
            out[name] = []
        elif prop.get("format") == "date":
            out[name] = date.today().isoformat()
        else:
            out[name] = "示例"
    return out


def _kind(schema: dict) -> str:
    props = schema.get("properties") or {}
    if "outcome" in props:
        return "review"
    if "action" in props:
        return "revision"
    return "other"


class _Policy:
    """What the sample case answers at each user task."""

    def __init__(self, mode: str, target: str | None) -> None:
        self.mode, self.target, self.used = mode, target, False

    def outcome(self, spec_id: str) -> str:
        if spec_id == self.target and not self.used:
            self.used = True
            return self.mode
        return "approve"


def dry_run(parsed: engine.ParsedProcess, forms: dict[str, dict]) -> list[PathResult]:
    """Every sample case of ``parsed`` (whose forms are ``forms``), run to its end or to where it strands."""
    results: list[PathResult] = []
    for applicant, supervisory in (("with_supervisory", True), ("without_supervisory", False)):
        base = _play(parsed, forms, applicant, supervisory, "approve", None)
        results.append(base)
        reviews = list(dict.fromkeys(s.element_id for s in base.steps if s.outcome == "approve"))
        for mode in ("return", "reject"):
            for spec_id in reviews:
                results.append(_play(parsed, forms, applicant, supervisory, mode, spec_id))
    return results


def _play(parsed: engine.ParsedProcess, forms: dict[str, dict], applicant: str, supervisory: bool,
          mode: str, target: str | None) -> PathResult:
    result = PathResult(scenario=mode if target is None else f"{mode}:{target}", applicant=applicant)
    lanes = dict.fromkeys(known_lanes(), True)
    lanes["applicant"] = False
    lanes["supervisory_department"] = supervisory
    start_form = forms.get(parsed.start.form or "", {})
    data = {**_sample(start_form, {}), "lanes": lanes, "declared_by_unit": False,
            "applicant_name": "示例申请人", "person_id": 0}
    policy = _Policy(mode, target)
    try:
        run = engine.Run.start(parsed, data, _no_service)
        for _ in range(MAX_TASKS):
            ready = run.ready_tasks()
            if not ready:
                break
            task = ready[0]
            info = task.info
            if info.lane not in (None, "applicant") and not lanes.get(info.lane, False):
                result.steps.append(Step(info.spec_id, info.name, info.lane, None))
                result.stranded, result.stranded_at = "no_organisation", info.spec_id
                return result
            schema = forms.get(info.form or "", {})
            kind = _kind(schema)
            outcome = policy.outcome(info.spec_id) if kind == "review" else (
                "resubmit" if kind == "revision" else None)
            answer = {"outcome": outcome, "comment": "示例意见"} if kind == "review" else (
                {"action": outcome} if kind == "revision" else {})
            run.complete(task.id, _sample(schema, answer) | {**answer})
            result.steps.append(Step(info.spec_id, info.name, info.lane, outcome))
        else:
            result.stranded, result.stranded_at = "too_many_steps", result.steps[-1].element_id
            return result
        if not run.is_completed():
            result.stranded = "waiting"
            result.stranded_at = result.steps[-1].element_id if result.steps else None
            return result
        result.end_id = run.end_event()
        result.end_outcome = run.end_outcome()
    except engine.EngineError as exc:
        result.stranded, result.stranded_at = f"error: {exc}", result.steps[-1].element_id if result.steps else None
    return result


def _no_service(operation: str, params: dict[str, Any], data: dict[str, Any]) -> Any:
    """Service tasks are not called in a dry run; an unregistered one is still refused."""
    if registry.operation(operation) is None:
        raise engine.EngineError(f"unknown service operation {operation!r}")
    return {}
