"""Workflows stay in memory between actions (no deserialization), but never outlive a rollback and never
stand in for a state the database no longer holds."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from app.core.errors import ValidationFailed
from app.extensions import db
from app.workflow import engine, services
from app.workflow.models import ApprovalEvent, ProcessInstance
from tests.conftest import actor


@pytest.fixture
def loads(monkeypatch):
    """Counts the workflows deserialized from their stored state."""
    calls = []
    real = engine._SERIALIZER.deserialize_json

    def counting(text):
        calls.append(text)
        return real(text)

    monkeypatch.setattr(engine._SERIALIZER, "deserialize_json", counting)
    return calls


def start(declaration) -> ProcessInstance:
    instance = services.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    db.session.commit()
    return instance


def open_task_id(instance: ProcessInstance) -> str:
    return services.open_tasks(instance)[0].id


def decisions(instance_id: int) -> list[tuple[str, str]]:
    return [(e.step, e.outcome) for e in db.session.scalars(
        select(ApprovalEvent).where(ApprovalEvent.instance_id == instance_id).order_by(ApprovalEvent.id))]


def test_committed_state_is_reused_without_deserializing(any_app, declaration, loads):
    instance = start(declaration)
    for login in ("hospital_admin", "health_admin"):
        services.complete_task(open_task_id(instance), {"outcome": "approve"}, actor=actor(login))
        db.session.commit()
    assert loads == []
    assert services.open_tasks(instance)[0].task_spec == "hr_review"


def test_a_rolled_back_action_leaves_nothing_behind(any_app, declaration, loads):
    instance = start(declaration)
    task_id = open_task_id(instance)
    services.complete_task(task_id, {"outcome": "approve"}, actor=actor("hospital_admin"))
    db.session.rollback()  # e.g. the request failed after the service call
    assert services.open_tasks(instance)[0].id == task_id

    services.complete_task(task_id, {"outcome": "return", "comment": "请补充证明"}, actor=actor("hospital_admin"))
    db.session.commit()
    assert len(loads) == 1  # the half-stepped workflow was dropped: the stored state was loaded
    assert decisions(instance.id) == [("start", "submit"), ("unit_review", "return")]
    assert services.open_tasks(instance)[0].lane == "applicant"


def test_invalid_form_keeps_the_case_as_it_was(any_app, declaration, loads):
    instance = start(declaration)
    task_id = open_task_id(instance)
    with pytest.raises(ValidationFailed):
        services.complete_task(task_id, {"outcome": "maybe"}, actor=actor("hospital_admin"))
    db.session.rollback()
    services.complete_task(task_id, {"outcome": "approve"}, actor=actor("hospital_admin"))
    db.session.commit()
    assert decisions(instance.id)[-1] == ("unit_review", "approve")
    assert services.open_tasks(instance)[0].task_spec == "supervisory_review"


def test_a_state_changed_elsewhere_is_loaded_from_the_database(app, declaration, loads):
    """Another process (or a restored backup) wrote a different state: the parked workflow must not be used."""
    instance = start(declaration)
    first_state = instance.state_json
    services.complete_task(open_task_id(instance), {"outcome": "approve"}, actor=actor("hospital_admin"))
    db.session.commit()
    # put the state of before the unit's approval back, as another writer might have
    db.session.execute(update(ProcessInstance).where(ProcessInstance.id == instance.id)
                       .values(state_json=first_state, status="running"))
    db.session.commit()
    db.session.expire_all()
    run = engine.Run.load(services.parsed_by_hash(instance.version_hash), first_state, parked_as=instance.id)
    assert [t.info.spec_id for t in run.ready_tasks()] == ["unit_review"]
    assert len(loads) == 1


def test_the_same_transaction_sees_the_task_closed(any_app, declaration):
    """The rows are written with Core statements; objects already loaded must not show the old state."""
    from app.core.errors import InvalidState

    instance = start(declaration)
    task_id = open_task_id(instance)
    unit = actor("hospital_admin")
    services.complete_task(task_id, {"outcome": "approve"}, actor=unit)
    assert services.visible_task(task_id, unit).completed_at is not None
    with pytest.raises(InvalidState):
        services.claim_task(task_id, actor=unit)
    assert instance.lock_version == 2 and services.open_tasks(instance)[0].task_spec == "supervisory_review"


def test_the_cache_can_be_turned_off(any_app, declaration, loads):
    engine.PARKED.resize(0)
    try:
        instance = start(declaration)
        services.complete_task(open_task_id(instance), {"outcome": "approve"}, actor=actor("hospital_admin"))
        db.session.commit()
        assert len(loads) == 1 and len(engine.PARKED) == 0
        assert services.open_tasks(instance)[0].task_spec == "supervisory_review"
    finally:
        engine.PARKED.resize(any_app.config["WORKFLOW_CACHE_SIZE"])
