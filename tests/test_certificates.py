"""E-certificates (继续教育证书): PDF content, issue/reissue/verify, scope, batch jobs and the task centre."""

from __future__ import annotations

import io
import os
import re
import uuid
import zipfile
from decimal import Decimal
from itertools import count

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select, text

from app.archive.models import CreditRecord
from app.certificates import batch
from app.certificates.models import Certificate
from app.extensions import db
from app.people.models import Person
from app.taskcentre.models import BackgroundJob
from tests.conftest import IN_CI, api_token

CHEN = "110101199003072711"  # 陈诗慧, 市第一人民医院 (under 市卫健委 → 市人社局)
LIU = "321101198110166954"  # 刘文斌, same hospital
WANG = "440102198001010013"  # 王立平, 福州智造科技 (under 区人社局)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
_ids = count(900000)


def give_hours(id_number: str, year: int = 2025, public: float = 24, professional: float = 66,
               elective: float = 0) -> Person:
    """Recognised hours as the approval chain records them (90 with 2/3 professional is a verified year)."""
    person = db.session.scalar(select(Person).where(Person.id_number == id_number))
    for subject, hours in (("public", public), ("professional", professional), ("elective", elective)):
        if hours:
            db.session.add(CreditRecord(
                person_id=person.id, year=year, subject_type=subject, course_name=f"{subject}课程",
                learning_form="online", declared_hours=Decimal(str(hours)), recognised_hours=Decimal(str(hours)),
                source="test", source_id=next(_ids)))
    db.session.commit()
    return person


@pytest.fixture(autouse=True)
def _jobs_dir(app, tmp_path):
    app.config["JOBS_DIR"] = str(tmp_path)
    yield
    app.config["JOBS_DIR"] = None


def fetch(client, url: str, headers: dict | None = None) -> bytes:
    with client.get(url.replace("http://localhost", ""), headers=headers) as r:
        assert r.status_code == 200, r.status_code
        return r.data


def pdf_text(data: bytes) -> str:
    assert data[:5] == b"%PDF-"
    reader = PdfReader(io.BytesIO(data))
    page = reader.pages[0]
    assert float(page.mediabox.width) > float(page.mediabox.height)  # A4 landscape
    fonts = {str(f.get_object()["/BaseFont"]) for f in page["/Resources"]["/Font"].values()}
    assert any(name.endswith("+NotoSansSC-Regular") for name in fonts), fonts  # embedded subset
    return "".join(p.extract_text() for p in reader.pages)


def issue(client, headers, year=2025, **body):
    return client.post("/api/v1/certificates", json={"year": year, **body}, headers=headers)


def test_certificate_pdf_shows_name_hours_number_and_issuer(client):
    give_hours(CHEN, public=24, professional=66.5, elective=4)
    headers = api_token(client, "hospital_admin")
    r = issue(client, headers, person_id_number=CHEN)
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert re.fullmatch(r"JX2025-[0-9A-Z]{4}-[0-9A-Z]{4}", body["number"])
    assert body["verify_url"].endswith(f"/certificates/verify/{body['number']}")

    pdf = client.get(body["pdf_url"].replace("http://localhost", ""), headers=headers)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data)
    for expected in ("专业技术人员继续教育证书", "陈诗慧", "1101**********2711", "市第一人民医院", "2025",
                     "24", "66.5", "94.5", "合格", body["number"], "市人力资源和社会保障局", "扫一扫查验真伪"):
        assert expected in text, expected
    assert CHEN not in text  # the ID number is masked
    assert body["verify_url"] in text  # printed under the QR code, which encodes the same address


def test_verify_genuine_then_revoked_after_reissue_and_not_found_for_forgery(client):
    give_hours(CHEN)
    headers = api_token(client, "hospital_admin")
    first = issue(client, headers, person_id_number=CHEN).get_json()["number"]

    ok = client.get(f"/api/v1/certificates/{first}/verify")  # no login
    assert ok.status_code == 200
    assert {k: ok.get_json()[k] for k in ("status", "name", "year", "total_hours")} == {
        "status": "genuine", "name": "陈*慧", "year": 2025, "total_hours": 90.0}

    second = issue(client, headers, person_id_number=CHEN).get_json()["number"]  # 重新生成证书
    assert second != first
    assert client.get(f"/api/v1/certificates/{first}/verify").get_json()["status"] == "revoked"
    assert client.get(f"/api/v1/certificates/{second}/verify").get_json()["status"] == "genuine"
    forged = client.get("/api/v1/certificates/JX2025-AAAA-BBBB/verify").get_json()
    assert forged["status"] == "not_found" and forged["name"] is None

    # The public page the QR code opens says the same, without logging in.
    page = client.get(f"/certificates/verify/{first}").get_data(as_text=True)
    assert "证书已作废" in page and "陈*慧" in page and "陈诗慧" not in page
    assert "证书真实有效" in client.get(f"/certificates/verify/{second.lower()}").get_data(as_text=True)
    assert "未查到该证书" in client.get("/certificates/verify/JX2025-AAAA-BBBB").get_data(as_text=True)
    assert "Revoked" in client.get(f"/certificates/verify/{first}?lang=en").get_data(as_text=True)
    # The revoked number cannot be downloaded any more; the new one can.
    assert client.get(f"/api/v1/certificates/{first}/pdf", headers=headers).status_code == 409
    assert client.get(f"/api/v1/certificates/{second}/pdf", headers=headers).status_code == 200


