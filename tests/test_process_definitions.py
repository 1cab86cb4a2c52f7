"""Process definitions (issue #17): validation that names every problem at once, the versions with who
deployed them, a dry run of sample cases, and deploying through the API."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.workflow import services
from app.workflow.models import ProcessVersion
from app.workflow.validation import validate
from app.workflow.versions import PROCESSES_DIR
from tests.conftest import actor, api_token

KEY = "credit_hour_approval"
SOURCE = (PROCESSES_DIR / f"{KEY}.bpmn").read_text(encoding="utf-8")
XML = {"Content-Type": "application/xml"}


def _ids(problems) -> set[str | None]:
    return {p.element_id for p in problems}


def _post(client, path: str, body: str, login: str = "hr_province", lang: str = ""):
    headers = {**api_token(client, login), **XML}
    return client.post(f"/api/v1/process-definitions/{path}{lang}", data=body.encode(), headers=headers)


def _with_province_review(text: str) -> str:
    """The edit of the browser test: a review by the province bureau after the HR bureau approves."""
    text = text.replace('<bpmn:sequenceFlow id="f_hr_approve" sourceRef="gw_hr" targetRef="record">',
                        '<bpmn:sequenceFlow id="f_hr_approve" sourceRef="gw_hr" targetRef="province_review">')
    text = text.replace('<bpmn:incoming>f_hr_approve</bpmn:incoming>', '<bpmn:incoming>f_province_ok</bpmn:incoming>')
    task = """<bpmn:userTask id="province_review" name="省人社厅复核">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="formJsonSchemaFilename" value="review.schema.json"/>
        <spiffworkflow:property name="formUiSchemaFilename" value="review.uischema.json"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f_hr_approve</bpmn:incoming><bpmn:outgoing>f_province_gw</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="gw_province" name="复核结果" default="f_province_ok">
      <bpmn:incoming>f_province_gw</bpmn:incoming>
      <bpmn:outgoing>f_province_ok</bpmn:outgoing><bpmn:outgoing>f_province_reject</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:sequenceFlow id="f_province_gw" sourceRef="province_review" targetRef="gw_province"/>
    <bpmn:sequenceFlow id="f_province_ok" sourceRef="gw_province" targetRef="record"/>
    <bpmn:sequenceFlow id="f_province_reject" sourceRef="gw_province" targetRef="end_rejected_hr">
      <bpmn:conditionExpression>outcome != 'approve'</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:scriptTask id="init\""""
    text = text.replace('<bpmn:scriptTask id="init"', task, 1)
    text = text.replace('<bpmn:incoming>f_hr_reject</bpmn:incoming>',
                        '<bpmn:incoming>f_hr_reject</bpmn:incoming><bpmn:incoming>f_province_reject</bpmn:incoming>')
    lane = '<bpmn:lane id="Lane_province" name="hr_province"><bpmn:flowNodeRef>province_review</bpmn:flowNodeRef>' \
           '<bpmn:flowNodeRef>gw_province</bpmn:flowNodeRef></bpmn:lane>\n    </bpmn:laneSet>'
    return text.replace("</bpmn:laneSet>", lane, 1)


def test_the_shipped_diagrams_and_the_decision_table_are_valid(app):
    for path in [*sorted(PROCESSES_DIR.glob("*.bpmn")), PROCESSES_DIR / "annual_verification.dmn"]:
        assert validate(path.read_text(encoding="utf-8")) == [], path.name


def test_every_problem_is_reported_at_once_naming_its_element(app):
    bad = (SOURCE.replace('name="hr_bureau"', 'name="hr_nowhere"')
           .replace("outcome == 'reject'", "__import__('os').system('id')", 1)
           .replace('value="review.schema.json"', 'value="nope.schema.json"', 1)
           .replace('id="record_credit_hours"', 'id="drop_tables"')
           .replace('lanes[\'hr_bureau\']', "hours > ", 1))
    problems = validate(bad)
    by_id = {p.element_id: p for p in problems}
    assert "hr_nowhere" in by_id["Lane_hr"].message and "hr_province" in by_id["Lane_hr"].message
    assert "nope.schema.json" in by_id["unit_review"].message and by_id["unit_review"].element_name == "单位审核"
    assert "drop_tables" in by_id["record"].message and "record_credit_hours" in by_id["record"].message
    assert "沙箱" in by_id["f_unit_reject"].message
    assert "写法有误" in by_id["f_to_hr"].message
    # the reject branch is gone, so the gateway's three outcomes are no longer all covered
    assert "默认流向" in by_id["gw_unit"].message


