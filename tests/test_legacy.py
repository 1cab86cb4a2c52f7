"""Legacy data (历史数据, issue 16 item 3): loading a dataset (CLI, idempotent), claiming an old unit directly,
by 方案一 (old name and code) or 方案二 (three people), the records in the archive marked as legacy, legacy
certificates printed with their legacy number, and that a claim cannot take people a unit already claimed."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import Workbook
from pypdf import PdfReader
from sqlalchemy import func, select

from app.archive.models import CreditRecord
from app.archive.services import archive_for
from app.core.errors import InvalidState, NotFound, ValidationFailed
from app.extensions import db
from app.legacy import services
from app.legacy.cli import DEMO_FILE
from app.legacy.loader import load
from app.legacy.models import LegacyCertificate, LegacyPerson, LegacyRecord, LegacyUnit
from app.people.models import Person
from tests.conftest import api_token

CHEN = "110101199003072711"
LIU = "321101198110166954"
HUANG = "35010219850715002X"
ZHENG = "350103197912030031"
WANG = "440102198001010013"
THREE = [
    {"name": "陈诗慧", "id_number": CHEN},
    {"name": "刘文斌", "id_number": LIU},
    {"name": "黄丽娟", "id_number": HUANG},
]


@pytest.fixture
def legacy(app):
    result = load(DEMO_FILE)
    db.session.commit()
    return result


def _person(id_number: str) -> Person | None:
    return db.session.scalar(select(Person).where(Person.id_number == id_number))


def _pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_demo_sample_loads_once(legacy) -> None:
    assert not legacy.errors
    assert (legacy.units, legacy.people, legacy.certificates) == (3, 9, 10)
    again = load(DEMO_FILE)
    assert (again.units, again.people, again.records, again.certificates, again.errors) == (0, 0, 0, 0, [])
    assert db.session.scalar(select(func.count()).select_from(LegacyRecord)) == legacy.records == 20


def test_the_cli_imports_a_file_reporting_refused_rows(app, tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(
        ["旧系统单位名称", "旧系统单位代码", "姓名", "公民身份号码", "年度", "科目类别", "课程名称", "学时", "证书编号"]
    )
    ws.append(["旧单位", "OLD1", "陈诗慧", CHEN, 2016, "专业科目", "课程一", 30, "OLDCERT1"])
    ws.append(["旧单位", "OLD1", "刘文斌", 321101198110166954, 2016, "专业科目", "课程一", 30, None])  # a number
    ws.append(["旧单位", "OLD1", "刘文斌", LIU, 2019, "专业科目", "课程一", 30, None])  # after 2017
    ws.append(["旧单位", "OLD1", "刘文斌", LIU, 2016, "其他", "课程一", 30, None])
    ws.append(["旧单位", "OLD1", "别人", CHEN, 2016, "专业科目", "课程二", 30, None])  # another name
    ws.append(["旧单位", "OLD1", "刘文斌", LIU, 2016, "公需科目", "课程二", 12, "OLDCERT1"])  # number taken
    path = tmp_path / "old.xlsx"
    wb.save(path)
    result = app.test_cli_runner().invoke(args=["legacy-import", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 new records" in result.output
    for row in (3, 4, 5, 6, 7):
        assert f"row {row}:" in result.output
    assert db.session.scalar(select(func.count()).select_from(LegacyCertificate)) == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    assert app.test_cli_runner().invoke(args=["legacy-import", str(bad)]).exit_code == 2


def test_a_claim_with_wrong_codes_fails_then_three_people_claim_it(legacy, as_user) -> None:
    hospital = as_user("hospital_admin")
    with pytest.raises(ValidationFailed):  # the hospital's own name is not the old one
        services.claim(hospital, None, "direct", {})
    with pytest.raises(ValidationFailed) as exc:  # 方案一 with a wrong code
        services.claim(hospital, None, "unit_code", {"old_unit_name": "福州市第一医院", "old_unit_code": "FZ9999"})
    assert "old_unit_code" in exc.value.fields
    with pytest.raises(ValidationFailed):  # 方案二 with one wrong ID number
        services.claim(hospital, None, "people", {"people": [*THREE[:2], {"name": "黄丽娟", "id_number": ZHENG}]})
    with pytest.raises(ValidationFailed):  # the same person three times
        services.claim(hospital, None, "people", {"people": [THREE[0]] * 3})
    assert db.session.scalar(select(func.count()).select_from(CreditRecord).where(CreditRecord.source == "legacy")) == 0
    result = services.claim(hospital, None, "people", {"people": THREE})
    db.session.commit()
    assert result.legacy_unit.code == "FZ0001" and result.legacy_unit.claim_method == "people"
    assert {p.name for p in result.joined} == {"陈诗慧", "刘文斌", "黄丽娟", "郑国强"} and not result.elsewhere
    assert result.records == 12
    assert _person(HUANG).unit.name == "市第一人民医院" and _person(HUANG).gender == "女"
    # claimed people's records from 2017 and earlier are in the archive, marked as legacy
    summary = archive_for(hospital, CHEN, 2017)
    assert sorted((r.source, r.source_label, float(r.recognised_hours)) for r in summary.records) == [
        ("legacy", "历史数据", 6.0),
        ("legacy", "历史数据", 24.0),
        ("legacy", "历史数据", 60.0),
    ]
    assert float(summary.hours["total"]) == 90 and summary.verified


def test_method_one_and_the_direct_claim(legacy, as_user) -> None:
    result = services.claim(
        as_user("hospital_admin"), None, "unit_code", {"old_unit_name": "福州市第一医院", "old_unit_code": "fz0001"}
    )
    assert result.legacy_unit.code == "FZ0001"
    # the tech company's name and the organisation code inside its USCC are the old unit's
    result = services.claim(as_user("tech_admin"), None, "direct", {})
    db.session.commit()
    assert result.legacy_unit.code == "MA9G8NFR0" and result.records == 4
    assert _person("350104198806210056").unit.name == "福州智造科技有限公司"


def test_a_claim_cannot_take_people_from_a_unit_that_already_claimed_them(legacy, as_user) -> None:
    services.claim(as_user("hospital_admin"), None, "people", {"people": THREE})
    db.session.commit()
    tech = as_user("tech_admin")
    with pytest.raises(InvalidState):
        services.claim(tech, None, "people", {"people": THREE})
    with pytest.raises(InvalidState):
        services.claim(tech, None, "unit_code", {"old_unit_name": "福州市第一医院", "old_unit_code": "FZ0001"})
    db.session.rollback()
    assert _person(HUANG).unit.name == "市第一人民医院"
    with pytest.raises(InvalidState):  # nor twice by the same unit
        services.claim(as_user("hospital_admin"), None, "people", {"people": THREE})


def test_people_employed_elsewhere_stay_there(app, as_user, tmp_path: Path) -> None:
    """王立平 works at the tech company; an old unit listing him is claimed by the hospital: he stays, and his
    old records join his own archive."""
    path = tmp_path / "old.csv"
    path.write_text(
        "旧系统单位名称,旧系统单位代码,姓名,公民身份号码,年度,科目类别,课程名称,学时,证书编号\n"
        f"老医院,LY01,王立平,{WANG},2015,专业科目,旧课程,40,LYC1\n"
        f"老医院,LY01,陈诗慧,{CHEN},2015,专业科目,旧课程,40,LYC2\n",
        encoding="utf-8",
    )
    load(path)
    result = services.claim(
        as_user("hospital_admin"), None, "unit_code", {"old_unit_name": "老医院", "old_unit_code": "LY01"}
    )
    db.session.commit()
    assert [p.name for p in result.elsewhere] == ["王立平"] and _person(WANG).unit.name == "福州智造科技有限公司"
    assert [r.source for r in archive_for(as_user("tech_admin"), WANG, 2015).records] == ["legacy"]
    with pytest.raises(NotFound):  # the hospital does not see him, nor his legacy certificate
        services.certificate(as_user("hospital_admin"), "LYC1")
    assert services.certificate(as_user("tech_admin"), "LYC1").person.name == "王立平"


def test_a_legacy_certificate_prints_with_its_legacy_number(legacy, as_user, client) -> None:
    services.claim(as_user("hospital_admin"), None, "people", {"people": THREE})
    db.session.commit()
    rows, total = services.certificates(as_user("hospital_admin"))
    assert total == 5 and {r.number for r in rows} >= {"GD2017000101", "GD2016000101"}
    row = services.certificate(as_user("hospital_admin"), "GD2017000101")
    assert (row.year, float(row.hours["total"]), float(row.hours["professional"])) == (2017, 90.0, 60.0)
    headers = api_token(client, "hospital_admin")
    r = client.get("/api/v1/legacy/certificates/GD2017000101/pdf", headers=headers)
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = _pdf_text(r.data)
    for printed in ("GD2017000101", "陈诗慧", "福州市第一医院", "历史证书", "原系统已发证"):
        assert printed in text
    found = client.get("/api/v1/legacy/certificates?q=GD2016000101", headers=headers).get_json()
    assert found["total"] == 1 and found["items"][0]["hours"]["total"] == 90.0
    # the person prints their own; another unit, or a certificate not yet claimed, answers 404
    assert (
        client.get("/api/v1/legacy/certificates/GD2017000101/pdf", headers=api_token(client, "chenshihui")).status_code
        == 200
    )
    tech = api_token(client, "tech_admin")
    assert client.get("/api/v1/legacy/certificates/GD2017000101/pdf", headers=tech).status_code == 404
    assert client.get("/api/v1/legacy/certificates/GD2017000201/pdf", headers=tech).status_code == 404
    assert client.get("/api/v1/legacy/certificates", headers=tech).get_json() == {"items": [], "total": 0}


def test_the_claim_page_and_api(legacy, web, client) -> None:
    web.login("hospital_admin")
    page = web.client.get("/legacy/claim").get_data(as_text=True)
    assert "方案一" in page and "方案二" in page
    r = web.post_form(
        "/legacy/claim", {"method": "unit_code", "old_unit_name": "福州市第一医院", "old_unit_code": "WRONG"}
    )
    assert r.status_code == 422 and "未找到与之对应的旧系统单位" in r.get_data(as_text=True)
    form = {"method": "people"}
    for i, p in enumerate(THREE):
        form[f"people.{i}.name"], form[f"people.{i}.id_number"] = p["name"], p["id_number"]
    r = web.post_form("/legacy/claim", form)
    assert r.status_code == 302
    page = web.client.get("/legacy/claim").get_data(as_text=True)
    assert "FZ0001" in page and "方案二：三名旧系统学员" in page
    page = web.client.get("/legacy/certificates?q=黄丽娟").get_data(as_text=True)
    assert "GD2017000103" in page
    r = web.client.get("/legacy/certificates/GD2017000103/pdf")
    assert r.status_code == 200 and "GD2017000103" in _pdf_text(r.data)
    archive = web.client.get(f"/archive?person_id_number={CHEN}&year=2016").get_data(as_text=True)
    assert "历史数据" in archive
    # through the API: the tech company claims directly; the hospital's claim again is a conflict
    r = client.post("/api/v1/legacy/claims", json={"method": "direct"}, headers=api_token(client, "tech_admin"))
    assert r.status_code == 201 and r.get_json()["legacy_unit"]["code"] == "MA9G8NFR0"
    r = client.post(
        "/api/v1/legacy/claims", json={"method": "people", "people": THREE}, headers=api_token(client, "hospital_admin")
    )
    assert r.status_code == 409
    r = client.post("/api/v1/legacy/claims", json={"method": "unit_code"}, headers=api_token(client, "hospital_admin"))
    assert r.status_code == 422
    assert [
        c["code"] for c in client.get("/api/v1/legacy/claims", headers=api_token(client, "hr_city")).get_json()
    ] == ["MA9G8NFR0", "FZ0001"]
    # a professional has no claim page
    web.client.post("/logout", data={"csrf_token": web.csrf("/applications")})
    web.login("chenshihui")
    assert web.client.get("/legacy/claim").status_code == 404


def test_records_loaded_after_a_claim_go_into_the_archive(legacy, as_user, tmp_path: Path) -> None:
    services.claim(as_user("hospital_admin"), None, "people", {"people": THREE})
    db.session.commit()
    path = tmp_path / "more.csv"
    path.write_text(
        "旧系统单位名称,旧系统单位代码,姓名,公民身份号码,年度,科目类别,课程名称,学时,证书编号\n"
        f"福州市第一医院,FZ0001,刘文斌,{LIU},2015,公需科目,补录课程,20,\n",
        encoding="utf-8",
    )
    load(path)
    db.session.commit()
    assert [float(r.recognised_hours) for r in archive_for(as_user("hospital_admin"), LIU, 2015).records] == [20.0]
    lp = db.session.scalar(select(LegacyPerson).where(LegacyPerson.id_number == LIU))
    assert lp.person_id == _person(LIU).id and db.session.get(LegacyUnit, lp.legacy_unit_id).code == "FZ0001"


def test_seed_demo_loads_the_legacy_sample_once(app) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0 and "demo legacy data: 42 new rows" in first.output
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0 and "demo legacy data" not in again.output
    assert db.session.scalar(select(func.count()).select_from(LegacyUnit)) == 3


def test_claim_and_certificates_on_postgresql(pg_app, as_user) -> None:
    load(DEMO_FILE)
    db.session.commit()
    hospital = as_user("hospital_admin")
    with pytest.raises(ValidationFailed):
        services.claim(hospital, None, "unit_code", {"old_unit_name": "福州市第一医院", "old_unit_code": "NOPE"})
    result = services.claim(hospital, None, "people", {"people": THREE})
    db.session.commit()
    assert result.records == 12 and len(result.joined) == 4
    with pytest.raises(InvalidState):
        services.claim(as_user("tech_admin"), None, "people", {"people": THREE})
    db.session.rollback()
    rows, total = services.certificates(hospital, "GD2017")
    assert total == 2 and {float(r.hours["total"]) for r in rows} == {90.0}
    assert archive_for(hospital, CHEN, 2017).verified


def test_two_units_claiming_one_old_unit_at_once_yield_one_claim(pg_app) -> None:
    import threading

    load(DEMO_FILE)
    db.session.commit()
    client = pg_app.test_client()
    tokens = [api_token(client, "hospital_admin"), api_token(client, "tech_admin")]
    db.session.remove()
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def press(headers: dict) -> None:
        with pg_app.app_context():
            c = pg_app.test_client()
            barrier.wait()
            r = c.post(
                "/api/v1/legacy/claims",
                headers=headers,
                json={"method": "unit_code", "old_unit_name": "福州市第一医院", "old_unit_code": "FZ0001"},
            )
            answers.append(r.status_code)
            db.session.remove()

    threads = [threading.Thread(target=press, args=(h,)) for h in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [201, 409]
    unit = db.session.scalar(select(LegacyUnit).where(LegacyUnit.code == "FZ0001"))
    assert unit.claimed_by_org_id is not None
    assert _person(HUANG).unit_id == unit.claimed_by_org_id  # the one claim took her
    assert {_person(CHEN).unit.name, _person(LIU).unit.name} == {"市第一人民医院"}  # they stay where they work


def test_the_legacy_records_query(legacy, web, client, as_user) -> None:
    services.claim(as_user("hospital_admin"), None, "people", {"people": THREE})
    db.session.commit()
    rows, total = services.records(as_user("hr_city"), year=2017)
    assert total == 6 and {r.person.name for r in rows} == {"陈诗慧", "刘文斌", "黄丽娟"}
    assert services.records(as_user("tech_admin"))[1] == 0
    assert services.records(as_user("chenshihui"))[1] == 5  # her own
    body = client.get("/api/v1/legacy/records?q=郑国强", headers=api_token(client, "hospital_admin")).get_json()
    assert body["total"] == 2 and {i["year"] for i in body["items"]} == {2015}
    web.login("hospital_admin")
    page = web.client.get("/legacy/records?year=2016").get_data(as_text=True)
    assert "临床护理新进展" in page and "医学影像诊断" not in page


def test_the_public_check_knows_the_old_systems_certificate_numbers(legacy, client) -> None:
    """An employer typing the number of a certificate the old system printed is told it is genuine history data,
    not that it was never issued, claimed or not. Its numbers run in sequence, so name and hours are answered only
    to someone who also gives the holder's full name as printed (never the employer)."""
    body = client.get("/api/v1/certificates/gd2017000101/verify").get_json()
    assert (body["status"], body["number"], body["year"]) == ("legacy", "GD2017000101", 2017)
    assert body["name_matches"] is None
    assert body["name"] is None and body["total_hours"] is None and body["issuer"] == "原继续教育管理系统"
    body = client.get("/api/v1/certificates/GD2017000101/verify?name=陈诗慧").get_json()
    assert (body["name"], body["total_hours"], body["name_matches"]) == ("陈*慧", 90.0, True)
    wrong = client.get("/api/v1/certificates/GD2017000101/verify?name=陈诗").get_json()
    assert (wrong["name"], wrong["total_hours"], wrong["name_matches"]) == (None, None, False)
    page = client.get("/certificates/verify?number=GD2017000101&name=陈诗慧", follow_redirects=True)
    page = page.get_data(as_text=True)
    assert "历史证书" in page and "陈*慧" in page and "90" in page and "福州市第一医院" not in page
    bare = client.get("/certificates/verify/GD2017000101").get_data(as_text=True)
    assert "历史证书" in bare and "陈*慧" not in bare and "请填写证书上的持证人姓名" in bare
    english = client.get("/certificates/verify/GD2017000101?lang=en").get_data(as_text=True)
    assert "Certificate from the old system" in english
    assert client.get("/api/v1/certificates/GD2017999999/verify").get_json()["status"] == "not_found"
