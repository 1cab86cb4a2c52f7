"""The hooks of the test-only process ``study_leave``: the whole of its code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.accounts.actor import Actor
from app.core.errors import ValidationFailed
from app.workflow.registry import OperationContext, ProcessHooks, StartContext, register_operation

KEY = "study_leave"
#: What the service task did, for the test to look at (a real domain would write its own table).
GRANTED: list[dict[str, Any]] = []


def prepare_start(data: dict[str, Any], actor: Actor) -> StartContext:
    person = actor.person
    if person is None or person.unit is None:
        raise ValidationFailed("提交的内容有误，请按提示修改", {"course": "只有所属单位的专业技术人员可以申请"})
    return StartContext(subject_person=person, subject_unit=person.unit, applicant_name=person.name,
                        applicant_id_number=person.id_number, title=data["course"])


def grant(params: dict[str, Any], data: dict[str, Any], ctx: OperationContext) -> dict[str, Any]:
    GRANTED.append({"instance": ctx.instance.id, "days": data["days"], "by": ctx.actor.id})
    return {"days": data["days"]}


HOOKS = ProcessHooks(key=KEY, permission="credit_review", prepare_start=prepare_start,
                     can_start=lambda actor: actor.person is not None, directory=Path(__file__).parent,
                     noun="申请", started_message="已提交，等待审核")


def register() -> None:
    from app.workflow.registry import register_process

    register_operation("grant_study_leave", grant)
    register_process(HOOKS)