def test_a_new_task_without_form_or_lane_and_broken_flows_are_each_explained(app):
    task = ('<bpmn:userTask id="Activity_new" name="新步骤"><bpmn:incoming>f_dangling</bpmn:incoming>'
            '<bpmn:outgoing>f_a</bpmn:outgoing><bpmn:outgoing>f_b</bpmn:outgoing></bpmn:userTask>'
            '<bpmn:sequenceFlow id="f_a" sourceRef="Activity_new" targetRef="end_approved"/>'
            '<bpmn:sequenceFlow id="f_b" sourceRef="Activity_new" targetRef="end_withdrawn"/>'
            '<bpmn:task id="Activity_stuck" name="死胡同"/>'
            '<bpmn:sequenceFlow id="f_stuck" sourceRef="gw_revise" targetRef="Activity_stuck">'
            '<bpmn:conditionExpression>action == "later"</bpmn:conditionExpression></bpmn:sequenceFlow>')
    bad = SOURCE.replace('<bpmn:scriptTask id="init"', task + '<bpmn:scriptTask id="init"', 1)
    problems = validate(bad)
    messages = {p.element_id: p.message for p in problems}
    assert "没有指定表单" in messages["Activity_new"] or any(
        "没有指定表单" in p.message for p in problems if p.element_id == "Activity_new")
    new = [p.message for p in problems if p.element_id == "Activity_new"]
    assert any("不在任何泳道" in m for m in new)
    assert any("走不到这一步" in m for m in new)  # nothing leads to it
    assert any("2 条流出的顺序流" in m for m in new)
    assert any("走不到任何结束事件" in m for m in problems_for(problems, "Activity_stuck"))


def problems_for(problems, element_id: str) -> list[str]:
    return [p.message for p in problems if p.element_id == element_id]


@pytest.mark.parametrize("diagram, engine", [
    ('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
     'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="x">'
     '<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing>'
     '</bpmn:startEvent><bpmn:serviceTask id="java" name="Java 任务" camunda:class="com.acme.Approve">'
     '<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:serviceTask>'
     '<bpmn:exclusiveGateway id="g" default="f4"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>'
     '<bpmn:outgoing>f4</bpmn:outgoing></bpmn:exclusiveGateway><bpmn:endEvent id="e"><bpmn:incoming>f3</bpmn:incoming>'
     '<bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>'
     '<bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="java"/><bpmn:sequenceFlow id="f2" sourceRef="java" '
     'targetRef="g"/><bpmn:sequenceFlow id="f3" sourceRef="g" targetRef="e"><bpmn:conditionExpression>'
     '${approved}</bpmn:conditionExpression></bpmn:sequenceFlow><bpmn:sequenceFlow id="f4" sourceRef="g" '
     'targetRef="e"/></bpmn:process></bpmn:definitions>', "Camunda"),
    ('<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:activiti="http://activiti.org/bpmn" '
     'id="d" targetNamespace="x"><process id="p"><startEvent id="s" activiti:initiator="who"/></process>'
     '</definitions>', "Activiti"),
])
def test_diagrams_of_other_engines_are_refused_saying_so(app, diagram, engine):
    problems = validate(diagram)
    assert any(engine in p.message for p in problems), problems
    if "camunda" in diagram:
        assert any(p.element_id == "java" and "com.acme" not in p.message and "Java" in p.message for p in problems)
        assert any(p.element_id == "f3" and "${approved}" in p.message for p in problems)


