"""Process administration: an administrator changes an approval chain by uploading an edited diagram."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db
from app.workflow import services
from app.workflow.models import ProcessInstance, ProcessVersion
from app.workflow.versions import PROCESSES_DIR, bundle_from_text, parse_bundle
from tests.conftest import actor

KEY = "credit_hour_approval"
SOURCE = (PROCESSES_DIR / f"{KEY}.bpmn").read_text(encoding="utf-8")
PAGE = f"/admin/processes/{KEY}"


def lint(text: str):
    return parse_bundle(bundle_from_text(text))


def _upload(web, text: str, filename: str = "edited.bpmn"):
    return web.post_form(PAGE, {"file": (io.BytesIO(text.encode()), filename)},
                         content_type="multipart/form-data")


def _without_supervisory_step(text: str) -> str:
    """The edit an administrator makes: the supervisory department no longer reviews."""
    edited = text.replace("lanes['supervisory_department']", "False")
    assert edited != text
    return edited


def _versions() -> list[ProcessVersion]:
    return list(db.session.scalars(select(ProcessVersion).where(ProcessVersion.process_key == KEY)
                                   .order_by(ProcessVersion.version)))


def test_an_uploaded_diagram_changes_the_chain_for_new_declarations_only(app, web, declaration):
    first = services.start_process(KEY, declaration, actor=actor("chenshihui"))
    db.session.commit()
    assert web.login("hr_province").status_code == 302

    r = _upload(web, _without_supervisory_step(SOURCE))
    assert r.status_code == 302, r.get_data(as_text=True)
    page = web.client.get(PAGE).get_data(as_text=True)
    assert "第 2 版" in page and "当前" in page

    # the running declaration keeps its version (hospital → health commission → city bureau) ...
    second = services.start_process(KEY, {**declaration, "course_name": "新课程"}, actor=actor("chenshihui"))
    db.session.commit()
    for login in ("hospital_admin",):
        for inst in (first, second):
            task = services.open_tasks(inst)[0]
            services.complete_task(task.id, {"outcome": "approve", "comment": ""}, actor=actor(login))
            db.session.commit()
    first, second = db.session.get(ProcessInstance, first.id), db.session.get(ProcessInstance, second.id)
    # ... so the first now waits at the health commission, the second (new version) skips it
    assert [t.name for t in services.open_tasks(first)] != [t.name for t in services.open_tasks(second)]
    health = actor("health_admin")
    assert services.open_tasks(first)[0].candidate_org_id in health.org_ids_with("credit_review")
    assert services.open_tasks(second)[0].candidate_org_id in actor("hr_city").org_ids_with("credit_review")
    assert first.process_version_id != second.process_version_id


def test_an_unsafe_or_broken_diagram_is_refused_naming_the_element_and_nothing_changes(app, web):
    web.login("hr_province")
    before = len(_versions())
    unsafe = SOURCE.replace("lanes['supervisory_department']", "__import__('os').system('id') == 0")
    r = _upload(web, unsafe)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "未通过检查" in html and "f_to_supervisory" in html  # the flow whose condition it is

    r = _upload(web, SOURCE.replace('name="unit">', 'name="finance_office">'))
    assert r.status_code == 422 and "finance_office" in r.get_data(as_text=True)

    r = _upload(web, SOURCE.replace(f'id="{KEY}"', 'id="another_process"'))
    assert r.status_code == 422 and "another_process" in r.get_data(as_text=True)

    r = _upload(web, "<not-xml", filename="x.bpmn")
    assert r.status_code == 422 and "XML" in r.get_data(as_text=True)

    r = _upload(web, SOURCE, filename="diagram.exe")
    assert r.status_code == 422 and ".bpmn" in r.get_data(as_text=True)
    assert len(_versions()) == before


def test_only_province_bureau_administrators_manage_processes(app, web):
    web.login("hospital_admin")
    assert web.client.get("/admin/processes/").status_code == 403
    assert "审批流程管理" not in web.client.get("/tasks").get_data(as_text=True)
    r = web.client.post(PAGE, data={"file": (io.BytesIO(SOURCE.encode()), "x.bpmn")},
                        content_type="multipart/form-data")
    assert r.status_code in (400, 403)  # no CSRF token, and no right either
    web.client.post("/logout", data={"csrf_token": web.csrf("/tasks")})
    web.login("hr_province")
    assert "审批流程管理" in web.client.get("/tasks").get_data(as_text=True)
    assert web.client.get("/admin/processes/").status_code == 200


def test_a_post_without_csrf_token_is_refused(app, web):
    web.login("hr_province")
    before = len(_versions())
    r = web.client.post(PAGE, data={"file": (io.BytesIO(_without_supervisory_step(SOURCE).encode()), "x.bpmn")},
                        content_type="multipart/form-data")
    assert r.status_code == 400
    assert len(_versions()) == before


def test_a_version_can_be_downloaded_and_reactivated(app, web):
    web.login("hr_province")
    _upload(web, _without_supervisory_step(SOURCE))
    r = web.client.get(f"{PAGE}/v1.bpmn")
    assert r.status_code == 200 and r.get_data(as_text=True) == SOURCE
    assert _upload(web, SOURCE).status_code == 302  # going back to the shipped diagram
    active = [v.version for v in _versions() if v.active]
    assert active == [1]


def test_the_browser_editor_saves_a_new_version_or_shows_the_lint_error(app, web):
    web.login("hr_province")
    page = web.client.get(f"{PAGE}/edit").get_data(as_text=True)
    token = web.csrf(f"{PAGE}/edit")
    headers = {"X-CSRFToken": token, "Content-Type": "application/xml"}
    if (Path(app.static_folder) / "node_modules/bpmn-js/dist/bpmn-modeler.production.min.js").is_file():
        assert re.search(r"bpmn-modeler\.production\.min\.[0-9a-f]{12}\.js", page)
        with web.client.get("/static/node_modules/bpmn-js/dist/bpmn-modeler.production.min.js") as script:
            assert script.status_code == 200
    else:
        assert "npm" in page

    r = web.client.post(f"{PAGE}/xml", data=SOURCE.replace("return_count = 0", "import os"), headers=headers)
    assert r.status_code == 422
    assert "init" in r.get_json()["error"]["fields"]["file"]
    assert web.client.post(f"{PAGE}/xml", data=_without_supervisory_step(SOURCE),
                           headers={"Content-Type": "application/xml"}).status_code == 400  # no CSRF token
    r = web.client.post(f"{PAGE}/xml", data=_without_supervisory_step(SOURCE), headers=headers)
    assert r.status_code == 200 and r.get_json()["version"] == 2
    assert [v.version for v in _versions() if v.active] == [2]


def test_a_diagram_written_by_bpmn_js_keeps_its_forms_and_passes_the_lint(app, tmp_path):
    node = shutil.which("node")
    moddle = Path(app.static_folder) / "node_modules/bpmn-moddle"
    if node is None or not moddle.is_dir():
        pytest.skip("node or bpmn-js (installed by scripts/install.sh through npm) is not available")
    out = tmp_path / "edited.bpmn"
    subprocess.run([node, str(Path(__file__).parent / "js/roundtrip.mjs"), str(PROCESSES_DIR / f"{KEY}.bpmn"),
                    str(out)], check=True, timeout=60)
    parsed = lint(out.read_text(encoding="utf-8"))
    assert parsed.user_tasks["supervisory_review"].lane == "hr_bureau"
    assert parsed.user_tasks["unit_review"].form == "review.schema.json"