def test_an_unverified_year_cannot_be_printed(client):
    give_hours(CHEN, public=20, professional=30)  # 50 hours: not enough
    headers = api_token(client, "hospital_admin")
    r = issue(client, headers, person_id_number=CHEN)
    assert r.status_code == 409
    assert "未验证合格" in r.get_json()["error"]["message"]
    assert issue(client, headers, person_id_number=CHEN, year=2024).status_code == 409  # no hours at all
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 0


def test_certificates_are_scoped_like_everything_else(client):
    give_hours(CHEN)
    give_hours(WANG)
    assert issue(client, api_token(client, "tech_admin"), person_id_number=CHEN).status_code == 404
    assert issue(client, api_token(client, "hr_district"), person_id_number=CHEN).status_code == 404
    assert issue(client, api_token(client, "hr_district"), person_id_number=WANG).status_code == 201
    city = issue(client, api_token(client, "hr_city"), person_id_number=CHEN)
    assert city.status_code == 201
    number = city.get_json()["number"]
    # A person prints their own verified year, and nobody else's.
    own = api_token(client, "chenshihui")
    assert issue(client, own).status_code == 201
    assert issue(client, own, person_id_number=WANG).status_code == 404
    assert issue(client, api_token(client, "liuwenbin"), person_id_number=CHEN).status_code == 404
    # Downloads are scoped too; bad input is a field error.
    assert client.get(f"/api/v1/certificates/{number}/pdf", headers=api_token(client, "tech_admin")).status_code == 404
    assert client.get(f"/api/v1/certificates/{number}/pdf").status_code == 401
    bad = issue(client, own, year="soon")
    assert bad.status_code == 422 and "year" in bad.get_json()["error"]["fields"]


def test_web_pages_issue_download_and_verify(web, client):
    give_hours(CHEN)
    give_hours(CHEN, year=2024, public=10, professional=10)
    web.login("chenshihui")
    years = client.get("/certificates").get_data(as_text=True)
    row_2025 = years[years.index('id="year-2025"'):years.index('id="year-2024"')]
    row_2024 = years[years.index('id="year-2024"'):]
    assert "合格" in row_2025 and "生成证书" in row_2025
    assert "不合格" in row_2024 and "验证合格后可打印" in row_2024
    r = web.post_form("/certificates", {"year": "2025"})
    assert r.status_code == 303
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    number = db.session.scalar(select(Certificate.number))
    assert number in page and "已生成证书" in page and "重新生成证书" in page
    pdf = client.get(f"/certificates/{number}/pdf")
    assert pdf.mimetype == "application/pdf" and "陈诗慧" in pdf_text(pdf.data)
    not_verified = web.post_form("/certificates", {"year": "2024"})
    assert not_verified.status_code == 409 and "未验证合格" in not_verified.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": web.csrf("/certificates")})
    assert "证书真实有效" in client.get(f"/certificates/verify?number={number}", follow_redirects=True).get_data(
        as_text=True)


def _zip(data: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(data))


def test_batch_inline_builds_a_zip_and_lists_who_was_not_printed(client):
    give_hours(CHEN)
    give_hours(LIU, public=10, professional=10)  # not verified
    headers = api_token(client, "hospital_admin")
    r = client.post("/api/v1/certificates/batch", json={"year": 2025, "person_id_numbers": [CHEN, LIU]},
                    headers=headers)
    assert r.status_code == 202, r.get_json()
    job = r.get_json()
    assert job["status"] == "finished" and job["done"] == job["total"] == 2 and job["percent"] == 100
    assert "已生成1份证书" in job["message"]
    zf = _zip(fetch(client, job["download_url"], headers))
    pdfs = [n for n in zf.namelist() if n.endswith(".pdf")]
    assert len(pdfs) == 1 and "陈诗慧" in pdf_text(zf.read(pdfs[0]))
    missing = zf.read("未生成证书名单.csv").decode("utf-8-sig")
    assert "刘文斌" in missing and "未验证合格" in missing
    # The certificate printed in the batch is a real, verifiable one; a second batch reuses it.
    number = pdfs[0].split("_")[0]
    assert client.get(f"/api/v1/certificates/{number}/verify").get_json()["status"] == "genuine"
    again = client.post("/api/v1/certificates/batch", json={"year": 2025, "person_id_numbers": [CHEN]},
                        headers=headers).get_json()
    zf2 = _zip(fetch(client, again["download_url"], headers))
    assert [n.split("_")[0] for n in zf2.namelist()] == [number]
    # Only the owner sees the job.
    other = api_token(client, "health_admin")
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=other).status_code == 404
    assert client.get(f"/api/v1/jobs/{job['id']}/download", headers=other).status_code == 404