@pytest.mark.parametrize("text", ["", "<x", "<a/>", "\x00\xff", "<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>"
                                  "<bpmn:definitions xmlns:bpmn='http://www.omg.org/spec/BPMN/20100524/MODEL'>"
                                  "&e;</bpmn:definitions>"])
def test_anything_at_all_gets_an_answer_not_a_crash(app, text):
    problems = validate(text)
    assert problems and all(p.message for p in problems)
    assert not any("root:" in p.message for p in problems)


def test_a_decision_table_cell_that_leaves_the_sandbox_is_refused(app):
    source = (PROCESSES_DIR / "annual_verification.dmn").read_text(encoding="utf-8")
    bad = source.replace("<text>90</text>", "<text>__import__('os').getcwd()</text>", 1).replace(
        "<text>0</text>", "<text>().__class__.__base__</text>", 1)
    problems = validate(bad)
    assert {p.element_id for p in problems} >= {"rule_default_total", "rule_default_public"}
    assert all("沙箱" in p.message for p in problems)


def test_the_validate_endpoint_answers_in_the_requests_language(app, client):
    r = _post(client, "validate", SOURCE.replace('name="unit">', 'name="finance_office">'), lang="?lang=en")
    assert r.status_code == 200
    body = r.get_json()
    assert body["valid"] is False
    problem = body["problems"][0]
    assert problem["element_id"] == "Lane_unit" and "finance_office" in problem["message"]
    assert "is not a relation" in problem["message"]
    assert _post(client, "validate", SOURCE).get_json() == {"valid": True, "problems": []}
    assert _post(client, "validate", "<x").status_code == 200
    assert _post(client, "validate", SOURCE, login="hospital_admin").status_code == 403


def test_dry_run_shows_each_path_with_its_lanes_and_a_stranding_draft_cannot_be_deployed(app, client):
    r = _post(client, f"{KEY}/dry-run", _with_province_review(SOURCE))
    body = r.get_json()
    assert r.status_code == 200 and body["deployable"], body["problems"]
    approve = next(p for p in body["paths"] if p["scenario"] == "approve" and p["applicant"] == "without_supervisory")
    assert [s["element_id"] for s in approve["steps"]] == ["unit_review", "hr_review", "province_review"]
    assert approve["steps"][-1]["lane_label"] == "省级人社部门" and approve["end_outcome"] == "approved"
    assert any(p["scenario"] == "return:hr_review" and p["end_outcome"] == "approved"
               and [s["outcome"] for s in p["steps"]].count("resubmit") == 1 for p in body["paths"])
    # this draft's province gateway treats a return like a rejection: the dry run shows it
    assert any(p["scenario"] == "return:province_review" and p["end_outcome"] == "rejected" for p in body["paths"])
    assert any(p["scenario"] == "reject:supervisory_review" and p["end_outcome"] == "rejected" for p in body["paths"])

    # the supervisory review without its skip: an applicant without a supervisory department is stranded
    stranding = SOURCE.replace("lanes['supervisory_department']", "True")
    report = _post(client, f"{KEY}/dry-run", stranding).get_json()
    assert report["valid"] and not report["deployable"]
    assert any(p["stranded"] == "no_organisation" and p["stranded_at"] == "supervisory_review"
               and p["applicant"] == "without_supervisory" for p in report["paths"])
    r = _post(client, f"{KEY}/deploy", stranding)
    assert r.status_code == 422 and "supervisory_review" in r.get_json()["error"]["fields"]["file"]


