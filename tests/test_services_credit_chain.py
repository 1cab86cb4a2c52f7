"""The credit-hour chain driven through the service layer (the same calls the views make)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from app.archive.models import CreditRecord
from app.core.errors import InvalidState, NotFound, ValidationFailed
from app.extensions import db
from app.people.models import Person
from app.workflow import services
from app.workflow.models import ApprovalEvent, ProcessInstance, WorkflowTask
from tests.conftest import actor


def open_task(instance: ProcessInstance) -> WorkflowTask:
    tasks = services.open_tasks(instance)
    assert len(tasks) == 1, tasks
    return tasks[0]


def act(instance, login, data):
    task = open_task(instance)
    services.complete_task(task.id, data, actor=actor(login))
    db.session.commit()
    return task


def test_whole_chain_with_return_and_resubmission(any_app, declaration):
    chen = actor("chenshihui")
    inst = services.start_process("credit_hour_approval", declaration, actor=chen)
    db.session.commit()
    assert inst.status == "running"
    t = open_task(inst)
    assert (t.task_spec, t.lane) == ("unit_review", "unit")

    act(inst, "hospital_admin", {"outcome": "approve", "comment": "同意"})
    t = open_task(inst)
    assert t.task_spec == "supervisory_review"
    act(inst, "health_admin", {"outcome": "return", "comment": "请补充结业证书"})
    t = open_task(inst)
    assert t.task_spec == "revise" and t.candidate_user_id == chen.id

    act(inst, "chenshihui", {**declaration, "action": "resubmit", "hours": 12})
    for login, spec in (("hospital_admin", "unit_review"), ("health_admin", "supervisory_review"),
                        ("hr_city", "hr_review")):
        assert open_task(inst).task_spec == spec
        data = {"outcome": "approve"}
        if login == "hr_city":
            data["recognised_hours"] = 10
        act(inst, login, data)

    db.session.refresh(inst)
    assert (inst.status, inst.outcome) == ("completed", "approved")
    assert services.open_tasks(inst) == []
    record = db.session.scalar(select(CreditRecord).where(CreditRecord.source_id == inst.id))
    assert record.declared_hours == Decimal("12") and record.recognised_hours == Decimal("10")
    assert record.year == 2026 and record.subject_type == "professional"

    events = services.history(inst)
    assert [(e.step, e.outcome) for e in events] == [
        ("start", "submit"), ("unit_review", "approve"), ("supervisory_review", "return"),
        ("revise", "resubmit"), ("unit_review", "approve"), ("supervisory_review", "approve"),
        ("hr_review", "approve"),
    ]
    assert [e.organisation_name for e in events[:4]] == ["市第一人民医院", "市第一人民医院", "市卫生健康委员会",
                                                         "市第一人民医院"]  # the revise step: the applicant's unit
    assert events[2].comment == "请补充结业证书" and events[2].user_name == "市卫健委管理员"
    assert events[3].changes["hours"] == [18.0, 12.0]
    assert events[-1].organisation_name == "市人力资源和社会保障局"


def test_tech_company_chain_skips_supervisory_and_goes_to_district(app, declaration):
    inst = services.start_process("credit_hour_approval", declaration, actor=actor("wangliping"))
    db.session.commit()
    act(inst, "tech_admin", {"outcome": "approve"})
    assert open_task(inst).candidate_org_id == inst.lane_orgs["hr_bureau"]["id"]
    assert inst.lane_orgs["hr_bureau"]["name"] == "区人力资源和社会保障局"
    act(inst, "hr_district", {"outcome": "approve"})
    assert inst.status == "completed"
    # recognised hours default to the declared hours when the bureau does not lower them
    record = db.session.scalar(select(CreditRecord).where(CreditRecord.source_id == inst.id))
    assert record.recognised_hours == Decimal("18")


def test_reject_closes_the_case(app, declaration):
    inst = services.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    db.session.commit()
    act(inst, "hospital_admin", {"outcome": "reject", "comment": "非本年度培训"})
    assert (inst.status, inst.outcome) == ("rejected", "rejected")
    assert services.open_tasks(inst) == []
    assert db.session.scalar(select(func.count(CreditRecord.id))) == 0
    assert services.history(inst)[-1].comment == "非本年度培训"


def test_a_bureau_that_rejects_is_not_recorded_as_setting_hours(app, declaration):
    """The HR review form carries 认定学时 (prefilled with the declared hours); on a rejection or a return
    it has no effect, so the history must not show hours as recognised."""
    inst = services.start_process("credit_hour_approval", declaration, actor=actor("wangliping"))
    db.session.commit()
    act(inst, "tech_admin", {"outcome": "approve"})
    act(inst, "hr_district", {"outcome": "reject", "comment": "材料不全", "recognised_hours": 18})
    assert (inst.status, inst.outcome) == ("rejected", "rejected")
    last = services.history(inst)[-1]
    assert (last.outcome, last.comment, last.changes) == ("reject", "材料不全", None)


def test_a_resubmission_is_held_to_the_same_date_rules(app, declaration):
    inst = services.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    db.session.commit()
    act(inst, "hospital_admin", {"outcome": "return", "comment": "请补充材料"})
    task = open_task(inst)
    with pytest.raises(ValidationFailed) as exc:
        services.complete_task(task.id, {**declaration, "action": "resubmit", "days": 9, "hours": 54},
                               actor=actor("chenshihui"))
    assert exc.value.fields == {"days": "参训天数不能超过学习起止日期之间的天数（3天）"}


def test_withdraw_after_return_closes_the_case(app, declaration):
    inst = services.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    db.session.commit()
    act(inst, "hospital_admin", {"outcome": "return", "comment": "材料不全"})
    act(inst, "chenshihui", {"action": "withdraw"})
    assert (inst.status, inst.outcome) == ("withdrawn", "withdrawn")
    assert [e.outcome for e in services.history(inst)] == ["submit", "return", "withdraw"]


def test_withdrawing_discards_what_was_typed_on_the_revision_form(app, declaration):
    inst = services.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    db.session.commit()
    act(inst, "hospital_admin", {"outcome": "return", "comment": "材料不全"})
    act(inst, "chenshihui", {**declaration, "action": "withdraw", "course_name": "改过的名字", "hours": 6})
    assert (inst.status, inst.title) == ("withdrawn", declaration["course_name"])
    last = services.history(inst)[-1]
    assert (last.outcome, last.changes) == ("withdraw", None)
    assert services.instance_data(inst)["course_name"] == declaration["course_name"]


def test_the_next_reviewer_sees_the_resubmitted_course_name(app, declaration):
    inst = services.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    db.session.commit()
    act(inst, "hospital_admin", {"outcome": "return", "comment": "课程名称不规范"})
    act(inst, "chenshihui", {**declaration, "action": "resubmit", "course_name": "急诊医学新进展（2026）"})
    task = open_task(inst)
    renamed = "急诊医学新进展（2026）"
    assert (task.task_spec, task.title, inst.title) == ("unit_review", renamed, renamed)


def test_return_loop_is_capped_at_ten(app, declaration):
    inst = services.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    db.session.commit()
    for i in range(10):
        act(inst, "hospital_admin", {"outcome": "return", "comment": f"第{i + 1}次退回"})
        if i < 9:
            act(inst, "chenshihui", {**declaration, "action": "resubmit"})
    assert (inst.status, inst.outcome) == ("rejected", "return_limit")
    last = services.history(inst)[-1]
    assert last.outcome == "closed" and "退案次数已达上限" in last.comment
    assert services.open_tasks(inst) == []


def test_unit_declares_for_its_staff_and_skips_its_own_review(app, declaration):
    inst = services.start_process(
        "credit_hour_approval", {**declaration, "person_id_number": "321101198110166954"},
        actor=actor("hospital_admin"))
    db.session.commit()
    assert inst.applicant_name == "刘文斌"
    assert open_task(inst).task_spec == "supervisory_review"
    # the unit, as the declarer, is the one who revises after a return
    act(inst, "health_admin", {"outcome": "return", "comment": "请核对学时"})
    assert open_task(inst).candidate_user_id == actor("hospital_admin").id


def test_unit_cannot_declare_for_another_units_staff(app, declaration):
    with pytest.raises(ValidationFailed) as exc:
        services.start_process("credit_hour_approval",
                               {**declaration, "person_id_number": "440102198001010013"},
                               actor=actor("hospital_admin"))
    assert "person_id_number" in exc.value.fields


def test_review_authority_switched_off_skips_that_step(app, declaration):
    from app.accounts.models import Organisation

    health = db.session.scalar(select(Organisation).where(Organisation.name == "市卫生健康委员会"))
    health.review_enabled = False
    db.session.commit()
    inst = services.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    db.session.commit()
    act(inst, "hospital_admin", {"outcome": "approve"})
    assert open_task(inst).task_spec == "hr_review"


def test_review_authority_switched_mid_chain_takes_effect_at_the_next_step(any_app, declaration):
    """The lanes' review flags are read again with every approval, on both databases."""
    from app.accounts.models import Organisation, OrgStatus

    def health() -> Organisation:
        return db.session.scalar(select(Organisation).where(Organisation.name == "市卫生健康委员会"))

    first = services.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    second = services.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    db.session.commit()
    health().review_enabled = False  # switched off after both declarations started
    db.session.commit()
    act(first, "hospital_admin", {"outcome": "approve"})
    assert open_task(first).task_spec == "hr_review"

    h = health()
    h.review_enabled, h.status = True, OrgStatus.DISABLED  # on again, but the organisation is disabled
    db.session.commit()
    act(second, "hospital_admin", {"outcome": "approve"})
    assert open_task(second).task_spec == "hr_review"

    third = services.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    db.session.commit()
    health().status = OrgStatus.ACTIVE
    db.session.commit()
    act(third, "hospital_admin", {"outcome": "approve"})
    assert open_task(third).task_spec == "supervisory_review"


