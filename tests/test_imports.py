"""The import and export centres (issue 15 items 4-5) with awkward real-world files."""

from __future__ import annotations

import io
import os
import zipfile

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.accounts.models import Membership, Organisation, Role, User
from app.accounts.services import hash_password
from app.extensions import db
from app.imports import registry
from app.imports import services as imports
from app.imports.models import ImportJob, ImportRow
from app.people.models import Person
from app.taskcentre import services as jobs
from app.taskcentre.models import BackgroundJob
from tests.conftest import api_token

_W, _C = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), "10X98765432"


def id_number(n: int, born: str = "19900101") -> str:
    """A valid ID number (Fuzhou, Gulou district) with sequence ``n``."""
    base = f"350102{born}{n:03d}"
    return base + _C[sum(int(c) * w for c, w in zip(base, _W, strict=True)) % 11]


def headers() -> list[str]:
    return [c.header for c in registry.get("personnel").columns]


def row(name: str, idn, **extra) -> list:
    values = {"姓名": name, "公民身份号码": idn, "性别": "男", "最高学历": "大学本科", "职称级别": "中级",
              "参加工作时间": "2015-08-01", **extra}
    return [values.get(h) for h in headers()]


def xlsx(rows: list[list], *, head: list[str] | None = None, title: bool = False) -> bytes:
    wb = Workbook()
    ws = wb.active
    if title:  # a title row merged across the sheet above the headers
        ws.append(["人员信息导入表"])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers()))
    ws.append(head or headers())
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def upload(client, h, data: bytes, name: str = "people.xlsx", **form):
    # encoded in memory: the test client would spool a large body to a temporary file it never closes
    boundary, body = encode_multipart(
        {"kind": "personnel", "file": FileStorage(io.BytesIO(data), filename=name), **form})
    return client.post("/api/v1/imports", headers=h, data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def download(client, h, url: str) -> bytes:
    r = client.get(url, headers=h, buffered=True)  # the file sent is read and closed
    assert r.status_code == 200, url
    data = r.data
    r.close()
    return data


def sheet_of(client, h, url: str) -> list[tuple]:
    return list(load_workbook(io.BytesIO(download(client, h, url))).active.iter_rows(values_only=True))


def hospital_id() -> int:
    return db.session.scalar(select(Organisation.id).where(Organisation.name == "市第一人民医院"))


def test_template_has_headers_example_dropdowns_and_text_id_column(client):
    h = api_token(client, "hospital_admin")
    r = client.get("/api/v1/imports/templates/personnel", headers=h, buffered=True)
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    ws = load_workbook(io.BytesIO(r.data)).active
    assert [c.value for c in ws[1]] == headers()
    col = headers().index("公民身份号码") + 1
    assert ws.cell(row=2, column=col).value == "110105198506151236"
    assert ws.cell(row=2, column=col).number_format == "@"
    # the whole column is text (a column style), and the sheet holds only the header and the example: an import
    # of it does not count thousands of formatted empty rows
    assert ws.column_dimensions[get_column_letter(col)].number_format == "@"
    assert ws.max_row == 2
    lists = {dv.formula1 for dv in ws.data_validations.dataValidation}
    assert '"男,女"' in lists and any("副高级" in f for f in lists) and any("大学本科" in f for f in lists)
    assert client.get("/api/v1/imports/templates/nothing", headers=h).status_code == 404
    # the template itself imports as nothing (its example row is skipped)
    r = upload(client, h, r.data, "template.xlsx")
    assert r.status_code == 202, r.json
    assert client.get(f"/api/v1/imports/{r.json['id']}", headers=h).json["total"] == 0


def test_five_percent_bad_rows_valid_ones_kept_failure_file_reimports(client):
    h = api_token(client, "hospital_admin")
    rows = [row(f"员工{i}", id_number(i)) for i in range(1, 20)]
    rows.append(row("坏行", id_number(20)[:17] + ("0" if id_number(20)[17] != "0" else "1")))  # wrong check digit
    r = upload(client, h, xlsx(rows))
    assert r.status_code == 202 and set(r.json) == {"id", "state"}
    body = client.get(f"/api/v1/imports/{r.json['id']}", headers=h).json
    assert {k: body[k] for k in ("kind", "state", "total", "succeeded", "failed")} == {
        "kind": "personnel", "state": "done", "total": 20, "succeeded": 19, "failed": 1}
    assert db.session.scalar(select(func.count()).select_from(Person).where(
        Person.unit_id == hospital_id(), Person.name.like("员工%"))) == 19
    failed = sheet_of(client, h, body["failure_file_url"])
    assert failed[0] == (*headers(), "失败原因")
    assert len(failed) == 2 and failed[1][0] == "坏行" and "校验位" in failed[1][-1]
    assert len(sheet_of(client, h, body["success_file_url"])) == 20  # header + 19
    # corrected, the failure file imports again (its reason column is ignored)
    wb = load_workbook(io.BytesIO(download(client, h, body["failure_file_url"])))
    wb.active.cell(row=2, column=2).value = id_number(20)
    buf = io.BytesIO()
    wb.save(buf)
    again = client.get(f"/api/v1/imports/{upload(client, h, buf.getvalue()).json['id']}", headers=h).json
    assert (again["succeeded"], again["failed"], again["failure_file_url"]) == (1, 0, None)


def test_id_numbers_typed_as_numbers_formulas_and_duplicates_have_row_reasons(client):
    h = api_token(client, "hospital_admin")
    rows = [row("数字身份证", float(id_number(1)[:17] + "0")),  # Excel kept 15 significant digits
            row("=HYPERLINK(\"http://evil\",\"点我\")", id_number(2)),
            row("好人", id_number(3), 出生日期="1990-01-02"),
            row("重复甲", id_number(4)), row("重复乙", id_number(4)),
            row("好人二", id_number(5), 手机号码=13912345678)]
    body = client.get(f"/api/v1/imports/{upload(client, h, xlsx(rows)).json['id']}", headers=h).json
    assert (body["succeeded"], body["failed"]) == (2, 4)
    failed = {r[0]: r[-1] for r in sheet_of(client, h, body["failure_file_url"])[1:]}
    assert "存成了数字" in failed["数字身份证"]
    assert "不一致" in failed["好人"]
    assert "与第5行重复" in failed["重复乙"]
    injected = next(k for k in failed if "HYPERLINK" in k)
    assert injected.startswith("'=") and "公式" in failed[injected]  # written as text, not a formula
    raw = zipfile.ZipFile(io.BytesIO(download(client, h, body["failure_file_url"])))
    assert b"<f>" not in raw.read("xl/worksheets/sheet1.xml")
    id_cell = load_workbook(io.BytesIO(download(client, h, body["success_file_url"]))).active.cell(2, 2)
    assert id_cell.data_type == "s" and id_cell.value == id_number(4)


def test_merged_title_row_above_the_headers_is_read(client):
    h = api_token(client, "hospital_admin")
    r = upload(client, h, xlsx([row("合并表头", id_number(7))], title=True))
    body = client.get(f"/api/v1/imports/{r.json['id']}", headers=h).json
    assert (body["succeeded"], body["failed"]) == (1, 0)
    # headers merged into one cell lose their names: a clear refusal naming the missing columns
    head = headers()
    head[1] = None
    r = upload(client, h, xlsx([row("x", id_number(8))], head=head))
    assert r.status_code == 422 and "公民身份号码" in r.json["error"]["fields"]["file"]


@pytest.mark.parametrize(("data", "name", "why"), [
    (bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 2000, "people.xls", ".xls"),
    (bytes.fromhex("d0cf11e0a1b11ae1") + b"\0" * 2000, "people.xlsx", ".xls"),
    (os.urandom(5 * 1024 * 1024), "junk.xlsx", "不是有效的 .xlsx"),
    (b"name,id\n", "people.csv", ".xlsx"),
])
def test_unreadable_files_are_refused_with_a_reason(client, data, name, why):
    h = api_token(client, "hospital_admin")
    r = upload(client, h, data, name)
    assert r.status_code == 422 and why in r.json["error"]["fields"]["file"]
    assert db.session.scalar(select(func.count()).select_from(ImportJob)) == 0  # nothing half-written


def test_wrong_template_is_refused(client):
    h = api_token(client, "hospital_admin")
    r = upload(client, h, xlsx([["课程A", "2026"]], head=["课程名称", "年度"]))
    assert r.status_code == 422 and "缺少列" in r.json["error"]["fields"]["file"]


def test_a_retried_import_applies_every_row_exactly_once(client, monkeypatch):
    """A worker killed after two batches: the retry skips the rows already recorded."""
    _killed_and_retried(client, monkeypatch)


def test_a_retried_import_applies_every_row_exactly_once_on_postgresql(pg_app, monkeypatch):
    _killed_and_retried(pg_app.test_client(), monkeypatch)


def _killed_and_retried(client, monkeypatch) -> None:  # noqa: ANN001
    h = api_token(client, "hospital_admin")
    monkeypatch.setattr(imports, "BATCH", 10)
    kind = registry.get("personnel")
    calls = {"n": 0}
    real_apply = kind.apply

    def dying(batch):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # like SIGKILL: the third batch never commits
        return real_apply(batch)

    monkeypatch.setattr(imports, "send", lambda job: None)  # queued, not run: the "worker" runs it below
    r = upload(client, h, xlsx([row(f"批{i}", id_number(i)) for i in range(1, 36)]))
    assert client.get(f"/api/v1/imports/{r.json['id']}", headers=h).json["state"] == "queued"
    imp = db.session.get(ImportJob, r.json["id"])
    job = db.session.get(BackgroundJob, imp.job_id)
    object.__setattr__(kind, "apply", dying)
    try:
        with pytest.raises(KeyboardInterrupt):
            imports.run_import(job.id, job.attempts)
    finally:
        object.__setattr__(kind, "apply", real_apply)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ImportRow)) == 20
    job = db.session.get(BackgroundJob, imp.job_id)
    jobs.next_attempt(job)  # what the reconciler does for a lost job
    db.session.commit()
    jobs.send(job)
    body = client.get(f"/api/v1/imports/{imp.id}", headers=h).json
    assert (body["state"], body["total"], body["succeeded"]) == ("done", 35, 35)
    counts = db.session.execute(select(Person.id_number, func.count()).where(Person.name.like("批%"))
                                .group_by(Person.id_number)).all()
    assert len(counts) == 35 and {n for _i, n in counts} == {1}