def test_deploy_through_the_api_and_the_versions_say_who_deployed_when(app, client, declaration):
    r = _post(client, f"{KEY}/deploy", _with_province_review(SOURCE))
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["version"] == 2 and r.get_json()["deployed_by"] == "hr_province"
    inst = services.start_process(KEY, declaration, actor=actor("chenshihui"))
    db.session.commit()
    versions = client.get(f"/api/v1/process-definitions/{KEY}/versions", headers=api_token(client, "hr_province"))
    rows = versions.get_json()
    assert [v["version"] for v in rows] == [2, 1]
    assert rows[0]["deployed_by"] == "hr_province" and rows[0]["deployed_at"].endswith("Z")
    assert rows[0]["running"] == 1 and rows[1]["deployed_by"] is None and rows[0]["hash"] != rows[1]["hash"]
    one = client.get(f"/api/v1/process-definitions/{KEY}/versions/2", headers=api_token(client, "hr_province"))
    assert "province_review" in one.get_json()["bpmn_xml"]
    assert db.session.get(ProcessVersion, inst.process_version_id).version == 2  # new declarations use it
    doc = client.get("/api/v1/openapi.json").get_json()
    assert {"/process-definitions/validate", "/process-definitions/{key}/versions",
            "/process-definitions/{key}/dry-run", "/process-definitions/{key}/deploy"} <= set(doc["paths"])


def _without_supervisory_review(text: str) -> str:
    """A version without the supervisory review: its task, gateway, end event and their flows are gone."""
    gone = ("supervisory_review", "gw_supervisory", "end_rejected_supervisory", "f_supervisory_gw",
            "f_supervisory_approve", "f_supervisory_return", "f_supervisory_reject")
    for element in gone:
        text = re.sub(rf'<bpmn:(\w+) id="{element}"[^>]*?(/>|>.*?</bpmn:\1>)', "", text, flags=re.S)
        text = re.sub(rf"<bpmn:(incoming|outgoing|flowNodeRef)>{element}</bpmn:\1>", "", text)
        text = re.sub(rf'<bpmndi:(BPMNShape|BPMNEdge) id="[^"]*" bpmnElement="{element}".*?</bpmndi:\1>', "",
                      text, flags=re.S)
    return text.replace('targetRef="supervisory_review"', 'targetRef="gw_hr_needed"').replace(
        "<bpmn:incoming>f_skip_supervisory</bpmn:incoming>",
        "<bpmn:incoming>f_skip_supervisory</bpmn:incoming><bpmn:incoming>f_to_supervisory</bpmn:incoming>")


def test_running_cases_are_previewed_and_migrated_with_a_history_event(app, client, declaration):
    hr = api_token(client, "hr_province")
    at_unit = services.start_process(KEY, declaration, actor=actor("chenshihui"))
    at_supervisory = services.start_process(KEY, {**declaration, "course_name": "第二门课"}, actor=actor("chenshihui"))
    db.session.commit()
    services.complete_task(services.open_tasks(at_supervisory)[0].id, {"outcome": "approve", "comment": ""},
                           actor=actor("hospital_admin"))
    db.session.commit()
    assert services.open_tasks(at_supervisory)[0].task_spec == "supervisory_review"

    # version 2 has no supervisory step: the case standing there cannot move, the other can
    r = _post(client, f"{KEY}/deploy", _without_supervisory_review(SOURCE))
    assert r.status_code == 201, r.get_json()
    r = client.post(f"/api/v1/process-definitions/{KEY}/versions/2/migration-preview", json={}, headers=hr)
    report = {c["instance_id"]: c for c in r.get_json()}
    assert report[at_unit.id]["movable"] and report[at_unit.id]["current"] == ["unit_review"]
    assert not report[at_supervisory.id]["movable"]
    assert "当前所在的步骤" in report[at_supervisory.id]["reason"]
    only_unit = client.post(f"/api/v1/process-definitions/{KEY}/versions/2/migration-preview",
                            json={"step": "unit_review"}, headers=hr).get_json()
    assert [c["instance_id"] for c in only_unit] == [at_unit.id]

    r = client.post(f"/api/v1/process-definitions/{KEY}/versions/2/migrate", json={}, headers=hr)
    assert r.status_code == 202 and r.get_json()["status"] == "finished", r.get_json()
    assert "已迁移1件" in r.get_json()["message"]
    db.session.expire_all()
    moved = db.session.get(type(at_unit), at_unit.id)
    stayed = db.session.get(type(at_unit), at_supervisory.id)
    assert db.session.get(ProcessVersion, moved.process_version_id).version == 2
    assert db.session.get(ProcessVersion, stayed.process_version_id).version == 1
    assert [e.outcome for e in services.history(moved)][-1] == "migrated"
    assert "migrated" not in [e.outcome for e in services.history(stayed)]

    # the moved case goes on along version 2: from the unit straight to the HR bureau
    task = services.open_tasks(moved)[0]
    services.complete_task(task.id, {"outcome": "approve", "comment": ""}, actor=actor("hospital_admin"))
    db.session.commit()
    assert services.open_tasks(moved)[0].task_spec == "hr_review"
    # the one that stayed still finishes its step on version 1
    task = services.open_tasks(stayed)[0]
    services.complete_task(task.id, {"outcome": "approve", "comment": ""}, actor=actor("health_admin"))
    db.session.commit()
    assert services.open_tasks(stayed)[0].task_spec == "hr_review"


