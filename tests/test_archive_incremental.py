"""The annual verification after an approval is incremental: the approved record's credited hours
are added to the stored row (no re-read of the year's records), and the row always equals what a
full recount (verify_year) would store; a stale row falls back to the full recount."""

from __future__ import annotations

import math
import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.accounts.models import Organisation
from app.archive import services as archive
from app.archive.models import AnnualVerification
from app.extensions import db
from app.workflow import services as wf
from app.workflow.models import ProcessInstance
from tests.conftest import actor, statements
from tests.test_archive_verification import YEAR, add, person, variant_table

FULL_RECOUNT = archive.verify_year
REVIEWERS = ("tech_admin", "hr_district")  # 王立平's chain: his unit, then the district HR bureau


def declare(declaration: dict, **fields) -> int:
    """王立平 declares; returns the instance id (committed). The study dates span the days declared."""
    data = {**declaration, **fields}
    if "days" in fields:
        start = date.fromisoformat(data["start_date"])
        data["end_date"] = (start + timedelta(days=math.ceil(fields["days"]) - 1)).isoformat()
    inst = wf.start_process("credit_hour_approval", data, actor=actor("wangliping"))
    db.session.commit()
    return inst.id


def review(instance_id: int, *logins: str) -> None:
    for login in logins:
        (task,) = wf.open_tasks(db.session.get(ProcessInstance, instance_id))
        wf.complete_task(task.id, {"outcome": "approve"}, actor=actor(login))
        db.session.commit()


def approve(declaration: dict, **fields) -> None:
    review(declare(declaration, **fields), *REVIEWERS)


def stored(p) -> AnnualVerification:
    row = db.session.scalar(select(AnnualVerification).where(AnnualVerification.person_id == p.id,
                                                             AnnualVerification.year == YEAR)
                            .execution_options(populate_existing=True))
    assert row is not None
    return row


def stored_values(p) -> dict:
    row = stored(p)
    return {"public": row.public_hours, "professional": row.professional_hours, "elective": row.elective_hours,
            "total": row.total_hours, "verified": row.verified, "missing": row.missing,
            "rule_name": row.rule_name, "rule_hash": row.rule_hash}


def assert_equals_full_recount(p) -> AnnualVerification:
    """The stored row equals what the full recount stores (run here, on the row as it is)."""
    incremental = stored_values(p)
    FULL_RECOUNT(p, YEAR)
    assert incremental == stored_values(p)
    full = archive.year_summary(p, YEAR)
    assert (incremental["verified"], incremental["missing"]) == (full.verified, full.missing)
    return stored(p)


@pytest.fixture
def full_recounts(monkeypatch) -> list[int]:
    """Person ids the full verify_year ran for."""
    calls: list[int] = []
    real = archive.verify_year

    def spy(p, year):  # noqa: ANN001, ANN202
        calls.append(p.id)
        return real(p, year)

    monkeypatch.setattr(archive.verification, "verify_year", spy)  # where add_record looks it up
    return calls


def test_each_approval_adds_up_to_what_a_full_recount_stores(app, declaration, full_recounts):
    wang = person("王立平")
    steps = [  # (subject, hours, days) → verified after the approval
        ("public", 20, 3, False),          # 3 days: capped at 18
        ("professional", 40, 7, False),    # 58 in all
        ("professional", 20, 4, False),    # 78: total short
        ("elective", 12, 2, True),         # 90, professional 60 of 90 = exactly 2/3
        ("public", 1.5, 1, False),         # 91.5: professional 60 < 2/3 × 91.5
        ("professional", 3, 1, True),      # 63 of 94.5 = exactly 2/3
    ]
    for subject, hours, days, verified in steps:
        approve(declaration, subject_type=subject, hours=hours, days=days)
        row = assert_equals_full_recount(wang)
        assert row.verified is verified, (subject, hours, row.missing)
    assert (row.public_hours, row.professional_hours, row.elective_hours, row.total_hours) == (
        Decimal("19.5"), Decimal("63"), Decimal("12"), Decimal("94.5"))
    capped = [line for line in archive.year_summary(wang, YEAR).records if line.capped]
    assert [(c.recognised_hours, c.credited_hours) for c in capped] == [(Decimal("20"), Decimal("18"))]
    assert full_recounts == [wang.id]  # only the first approval of the year (no stored row yet)


def test_missing_sentences_follow_the_incremental_hours(app, declaration):
    wang = person("王立平")
    approve(declaration, subject_type="professional", hours=59.5, days=10)
    approve(declaration, subject_type="public", hours=30, days=5)
    row = assert_equals_full_recount(wang)
    assert not row.verified
    assert row.missing == ["总学时还差0.5学时（已计入89.5学时，要求不少于90学时）",
                           "专业科目还差0.5学时（已计入59.5学时，要求不少于总学时的2/3）"]


def test_unknown_subject_types_count_as_elective(app):
    chen = person("陈诗慧")
    archive.verify_year(chen, YEAR)
    for subject, hours in (("professional", "60"), ("other", "30"), ("public", "5")):
        archive.verify_after_new_record(add(chen, subject, hours, days="10"))
        assert_equals_full_recount(chen)
    row = stored(chen)
    assert (row.elective_hours, row.total_hours, row.verified) == (Decimal("30"), Decimal("95"), False)


