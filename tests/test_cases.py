"""Cases: the pages and API that work for any process. A process that exists only in this test suite
(tests/processes/study_leave: a diagram, two forms, one hooks file) is started, reviewed, tracked and
driven through the API with no view written for it; withdrawing before the first review; the case page's
diagram; the layering rules of app/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from app.workflow import registry, services
from app.workflow.models import ProcessInstance, WorkflowTask
from tests.conftest import api_token
from tests.processes.study_leave import workflow_hooks as study_leave
from tests.webutil import browser, declare, text

APP = Path(__file__).resolve().parents[1] / "app"


@pytest.fixture
def leave_process(app):
    study_leave.register()
    study_leave.GRANTED.clear()
    yield study_leave.KEY
    registry.unregister_process(study_leave.KEY)


def _redirect_id(resp) -> int:
    assert resp.status_code == 302, resp.get_data(as_text=True)[:1500]
    return int(re.search(r"/applications/(\d+)", resp.headers["Location"]).group(1))


def test_a_test_only_process_runs_through_the_generic_pages(app, leave_process):
    who = browser(app, "chenshihui")
    page = who.client.get(f"/start/{leave_process}")
    assert page.status_code == 200 and "脱产学习申请" in text(page) and "学习项目" in text(page)
    bad = who.post_form(f"/start/{leave_process}", {"course": "", "days": "0"})
    assert bad.status_code == 422
    assert app.extensions["sqlalchemy"].session.query(ProcessInstance).filter_by(process_key="study_leave").count() == 0
    instance_id = _redirect_id(who.post_form(f"/start/{leave_process}", {"course": "急诊医学进修", "days": "5"}))

    case = text(who.client.get(f"/applications/{instance_id}"))
    assert "急诊医学进修" in case and "单位审批" in case and "市第一人民医院" in case
    assert "申请信息" in case  # its hooks say it is an application (申请), not a declaration

    reviewer = browser(app, "hospital_admin")
    inbox = text(reviewer.client.get("/tasks?process=study_leave"))
    assert "陈诗慧" in inbox and "急诊医学进修" in inbox
    task = app.extensions["sqlalchemy"].session.query(WorkflowTask).filter_by(instance_id=instance_id).one()
    done = reviewer.post_form(f"/tasks/{task.id}", {"outcome": "approve", "comment": "同意"})
    assert done.status_code == 302
    assert study_leave.GRANTED == [{"instance": instance_id, "days": 5,
                                    "by": services.visible_task(task.id, _actor("hospital_admin")).completed_by_id}]
    final = text(who.client.get(f"/applications/{instance_id}"))
    assert "审核通过" in final and "同意" in final


def _actor(login: str):
    from tests.conftest import actor

    return actor(login)


def test_a_test_only_process_is_driven_through_the_api(app, client, leave_process):
    pro = api_token(client, "chenshihui")
    assert leave_process in [p["key"] for p in client.get("/api/v1/processes", headers=pro).get_json()]
    form = client.get(f"/api/v1/processes/{leave_process}/form", headers=pro).get_json()
    assert form["schema"]["required"] == ["course", "days"]
    refused = client.post(f"/api/v1/processes/{leave_process}/instances", json={"course": "x", "days": 99},
                          headers=pro)
    assert refused.status_code == 422 and "days" in refused.get_json()["error"]["fields"]
    started = client.post(f"/api/v1/processes/{leave_process}/instances", json={"course": "进修", "days": 3},
                          headers=pro)
    assert started.status_code == 201
    body = started.get_json()
    assert body["status"] == "running" and body["tasks"][0]["organisation"] == "市第一人民医院"

    boss = api_token(client, "hospital_admin")
    tasks = client.get("/api/v1/tasks?process=study_leave", headers=boss).get_json()
    assert tasks["total"] == 1 and tasks["items"][0]["applicant"] == "陈诗慧"
    done = client.post(f"/api/v1/tasks/{tasks['items'][0]['id']}/complete", json={"outcome": "reject",
                       "comment": "人手不足"}, headers=boss)
    assert done.status_code == 200 and done.get_json()["status"] == "rejected"
    seen = client.get(f"/api/v1/instances/{body['id']}", headers=pro).get_json()
    assert [h["outcome"] for h in seen["history"]] == ["submit", "reject"] and study_leave.GRANTED == []
    # a professional of another unit cannot see it
    other = api_token(client, "wangliping")
    assert client.get(f"/api/v1/instances/{body['id']}", headers=other).status_code == 404


def test_a_process_nobody_registered_has_no_start_page(app):
    who = browser(app, "chenshihui")
    assert who.client.get("/start/no_such_process").status_code == 404
    # and a registered one the actor may not start is refused
    assert browser(app, "hr_city").client.get("/declare").status_code == 403


def test_a_declaration_can_be_withdrawn_before_its_first_review(app):
    inst = declare("chenshihui")
    who = browser(app, "chenshihui")
    page = text(who.client.get(f"/applications/{inst.id}"))
    assert "撤回" in page
    # nobody else may withdraw it
    assert browser(app, "hospital_admin").post_form(f"/applications/{inst.id}",
                                                    {}, post_url=f"/applications/{inst.id}/withdraw").status_code == 403
    r = who.post_form(f"/applications/{inst.id}", {}, post_url=f"/applications/{inst.id}/withdraw")
    assert r.status_code == 302
    db = app.extensions["sqlalchemy"]
    db.session.expire_all()
    assert db.session.get(ProcessInstance, inst.id).status == "withdrawn"
    assert db.session.query(WorkflowTask).filter_by(instance_id=inst.id, completed_at=None).count() == 0
    assert "陈诗慧" not in text(browser(app, "hospital_admin").client.get("/tasks"))
    page = text(who.client.get(f"/applications/{inst.id}"))
    assert "已撤回" in page and "申请人撤回" in page


def test_withdrawing_after_a_decision_is_refused(app, client):
    inst = declare("chenshihui")
    boss = api_token(client, "hospital_admin")
    task = client.get("/api/v1/tasks", headers=boss).get_json()["items"][0]
    assert client.post(f"/api/v1/tasks/{task['id']}/complete", json={"outcome": "approve"},
                       headers=boss).status_code == 200
    pro = api_token(client, "chenshihui")
    r = client.post(f"/api/v1/instances/{inst.id}/withdraw", headers=pro)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "conflict"
    assert "撤回" not in text(browser(app, "chenshihui").client.get(f"/applications/{inst.id}")).split("审批记录")[0]


def test_the_case_diagram_marks_passed_and_waiting_steps(app, client):
    inst = declare("chenshihui")
    who = browser(app, "chenshihui")
    state = who.client.get(f"/applications/{inst.id}/diagram").get_json()
    assert state["xml"].startswith("<?xml") and "credit_hour_approval" in state["xml"]
    assert 'name="用人单位"' in state["xml"] and 'name="unit"' not in state["xml"]  # lanes as people read them
    assert len(state["current"]) == 1 and f'id="{state["current"][0]}"' in state["xml"]
    assert state["completed"] and f'id="{state["completed"][0]}"' in state["xml"]  # the start event
    page = who.client.get(f"/applications/{inst.id}")
    assert re.search(r"bpmn-navigated-viewer\.production\.min\.[0-9a-f]{12}\.js", page.get_data(as_text=True))
    assert "市第一人民医院" in text(page).split("当前在哪里")[1].split("流程图")[0]
    english = who.client.get(f"/applications/{inst.id}/diagram?lang=en").get_json()["xml"]
    assert 'name="Unit review"' in english and "单位审核" not in english  # every step in the page's language
    assert browser(app, "wangliping").client.get(f"/applications/{inst.id}/diagram").status_code == 404


def test_a_professional_sees_no_reviewer_menus(app):
    declare("chenshihui")
    pro = text(browser(app, "chenshihui").client.get("/tasks"))
    assert "已审核" not in pro and "批量审核" not in pro
    boss = text(browser(app, "hospital_admin").client.get("/tasks"))
    assert "已审核" in boss and "批量审核" in boss and "到达时间" in boss


def test_the_revision_form_defaults_to_resubmit_and_shows_the_comment(app):
    from tests.webutil import act, open_task

    inst = declare("chenshihui")
    act(inst, "hospital_admin", {"outcome": "return", "comment": "请补充结业证书"})
    task = open_task(inst)
    page = browser(app, "chenshihui").client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert re.search(r'value="resubmit"[^>]*checked|checked[^>]*value="resubmit"', page), page[:500]
    assert page.index("请补充结业证书") < page.index('name="action"')


# --------------------------------------------------------------------------- layering


def _imports(path: Path, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = []
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if top_level_only and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        nodes += list(ast.walk(node))
    found = set()
    for n in nodes:
        if isinstance(n, ast.ImportFrom) and n.module and n.level == 0:
            found.add(n.module)
            found |= {f"{n.module}.{a.name}" for a in n.names}
        elif isinstance(n, ast.ImportFrom) and n.level:
            parts = path.relative_to(APP.parent).with_suffix("").parts
            base = list(parts[:-1] if path.name != "__init__.py" else parts[:-1])
            base = base[: len(base) - (n.level - 1)]
            mod = ".".join(base + ([n.module] if n.module else []))
            found.add(mod)
            found |= {f"{mod}.{a.name}" for a in n.names}
        elif isinstance(n, ast.Import):
            found |= {a.name for a in n.names}
    return found


def _modules() -> dict[str, Path]:
    out = {}
    for p in APP.rglob("*.py"):
        if "migrations" in p.parts:
            continue
        name = ".".join(p.relative_to(APP.parent).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = p
    return out


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_between_modules_of_app():
    mods = _modules()
    graph = {m: {t for t in _imports(p, top_level_only=True) if t in mods and t != m} for m, p in mods.items()}
    assert _cycles(graph) == []


#: Domain packages that must not reach each other in a circle, counting imports inside functions too.
LAYERED = ("accounts", "api", "cases", "registration", "orgadmin", "people", "workflow", "credits", "changes",
           "archive", "certificates", "taskcentre", "processes_admin", "audit", "imports")


def test_no_import_circle_between_domain_packages():
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for m, p in mods.items():
        pkg = m.split(".")[1] if m.count(".") else None
        if pkg not in LAYERED:
            continue
        for t in _imports(p, top_level_only=False):
            if t.startswith("app.") and t.split(".")[1] in LAYERED and t.split(".")[1] != pkg:
                graph.setdefault(pkg, set()).add(t.split(".")[1])
    assert _cycles(graph) == []


def test_spiffworkflow_is_imported_only_in_the_workflow_package():
    for name, path in _modules().items():
        if not name.startswith("app.workflow"):
            assert not any(t.startswith("SpiffWorkflow") for t in _imports(path, top_level_only=False)), name


def test_the_case_page_says_how_long_its_step_usually_takes_once_there_are_enough_decisions(app):
    from tests.webutil import act

    first = declare("chenshihui")
    page = text(browser(app, "chenshihui").client.get(f"/applications/{first.id}"))
    assert "此环节通常" not in page  # no decisions of this step yet: nothing to say
    for n in range(5):
        act(declare("chenshihui", course_name=f"课程{n}"), "hospital_admin", {"outcome": "approve"})
    page = text(browser(app, "chenshihui").client.get(f"/applications/{first.id}"))
    assert "此环节通常不到 1 小时办结" in page