@pytest.mark.parametrize("field,value,message", [
    ("course_name", "", "此项为必填项"),
    ("hours", -3, "拟申报学时必须大于0"),
    ("hours", "abc", "请输入数字"),
    ("hours", 12.25, "拟申报学时最多保留1位小数"),
    ("days", 1.05, "参训天数最多保留1位小数"),
    ("end_date", "2026-02-01", "学习结束时间不能早于学习开始时间"),
    ("person_id_number", "440902199203222903", "身份证号码校验位不正确"),
    ("subject_type", "sports", "请选择有效的科目类型"),
    # the days and the year must agree with the study dates (2026-03-01 … 2026-03-03): no more 6-hour days
    # than the dates hold, no year the study did not touch, none in the future
    ("days", 10, "参训天数不能超过学习起止日期之间的天数（3天）"),
    ("days", 0, "参训天数必须大于0"),
    ("year", 2025, "申报年度应与学习起止日期所在年度一致"),
    ("year", date.today().year + 1, "申报年度不能晚于今年"),
])
def test_invalid_declaration_is_refused_with_field_errors_and_nothing_written(
        any_app, declaration, field, value, message):
    data = {**declaration, field: value}
    if value == "":
        data.pop(field)
    with pytest.raises(ValidationFailed) as exc:
        services.start_process("credit_hour_approval", data, actor=actor("chenshihui"))
    assert exc.value.fields[field] == message
    db.session.rollback()
    assert db.session.scalar(select(func.count(ProcessInstance.id))) == 0
    assert db.session.scalar(select(func.count(WorkflowTask.id))) == 0
    assert db.session.scalar(select(func.count(ApprovalEvent.id))) == 0


