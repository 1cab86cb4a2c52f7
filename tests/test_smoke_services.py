from app.workflow import services
from tests.conftest import actor


def test_declare_and_approve_through_services(app, declaration):
    inst = services.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    tasks = services.open_tasks(inst)
    assert [t.task_spec for t in tasks] == ["unit_review"]


def test_full_chain_pg(pg_app, declaration):
    from app.extensions import db
    inst = services.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    db.session.commit()
    for login in ("hospital_admin", "health_admin", "hr_city"):
        t = services.open_tasks(inst)[0]
        services.complete_task(t.id, {"outcome": "approve"}, actor=actor(login))
        db.session.commit()
    assert inst.status == "completed"