def test_batch_refuses_people_outside_the_scope(client):
    give_hours(CHEN)
    r = client.post("/api/v1/certificates/batch", json={"year": 2025, "person_id_numbers": [CHEN]},
                    headers=api_token(client, "tech_admin"))
    assert r.status_code == 404
    assert db.session.scalar(select(func.count()).select_from(BackgroundJob)) == 0


def test_batch_page_and_task_centre(web, client):
    give_hours(CHEN)
    give_hours(LIU)
    web.login("hospital_admin")
    page = client.get("/certificates/batch").get_data(as_text=True)
    assert "陈诗慧" in page and "刘文斌" in page and "王立平" not in page  # only the unit's own staff
    ids = [str(i) for i in db.session.scalars(select(Person.id).where(Person.id_number.in_([CHEN, LIU])))]
    r = web.post_form("/certificates/batch", {"year": "2025", "person_ids": ids})
    assert r.status_code == 303 and r.headers["Location"].endswith("/jobs")
    centre = client.get("/jobs").get_data(as_text=True)
    assert "任务中心" in centre and "已完成" in centre and "2 / 2" in centre and "已生成2份证书" in centre
    job_id = db.session.scalar(select(BackgroundJob.id))
    assert client.get(f"/jobs/{job_id}/progress").get_json()["status"] == "finished"
    zf = _zip(fetch(client, f"/jobs/{job_id}/download"))
    assert len([n for n in zf.namelist() if n.endswith(".pdf")]) == 2
    # Someone else's person id in the form is refused without creating a job.
    wang = str(db.session.scalar(select(Person.id).where(Person.id_number == WANG)))
    assert web.post_form("/certificates/batch", {"year": "2025", "person_ids": [wang]}).status_code == 404
    assert web.post_form("/certificates/batch", {"year": "2025"}).status_code == 422


def test_a_bureau_prints_everyone_matching_a_filter(web, client):
    for id_number in (CHEN, LIU, WANG):
        give_hours(id_number)
    web.login("hr_city")
    page = client.get("/certificates/batch?q=刘").get_data(as_text=True)
    assert "刘文斌" in page and "陈诗慧" not in page
    assert "王立平" in client.get("/certificates/batch").get_data(as_text=True)  # the district's unit too
    r = web.post_form("/certificates/batch?q=4401", {"year": "2025", "all_matching": "1"},
                      post_url="/certificates/batch?q=4401")
    assert r.status_code == 303
    job = db.session.scalar(select(BackgroundJob))
    assert job.status == "finished" and job.total == 1
    names = _zip(fetch(client, f"/jobs/{job.id}/download")).namelist()
    assert len(names) == 1 and "王立平" in names[0]


def test_batch_progress_is_committed_as_it_goes(pg_app, monkeypatch):
    """Another connection (the task centre) sees the progress while the job is still running."""
    from app.accounts.actor import Actor
    from app.accounts.models import User

    for id_number in (CHEN, LIU, WANG):
        give_hours(id_number)
    actor = Actor.of(db.session.scalar(select(User).where(User.login == "hr_city")))
    ids = list(db.session.scalars(select(Person.id).order_by(Person.id)))
    with pg_app.test_request_context():
        job = batch.start_batch(actor, ids, 2025, "http://cepp.example/")
    db.session.commit()
    seen: list[int] = []
    real = batch.render_pdf

    def spy(view, fh):  # noqa: ANN001
        with db.engine.connect() as other:
            seen.append(other.scalar(text("SELECT done FROM background_job WHERE id = :i"), {"i": job.id}))
        assert view.verify_url.startswith("http://cepp.example/certificates/verify/")
        real(view, fh)

    monkeypatch.setattr(batch, "PROGRESS_EVERY", 1)
    monkeypatch.setattr(batch, "render_pdf", spy)
    assert batch.run_batch(job.id) == "finished"
    assert seen == [0, 1, 2]


