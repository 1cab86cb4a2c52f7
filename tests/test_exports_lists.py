"""Issue 15 item 5 (the rest): declaration records and review lists (已审核, the inbox) exported through the export
centre as background jobs: scoped like their pages, cells neutralised, ID numbers as text."""

from __future__ import annotations

import io
import zipfile

from openpyxl import load_workbook

from app.extensions import db
from app.imports import exports
from app.workflow import services
from tests.conftest import WebClient, actor, api_token
from tests.test_imports import download

CHEN = "110101199003072711"


def export(client, h, kind: str, filters: dict | None = None) -> tuple[list[tuple], bytes]:
    r = client.post("/api/v1/exports", json={"kind": kind, "filters": filters or {}}, headers=h)
    assert r.status_code == 202, r.json
    body = client.get(f"/api/v1/exports/{r.json['id']}", headers=h).json
    assert body["state"] == "done", body
    data = download(client, h, body["file_url"])
    wb = load_workbook(io.BytesIO(data))
    return list(wb.active.iter_rows(values_only=True)), data


def declare(login: str, declaration: dict, **extra) -> int:
    inst = services.start_process("credit_hour_approval", {**declaration, **extra}, actor=actor(login))
    db.session.commit()
    return inst.id


def decide(instance_id: int, login: str, outcome: str = "approve", comment: str = "") -> None:
    from app.workflow.models import ProcessInstance

    task = services.open_tasks(db.session.get(ProcessInstance, instance_id))[0]
    services.complete_task(task.id, {"outcome": outcome, "comment": comment}, actor=actor(login))
    db.session.commit()


def test_declaration_records_export_is_scoped_neutralised_and_keeps_id_numbers_text(client, declaration):
    declare("chenshihui", declaration, course_name='=HYPERLINK("http://evil")')
    declare("hospital_admin", declaration, person_id_number="321101198110166954", course_name="-急救")
    declare("wangliping", declaration)
    # the professional: their own declaration only
    rows, data = export(client, api_token(client, "chenshihui"), "declarations")
    head = rows[0]
    assert head[:3] == ("姓名", "公民身份号码", "单位") and len(rows) == 2
    mine = dict(zip(head, rows[1], strict=True))
    assert mine["公民身份号码"] == CHEN and mine["课程名称"] == '\'=HYPERLINK("http://evil")'
    assert mine["状态"] == "待审核" and mine["申报方式"] == "本人申报" and mine["申报学时"] == 18
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in sheet and CHEN.encode() in sheet  # an inline string, never a number
    cell = load_workbook(io.BytesIO(data)).active.cell(2, 2)
    assert cell.data_type == "s" and cell.number_format == "@"
    # the hospital's unit declarations (单位申报记录) and every declaration of its staff; never the tech company's
    h = api_token(client, "hospital_admin")
    rows, _ = export(client, h, "declarations", {"scope": "unit"})
    assert [(r[0], r[5], r[8]) for r in rows[1:]] == [("刘文斌", "'-急救", "单位申报")]
    rows, _ = export(client, h, "declarations", {"scope": "org", "status": "pending", "name": "陈"})
    assert [r[0] for r in rows[1:]] == ["陈诗慧"]
    rows, _ = export(client, h, "declarations", {"scope": "org"})
    assert sorted(r[0] for r in rows[1:]) == ["刘文斌", "陈诗慧"]


def test_reviewed_and_inbox_exports_follow_the_reviewer(client, declaration):
    first = declare("chenshihui", declaration)
    declare("liuwenbin", declaration)
    declare("wangliping", declaration)
    decide(first, "hospital_admin", "return", "=请补充证书")
    h = api_token(client, "hospital_admin")
    rows, _ = export(client, h, "reviewed")
    head = rows[0]
    assert head == ("申请人", "公民身份号码", "业务", "环节", "审核结果", "审核意见", "审核人", "审核机构", "审核时间")
    assert len(rows) == 2
    row = dict(zip(head, rows[1], strict=True))
    assert (row["申请人"], row["公民身份号码"], row["审核结果"], row["审核意见"]) == (
        "陈诗慧",
        CHEN,
        "不同意并退案",
        "'=请补充证书",
    )
    assert row["审核机构"] == "市第一人民医院" and row["审核时间"] is not None
    # the inbox: the hospital's open task (liuwenbin's); chenshihui's case went back to her
    rows, _ = export(client, h, "inbox")
    assert rows[0][:5] == ("申请人", "公民身份号码", "业务", "环节", "审核机构")
    assert [(r[0], r[1], r[4]) for r in rows[1:]] == [("刘文斌", "321101198110166954", "市第一人民医院")]
    rows, _ = export(client, h, "inbox", {"q": "王"})
    assert rows[1:] == []
    # another reviewer sees only their own
    rows, _ = export(client, api_token(client, "tech_admin"), "inbox")
    assert [r[0] for r in rows[1:]] == ["王立平"]
    rows, _ = export(client, api_token(client, "tech_admin"), "reviewed")
    assert rows[1:] == []


def test_review_lists_are_for_reviewers_only(client):
    h = api_token(client, "chenshihui")
    for kind in ("reviewed", "inbox"):
        r = client.post("/api/v1/exports", json={"kind": kind, "filters": {}}, headers=h)
        assert r.status_code == 404, kind
    r = client.post("/api/v1/exports", json={"kind": "nope", "filters": {}}, headers=h)
    assert r.status_code == 422 and "declarations" in r.json["error"]["fields"]["kind"]


def test_progress_is_committed_apart_from_the_streamed_rows(client, declaration, monkeypatch):
    """A long export records its progress now and then while its rows stream from one open query."""
    monkeypatch.setattr(exports, "PROGRESS_EVERY", 1)
    for login in ("chenshihui", "liuwenbin"):
        declare(login, declaration)
    rows, _ = export(client, api_token(client, "hospital_admin"), "declarations", {"scope": "org"})
    assert len(rows) == 3


def test_export_buttons_on_the_pages(client, web, declaration):
    declare("chenshihui", declaration)
    web.login("hospital_admin")
    for url, kind in (
        ("/credit-records?scope=org", "declarations"),
        ("/tasks/reviewed", "reviewed"),
        ("/tasks", "inbox"),
    ):
        page = client.get(url).get_data(as_text=True)
        assert f'action="/exports/{kind}"' in page, url
    r = web.post_form("/credit-records?scope=org", {"scope": "org", "status": "all"}, post_url="/exports/declarations")
    assert r.status_code == 302 and r.location.endswith("/jobs")
    other = client.application.test_client()
    WebClient(other).login("chenshihui")
    assert 'action="/exports/declarations"' in other.get("/credit-records").get_data(as_text=True)
    assert 'action="/exports/inbox"' not in other.get("/tasks").get_data(as_text=True)
