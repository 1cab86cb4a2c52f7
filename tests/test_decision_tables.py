"""The annual verification table edited in the browser (issue #17, point 6): every cell checked in the sandbox,
tried on inputs, deployed as a new version that answers from then on, and an earlier one restored."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.workflow.decisions import evaluate_decision
from app.workflow.models import DecisionVersion
from app.workflow.versions import PROCESSES_DIR

KEY = "annual_verification"
SOURCE = (PROCESSES_DIR / f"{KEY}.dmn").read_text(encoding="utf-8")
PAGE = f"/admin/processes/rules/{KEY}"
XML = {"Content-Type": "application/xml"}


def _first_output_cell() -> str:
    """The text of the first rule's first output cell (the rule's name), to change it."""
    start = SOURCE.index("<outputEntry")
    start = SOURCE.index("<text>", start) + len("<text>")
    return SOURCE[start:SOURCE.index("</text>", start)]


def _post(web, path: str, body: str, query: str = ""):
    token = web.csrf(PAGE)
    return web.client.post(f"{PAGE}{path}{query}", data=body.encode(), headers={**XML, "X-CSRFToken": token})


def test_the_table_page_checks_every_cell_in_the_sandbox(app, web):
    web.login("hr_province")
    page = web.client.get(PAGE)
    assert page.status_code == 200 and "年度验证规则" in page.get_data(as_text=True)
    assert "annual_verification" in web.client.get("/admin/processes/").get_data(as_text=True)
    assert web.client.get(f"{PAGE}/current.dmn").get_data(as_text=True) == SOURCE
    assert web.client.get(f"{PAGE}/v1.dmn").get_data(as_text=True) == SOURCE  # the shipped file is version 1
    assert _post(web, "/validate", SOURCE).get_json() == {"valid": True, "problems": []}

    cell = _first_output_cell()
    bad = SOURCE.replace(f"<text>{cell}</text>", "<text>__import__('os').system('id')</text>", 1)
    walk = bad.replace("__import__('os').system('id')", "().__class__.__bases__[0].__subclasses__()")
    for text in (bad, walk):
        body = _post(web, "/validate", text).get_json()
        assert body["valid"] is False and body["problems"][0]["element_id"], body
        r = _post(web, "/xml", text)  # and it cannot be deployed
        assert r.status_code == 422
    assert db.session.scalar(select(DecisionVersion)) is None
    assert web.client.get("/admin/processes/rules/nope").status_code == 404


def test_a_table_is_tried_deployed_as_a_new_version_and_an_earlier_one_restored(app, web):
    web.login("hr_province")
    before = evaluate_decision(KEY, {"year": 2026, "province": "广东省", "region": "广东省", "title_level": "中级"})
    cell = _first_output_cell()
    edited = SOURCE.replace(f"<text>{cell}</text>", '<text>"试行规则"</text>', 1)
    tried = _post(web, "/try", edited, "?year=2026&province=广东省&title_level=中级")
    assert tried.status_code == 200 and "rule_name" in tried.get_json()["answer"]

    r = _post(web, "/xml", edited)
    assert r.status_code == 200 and r.get_json()["version"] == 2, r.get_json()
    rows = list(db.session.scalars(select(DecisionVersion).order_by(DecisionVersion.version)))
    assert [(v.version, v.active, v.deployed_by_id is not None) for v in rows] == [(1, False, False), (2, True, True)]
    page = web.client.get(PAGE).get_data(as_text=True)
    assert "决策表第 2 版已启用" in page and "恢复为新版本" in page
    # the deployed table answers from now on; the file is untouched
    assert (PROCESSES_DIR / f"{KEY}.dmn").read_text(encoding="utf-8") == SOURCE
    assert web.client.get(f"{PAGE}/current.dmn").get_data(as_text=True) == edited
    inputs = {"year": 2026, "province": "广东省", "region": "广东省", "title_level": "中级"}
    assert evaluate_decision(KEY, inputs)["_rule_hash"] == rows[1].content_hash != before["_rule_hash"]

    r = web.post_form(PAGE, {}, post_url=f"{PAGE}/v1/restore")
    assert r.status_code == 302
    rows = list(db.session.scalars(select(DecisionVersion).order_by(DecisionVersion.version)))
    assert [(v.version, v.active) for v in rows] == [(1, False), (2, False), (3, True)]
    after = evaluate_decision(KEY, {"year": 2026, "province": "广东省", "region": "广东省", "title_level": "中级"})
    assert {k: v for k, v in after.items() if k != "_rule_hash"} == {
        k: v for k, v in before.items() if k != "_rule_hash"}


def test_only_province_administrators_edit_tables(app, web):
    web.login("hr_city")
    assert web.client.get(PAGE).status_code in (403, 404)
    r = web.client.post(f"{PAGE}/xml", data=SOURCE.encode(), headers={**XML, "X-CSRFToken": web.csrf("/tasks")})
    assert r.status_code in (403, 404)
