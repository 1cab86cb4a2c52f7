"""Annual verification (年度验证) through the DMN table: the default rule, provincial variants,
boundaries, the daily cap, recounts, and re-verification when hours are approved."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from app.accounts.models import Organisation
from app.archive import services as archive
from app.archive.models import AnnualVerification, CreditRecord
from app.extensions import db
from app.people.models import Person
from app.workflow import services as wf
from app.workflow.decisions import evaluate_decision
from app.workflow.engine import ProcessDefinitionError
from app.workflow.models import ProcessInstance
from tests.conftest import actor, not_passed

YEAR = 2026
_SOURCE_IDS = iter(range(10_000, 1_000_000))


def person(login_name: str) -> Person:
    return db.session.scalar(select(Person).where(Person.name == login_name))


def add(p: Person, subject: str, hours: str, *, days: str | None = None, year: int = YEAR,
        source: str = "class") -> CreditRecord:
    rec = CreditRecord(person_id=p.id, year=year, subject_type=subject, course_name=f"{subject} {hours}",
                       declared_hours=Decimal(hours), recognised_hours=Decimal(hours),
                       days=Decimal(days) if days else None, source=source, source_id=next(_SOURCE_IDS))
    db.session.add(rec)
    db.session.flush()
    return rec


RULE = """
      <rule id="{id}">
        <inputEntry id="{id}_y"><text>{year}</text></inputEntry>
        <inputEntry id="{id}_p"><text>{province}</text></inputEntry>
        <inputEntry id="{id}_t"><text>-</text></inputEntry>
        <outputEntry id="{id}_n"><text>"{name}"</text></outputEntry>
        <outputEntry id="{id}_total"><text>{total}</text></outputEntry>
        <outputEntry id="{id}_pub"><text>{public}</text></outputEntry>
        <outputEntry id="{id}_pro"><text>{professional}</text></outputEntry>
        <outputEntry id="{id}_ele"><text>{elective}</text></outputEntry>
        <outputEntry id="{id}_ratio"><text>{ratio}</text></outputEntry>
        <outputEntry id="{id}_cap"><text>{cap}</text></outputEntry>
      </rule>"""


def variant_table(*rules: dict) -> str:
    """A copy of processes/annual_verification.dmn with other rules (a provincial variant)."""
    text = (Path(__file__).resolve().parents[1] / "processes" / "annual_verification.dmn").read_text()
    head, rest = text.split('      <rule id="rule_default">', 1)
    tail = rest.split("</rule>", 1)[1]
    body = "".join(RULE.format(**{"year": "-", "province": "-", "public": 0, "professional": 0, "elective": 0,
                                  "ratio": '""', "cap": 6, **r}) for r in rules)
    return head + body + tail


@pytest.fixture
def variant(app, rule_table):
    """Install a variant table: Fujian 30 public + 60 professional; Guangdong 72 = 18 + 42 + 12
    with at most 6 hours a day; others the default."""
    rule_table.use(variant_table(
        {"id": "fj", "province": '"福建省"', "name": "公需30学时+专业60学时", "total": 90, "public": 30,
         "professional": 60},
        {"id": "gd", "province": '"广东省"', "name": "72学时=公需18+专业42+选修12", "total": 72, "public": 18,
         "professional": 42, "elective": 12},
        {"id": "other", "name": "默认", "total": 90, "ratio": '"2/3"'},
    ))
    return rule_table


# --------------------------------------------------------------------------- default table


def test_year_without_training_is_not_verified_and_says_what_is_missing(app):
    s = archive.year_summary(person("陈诗慧"), YEAR)
    assert (s.verified, s.result_label) == (False, not_passed("90"))
    assert s.hours == {"public": 0, "professional": 0, "elective": 0, "total": 0}
    assert s.missing[0] == "本年度没有已认定的学时记录"
    assert "总学时还差90学时" in s.missing[1]
    assert "专业科目还差60学时" in s.missing[2]


def test_default_total_boundary_89_5_fails_and_90_passes(app):
    chen = person("陈诗慧")
    add(chen, "professional", "60")
    add(chen, "public", "29.5")
    s = archive.year_summary(chen, YEAR)
    assert s.hours["total"] == Decimal("89.5")
    assert not s.verified and s.result_label == not_passed("0.5")
    assert s.missing == ["总学时还差0.5学时（已计入89.5学时，要求不少于90学时）"]

    add(chen, "elective", "0.5")
    s = archive.year_summary(chen, YEAR)
    assert s.hours["total"] == Decimal("90")
    assert s.verified and s.result_label == "合格" and s.missing == []


def test_default_professional_exactly_two_thirds_passes_and_just_below_fails(app):
    chen, liu = person("陈诗慧"), person("刘文斌")
    add(chen, "professional", "80")
    add(chen, "public", "40")  # 80 of 120 = exactly 2/3
    assert archive.year_summary(chen, YEAR).verified

    add(liu, "professional", "79.5")
    add(liu, "public", "40")  # 79.5 of 119.5 < 2/3
    s = archive.year_summary(liu, YEAR)
    assert not s.verified
    # 0.5 more professional hours make 80 of 120: the total grows with them
    assert s.missing == ["专业科目还差0.5学时（已计入79.5学时，要求不少于总学时的2/3）"]
    add(liu, "elective", "0.5")
    assert not archive.year_summary(liu, YEAR).verified  # 79.5 of 120
    add(liu, "professional", "1.5")  # 81 of 121.5 = exactly 2/3
    assert archive.year_summary(liu, YEAR).verified


def test_daily_cap_credits_at_most_6_hours_per_known_day(app):
    chen = person("陈诗慧")
    add(chen, "professional", "24", days="3")   # 3 days: at most 18
    add(chen, "professional", "50")              # days unknown: as recognised
    add(chen, "public", "30", days="5")          # 30 ≤ 5 × 6
    s = archive.year_summary(chen, YEAR)
    capped = [r for r in s.records if r.capped]
    assert [(r.recognised_hours, r.credited_hours) for r in capped] == [(Decimal("24"), Decimal("18"))]
    assert s.hours == {"public": 30, "professional": 68, "elective": 0, "total": 98}
    assert s.verified


def test_records_keep_their_source(app):
    chen = person("陈诗慧")
    add(chen, "professional", "10", source="results_report")
    add(chen, "public", "10", source="declaration")
    add(chen, "public", "10", year=YEAR - 1)
    s = archive.year_summary(chen, YEAR)
    assert sorted(r.source_label for r in s.records) == ["学时申报", "成果申报"]


# --------------------------------------------------------------------------- provincial variants


def test_variant_table_changes_the_result(app, variant):
    chen = person("陈诗慧")  # hospital in 福建省
    add(chen, "professional", "70")
    add(chen, "public", "20")
    s = archive.year_summary(chen, YEAR)   # default would pass: 70 ≥ 2/3 × 90
    assert s.rule_name == "公需30学时+专业60学时"
    assert not s.verified
    assert s.missing == ["公需科目还差10学时（已计入20学时，要求不少于30学时）"]
    add(chen, "public", "10")
    assert archive.year_summary(chen, YEAR).verified


def test_variant_72_hours_18_42_12_with_daily_cap(app, variant):
    tech = db.session.scalar(select(Organisation).where(Organisation.name == "福州智造科技有限公司"))
    tech.region = "广东省-广州市"
    wang = person("王立平")
    add(wang, "public", "18", days="3")
    add(wang, "professional", "42", days="7")
    add(wang, "elective", "14", days="2")      # 2 days: only 12 credited
    s = archive.year_summary(wang, YEAR)
    assert s.rule_name == "72学时=公需18+专业42+选修12"
    assert s.hours["total"] == 72 and s.verified
    db.session.get(CreditRecord, s.records[0].id).recognised_hours = Decimal("17.5")
    s = archive.year_summary(wang, YEAR)
    assert not s.verified
    assert s.missing == ["总学时还差0.5学时（已计入71.5学时，要求不少于72学时）",
                         "公需科目还差0.5学时（已计入17.5学时，要求不少于18学时）"]


def test_changed_table_applies_on_recount_and_stored_results_record_the_rule(app, rule_table):
    chen = person("陈诗慧")
    add(chen, "professional", "70")
    add(chen, "public", "20")
    stored = archive.verify_year(chen, YEAR)
    assert stored.verified and stored.total_hours == 90
    default_hash = stored.rule_hash

    rule_table.use(variant_table(
        {"id": "fj", "name": "公需30学时+专业60学时", "total": 90, "public": 30, "professional": 60}))
    assert db.session.get(AnnualVerification, stored.id).verified  # unchanged until recounted
    assert archive.recount(YEAR, actor=actor("hospital_admin")) == 2   # the hospital's two professionals
    row = archive.stored_verification(chen, YEAR)
    assert not row.verified and row.rule_hash != default_hash
    assert row.missing == ["公需科目还差10学时（已计入20学时，要求不少于30学时）"]


def test_unsafe_cell_is_refused_naming_the_cell(app, rule_table):
    rule_table.use(variant_table(
        {"id": "bad", "name": "x", "total": "__import__('os').getpid()"}))
    with pytest.raises(archive.RuleUnavailable, match="bad_total"):
        archive.year_summary(person("陈诗慧"), YEAR)
    with pytest.raises(ProcessDefinitionError, match="bad_total"):
        evaluate_decision("annual_verification", {"year": YEAR, "province": None, "title_level": None})


# --------------------------------------------------------------------------- recorded hours re-verify the year


def test_approved_declaration_reverifies_the_year_in_the_same_transaction(any_app, declaration):
    wang = person("王立平")
    add(wang, "professional", "60")
    add(wang, "public", "12")
    db.session.commit()
    inst = wf.start_process("credit_hour_approval", {**declaration, "subject_type": "public", "days": 3,
                                                     "hours": 20}, actor=actor("wangliping"))
    db.session.commit()
    for login in ("tech_admin", "hr_district"):
        (task,) = wf.open_tasks(inst)
        wf.complete_task(task.id, {"outcome": "approve"}, actor=actor(login))
        db.session.commit()
    row = archive.stored_verification(wang, YEAR)
    # 20 hours over 3 days: 18 credited → 60 + 12 + 18 = 90
    assert row.verified and row.total_hours == 90 and row.public_hours == 30
    rec = db.session.scalar(select(CreditRecord).where(CreditRecord.source_id == inst.id))
    assert rec.days == 3 and rec.start_date == date(2026, 3, 1)


def test_variant_by_year_and_title_level(app, rule_table):
    text = variant_table(
        {"id": "senior", "year": ">= 2027", "name": "高级职称自2027年起每年120学时", "total": 120, "ratio": '"2/3"'},
        {"id": "other", "name": "默认", "total": 90, "ratio": '"2/3"'})
    text = text.replace('<inputEntry id="senior_t"><text>-</text>',
                        '<inputEntry id="senior_t"><text>? in ("正高级", "副高级")</text>')
    rule_table.use(text)
    liu, chen = person("刘文斌"), person("陈诗慧")   # 副高级, 中级
    for p in (liu, chen):
        add(p, "professional", "60", year=2027)
        add(p, "public", "30", year=2027)
        add(p, "professional", "60", year=2026)
        add(p, "public", "30", year=2026)
    assert not archive.year_summary(liu, 2027).verified
    assert archive.year_summary(liu, 2027).missing[0].startswith("总学时还差30学时")
    assert archive.year_summary(liu, 2026).verified
    assert archive.year_summary(chen, 2027).verified


def test_broken_table_does_not_block_approvals_and_the_api_says_why(app, rule_table, declaration):
    rule_table.use("<definitions/>")
    inst = wf.start_process("credit_hour_approval", declaration, actor=actor("wangliping"))
    db.session.commit()
    for login in ("tech_admin", "hr_district"):
        (task,) = wf.open_tasks(inst)
        wf.complete_task(task.id, {"outcome": "approve"}, actor=actor(login))
        db.session.commit()
    assert inst.status == "completed"
    assert db.session.scalar(select(CreditRecord).where(CreditRecord.source_id == inst.id)) is not None
    client = app.test_client()
    from tests.conftest import api_token

    r = client.get("/api/v1/archive?year=2026", headers=api_token(client, "wangliping"))
    assert r.status_code == 503 and r.get_json()["error"]["code"] == "rule_unavailable"
    assert "年度验证规则" in r.get_json()["error"]["message"]
    rule_table.restore()
    archive.recount(YEAR)  # once the table is fixed, a recount catches up
    assert archive.stored_verification(person("王立平"), YEAR).total_hours == 18


def test_a_table_broken_after_a_stored_verification_does_not_lose_the_record(any_app, rule_table, declaration):
    """The year already has a stored verification (the quick path adds to it); the table then breaks: the
    approval still completes and the record is stored; a recount after the fix counts it."""

    def approve_one(hours: int) -> ProcessInstance:
        inst = wf.start_process("credit_hour_approval", {**declaration, "hours": hours}, actor=actor("wangliping"))
        db.session.commit()
        for login in ("tech_admin", "hr_district"):
            (task,) = wf.open_tasks(inst)
            wf.complete_task(task.id, {"outcome": "approve"}, actor=actor(login))
            db.session.commit()
        return inst

    approve_one(10)
    assert archive.stored_verification(person("王立平"), YEAR).total_hours == 10
    rule_table.use("<definitions/>")
    inst = approve_one(5)
    assert inst.status == "completed" and inst.outcome == "approved"
    assert db.session.scalar(select(CreditRecord.recognised_hours).where(CreditRecord.source_id == inst.id)) == 5
    rule_table.restore()
    archive.recount(YEAR)
    assert archive.stored_verification(person("王立平"), YEAR).total_hours == 15


def test_the_daily_cap_comes_from_the_table(app, rule_table):
    """A province that credits 8 学时 a day edits the cap cell; none (empty) means no daily cap."""
    rule_table.use(variant_table(
        {"id": "fj", "province": '"福建省"', "name": "每天最多8学时", "total": 90, "ratio": '"2/3"', "cap": 8},
        {"id": "other", "name": "默认", "total": 90, "ratio": '"2/3"'},
    ))
    chen = person("陈诗慧")   # hospital in 福建省
    add(chen, "professional", "20", days="2")   # 2 days: 16 under this table (12 under the default)
    assert archive.year_summary(chen, YEAR).hours["professional"] == 16
    rule_table.restore()
    assert archive.year_summary(person("陈诗慧"), YEAR).hours["professional"] == 12


def test_a_year_before_registration_is_not_failed_and_the_current_year_says_what_is_left(app):
    """Issue 21 §3: 不合格 only for a year that is over and was due; the current year reads 未达标（还差 N 学时）."""
    chen = person("陈诗慧")
    chen.created_at = chen.created_at.replace(year=2024, month=5)  # registered in May 2024
    chen.work_start_date = date(2012, 7, 1)
    add(chen, "professional", "30", year=2024)
    add(chen, "professional", "24", year=2025)
    db.session.flush()
    today = date(2025, 11, 20)
    # 2023: before registering, no records → not judged
    assert archive.verdict(chen, 2023, False, False, today=today) == ("not_due", "不作验证（注册前年度）")
    # 2024: the registration year, over and short → 不合格
    assert archive.verdict(chen, 2024, False, True, today=today) == ("failed", "不合格")
    # 2025: the current year → what is still to earn (90 − 24 = 66, all of it professional hours)
    s = archive.year_summary(chen, 2025)
    need = archive.shortfall(s.hours, s.requirement)
    assert archive.verdict(chen, 2025, s.verified, True, need, today=today) == ("pending", "未达标（还差66学时）")
    # a year before they started work is not judged either, even after registering
    chen.work_start_date = date(2025, 3, 1)
    assert archive.verdict(chen, 2024, False, False, today=today)[0] == "not_due"
    # the pages say the same: no 不合格 for 2023, and the search lists nobody as failed before they registered
    assert archive.year_summary(chen, 2023).result_label == "不作验证（注册前年度）"
    assert archive.year_summary(chen, 2023).missing == []
    rows = {r.person.name: r for r in archive.search(actor("hospital_admin"), year=2023).items}
    assert (rows["陈诗慧"].result_label, rows["陈诗慧"].missing) == ("不作验证（注册前年度）", [])
    rows = {r.person.name: r for r in archive.search(actor("hospital_admin"), year=date.today().year).items}
    assert rows["刘文斌"].status == "pending" and rows["刘文斌"].result_label == "未达标（还差90学时）"


def test_the_shortfall_counts_what_each_subject_still_needs(app):
    req = archive.requirement_for(person("陈诗慧"), YEAR)  # 90 hours, professional ≥ 2/3
    hours = {"public": Decimal(40), "professional": Decimal(50), "elective": Decimal(0), "total": Decimal(90)}
    assert archive.shortfall(hours, req) == 30  # 90 hours, but 30 more professional ones for 80 of 120
    hours = {"public": Decimal(0), "professional": Decimal(60), "elective": Decimal(0), "total": Decimal(60)}
    assert archive.shortfall(hours, req) == 30