def test_a_stale_rule_hash_falls_back_to_a_full_recount(app, declaration, full_recounts):
    wang = person("王立平")
    approve(declaration, subject_type="professional", hours=60, days=10)
    current_hash = stored(wang).rule_hash
    stored(wang).rule_hash = "old"
    add(wang, "public", "24", days="3")     # behind the row's back: 18 credited
    add(wang, "elective", "10")
    db.session.commit()
    full_recounts.clear()

    approve(declaration, subject_type="public", hours=2, days=1)
    row = assert_equals_full_recount(wang)
    assert full_recounts == [wang.id]
    assert row.rule_hash == current_hash and row.verified
    assert (row.public_hours, row.professional_hours, row.elective_hours, row.total_hours) == (
        Decimal("20"), Decimal("60"), Decimal("10"), Decimal("90"))

    full_recounts.clear()
    approve(declaration, subject_type="elective", hours=1, days=1)   # the row is current again
    assert full_recounts == []
    assert assert_equals_full_recount(wang).total_hours == 91


def test_another_rule_of_the_same_table_falls_back_to_a_full_recount(app, rule_table, declaration, full_recounts):
    """Same table, but the person's region now matches a rule with another daily cap."""
    rule_table.use(variant_table(
        {"id": "gd", "province": '"广东省"', "name": "广东：每天最多8学时", "total": 90, "ratio": '"2/3"', "cap": 8},
        {"id": "other", "name": "默认", "total": 90, "ratio": '"2/3"'},
    ))
    wang = person("王立平")   # 福州智造科技有限公司, 福建省: 6 a day
    approve(declaration, subject_type="professional", hours=20, days=2)
    assert stored(wang).professional_hours == 12
    unit = db.session.scalar(select(Organisation).where(Organisation.name == "福州智造科技有限公司"))
    unit.region = "广东省-广州市"
    db.session.commit()
    full_recounts.clear()
    approve(declaration, subject_type="professional", hours=20, days=2)
    row = assert_equals_full_recount(wang)
    assert full_recounts == [wang.id] and row.professional_hours == 32   # 16 + 16 under the new cap


def test_a_daily_cap_with_a_fraction_recounts_fully(app, rule_table, full_recounts):
    """7.5 a day over 2.5 days credits 18.75: finer than the stored tenths, so no adding up."""
    rule_table.use(variant_table(
        {"id": "other", "name": "每天最多7.5学时", "total": 90, "ratio": '"2/3"', "cap": 7.5}))
    chen = person("陈诗慧")
    for _ in range(3):
        archive.verify_after_new_record(add(chen, "professional", "20", days="2.5"))
        db.session.commit()
        assert_equals_full_recount(chen)
    assert abs(stored(chen).professional_hours - Decimal("56.25")) == Decimal("0.05")   # stored in tenths
    assert len(full_recounts) == 3


def test_the_verification_step_does_not_read_the_years_records(app):
    chen = person("陈诗慧")
    archive.verify_year(chen, YEAR)   # a stored row (no records yet)
    db.session.commit()

    def verification_step(subject: str) -> list[str]:
        db.session.commit()   # the same state for every measurement (everything expired)
        rec = add(chen, subject, "3")   # a stored record, then verified
        with statements() as sent:
            archive.verify_after_new_record(rec)
        return sent

    first = verification_step("professional")
    for _ in range(18):
        archive.verify_after_new_record(add(chen, "professional", "3"))
    twentieth = verification_step("public")
    assert len(first) == len(twentieth) <= 4, twentieth   # the row read (locked) and its update
    assert not [s for s in first + twentieth if "FROM credit_record" in s]
    assert assert_equals_full_recount(chen).total_hours == 60

    with statements() as sent:
        archive.verify_year(chen, YEAR)   # the full recount does read them (the listener sees it)
    assert [s for s in sent if "FROM credit_record" in s]


@pytest.mark.parametrize("first_of_the_year", [False, True], ids=["row-locked", "first-insert"])
def test_concurrent_approvals_for_one_person_add_up_on_postgres(pg_app, declaration, first_of_the_year):
    wang = person("王立平")
    if not first_of_the_year:
        approve(declaration, subject_type="professional", hours=60, days=10)
    ids = [declare(declaration, subject_type="public", hours=h, days=5) for h in (10, 20)]
    for i in ids:
        review(i, REVIEWERS[0])
    tasks = [wf.open_tasks(db.session.get(ProcessInstance, i))[0].id for i in ids]
    db.session.remove()
    barrier = threading.Barrier(len(tasks))
    errors: list[BaseException] = []

    def final_approval(task_id: str) -> None:
        with pg_app.app_context():
            try:
                reviewer = actor(REVIEWERS[1])
                db.session.commit()
                barrier.wait()
                wf.complete_task(task_id, {"outcome": "approve"}, actor=reviewer)
                db.session.commit()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=final_approval, args=(t,)) for t in tasks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    wang = person("王立平")
    row = assert_equals_full_recount(wang)
    assert row.public_hours == 30 and row.total_hours == (30 if first_of_the_year else 90)
