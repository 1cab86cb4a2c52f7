"""Info changes through approval (issue 4 item 7), driven through the service layer."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts.models import Organisation
from app.core.errors import InvalidState, NotFound, ValidationFailed
from app.extensions import db
from app.people.models import Person
from app.workflow import services
from app.workflow.models import WorkflowTask
from tests.conftest import actor


def org(name: str) -> Organisation:
    return db.session.scalar(select(Organisation).where(Organisation.name == name))


def person(id_number: str) -> Person:
    return db.session.scalar(select(Person).where(Person.id_number == id_number))


def open_tasks(inst) -> list[WorkflowTask]:
    return services.open_tasks(inst)


def act(inst, login, data, spec=None):
    tasks = [t for t in open_tasks(inst) if spec is None or t.task_spec == spec]
    assert len(tasks) == 1, [(t.task_spec, t.lane) for t in open_tasks(inst)]
    services.complete_task(tasks[0].id, data, actor=actor(login))
    db.session.commit()
    return tasks[0]


def start(key, data, login):
    inst = services.start_process(key, data, actor=actor(login))
    db.session.commit()
    return inst


CHEN = "110101199003072711"


# --------------------------------------------------------------------------- person_info_change


def test_title_change_waits_for_the_unit_and_shows_old_and_new(any_app):
    inst = start("person_info_change", {"title_level": "副高级", "major": "急诊医学", "reason": "晋升副主任医师"},
                 "chenshihui")
    task = open_tasks(inst)[0]
    assert (task.task_spec, task.lane, task.candidate_org_id) == ("review", "unit", org("市第一人民医院").id)
    data = services.instance_data(inst)
    assert data["changes"] == [
        {"field": "title_level", "label": "专业技术职务等级", "old": "中级", "new": "副高级"},
        {"field": "major", "label": "所学专业", "old": None, "new": "急诊医学"},
    ]
    assert person(CHEN).title_level == "中级"  # nothing changes before the review

    act(inst, "hospital_admin", {"outcome": "approve"})
    assert (inst.status, inst.outcome) == ("completed", "approved")
    db.session.expire_all()
    p = person(CHEN)
    assert (p.title_level, p.major, p.title_series) == ("副高级", "急诊医学", "卫生系列")


def test_a_new_title_level_re_verifies_this_year_under_its_rule(app, rule_table):
    from datetime import date

    from app.archive import services as archive
    from tests.test_archive_verification import add, variant_table

    year = date.today().year
    text = variant_table(
        {"id": "senior", "name": "高级职称每年120学时", "total": 120, "ratio": '"2/3"'},
        {"id": "other", "name": "默认", "total": 90, "ratio": '"2/3"'})
    rule_table.use(text.replace(
        '<inputEntry id="senior_t"><text>-</text>', '<inputEntry id="senior_t"><text>? in ("正高级", "副高级")</text>'))
    chen = person(CHEN)  # 中级: 90 a year
    add(chen, "professional", "60", year=year)
    add(chen, "public", "30", year=year)
    add(chen, "professional", "90", year=year - 1)
    for y in (year, year - 1):
        archive.verify_year(chen, y)
    db.session.commit()
    assert archive.stored_verification(chen, year).verified

    inst = start("person_info_change", {"title_level": "副高级", "reason": "晋升副主任医师"}, "chenshihui")
    act(inst, "hospital_admin", {"outcome": "approve"})
    db.session.expire_all()
    now = archive.stored_verification(person(CHEN), year)
    assert (now.verified, now.rule_name) == (False, "高级职称每年120学时")
    assert now.missing[0].startswith("总学时还差30学时")
    before = archive.stored_verification(person(CHEN), year - 1)
    assert (before.verified, before.rule_name) == (True, "默认")  # last year keeps the level held then


def test_person_change_rejected_changes_nothing(app):
    inst = start("person_info_change", {"education": "硕士研究生", "reason": "取得学位"}, "chenshihui")
    act(inst, "hospital_admin", {"outcome": "reject", "comment": "学位证书不符"})
    assert (inst.status, inst.outcome) == ("rejected", "rejected")
    db.session.expire_all()
    assert person(CHEN).education is None


def test_person_change_returned_revised_and_approved(app):
    inst = start("person_info_change", {"title_level": "正高级", "reason": "晋升"}, "chenshihui")
    act(inst, "hospital_admin", {"outcome": "return", "comment": "应为副高级"})
    revise = open_tasks(inst)[0]
    assert revise.candidate_user_id == actor("chenshihui").id
    act(inst, "chenshihui", {"action": "resubmit", "title_level": "副高级", "reason": "晋升"})
    assert services.instance_data(inst)["changes"][0]["new"] == "副高级"
    act(inst, "hospital_admin", {"outcome": "approve"})
    db.session.expire_all()
    assert person(CHEN).title_level == "副高级"


def test_only_one_open_change_per_person(app):
    start("person_info_change", {"title_level": "副高级", "reason": "晋升"}, "chenshihui")
    with pytest.raises(InvalidState, match="正在审核中"):
        services.start_process("person_info_change", {"major": "内科", "reason": "x"}, actor=actor("chenshihui"))


def test_person_change_without_any_change_is_refused(app):
    with pytest.raises(ValidationFailed) as exc:
        services.start_process("person_info_change", {"title_level": "中级", "reason": "x"},
                               actor=actor("chenshihui"))
    assert "没有修改" in exc.value.fields["_form"]


def test_other_units_do_not_see_a_persons_change(app):
    inst = start("person_info_change", {"title_level": "副高级", "reason": "晋升"}, "chenshihui")
    task = open_tasks(inst)[0]
    for login in ("tech_admin", "institute_admin"):
        with pytest.raises(NotFound):
            services.complete_task(task.id, {"outcome": "approve"}, actor=actor(login))
        with pytest.raises(NotFound):
            services.visible_instance(inst.id, actor(login))


# --------------------------------------------------------------------------- organisation_info_change


def test_organisation_name_and_uscc_change_goes_to_the_parent(any_app):
    inst = start("organisation_info_change",
                 {"name": "福州智造科技股份有限公司", "uscc": "91350100M000100Y43", "reason": "改制"}, "tech_admin")
    task = open_tasks(inst)[0]
    assert (task.lane, task.candidate_org_id) == ("parent", org("区人力资源和社会保障局").id)
    changes = services.instance_data(inst)["changes"]
    assert [(c["field"], c["old"], c["new"]) for c in changes] == [
        ("name", "福州智造科技有限公司", "福州智造科技股份有限公司"),
        ("uscc", "91410104MA9G8NFR0H", "91350100M000100Y43"),
    ]
    with pytest.raises(NotFound):  # the city bureau is above, but it is not the reviewer
        services.complete_task(task.id, {"outcome": "approve"}, actor=actor("health_admin"))
    act(inst, "hr_district", {"outcome": "approve"})
    db.session.expire_all()
    tech = org("福州智造科技股份有限公司")
    assert tech is not None and tech.uscc == "91350100M000100Y43"


def test_organisation_change_refuses_a_uscc_in_use_and_a_bad_one(app):
    hospital = org("市第一人民医院")
    hospital.uscc = "91350100M000100Y43"
    db.session.commit()
    with pytest.raises(ValidationFailed) as exc:
        services.start_process("organisation_info_change", {"uscc": "91350100M000100Y43", "reason": "x"},
                               actor=actor("tech_admin"))
    assert "已被其他单位使用" in exc.value.fields["uscc"]
    with pytest.raises(ValidationFailed) as exc:
        services.start_process("organisation_info_change", {"uscc": "91350100M000100Y44", "reason": "x"},
                               actor=actor("tech_admin"))
    assert "校验位" in exc.value.fields["uscc"]


def test_only_one_open_change_per_organisation(app):
    start("organisation_info_change", {"name": "新名称有限公司", "reason": "更名"}, "tech_admin")
    with pytest.raises(InvalidState):
        services.start_process("organisation_info_change", {"name": "另一名称有限公司", "reason": "更名"},
                               actor=actor("tech_admin"))


# --------------------------------------------------------------------------- change_of_superior


def superior_change(login="tech_admin", target="市卫生健康委员会"):
    return start("change_of_superior", {"new_superior_id": org(target).id, "reason": "行业归口调整"}, login)


def test_change_of_superior_needs_both_superiors(any_app):
    inst = superior_change()
    tasks = {t.task_spec: t for t in open_tasks(inst)}
    assert set(tasks) == {"old_review", "new_review"}
    assert tasks["old_review"].candidate_org_id == org("区人力资源和社会保障局").id
    assert tasks["new_review"].candidate_org_id == org("市卫生健康委员会").id
    changes = services.instance_data(inst)["changes"]
    assert changes == [{"field": "parent", "label": "上级单位", "old": "区人力资源和社会保障局",
                        "new": "市卫生健康委员会"}]

    act(inst, "health_admin", {"outcome": "approve"}, spec="new_review")
    db.session.expire_all()
    assert org("福州智造科技有限公司").parent_id == org("区人力资源和社会保障局").id  # not yet
    assert [t.task_spec for t in open_tasks(inst)] == ["old_review"]

    act(inst, "hr_district", {"outcome": "approve"}, spec="old_review")
    assert (inst.status, inst.outcome) == ("completed", "approved")
    db.session.expire_all()
    tech, health = org("福州智造科技有限公司"), org("市卫生健康委员会")
    assert tech.parent_id == health.id
    assert tech.path == f"{health.path}{tech.id}/"
    # the new superior now sees it in scope, the old one no longer does
    assert actor("health_admin").in_scope(tech)
    assert not actor("hr_district").in_scope(tech)


def test_one_rejection_stops_the_change_and_clears_the_other_task(any_app):
    inst = superior_change()
    other = next(t for t in open_tasks(inst) if t.task_spec == "new_review")
    act(inst, "hr_district", {"outcome": "reject", "comment": "不同意调整"}, spec="old_review")
    assert (inst.status, inst.outcome) == ("rejected", "rejected")
    assert open_tasks(inst) == []
    db.session.refresh(other)
    assert other.completed_at is not None and other.cancelled
    with pytest.raises(InvalidState):
        services.complete_task(other.id, {"outcome": "approve"}, actor=actor("health_admin"))
    db.session.rollback()
    db.session.expire_all()
    assert org("福州智造科技有限公司").parent_id == org("区人力资源和社会保障局").id


def test_a_return_goes_back_to_the_applicant_who_may_choose_another_superior(app):
    inst = superior_change()
    act(inst, "health_admin", {"outcome": "approve"}, spec="new_review")
    act(inst, "hr_district", {"outcome": "return", "comment": "请改为市人社局"}, spec="old_review")
    tasks = open_tasks(inst)
    assert [t.task_spec for t in tasks] == ["revise"]
    act(inst, "tech_admin", {"action": "resubmit", "new_superior_id": org("市人力资源和社会保障局").id,
                             "reason": "改为市人社局直管"})
    tasks = {t.task_spec: t for t in open_tasks(inst)}
    assert tasks["new_review"].candidate_org_id == org("市人力资源和社会保障局").id
    assert services.instance_data(inst)["changes"][0]["new"] == "市人力资源和社会保障局"
    act(inst, "hr_city", {"outcome": "approve"}, spec="new_review")
    act(inst, "hr_district", {"outcome": "approve"}, spec="old_review")
    db.session.expire_all()
    assert org("福州智造科技有限公司").parent_id == org("市人力资源和社会保障局").id


def test_moving_a_unit_moves_its_whole_subtree(app):
    hospital = org("市第一人民医院")
    ward = Organisation(name="急诊科分院", kind=hospital.kind, parent_id=hospital.id, path="/")
    db.session.add(ward)
    db.session.flush()
    ward.path = f"{hospital.path}{ward.id}/"
    db.session.commit()
    inst = superior_change("hospital_admin", "区人力资源和社会保障局")
    act(inst, "health_admin", {"outcome": "approve"}, spec="old_review")
    act(inst, "hr_district", {"outcome": "approve"}, spec="new_review")
    db.session.expire_all()
    district, hospital, ward = org("区人力资源和社会保障局"), org("市第一人民医院"), org("急诊科分院")
    assert hospital.path == f"{district.path}{hospital.id}/"
    assert ward.path == f"{district.path}{hospital.id}/{ward.id}/"


@pytest.mark.parametrize("target,message", [
    ("区人力资源和社会保障局", "相同"),
    ("市继续教育学院", "不能作为"),
])
def test_change_of_superior_refuses_bad_targets(app, target, message):
    with pytest.raises(ValidationFailed) as exc:
        superior_change("tech_admin", target)
    assert message in exc.value.fields["new_superior_id"]


def test_only_one_open_change_of_superior(app):
    superior_change()
    with pytest.raises(InvalidState):
        superior_change("tech_admin", "市人力资源和社会保障局")
    # nor a name change while the move is open (its reviewer would be the parent that is changing)
    with pytest.raises(InvalidState, match="正在审核中"):
        services.start_process("organisation_info_change", {"name": "新名称有限公司", "reason": "更名"},
                               actor=actor("tech_admin"))
    # another organisation is not affected
    start("organisation_info_change", {"name": "市第一人民医院（集团）", "reason": "更名"}, "hospital_admin")


def test_a_member_cannot_request_organisation_changes(app):
    with pytest.raises(Exception) as exc:
        services.start_process("change_of_superior", {"new_superior_id": 1, "reason": "x"},
                               actor=actor("chenshihui"))
    assert getattr(exc.value, "status", None) in (403, 422)


def test_a_uscc_taken_while_the_change_waited_is_refused_at_approval(app):
    inst = start("organisation_info_change", {"uscc": "91350100M000100Y43", "reason": "换证"}, "tech_admin")
    hospital = org("市第一人民医院")
    hospital.uscc = "91350100M000100Y43"
    db.session.commit()
    task = open_tasks(inst)[0]
    with pytest.raises(ValidationFailed) as exc:
        services.complete_task(task.id, {"outcome": "approve"}, actor=actor("hr_district"))
    db.session.rollback()
    assert "uscc" in exc.value.fields
    db.session.expire_all()
    assert org("福州智造科技有限公司").uscc == "91410104MA9G8NFR0H"
    assert [t.id for t in open_tasks(inst)] == [task.id]  # still open: the reviewer can return it


def test_a_superior_with_review_authority_off_is_skipped(app):
    district = org("区人力资源和社会保障局")
    district.review_enabled = False
    db.session.commit()
    inst = superior_change()
    assert [t.task_spec for t in open_tasks(inst)] == ["new_review"]
    act(inst, "health_admin", {"outcome": "approve"})
    assert inst.status == "completed"
    db.session.expire_all()
    assert org("福州智造科技有限公司").parent_id == org("市卫生健康委员会").id


def test_a_revision_is_checked_like_the_first_request_and_can_be_withdrawn(app):
    inst = superior_change()
    act(inst, "health_admin", {"outcome": "return", "comment": "请说明原因"}, spec="new_review")
    assert [t.task_spec for t in open_tasks(inst)] == ["revise"]  # the old superior's task left the inbox
    revise = open_tasks(inst)[0]
    with pytest.raises(ValidationFailed) as exc:
        services.complete_task(revise.id, {"action": "resubmit", "new_superior_id": org("区人力资源和社会保障局").id,
                                           "reason": "x"}, actor=actor("tech_admin"))
    db.session.rollback()
    assert "相同" in exc.value.fields["new_superior_id"]
    act(inst, "tech_admin", {"action": "withdraw"})
    assert (inst.status, inst.outcome) == ("withdrawn", "withdrawn")
    superior_change()  # the organisation may ask again


def test_sub_admins_review_changes_only_with_the_change_review_module(app):
    from app.accounts.models import Membership, Role, User

    hospital = org("市第一人民医院")
    for login, perms in (("change_clerk", ["change_review"]), ("credit_clerk", ["credit_review", "people"])):
        u = User(login=login, name=login, password_hash="x")
        db.session.add(u)
        db.session.flush()
        db.session.add(Membership(user_id=u.id, organisation_id=hospital.id, role=Role.SUB_ADMIN, permissions=perms))
    db.session.commit()
    inst = start("person_info_change", {"major": "急诊医学", "reason": "更正"}, "chenshihui")
    task = open_tasks(inst)[0]
    with pytest.raises(NotFound):
        services.visible_task(task.id, actor("credit_clerk"))
    act(inst, "change_clerk", {"outcome": "approve"})
    assert inst.status == "completed"