def test_reject_and_return_need_a_comment(app, declaration):
    inst = services.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    db.session.commit()
    task = open_task(inst)
    for outcome in ("reject", "return"):
        with pytest.raises(ValidationFailed) as exc:
            services.complete_task(task.id, {"outcome": outcome}, actor=actor("hospital_admin"))
        assert exc.value.fields == {"comment": "此项为必填项"}
    with pytest.raises(ValidationFailed) as exc:
        services.complete_task(task.id, {"outcome": "maybe"}, actor=actor("hospital_admin"))
    assert "outcome" in exc.value.fields


def test_recognised_hours_cannot_exceed_declared(app, declaration):
    inst = services.start_process("credit_hour_approval", declaration, actor=actor("wangliping"))
    db.session.commit()
    act(inst, "tech_admin", {"outcome": "approve"})
    task = open_task(inst)
    with pytest.raises(ValidationFailed) as exc:
        services.complete_task(task.id, {"outcome": "approve", "recognised_hours": 30},
                               actor=actor("hr_district"))
    assert exc.value.fields["recognised_hours"] == "认定学时不能大于18"
    with pytest.raises(ValidationFailed) as exc:
        services.complete_task(task.id, {"outcome": "approve", "recognised_hours": 12.75},
                               actor=actor("hr_district"))
    assert exc.value.fields["recognised_hours"] == "认定学时最多保留1位小数"
    inst_id = inst.id
    act(inst, "hr_district", {"outcome": "approve", "recognised_hours": 12.5})
    record = db.session.scalar(select(CreditRecord).join(Person).where(
        Person.id_number == "440102198001010013", CreditRecord.year == declaration["year"]))
    assert record.recognised_hours == Decimal("12.5")
    assert db.session.get(ProcessInstance, inst_id).outcome == "approved"