def test_imports_and_exports_stay_in_scope(client):
    h = api_token(client, "hospital_admin")
    imp = upload(client, h, xlsx([row("范围", id_number(9))])).json["id"]
    user = User(login="no_people", name="no_people", password_hash=hash_password("Demo12345"))
    db.session.add(user)
    db.session.flush()
    db.session.add(Membership(user_id=user.id, organisation_id=hospital_id(), role=Role.SUB_ADMIN,
                              permissions=["credit_review"]))
    db.session.commit()
    for who in ("tech_admin", "no_people"):
        o = api_token(client, who)
        for url in (f"/api/v1/imports/{imp}", f"/api/v1/imports/{imp}/success-file"):
            assert client.get(url, headers=o).status_code == 404, (who, url)
        r = upload(client, o, xlsx([row("越权", id_number(10))]), unit_id=str(hospital_id()))
        assert r.status_code == 404, who
    o = api_token(client, "no_people")
    assert client.get("/api/v1/imports/templates/personnel", headers=o).status_code == 404
    assert client.post("/api/v1/exports", json={"kind": "people", "filters": {}}, headers=o).status_code == 404
    # the tech company's admin cannot import into the hospital
    r = upload(client, api_token(client, "tech_admin"), xlsx([row("越权", id_number(10))]),
               unit_id=str(hospital_id()))
    assert r.status_code == 404
    assert db.session.scalar(select(Person).where(Person.name == "越权")) is None


