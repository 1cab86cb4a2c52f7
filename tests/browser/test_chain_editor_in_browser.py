"""The chain editor in a real browser (issue #17): an administrator adds a review step by the province
bureau, sets its lane and form in the properties panel, checks, dry-runs and deploys it; a new declaration
then stops at the province bureau."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.accounts.actor import Actor
from app.accounts.models import User
from app.extensions import db
from app.workflow import services
from tests.conftest import DECLARATION, IN_CI

SHOTS = Path(os.environ.get("SHOTS", "/tmp/shots/editor"))
KEY = "credit_hour_approval"

ADD_STEP = """() => {
  const modeler = document.getElementById('process-editor').modeler;
  const modeling = modeler.get('modeling');
  const registry = modeler.get('elementRegistry');
  const record = registry.get('record');
  const task = modeling.createShape({ type: 'bpmn:UserTask' },
    { x: record.x + record.width / 2, y: record.y + record.height / 2 + 130 }, record.parent);
  modeling.reconnectEnd(registry.get('f_hr_approve'), task, { x: task.x, y: task.y + task.height / 2 });
  modeling.connect(task, record);
  modeler.get('selection').select(task);
  return task.id;
}"""


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def _actor(login: str) -> Actor:
    return Actor.of(db.session.query(User).filter_by(login=login).one())


def test_an_administrator_adds_a_province_review_and_new_declarations_stop_there(person, live) -> None:
    if not (Path(live.app.static_folder) / "node_modules/bpmn-js/dist/bpmn-modeler.production.min.js").is_file():
        if IN_CI:
            pytest.fail("CI=true but bpmn-js is not installed")
        pytest.skip("bpmn-js is not installed (scripts/install.sh installs it with npm)")
    page = person("hr_province").page
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"/admin/processes/{KEY}/edit")
    expect(page.locator("#problem-count")).to_have_text("没有问题")
    expect(page.locator(".lane-label", has_text="主管部门")).to_be_visible()
    _shot(page, "editor-zh-1366")

    task_id = page.evaluate(ADD_STEP)
    expect(page.locator("#problem-count")).to_contain_text("个问题")
    problems = page.locator("#problems").inner_text()
    assert task_id in problems and "没有指定表单" in problems
    page.locator("#problems .problem", has_text="没有指定表单").click()
    expect(page.locator("#bio-properties-panel-id")).to_have_value(task_id)

    page.locator("#bio-properties-panel-name").fill("省人社厅复核")
    page.locator("#bio-properties-panel-name").blur()
    page.locator("#bio-properties-panel-cepp-lane").select_option("hr_province")
    expect(page.locator(".lane-label", has_text="省级人社部门")).to_be_visible()
    page.locator("#bio-properties-panel-cepp-form").select_option("review.schema.json")
    expect(page.locator("#p-form-preview")).to_contain_text("审核结果")
    page.get_by_role("button", name="检查", exact=True).click()
    expect(page.locator("#problem-count")).to_have_text("没有问题")
    _shot(page, "editor-zh-1366-step-added")

    # kept as a draft on the server, and reopened from the process page
    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator("#editor-message")).to_contain_text("草稿已保存")
    page.goto(f"/admin/processes/{KEY}")
    expect(page.locator("#draft")).to_contain_text("有一份未启用的草稿")
    _shot(page, "detail-zh-1366-draft")
    page.get_by_role("link", name="继续编辑草稿").click()
    expect(page.locator("#problem-count")).to_have_text("没有问题")
    expect(page.get_by_text("正在编辑草稿")).to_be_visible()
    page.evaluate(f"""() => {{ const m = document.getElementById('process-editor').modeler;
                             m.get('selection').select(m.get('elementRegistry').get('{task_id}')); }}""")
    expect(page.locator("#bio-properties-panel-cepp-form")).to_have_value("review.schema.json")

    page.get_by_role("button", name="试运行").click()
    expect(page.locator("#paths")).to_contain_text("每个示例申请都能办结")
    expect(page.locator("#paths")).to_contain_text("省人社厅复核（省级人社部门")
    _shot(page, "editor-zh-1366-dry-run")

    with live.app.app_context():  # a declaration already on its way, on the version before
        running = services.start_process(KEY, dict(DECLARATION), actor=_actor("chenshihui")).id
        db.session.commit()
    page.get_by_role("button", name="检查并启用").click()
    page.wait_for_url(f"**/admin/processes/{KEY}")
    expect(page.locator(".alert-success")).to_contain_text("已启用第")

    # the running declaration moves to the new version after a preview, and its history says so
    page.get_by_role("button", name="预览迁移").click()
    row = page.locator("#migration tr", has_text=f"#{running}")
    expect(row).to_contain_text("可以迁移")
    _shot(page, "detail-zh-1366-migration-preview")
    page.get_by_role("button", name="迁移所选申请").click()
    expect(page.locator(".alert-success")).to_contain_text("已开始迁移")
    with live.app.app_context():
        from app.workflow.models import ProcessInstance

        assert [e.outcome for e in services.history(db.session.get(ProcessInstance, running))][-1] == "migrated"
    applicant = person("chenshihui").page  # the case's history says so
    applicant.goto(f"/applications/{running}")
    expect(applicant.locator("body")).to_contain_text("迁移到新版本")
    expect(page.locator("#draft")).to_have_count(0)  # the deployed draft is gone

    page.get_by_role("link", name="与上一版比较").first.click()
    expect(page.locator(".legend")).to_contain_text("新增")
    expect(page.locator("#canvas .djs-element.diff-added").first).to_be_attached()
    _shot(page, "version-diff-zh-1366")
    page.goto(f"/admin/processes/{KEY}")

    with live.app.app_context():
        inst = services.start_process(KEY, dict(DECLARATION), actor=_actor("chenshihui"))
        db.session.commit()
        lanes = []
        for _ in range(6):
            task = services.open_tasks(inst)[0]
            lanes.append(task.lane)
            if task.lane == "hr_province":
                break
            reviewer = {"unit": "hospital_admin", "supervisory_department": "health_admin",
                        "hr_bureau": "hr_city"}[task.lane]
            data = {"outcome": "approve", "comment": ""}
            if task.lane == "hr_bureau":
                data["recognised_hours"] = 18
            inst = services.complete_task(task.id, data, actor=_actor(reviewer))
            db.session.commit()
        assert lanes[-1] == "hr_province", lanes
        assert services.open_tasks(inst)[0].name == "省人社厅复核"
        services.complete_task(services.open_tasks(inst)[0].id, {"outcome": "approve", "comment": ""},
                               actor=_actor("hr_province"))
        db.session.commit()
        assert inst.status == "completed"

    # back to the first version's diagram, as a new version, so the other browser tests meet the shipped chain
    page.locator("form[action$='/v1/restore'] button").click()
    expect(page.locator(".alert-success")).to_contain_text("已恢复第 1 版，现为当前版本（第 3 版）")


def test_conditions_are_picked_or_typed_and_checked_as_you_type_in_english(person, live) -> None:
    if not (Path(live.app.static_folder) / "node_modules/bpmn-js/dist/bpmn-modeler.production.min.js").is_file():
        if IN_CI:
            pytest.fail("CI=true but bpmn-js is not installed")
        pytest.skip("bpmn-js is not installed (scripts/install.sh installs it with npm)")
    page = person("hr_province").page
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"/admin/processes/{KEY}/edit?lang=en")
    expect(page.locator("#problem-count")).to_have_text("No problems")
    expect(page.locator(".lane-label", has_text="Supervisory department")).to_be_visible()
    page.evaluate("""() => { const m = document.getElementById('process-editor').modeler;
                             m.get('selection').select(m.get('elementRegistry').get('f_unit_approve')); }""")
    condition = page.locator("#bio-properties-panel-cepp-condition")
    expect(condition).to_have_value("outcome == 'approve'")
    expect(page.locator("#bio-properties-panel-cepp-pick")).to_have_value("approve")
    condition.fill("().__class__.__bases__")
    expect(page.locator("#p-condition-check")).to_contain_text("leaves the sandbox")
    page.locator("#bio-properties-panel-cepp-pick").select_option("hours")
    expect(condition).to_have_value("hours > 40")
    page.locator("#bio-properties-panel-cepp-hours").fill("60")
    expect(condition).to_have_value("hours > 60")
    expect(page.locator("#p-condition-check")).to_have_text("The expression can be used")
    expect(page.locator("#undo")).to_be_enabled()
    _shot(page, "editor-en-1366-condition")
    page.locator("#undo").click()
    page.locator("#undo").click()
    expect(page.locator("#problem-count")).to_have_text("No problems")
    page.set_viewport_size({"width": 375, "height": 800})
    _shot(page, "editor-en-375")
    page.goto(f"/admin/processes/{KEY}/edit")
    _shot(page, "editor-zh-375")
    page.goto(f"/admin/processes/{KEY}")
    _shot(page, "detail-zh-375")
