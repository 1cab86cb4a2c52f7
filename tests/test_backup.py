"""`flask backup PATH` / `flask restore PATH`: back up with a case in flight, wipe the database, restore, and
the case continues to its end; on PostgreSQL (pg_dump / pg_restore) and on a SQLite file."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import func, inspect, select, text

from app.archive.models import CreditRecord
from app.extensions import db
from app.workflow import services
from app.workflow.models import ProcessInstance
from tests.conftest import DECLARATION, _make_app, actor


def _approve(instance_id: int, login: str) -> None:
    inst = db.session.get(ProcessInstance, instance_id)
    (task,) = services.open_tasks(inst)
    services.complete_task(task.id, {"outcome": "approve", "comment": ""}, actor=actor(login))
    db.session.commit()


def _wipe(app: Flask) -> None:
    db.session.remove()
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    assert inspect(db.engine).get_table_names() == []


def _round_trip(app: Flask, path: Path) -> None:
    runner = app.test_cli_runner()
    inst = services.start_process("credit_hour_approval", DECLARATION, actor=actor("chenshihui"))
    db.session.commit()
    instance_id = inst.id
    _approve(instance_id, "hospital_admin")  # in flight: waiting for the supervisory department

    result = runner.invoke(args=["backup", str(path)])
    assert result.exit_code == 0, result.output
    assert path.stat().st_size > 0
    _approve(instance_id, "health_admin")  # after the backup: undone by the restore
    _wipe(app)

    result = runner.invoke(args=["restore", "--yes", str(path)])
    assert result.exit_code == 0, result.output
    inst = db.session.get(ProcessInstance, instance_id)
    assert inst.status == "running"
    assert [t.task_spec for t in services.open_tasks(inst)] == ["supervisory_review"]
    _approve(instance_id, "health_admin")
    _approve(instance_id, "hr_city")
    inst = db.session.get(ProcessInstance, instance_id)
    assert (inst.status, inst.outcome) == ("completed", "approved")
    assert db.session.scalar(select(func.count()).select_from(CreditRecord)
                             .where(CreditRecord.source_id == instance_id)) == 1


def test_backup_wipe_restore_on_postgresql_and_the_case_in_flight_finishes(pg_app, tmp_path):
    _round_trip(pg_app, tmp_path / "cepp.dump")


def test_backup_wipe_restore_on_a_sqlite_file_and_the_case_in_flight_finishes(tmp_path):
    from app.demo import seed

    app = _make_app(f"sqlite:///{tmp_path / 'cepp.sqlite3'}")
    with app.app_context():
        seed()
        db.session.commit()
        try:
            _round_trip(app, tmp_path / "backup.sqlite3")
        finally:
            db.session.remove()
            db.engine.dispose()


def test_restore_refuses_a_missing_file(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["restore", "--yes", str(tmp_path / "none.dump")])
    assert result.exit_code != 0 and "does not exist" in result.output