def test_export_people_neutralises_cells_and_keeps_id_numbers_text(client):
    h = api_token(client, "hospital_admin")
    chen = db.session.scalar(select(Person).where(Person.name == "陈诗慧"))
    chen.address = "=1+2"
    chen.native_place = "-cmd"
    db.session.commit()
    r = client.post("/api/v1/exports", json={"kind": "people", "filters": {"title_level": "中级"}}, headers=h)
    assert r.status_code == 202
    body = client.get(f"/api/v1/exports/{r.json['id']}", headers=h).json
    assert body["state"] == "done"
    data = download(client, h, body["file_url"])
    rows = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    head = rows[0]
    assert len(rows) == 2 and rows[1][head.index("姓名")] == "陈诗慧"
    assert rows[1][head.index("公民身份号码")] == "110101199003072711"
    assert rows[1][head.index("通讯地址")] == "'=1+2" and rows[1][head.index("籍贯")] == "'-cmd"
    assert b"<f>" not in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml")
    # another user cannot read it
    assert client.get(f"/api/v1/exports/{r.json['id']}", headers=api_token(client, "tech_admin")).status_code == 404
    # the archive search, for a year
    r = client.post("/api/v1/exports", json={"kind": "archive", "filters": {}}, headers=h)
    assert r.status_code == 422
    r = client.post("/api/v1/exports", json={"kind": "archive", "filters": {"year": 2026}}, headers=h)
    body = client.get(f"/api/v1/exports/{r.json['id']}", headers=h).json
    rows = list(load_workbook(io.BytesIO(download(client, h, body["file_url"]))).active.iter_rows(
        values_only=True))
    assert {r[0] for r in rows[1:]} == {"陈诗慧", "刘文斌"}


