"""The archive search and the records list on SQLite and PostgreSQL (booleans, LIKE, subqueries)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from app.archive import records
from app.archive import services as archive
from app.archive.models import CreditRecord
from app.extensions import db
from app.people.models import Person
from app.workflow import services as wf
from tests.conftest import actor


def test_search_and_records_on_both_databases(any_app, declaration):
    chen = db.session.scalar(select(Person).where(Person.name == "陈诗慧"))
    for i, (subject, hours) in enumerate((("professional", "60"), ("public", "30"))):
        db.session.add(CreditRecord(person_id=chen.id, year=2026, subject_type=subject, course_name="课程",
                                    declared_hours=Decimal(hours), recognised_hours=Decimal(hours),
                                    source="class", source_id=100 + i))
    archive.recount(2026)
    inst = wf.start_process("credit_hour_approval", {**declaration, "person_id_number": "321101198110166954",
                                                     "learning_form": "online", "platform": "国家专技人员继续教育网"},
                               actor=actor("hospital_admin"))
    db.session.commit()

    hr = actor("hr_city")
    assert [r.person.name for r in archive.search(hr, year=2026, verified=True).items] == ["陈诗慧"]
    assert [r.person.name for r in archive.search(hr, year=2026, verified=False, region="福建省-福州市",
                                                   name="文").items] == ["刘文斌"]
    page = archive.search(actor("hospital_admin"), year=2026, per_page=1)
    assert page.total == 2 and page.next_after == chen.id
    got = records.declarations(actor("hospital_admin"), scope="unit", status="pending", learning_form="online",
                               name="刘", year=2026)
    assert [i.id for i, _ in got.items] == [inst.id]