def test_two_versions_are_compared_element_by_element_and_an_earlier_one_restored_as_new(app, client, web):
    from app.workflow.diagram_diff import diff

    changes = diff(SOURCE, _with_province_review(SOURCE))
    assert set(changes.added) == {"province_review", "gw_province", "f_province_gw", "f_province_ok",
                                  "f_province_reject", "Lane_province"}
    assert changes.removed == [] and changes.changed["f_hr_approve"] == ["target"]
    assert diff(SOURCE, SOURCE.replace('name="单位审核"', 'name="单位初审"')).changed == {"unit_review": ["name"]}

    assert _post(client, f"{KEY}/deploy", _with_province_review(SOURCE)).status_code == 201
    web.login("hr_province")
    page = web.client.get(f"/admin/processes/{KEY}/v2?compare=1").get_data(as_text=True)
    assert "province_review" in page and "f_hr_approve" in page
    r = web.post_form(f"/admin/processes/{KEY}", {}, post_url=f"/admin/processes/{KEY}/v1/restore")
    assert r.status_code == 302
    # restored as a new version: version 1 itself stays an old version
    assert [v.version for v in db.session.query(ProcessVersion).filter_by(process_key=KEY, active=True)] == [3]


def test_migration_on_postgresql_locks_each_case_and_moves_only_the_movable(pg_app, declaration):
    from app.processes_admin import services as admin
    from app.workflow import migration

    hr = actor("hr_province")
    at_unit = services.start_process(KEY, declaration, actor=actor("chenshihui"))
    at_supervisory = services.start_process(KEY, {**declaration, "course_name": "第二门课"}, actor=actor("chenshihui"))
    db.session.commit()
    services.complete_task(services.open_tasks(at_supervisory)[0].id, {"outcome": "approve", "comment": ""},
                           actor=actor("hospital_admin"))
    db.session.commit()
    target = admin.upload(hr, KEY, f"{KEY}.bpmn", _without_supervisory_review(SOURCE).encode())
    db.session.commit()
    report = {c.instance_id: c for c in migration.preview(KEY, target)}
    assert report[at_unit.id].movable and report[at_supervisory.id].refusal == "current_removed"
    for instance_id in report:
        migration.migrate(instance_id, target, hr)
        db.session.commit()
    db.session.expire_all()
    assert db.session.get(type(at_unit), at_unit.id).process_version_id == target.id
    assert db.session.get(type(at_unit), at_supervisory.id).process_version_id != target.id
    assert services.open_tasks(db.session.get(type(at_unit), at_unit.id))[0].task_spec == "unit_review"


def test_checking_and_dry_running_drafts_keeps_no_parsed_spec_in_memory(app, client):
    from app.workflow import engine

    before = len(engine._SPECS)
    for n in range(3):  # what the editor sends as an administrator types
        draft = _with_province_review(SOURCE).replace("省人社厅复核", f"省人社厅复核{n}")
        assert validate(draft) == []
        assert _post(client, f"{KEY}/dry-run", draft).get_json()["deployable"]
    assert len(engine._SPECS) == before