def test_import_page_upload_progress_and_files(client, web):
    web.login("hospital_admin")
    page = client.get("/imports?kind=personnel").get_data(as_text=True)
    assert "下载导入模板" in page and "还没有导入记录" in page
    r = web.post_form("/imports?kind=personnel", {"kind": "personnel", "unit_id": hospital_id(),
                                                   "file": (io.BytesIO(b"junk"), "a.xls")},
                      post_url="/imports", content_type="multipart/form-data")
    assert r.status_code == 422 and "不支持旧版 .xls 格式" in r.get_data(as_text=True)
    r = web.post_form("/imports?kind=personnel", {"kind": "personnel", "unit_id": hospital_id(),
                                                   "file": (io.BytesIO(xlsx([row("网页", id_number(11)),
                                                                             row("", id_number(12))])), "a.xlsx")},
                      post_url="/imports", content_type="multipart/form-data")
    assert r.status_code == 302
    page = client.get("/imports?kind=personnel").get_data(as_text=True)
    assert "失败记录" in page and "成功记录" in page
    imp = db.session.scalar(select(ImportJob))
    assert client.get(f"/imports/{imp.id}/failure-file", buffered=True).status_code == 200
    assert client.get("/imports/templates/personnel", buffered=True).status_code == 200
    r = web.post_form("/people", {"name": "陈"}, post_url="/exports/people")
    assert r.status_code == 302 and r.location.endswith("/jobs")
    assert "Imports" in client.get("/imports?kind=personnel&lang=en").get_data(as_text=True)


def test_a_sheet_corrupted_half_way_fails_the_job_with_a_reason_and_writes_nothing(client):
    h = api_token(client, "hospital_admin")
    good = xlsx([row("损坏前", id_number(31)), row("损坏处", id_number(32))])
    src, out = zipfile.ZipFile(io.BytesIO(good)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":  # an entity nobody declared, in the third row
                data = data.replace(b'<row r="3"', b'&undeclared;<row r="3"')
            dst.writestr(item, data)
    r = upload(client, h, out.getvalue())
    assert r.status_code == 202
    body = client.get(f"/api/v1/imports/{r.json['id']}", headers=h).json
    assert body["state"] == "failed" and "已损坏" in body["error"] and "第2行之后" in body["error"]
    assert db.session.scalar(select(func.count()).select_from(Person).where(Person.name == "损坏前")) == 0