def test_other_organisation_cannot_see_or_complete(app, declaration):
    inst = services.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    db.session.commit()
    task = open_task(inst)
    for login in ("tech_admin", "liuwenbin", "hr_district", "health_admin"):
        with pytest.raises(NotFound):
            services.complete_task(task.id, {"outcome": "approve"}, actor=actor(login))
    with pytest.raises(NotFound):
        services.visible_instance(inst.id, actor("tech_admin"))
    with pytest.raises(NotFound):
        services.visible_instance(inst.id, actor("liuwenbin"))
    # the chain's reviewers and the bureaus above can see it
    for login in ("chenshihui", "hospital_admin", "health_admin", "hr_city", "hr_province"):
        assert services.visible_instance(inst.id, actor(login)).id == inst.id


def test_completing_twice_is_a_conflict_and_records_one_decision(app, declaration):
    inst = services.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    db.session.commit()
    task = act(inst, "hospital_admin", {"outcome": "approve"})
    with pytest.raises(InvalidState):
        services.complete_task(task.id, {"outcome": "approve"}, actor=actor("hospital_admin"))
    db.session.rollback()
    assert sum(e.step == "unit_review" for e in services.history(inst)) == 1


def test_claimed_task_belongs_to_the_claimer(app, declaration):
    from app.accounts.models import Membership, Organisation, Role, User
    from app.accounts.services import hash_password

    hospital = db.session.scalar(select(Organisation).where(Organisation.name == "市第一人民医院"))
    deputy = User(login="hospital_deputy", name="副管理员", password_hash=hash_password("Demo12345"))
    db.session.add(deputy)
    db.session.flush()
    db.session.add(Membership(user_id=deputy.id, organisation_id=hospital.id, role=Role.SUB_ADMIN,
                              permissions=["credit_review"]))
    inst = services.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    db.session.commit()
    task = open_task(inst)
    services.claim_task(task.id, actor=actor("hospital_deputy"))
    db.session.commit()
    with pytest.raises(InvalidState):
        services.claim_task(task.id, actor=actor("hospital_admin"))
    with pytest.raises(InvalidState):
        services.complete_task(task.id, {"outcome": "approve"}, actor=actor("hospital_admin"))
    db.session.rollback()
    services.unclaim_task(task.id, actor=actor("hospital_deputy"))
    services.complete_task(task.id, {"outcome": "approve"}, actor=actor("hospital_admin"))
    db.session.commit()
    assert open_task(inst).task_spec == "supervisory_review"


def test_member_without_review_module_sees_no_tasks(app, declaration):
    from app.cases.queries import inbox

    services.start_process("credit_hour_approval", declaration, actor=actor("chenshihui"))
    db.session.commit()
    assert inbox(actor("hospital_admin")).total == 1
    assert inbox(actor("liuwenbin")).total == 0  # a member of the same hospital
    assert inbox(actor("tech_admin")).total == 0


def test_batch_review_reports_each_failure(any_app, declaration):
    insts = [services.start_process("credit_hour_approval", declaration, actor=actor(login))
             for login in ("chenshihui", "liuwenbin", "wangliping")]
    db.session.commit()
    ids = [open_task(i).id for i in insts]
    done, failed = services.complete_tasks(ids + ["no-such-task"], {"outcome": "approve", "comment": ""},
                                           actor=actor("hospital_admin"))
    db.session.commit()
    assert done == ids[:2]
    assert [f["id"] for f in failed] == [ids[2], "no-such-task"]
    assert [open_task(i).task_spec for i in insts] == ["supervisory_review", "supervisory_review", "unit_review"]
