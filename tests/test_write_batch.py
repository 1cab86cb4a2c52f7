"""An action's writes go to the database together (app.core.batch): one round trip on PostgreSQL, the
values quoted by the driver exactly as a normal execute would, the instance's lock-version guard intact."""

from __future__ import annotations

from sqlalchemy import func, select

from app.archive.models import CreditDeclaration
from app.core.batch import WriteBatch
from app.extensions import db
from app.workflow import services
from app.workflow.models import ApprovalEvent, ProcessInstance, WorkflowTask
from tests.conftest import actor, statements

#: Text a reviewer or an applicant may well type, and that a careless multi-statement string would break.
AWKWARD = "100% 合格'; DROP TABLE approval_event; -- %(x)s %s \\ \"引号\" 😀"


def open_task(instance: ProcessInstance) -> WorkflowTask:
    (task,) = services.open_tasks(instance)
    return task


def test_awkward_comments_and_changes_arrive_intact(any_app, declaration):
    chen = actor("chenshihui")
    inst = services.start_process("credit_hour_approval", {**declaration, "course_name": AWKWARD[:60]}, actor=chen)
    db.session.commit()
    services.complete_task(open_task(inst).id, {"outcome": "return", "comment": AWKWARD},
                           actor=actor("hospital_admin"))
    db.session.commit()
    revised = {**declaration, "action": "resubmit", "course_name": "改后" + AWKWARD[:40].strip()}
    services.complete_task(open_task(inst).id, revised, actor=chen)
    db.session.commit()
    db.session.expire_all()

    events = services.history(inst)
    assert [e.outcome for e in events] == ["submit", "return", "resubmit"]
    assert events[1].comment == AWKWARD
    assert events[2].changes["course_name"] == [AWKWARD[:60], "改后" + AWKWARD[:40].strip()]
    assert db.session.get(CreditDeclaration, inst.id).course_name == "改后" + AWKWARD[:40].strip()
    assert open_task(inst).task_spec == "unit_review"
    assert db.session.scalar(select(func.count()).select_from(ApprovalEvent)) == 3  # the table is still there


def test_an_approval_reads_once_and_writes_once_on_postgresql(pg_app, declaration):
    inst = services.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    db.session.commit()
    task_id = open_task(inst).id
    reviewer = actor("hospital_admin")
    with statements() as sent:
        services.complete_task(task_id, {"outcome": "approve"}, actor=reviewer)
    db.session.commit()
    assert len(sent) == 2, sent  # the task with its locked instance; then every write in one string
    assert sent[1].count("INSERT INTO approval_event") == 1 and "UPDATE process_instance" in sent[1]
    assert open_task(inst).task_spec == "supervisory_review"


def test_the_final_approval_adds_the_hours_to_the_stored_verification_in_the_same_write(any_app, declaration):
    """The HR bureau's approval records the hours and adds them to the person's stored annual verification;
    the record's INSERT and that row's UPDATE go out with the approval's own writes (on PostgreSQL in the
    same string)."""
    from app.archive.models import AnnualVerification, CreditRecord

    chen = actor("chenshihui")
    stored: list[tuple] = []
    for hours in (10, 4.5):
        inst = services.start_process("credit_hour_approval", {**declaration, "hours": hours}, actor=chen)
        db.session.commit()
        for login in ("hospital_admin", "health_admin", "hr_city"):
            task_id = open_task(inst).id
            reviewer = actor(login)
            with statements() as sent:
                services.complete_task(task_id, {"outcome": "approve"}, actor=reviewer)
            db.session.commit()
        db.session.expire_all()
        row = db.session.scalar(select(AnnualVerification).where(
            AnnualVerification.person_id == chen.person.id, AnnualVerification.year == int(declaration["year"])))
        stored.append((row.professional_hours, row.total_hours, row.verified))
    assert inst.status == "completed" and inst.outcome == "approved"
    assert db.session.scalar(select(func.count()).select_from(CreditRecord).where(
        CreditRecord.person_id == chen.person.id)) == 2
    assert stored == [(10, 10, False), (14.5, 14.5, False)]   # the second approval added to the first's row
    if db.engine.dialect.name == "postgresql":
        # the locked task, the locked verification row read with its person, then the record's INSERT, the
        # verification's UPDATE and the approval's writes in one string
        assert len(sent) == 3, sent
        assert "FOR UPDATE OF annual_verification" in sent[1] and "JOIN person" in sent[1]
        assert sent[2].startswith("INSERT INTO credit_record") and "UPDATE annual_verification" in sent[2]
        assert "UPDATE process_instance" in sent[2]


def test_the_row_count_is_the_last_statements(any_app, declaration):
    """The instance UPDATE goes last so that its guard reads the batch's row count: 0 when nothing matched."""
    inst = services.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    db.session.commit()
    table = ProcessInstance.__table__
    bump = table.update().where(table.c.id == inst.id).values(title="改")
    missing = table.update().where(table.c.id == -1).values(title="无")
    writes = WriteBatch(db.session)
    writes.add(bump, {})
    writes.add(missing, {})
    assert writes.send() == 0
    writes.add(missing, {})
    writes.add(bump, {})
    assert writes.send() == 1
    db.session.commit()
    assert db.session.scalar(select(ProcessInstance.title).where(ProcessInstance.id == inst.id)) == "改"


def test_a_statement_needing_a_python_default_still_gets_it(any_app, declaration):
    """Rows that leave out a column with a Python-side default are written one by one, defaults applied."""
    inst = services.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    db.session.commit()
    events = ApprovalEvent.__table__
    writes = WriteBatch(db.session)
    for outcome in ("note", "note2"):
        writes.add(events.insert(), {"instance_id": inst.id, "step": "x", "step_name": "备注", "outcome": outcome})
    writes.send()
    db.session.commit()
    rows = db.session.scalars(select(ApprovalEvent).where(ApprovalEvent.step == "x")).all()
    assert sorted(r.outcome for r in rows) == ["note", "note2"]
    assert all(r.at is not None for r in rows)  # the column's default (utcnow), NOT NULL in the table
