"""Training classes at scale: closing a class of 2,000 participants into the archive, and a grade import of
10,000 rows, with time and peak memory.

    .venv/bin/python -m bench.bench_classes [--close 2000] [--grades 10000] [--pg-url URL | --sqlite]

The database is a scratch one (its public schema is dropped and migrated fresh, the demo seeded with the
training institute's catalogue and approved plan). Participants are added in bulk; then
``app.classes.services.close`` runs (one archive record per person who passed, 9 in 10, and the annual
verification of each brought up to date) and, for the import, an .xlsx of that many grade rows (1 in 100 naming a
person not enrolled) goes through the import centre's job run inline (``app.imports.services.run_import``).
Resident set size is sampled every 20 ms; the figure printed is the peak above the level before the step.
Prints figures only.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import func, insert, select

from app.accounts.models import Organisation
from app.archive.models import CreditRecord
from app.classes import services
from app.classes.models import ClassMember, TrainingClass
from app.core.models import utcnow
from app.extensions import db
from app.imports import registry
from app.imports import services as imports
from app.imports.models import ImportJob
from app.people.models import Person
from app.training.models import TrainingCourse, TrainingPlan
from bench._common import DEFAULT_PG_URL, actor, ensure_pg_database, machine_line, make_app
from bench.bench_import import Peak, id_number

ADMIN = "institute_admin"


def _class(name: str) -> TrainingClass:
    """An approved, open class of the demo institute under its approved plan of last year."""
    from app.workflow import services as workflow
    from app.workflow.models import ProcessInstance

    me = actor(ADMIN)
    org = db.session.scalar(select(Organisation).where(Organisation.name == "市继续教育学院"))
    plan = db.session.scalar(
        select(TrainingPlan).where(TrainingPlan.organisation_id == org.id).order_by(TrainingPlan.year)
    )
    course = db.session.scalar(
        select(TrainingCourse).where(
            TrainingCourse.organisation_id == org.id, TrainingCourse.subject_type == plan.subject_type
        )
    )
    row = services.create(
        me,
        org.id,
        {
            "plan_id": plan.id,
            "year": plan.year,
            "name": name,
            "subject_type": plan.subject_type,
            "subject_id": plan.subject_id,
            "report_mode": "later",
            "courses": [{"course_id": course.id}],
        },
    )
    instance = services.submit(me, row.id)
    [task] = workflow.open_tasks(db.session.get(ProcessInstance, instance.id))
    workflow.complete_task(task.id, {"outcome": "approve", "comment": ""}, actor=actor("hr_city"))
    services.open_class(me, row.id)
    db.session.commit()
    return row


def _participants(row: TrainingClass, n: int, offset: int, *, graded: bool) -> list[str]:
    """``n`` new people enrolled in ``row`` (in bulk); graded (9 in 10 pass) when asked. Their ID numbers."""
    unit = db.session.scalar(select(Organisation.id).where(Organisation.name == "市第一人民医院"))
    ids = [id_number(offset + i) for i in range(n)]
    for start in range(0, n, 1000):
        db.session.execute(
            insert(Person.__table__),
            [
                {"name": f"学员{offset + i}", "id_number": ids[i], "unit_id": unit, "created_at": utcnow()}
                for i in range(start, min(n, start + 1000))
            ],
        )
    person_ids = dict(db.session.execute(select(Person.id_number, Person.id).where(Person.id_number.in_(ids))).all())
    now = utcnow()
    rows = [
        {
            "class_id": row.id,
            "person_id": person_ids[idn],
            "enrolled_at": now,
            "subject_scores": {},
            "result": ("pass" if i % 10 else "fail") if graded else None,
            "total_score": 80 if graded else None,
            "graded_at": now if graded else None,
        }
        for i, idn in enumerate(ids)
    ]
    for start in range(0, n, 1000):
        db.session.execute(insert(ClassMember.__table__), rows[start : start + 1000])
    db.session.commit()
    return ids


def bench_close(n: int) -> dict:
    row = _class(f"结班{n}人")
    _participants(row, n, 100_000, graded=True)
    db.session.expire_all()
    t0 = time.perf_counter()
    with Peak() as mem:
        written = services.close(actor(ADMIN), row.id)
        db.session.commit()
    took = time.perf_counter() - t0
    count = db.session.scalar(select(func.count()).select_from(CreditRecord).where(CreditRecord.class_id == row.id))
    return {
        "what": f"close {n}",
        "seconds": took,
        "peak": mem.above,
        "ok": written,
        "failed": n - written,
        "check": count,
    }


def bench_grades(n: int) -> dict:
    row = _class(f"成绩导入{n}行")
    ids = _participants(row, n, 400_000, graded=False)
    path = Path(tempfile.mkdtemp(prefix="bench-classes-")) / "grades.xlsx"
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("数据")
    ws.append([c.header for c in registry.get("class_grades").columns])
    for i, idn in enumerate(ids):
        ws.append(
            [
                str(row.id),
                f"学员{400_000 + i}",
                id_number(900_000 + i) if i % 100 == 0 else idn,
                85,
                "合格",
                "2025-03-01",
                "2025-03-03",
            ]
        )
    wb.save(path)
    with path.open("rb") as fh:
        imp = imports.start(actor(ADMIN), "class_grades", fh, path.name)
    db.session.commit()
    job_id = imp.job_id
    db.session.expire_all()
    t0 = time.perf_counter()
    with Peak() as mem:
        imports.run_import(job_id, 1)
    took = time.perf_counter() - t0
    imp = db.session.scalar(select(ImportJob).where(ImportJob.job_id == job_id))
    graded = db.session.scalar(
        select(func.count())
        .select_from(ClassMember)
        .where(ClassMember.class_id == row.id, ClassMember.result.is_not(None))
    )
    path.unlink()
    return {
        "what": f"grade import {n}",
        "seconds": took,
        "peak": mem.above,
        "ok": imp.succeeded,
        "failed": imp.failed,
        "check": graded,
    }


def run(app, close_n: int, grades_n: int) -> list[dict]:  # noqa: ANN001
    from app.training.demo import seed_catalogue, seed_plans

    with app.app_context():
        seed_catalogue()
        seed_plans()
        db.session.commit()
        return [bench_close(close_n), bench_grades(grades_n)]


def report(results: list[dict]) -> None:
    print(machine_line())
    print(f"{'step':<20} {'seconds':>8} {'rows/s':>8} {'peak MB':>8} {'ok':>7} {'refused':>7} {'check':>7}")
    for r in results:
        rows = r["ok"] + r["failed"]
        print(
            f"{r['what']:<20} {r['seconds']:>8.1f} {rows / r['seconds']:>8.0f} {r['peak']:>8.1f} {r['ok']:>7} "
            f"{r['failed']:>7} {r['check']:>7}"
        )
    print("check: archive records of the closed class (= ok); graded enrolments after the import (= ok)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--close", type=int, default=2000)
    parser.add_argument("--grades", type=int, default=10_000)
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    parser.add_argument("--sqlite", action="store_true", help="a scratch SQLite file instead of PostgreSQL")
    args = parser.parse_args(argv)
    if args.sqlite:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='bench-classes-db-')}/bench.db"
    else:
        reason = ensure_pg_database(args.pg_url)
        if reason:
            print(f"PostgreSQL not reachable: {reason}")
            return 1
        url = args.pg_url
    report(run(make_app(url), args.close, args.grades))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