def test_batch_runs_on_an_rq_worker_with_redis(client, app):
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown
    from rq import Queue, SimpleWorker

    conn = Redis.from_url(REDIS_URL)
    try:
        conn.ping()
    except RedisDown as exc:
        if IN_CI:
            pytest.fail(f"CI=true but Redis at {REDIS_URL} is not reachable: {exc}")
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {exc}")
    give_hours(CHEN)
    headers = api_token(client, "hospital_admin")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    app.config["REDIS_URL"] = REDIS_URL
    app.config["CERTIFICATE_QUEUE"] = queue
    try:
        r = client.post("/api/v1/certificates/batch", json={"year": 2025, "person_id_numbers": [CHEN]},
                        headers=headers)
        assert r.status_code == 202 and r.get_json()["status"] == "queued"
        SimpleWorker([Queue(queue, connection=conn)], connection=conn).work(burst=True)
        job = client.get(f"/api/v1/jobs/{r.get_json()['id']}", headers=headers).get_json()
        assert job["status"] == "finished" and job["done"] == 1
        zf = _zip(fetch(client, job["download_url"], headers))
        assert any("陈诗慧" in n for n in zf.namelist())
    finally:
        app.config["REDIS_URL"] = None
        app.config.pop("CERTIFICATE_QUEUE", None)


def test_openapi_documents_the_certificate_endpoints(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/certificates", "/certificates/{number}/verify", "/certificates/batch", "/jobs/{id}"} <= set(paths)
    assert paths["/certificates/{number}/verify"]["get"]["security"] == []


def test_concurrent_reissues_on_postgres_leave_exactly_one_current_certificate(pg_app):
    import threading

    client = pg_app.test_client()
    give_hours(CHEN)
    headers = api_token(client, "hospital_admin")
    first = issue(client, headers, person_id_number=CHEN).get_json()["number"]
    db.session.remove()
    barrier = threading.Barrier(3)
    answers: list[tuple[int, dict]] = []

    def press():
        with pg_app.app_context():
            c = pg_app.test_client()
            barrier.wait()
            r = issue(c, headers, person_id_number=CHEN)
            answers.append((r.status_code, r.get_json()))
            db.session.remove()

    threads = [threading.Thread(target=press) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [code for code, _ in answers] == [201, 201, 201]
    numbers = [first] + [body["number"] for _, body in answers]
    statuses = [client.get(f"/api/v1/certificates/{n}/verify").get_json()["status"] for n in numbers]
    assert sorted(statuses) == ["genuine", "revoked", "revoked", "revoked"]


def test_a_failing_batch_is_reported_in_the_task_centre(client, monkeypatch):
    give_hours(CHEN)

    def broken(view, fh):  # noqa: ANN001
        raise RuntimeError("磁盘已满")

    monkeypatch.setattr(batch, "render_pdf", broken)
    headers = api_token(client, "hospital_admin")
    job = client.post("/api/v1/certificates/batch", json={"year": 2025, "person_id_numbers": [CHEN]},
                      headers=headers).get_json()
    assert job["status"] == "failed" and "磁盘已满" in job["error"] and job["download_url"] is None
    assert client.get(f"/api/v1/jobs/{job['id']}/download", headers=headers).status_code == 409


def test_the_qr_code_carries_the_public_address_behind_a_proxy(client, app):
    give_hours(CHEN)
    app.config["PUBLIC_BASE_URL"] = "https://jxjy.example.gov.cn/"
    try:
        body = issue(client, api_token(client, "chenshihui")).get_json()
    finally:
        app.config["PUBLIC_BASE_URL"] = None
    assert body["verify_url"] == f"https://jxjy.example.gov.cn/certificates/verify/{body['number']}"


def test_the_qr_code_in_the_pdf_encodes_the_verification_page(client):
    """No offline QR decoder installs from PyPI without a system library (zbar), so the QR image is read
    back from the PDF module by module and compared with the symbol for the verification address."""
    import segno

    give_hours(CHEN)
    headers = api_token(client, "chenshihui")
    body = issue(client, headers).get_json()
    data = fetch(client, body["pdf_url"], headers)
    images = [img for page in PdfReader(io.BytesIO(data)).pages for img in page.images]
    assert len(images) == 1
    qr = images[0].image.convert("L")

    def modules_match(url: str) -> bool:
        matrix = segno.make(url, error="m", micro=False).matrix
        scale = qr.width // (len(matrix) + 4)  # quiet zone of 2 modules on each side
        if scale < 1 or qr.width != (len(matrix) + 4) * scale:
            return False
        return all((qr.getpixel(((c + 2) * scale + scale // 2, (r + 2) * scale + scale // 2)) < 128) == bool(v)
                   for r, row in enumerate(matrix) for c, v in enumerate(row))

    assert modules_match(body["verify_url"])
    assert not modules_match(body["verify_url"].replace(body["number"], "JX2025-AAAA-BBBB"))
    page = client.get(body["verify_url"].replace("http://localhost", ""))  # what the phone opens, no login
    assert page.status_code == 200 and "陈*慧" in page.get_data(as_text=True)
