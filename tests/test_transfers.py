"""人员调转 (issue 16 item 1): the old unit starts a transfer-out, the supervisory department reviews it, the
target unit confirms it, and the person moves with their archive, certificates and declarations. Either side
can reject and nothing moves; a case under review blocks a transfer; two at once yield one; scope is 404."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from app.accounts.models import Membership, Organisation, User
from app.extensions import db
from app.people.models import Person
from app.transfers.models import PersonnelTransfer
from app.workflow.models import RUNNING, ProcessInstance
from tests.conftest import DECLARATION, WebClient, api_token
from tests.test_certificates import give_hours, issue

CHEN = "110101199003072711"  # 陈诗慧, 市第一人民医院 (under 市卫健委)
HOSPITAL, TECH = "市第一人民医院", "福州智造科技有限公司"


def oid(name: str) -> int:
    return db.session.scalar(select(Organisation.id).where(Organisation.name == name))


def person(id_number: str = CHEN) -> Person:
    db.session.expire_all()
    return db.session.scalar(select(Person).where(Person.id_number == id_number))


def start(client, login: str = "hospital_admin", **body):
    body = {"person_id_number": CHEN, "to_unit_id": oid(TECH), "reason": "工作调动", **body}
    return client.post("/api/v1/transfers", json=body, headers=api_token(client, login))


def task_of(client, login: str) -> dict:
    r = client.get("/api/v1/tasks", query_string={"process": "personnel_transfer"}, headers=api_token(client, login))
    [task] = r.get_json()["items"]
    return task


def decide(client, login: str, outcome: str = "approve", comment: str = ""):
    task = task_of(client, login)
    return client.post(
        f"/api/v1/tasks/{task['id']}/complete",
        json={"outcome": outcome, "comment": comment},
        headers=api_token(client, login),
    )


def member_of(login: str) -> set[str]:
    user = db.session.scalar(select(User).where(User.login == login))
    return set(
        db.session.scalars(
            select(Organisation.name)
            .join(Membership, Membership.organisation_id == Organisation.id)
            .where(Membership.user_id == user.id)
        )
    )


def test_transfer_moves_the_person_with_archive_and_certificates(any_app):
    client = any_app.test_client()
    give_hours(CHEN, 2025)
    cert = issue(client, api_token(client, "hospital_admin"), person_id_number=CHEN).get_json()["number"]
    r = start(client, transfer_date="2026-12-01", remarks="随调")
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["status"] == "running" and body["person_name"] == "陈诗慧"
    assert body["person_id_number"] == "1101**********2711"
    assert (body["from_unit"]["name"], body["to_unit"]["name"]) == (HOSPITAL, TECH)
    assert [w["step"] for w in body["waiting"]] == ["调出审核"]
    transfer_id = body["id"]

    # both sides see it waiting: the old unit (and its department) out, the new unit in
    hospital, tech = api_token(client, "hospital_admin"), api_token(client, "tech_admin")
    assert client.get("/api/v1/transfers?box=out", headers=hospital).get_json()["total"] == 1
    assert client.get("/api/v1/transfers?box=in", headers=hospital).get_json()["total"] == 0
    assert client.get("/api/v1/transfers?box=in", headers=tech).get_json()["total"] == 1
    assert client.get("/api/v1/transfers?box=out", headers=api_token(client, "health_admin")).get_json()["total"] == 1

    # 调出审核 by the supervisory department, then 调入审核 by the target unit
    assert decide(client, "health_admin").status_code == 200
    assert person().unit.name == HOSPITAL  # nothing moves before the target unit confirms
    assert task_of(client, "tech_admin")["name"] == "调入审核（确认调转）"
    r = decide(client, "tech_admin")
    assert r.status_code == 200 and r.get_json()["status"] == "completed"

    moved = person()
    assert moved.unit.name == TECH and moved.department_id is None
    assert member_of("chenshihui") == {TECH}
    # the archive and the certificate go with the person: the old unit no longer sees them, the new one does
    archive = "/api/v1/archive?person_id_number=" + CHEN + "&year=2025"
    assert client.get(archive, headers=hospital).status_code == 404
    got = client.get(archive, headers=tech)
    assert got.status_code == 200 and got.get_json()["hours"]["total"] == 90
    assert client.get(f"/api/v1/certificates/{cert}/pdf", headers=hospital).status_code == 404
    assert client.get(f"/api/v1/certificates/{cert}/pdf", headers=tech).status_code == 200
    assert client.get(f"/api/v1/people/{moved.id}", headers=hospital).status_code == 404
    assert client.get(f"/api/v1/people/{moved.id}", headers=tech).status_code == 200

    # transfer records (调转记录) on both sides, with details and history
    for h in (hospital, tech):
        page = client.get("/api/v1/transfers?box=records", headers=h).get_json()
        assert [i["id"] for i in page["items"]] == [transfer_id]
        assert page["items"][0]["status"] == "completed" and page["items"][0]["moved_at"]
    detail = client.get(f"/api/v1/transfers/{transfer_id}", headers=hospital).get_json()
    assert detail["reason"] == "工作调动" and detail["transfer_date"] == "2026-12-01" and detail["remarks"] == "随调"
    assert [(e["step"], e["outcome"]) for e in detail["history"]] == [
        ("提交调出申请", "submit"),
        ("调出审核", "approve"),
        ("调入审核（确认调转）", "approve"),
    ]
    assert client.get("/api/v1/transfers?box=in", headers=tech).get_json()["total"] == 0


@pytest.mark.parametrize("rejecter", ["health_admin", "tech_admin"])
def test_nothing_moves_when_either_side_rejects(client, rejecter):
    transfer_id = start(client).get_json()["id"]
    if rejecter == "tech_admin":
        assert decide(client, "health_admin").status_code == 200
    assert decide(client, rejecter, "reject").status_code == 422  # a reason is required
    r = decide(client, rejecter, "reject", "该人员未办理离职手续")
    assert r.status_code == 200 and r.get_json()["status"] == "rejected"
    chen = person()
    assert chen.unit.name == HOSPITAL and member_of("chenshihui") == {HOSPITAL}
    detail = client.get(f"/api/v1/transfers/{transfer_id}", headers=api_token(client, "hospital_admin")).get_json()
    assert detail["status"] == "rejected" and detail["moved_at"] is None
    assert detail["history"][-1]["comment"] == "该人员未办理离职手续"
    assert client.get("/api/v1/transfers?box=in", headers=api_token(client, "tech_admin")).get_json()["total"] == 0
    # after a rejection a new transfer may be started
    assert start(client).status_code == 201


def test_a_return_goes_back_to_the_old_unit_which_revises_or_withdraws(client):
    transfer_id = start(client).get_json()["id"]
    assert decide(client, "health_admin", "return", "请补充调转日期").status_code == 200
    revise = task_of(client, "hospital_admin")
    r = client.post(
        f"/api/v1/tasks/{revise['id']}/complete",
        json={"action": "resubmit", "transfer_date": "2027-01-01", "reason": "工作调动（已批准）"},
        headers=api_token(client, "hospital_admin"),
    )
    assert r.status_code == 200, r.get_json()
    row = db.session.get(PersonnelTransfer, transfer_id)
    db.session.refresh(row)
    assert row.reason == "工作调动（已批准）" and str(row.transfer_date) == "2027-01-01"
    assert task_of(client, "health_admin")["name"] == "调出审核"
    assert decide(client, "health_admin", "return", "仍需补充").status_code == 200
    revise = task_of(client, "hospital_admin")
    r = client.post(
        f"/api/v1/tasks/{revise['id']}/complete",
        json={"action": "withdraw"},
        headers=api_token(client, "hospital_admin"),
    )
    assert r.get_json()["status"] == "withdrawn" and person().unit.name == HOSPITAL


def test_a_declaration_under_review_blocks_the_transfer_and_its_history_moves_later(client):
    me = api_token(client, "chenshihui")
    r = client.post("/api/v1/processes/credit_hour_approval/instances", json=DECLARATION, headers=me)
    assert r.status_code == 201, r.get_json()
    declaration = r.get_json()["id"]
    r = start(client)
    assert r.status_code == 409
    message = r.get_json()["error"]["message"]
    assert "学时申报" in message and DECLARATION["course_name"] in message and str(declaration) in message
    assert db.session.scalar(select(func.count()).select_from(PersonnelTransfer)) == 0

    assert client.post(f"/api/v1/instances/{declaration}/withdraw", headers=me).status_code == 200
    assert start(client).status_code == 201
    decide(client, "health_admin")
    decide(client, "tech_admin")
    # the declarations' history is the new unit's now
    listed = {
        i["instance_id"]
        for i in client.get(
            "/api/v1/credit-declarations?scope=org", headers=api_token(client, "tech_admin")
        ).get_json()["items"]
    }
    assert declaration in listed
    listed = {
        i["instance_id"]
        for i in client.get(
            "/api/v1/credit-declarations?scope=org", headers=api_token(client, "hospital_admin")
        ).get_json()["items"]
    }
    assert declaration not in listed


def test_start_is_checked(client):
    assert start(client, to_unit_id=oid(HOSPITAL)).status_code == 422  # the same unit
    r = start(client, to_unit_id=oid("市卫生健康委员会"))  # not an employer unit
    assert r.status_code == 422 and "to_unit_id" in r.get_json()["error"]["fields"]
    assert start(client, reason="").status_code == 422
    # another unit's staff, and a professional, are not found
    assert start(client, "tech_admin", to_unit_id=oid(HOSPITAL)).status_code == 404
    assert start(client, "chenshihui").status_code == 404
    assert start(client).status_code == 201
    r = start(client)  # one open transfer per person
    assert r.status_code == 409 and "调转正在办理中" in r.get_json()["error"]["message"]


def test_transfer_records_of_other_units_answer_404(client):
    transfer_id = start(client).get_json()["id"]
    for login in ("hospital_admin", "health_admin", "hr_city", "tech_admin", "hr_district"):
        assert client.get(f"/api/v1/transfers/{transfer_id}", headers=api_token(client, login)).status_code == 200
    for login in ("institute_admin", "chenshihui", "liuwenbin", "wangliping"):
        h = api_token(client, login)
        assert client.get(f"/api/v1/transfers/{transfer_id}", headers=h).status_code == 404
        assert client.get("/api/v1/transfers?box=records", headers=h).get_json()["total"] == 0
    assert client.get("/api/v1/transfers/999999", headers=api_token(client, "hospital_admin")).status_code == 404
    assert client.get("/api/v1/transfers?box=nope", headers=api_token(client, "hospital_admin")).status_code == 422


def test_openapi_documents_the_transfer_endpoints(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert {"get", "post"} <= set(doc["paths"]["/transfers"])
    assert "get" in doc["paths"]["/transfers/{transfer_id}"]
    assert "to_unit_id" in doc["components"]["schemas"]["TransferArgs"]["properties"]


def test_pages_start_list_and_show_a_transfer_within_scope(client):
    web = WebClient(client)
    web.login("hospital_admin")
    chen = person()
    page = client.get(f"/transfers/new?person_id={chen.id}")
    assert page.status_code == 200 and "陈诗慧" in page.get_data(as_text=True)
    assert client.get(f"/transfers/new?id_number={CHEN}").status_code == 200
    # the generic start page points here
    assert "/transfers/new" in client.get("/start/personnel_transfer").get_data(as_text=True)
    r = web.post_form(
        f"/transfers/new?person_id={chen.id}",
        {"person_id": chen.id, "to_unit_id": oid(TECH), "reason": ""},
        "/transfers/new",
    )
    assert r.status_code == 422 and "此项为必填项" in r.get_data(as_text=True)
    r = web.post_form(
        f"/transfers/new?person_id={chen.id}",
        {"person_id": chen.id, "to_unit_id_lookup": TECH, "reason": "工作调动"},
        "/transfers/new",
    )
    assert r.status_code == 302
    transfer_id = int(r.headers["Location"].rsplit("/", 1)[1])
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert TECH in html and "调出审核" in html
    assert "陈诗慧" in client.get("/transfers?box=out").get_data(as_text=True)
    assert "陈诗慧" not in client.get("/transfers?box=in").get_data(as_text=True)
    # a second transfer of the same person is refused with the reason on the page
    r = web.post_form(
        f"/transfers/new?person_id={chen.id}",
        {"person_id": chen.id, "to_unit_id": oid(TECH), "reason": "x"},
        "/transfers/new",
    )
    assert r.status_code == 409 and "调转正在办理中" in r.get_data(as_text=True)

    other = WebClient(client.application.test_client())
    other.login("institute_admin")
    assert other.client.get(f"/transfers/{transfer_id}").status_code == 404
    assert other.client.get(f"/transfers/new?person_id={chen.id}").status_code == 404
    member = WebClient(client.application.test_client())
    member.login("chenshihui")
    assert member.client.get("/transfers").status_code == 404
    target = WebClient(client.application.test_client())
    target.login("tech_admin")
    assert "陈诗慧" in target.client.get("/transfers?box=in").get_data(as_text=True)
    assert target.client.get(f"/transfers/{transfer_id}").status_code == 200
    assert target.client.get(f"/transfers/new?person_id={chen.id}").status_code == 404


def test_two_transfers_of_one_person_at_once_yield_one_on_postgres(pg_app):
    client = pg_app.test_client()
    headers = [api_token(client, "hospital_admin"), api_token(client, "health_admin")]
    targets = [oid(TECH), oid(TECH)]
    db.session.remove()
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def press(h, target):
        with pg_app.app_context():
            c = pg_app.test_client()
            barrier.wait()
            codes.append(
                c.post(
                    "/api/v1/transfers",
                    json={"person_id_number": CHEN, "to_unit_id": target, "reason": "工作调动"},
                    headers=h,
                ).status_code
            )
            db.session.remove()

    threads = [threading.Thread(target=press, args=args) for args in zip(headers, targets, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [201, 409]
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(ProcessInstance)
            .where(ProcessInstance.process_key == "personnel_transfer", ProcessInstance.status == RUNNING)
        )
        == 1
    )
    assert db.session.scalar(select(func.count()).select_from(PersonnelTransfer)) == 1


def test_a_declaration_made_during_the_transfer_stays_with_its_chain(client):
    start(client)
    me = api_token(client, "chenshihui")
    r = client.post("/api/v1/processes/credit_hour_approval/instances", json=DECLARATION, headers=me)
    assert r.status_code == 201
    declaration = r.get_json()["id"]
    decide(client, "health_admin")
    decide(client, "tech_admin")
    assert person().unit.name == TECH
    case = db.session.get(ProcessInstance, declaration)
    db.session.refresh(case)
    assert case.status == RUNNING and case.subject_org_id == oid(HOSPITAL)
    # the hospital still sees and reviews it
    hospital = api_token(client, "hospital_admin")
    assert client.get(f"/api/v1/instances/{declaration}", headers=hospital).status_code == 200
