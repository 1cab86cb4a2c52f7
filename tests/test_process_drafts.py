"""Drafts kept on the server and restoring an earlier version as a new one (issue #17, point 4)."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.processes_admin.models import ProcessDraft
from app.workflow.models import ProcessVersion
from app.workflow.versions import PROCESSES_DIR
from tests.conftest import api_token

KEY = "credit_hour_approval"
SOURCE = (PROCESSES_DIR / f"{KEY}.bpmn").read_text(encoding="utf-8")
PAGE = f"/admin/processes/{KEY}"
API = f"/api/v1/process-definitions/{KEY}"
XML = {"Content-Type": "application/xml"}
#: An unfinished edit: a step with no form yet; a draft keeps it as it is.
HALF_DONE = SOURCE.replace('name="单位审核"', 'name="单位初审"').replace(
    '<spiffworkflow:property name="formJsonSchemaFilename" value="review.schema.json"/>', "", 1)


def _versions() -> list[tuple[int, bool]]:
    return [(v.version, v.active) for v in db.session.scalars(
        select(ProcessVersion).where(ProcessVersion.process_key == KEY).order_by(ProcessVersion.version))]


def _without_supervisory_step(text: str) -> str:
    return text.replace("lanes['supervisory_department']", "False")


def test_a_draft_is_kept_reopened_in_the_editor_and_deleted(app, web):
    assert HALF_DONE != SOURCE
    web.login("hr_province")
    token = web.csrf(f"{PAGE}/edit")
    r = web.client.post(f"{PAGE}/draft?base=1", data=HALF_DONE, headers={**XML, "X-CSRFToken": token})
    assert r.status_code == 200 and "草稿已保存" in r.get_json()["message"]
    assert web.client.post(f"{PAGE}/draft", data=SOURCE, headers=XML).status_code == 400  # no CSRF token
    assert _versions() == [(1, True)]  # nothing deployed

    page = web.client.get(PAGE).get_data(as_text=True)
    assert "有一份未启用的草稿" in page and "（基于第 1 版）" in page and f"{PAGE}/edit?draft=1" in page
    editor = web.client.get(f"{PAGE}/edit?draft=1").get_data(as_text=True)
    assert "正在编辑草稿" in editor and f"{PAGE}/draft.bpmn" in editor
    assert web.client.get(f"{PAGE}/draft.bpmn").get_data(as_text=True) == HALF_DONE

    r = web.post_form(PAGE, {}, post_url=f"{PAGE}/draft/delete")
    assert r.status_code == 302
    assert web.client.get(f"{PAGE}/draft.bpmn").status_code == 404
    assert web.client.get(f"{PAGE}/edit?draft=1").status_code == 404
    assert "有一份未启用的草稿" not in web.client.get(PAGE).get_data(as_text=True)


def test_drafts_through_the_api_list_their_problems_and_go_when_deployed(app, client):
    headers = {**api_token(client, "hr_province"), **XML}
    assert client.get(f"{API}/draft", headers=headers).status_code == 404
    r = client.put(f"{API}/draft?base_version=1", data=HALF_DONE.encode(), headers=headers)
    body = r.get_json()
    assert r.status_code == 200 and body["valid"] is False and body["draft"]["base_version"] == 1
    assert body["draft"]["saved_by"] == "hr_province"
    assert any("没有指定表单" in p["message"] and p["element_id"] for p in body["problems"])
    got = client.get(f"{API}/draft", headers=headers).get_json()
    assert got["bpmn_xml"] == HALF_DONE and got["process_key"] == KEY

    edited = _without_supervisory_step(SOURCE)
    r = client.put(f"{API}/draft", data=edited.encode(), headers=headers)  # one draft per process: replaced
    assert r.get_json()["valid"] is True and db.session.scalar(select(ProcessDraft.bpmn_xml)) == edited
    assert client.post(f"{API}/deploy", data=edited.encode(), headers=headers).status_code == 201
    assert client.get(f"{API}/draft", headers=headers).status_code == 404  # the draft was what got deployed

    client.put(f"{API}/draft", data=HALF_DONE.encode(), headers=headers)
    assert client.delete(f"{API}/draft", headers=headers).status_code == 204
    assert client.delete(f"{API}/draft", headers=headers).status_code == 404
    # a draft is for the administrators of the province bureau only, and for shipped processes
    other = {**api_token(client, "hr_city"), **XML}
    assert client.put(f"{API}/draft", data=HALF_DONE.encode(), headers=other).status_code in (403, 404)
    r = client.put("/api/v1/process-definitions/nope/draft", data=HALF_DONE.encode(), headers=headers)
    assert r.status_code == 404
    assert client.put(f"{API}/draft", data=b"\xff\xfe", headers=headers).status_code == 422


def test_an_earlier_version_is_restored_as_a_new_version(app, client, web):
    headers = {**api_token(client, "hr_province"), **XML}
    client.post(f"{API}/deploy", data=_without_supervisory_step(SOURCE).encode(), headers=headers)
    assert _versions() == [(1, False), (2, True)]
    r = client.post(f"{API}/versions/1/restore", headers=headers)
    assert r.status_code == 201 and r.get_json()["version"] == 3 and r.get_json()["deployed_by"] == "hr_province"
    assert _versions() == [(1, False), (2, False), (3, True)]  # version 1 itself stays an old version
    third = client.get(f"{API}/versions/3", headers=headers).get_json()["bpmn_xml"]
    assert "<!-- restored from version 1 as version 3 -->" in third
    assert third.replace("<!-- restored from version 1 as version 3 -->\n", "") == SOURCE

    web.login("hr_province")  # and from the versions page
    r = web.post_form(PAGE, {}, post_url=f"{PAGE}/v2/restore")
    assert r.status_code == 302
    assert _versions()[-1] == (4, True)
    page = web.client.get(PAGE).get_data(as_text=True)
    assert "已恢复第 2 版，现为当前版本（第 4 版）" in page and "恢复为新版本" in page
    # restoring the restored copy again: a further version, one comment only
    assert client.post(f"{API}/versions/3/restore", headers=headers).get_json()["version"] == 5
    fifth = client.get(f"{API}/versions/5", headers=headers).get_json()["bpmn_xml"]
    assert fifth.count("<!-- restored from") == 1 and "from version 3 as version 5" in fifth
    assert client.post(f"{API}/versions/9/restore", headers=headers).status_code == 404


def test_deploying_from_the_editor_opened_on_the_draft_removes_the_draft(app, web):
    web.login("hr_province")
    token = web.csrf(f"{PAGE}/edit")
    headers = {**XML, "X-CSRFToken": token}
    web.client.post(f"{PAGE}/draft", data=HALF_DONE, headers=headers)
    assert f"{PAGE}/xml?draft=1" in web.client.get(f"{PAGE}/edit?draft=1").get_data(as_text=True)
    assert web.client.post(f"{PAGE}/xml?draft=1", data=HALF_DONE, headers=headers).status_code == 422
    assert web.client.get(f"{PAGE}/draft.bpmn").status_code == 200  # refused: the draft stays
    edited = _without_supervisory_step(SOURCE)
    r = web.client.post(f"{PAGE}/xml?draft=1", data=edited, headers=headers)
    assert r.status_code == 200 and r.get_json()["version"] == 2
    assert web.client.get(f"{PAGE}/draft.bpmn").status_code == 404
