"""The JSON API contract of design §3, driven like another system would."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.workflow.models import ApprovalEvent, ProcessInstance
from tests.conftest import api_token


def _only_task(client, headers):
    r = client.get("/api/v1/tasks", headers=headers)
    assert r.status_code == 200
    body = r.get_json()
    assert body["total"] == 1, body
    return body["items"][0]


def test_whole_chain_through_the_api(client, declaration):
    chen = api_token(client, "chenshihui")
    r = client.get("/api/v1/processes", headers=chen)
    assert {"key": "credit_hour_approval", "name": "学时申报审核", "version": 1} in r.get_json()

    r = client.post("/api/v1/processes/credit_hour_approval/instances", json=declaration, headers=chen)
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    assert created["status"] == "running"
    assert [t["name"] for t in created["tasks"]] == ["单位审核"]
    iid = created["id"]

    hospital = api_token(client, "hospital_admin")
    task = _only_task(client, hospital)
    assert task["organisation"] == "市第一人民医院" and task["applicant"] == "陈诗慧"
    assert task["applicant_id_number"] == "1101**********2711"
    detail = client.get(f"/api/v1/tasks/{task['id']}", headers=hospital).get_json()
    assert detail["data"]["course_name"] == "急诊医学新进展"
    assert detail["form"]["schema"]["properties"]["outcome"]["oneOf"][0]["const"] == "approve"
    r = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"outcome": "return", "comment": "请补充证书"},
                    headers=hospital)
    assert r.status_code == 200 and r.get_json()["status"] == "running"

    revise = _only_task(client, chen)
    assert revise["lane"] == "applicant"
    r = client.post(f"/api/v1/tasks/{revise['id']}/complete",
                    json={**declaration, "action": "resubmit", "hours": 15}, headers=chen)
    assert r.status_code == 200

    for login, body in (("hospital_admin", {"outcome": "approve"}), ("health_admin", {"outcome": "approve"}),
                        ("hr_city", {"outcome": "approve", "recognised_hours": 12, "comment": "认定12学时"})):
        headers = api_token(client, login)
        task = _only_task(client, headers)
        r = client.post(f"/api/v1/tasks/{task['id']}/complete", json=body, headers=headers)
        assert r.status_code == 200, r.get_json()

    inst = client.get(f"/api/v1/instances/{iid}", headers=chen).get_json()
    assert (inst["status"], inst["outcome"], inst["tasks"]) == ("completed", "approved", [])
    assert [(h["step"], h["organisation"], h["outcome"]) for h in inst["history"]] == [
        ("学时申报", "市第一人民医院", "submit"), ("单位审核", "市第一人民医院", "return"),
        ("修改申报", "市第一人民医院", "resubmit"), ("单位审核", "市第一人民医院", "approve"),
        ("主管部门审核", "市卫生健康委员会", "approve"), ("人社部门审核认定", "市人力资源和社会保障局", "approve"),
    ]
    assert all(h["user"] and h["at"] for h in inst["history"])
    assert inst["history"][1]["comment"] == "请补充证书"
    assert inst["history"][2]["changes"]["hours"] == [18.0, 15.0]


def test_errors_have_the_contract_shape(client, declaration):
    chen = api_token(client, "chenshihui")
    r = client.post("/api/v1/processes/credit_hour_approval/instances",
                    json={**declaration, "hours": "abc", "end_date": "2026-01-01", "course_name": ""},
                    headers=chen)
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert err["code"] == "validation_failed"
    assert err["fields"] == {"hours": "请输入数字", "course_name": "此项为必填项",
                             "end_date": "学习结束时间不能早于学习开始时间"}
    assert db.session.scalar(select(func.count(ProcessInstance.id))) == 0

    assert client.get("/api/v1/tasks").status_code == 401
    assert client.get("/api/v1/tasks", headers={"Authorization": "Bearer nope"}).status_code == 401
    r = client.post("/api/v1/auth/token", json={"login": "chenshihui", "password": "wrong"})
    assert r.status_code == 401 and "error" in r.get_json()
    assert client.post("/api/v1/processes/nope/instances", json={}, headers=chen).status_code == 404
    assert client.post("/api/v1/tasks/complete", json={"task_ids": []}, headers=chen).status_code == 422


def test_every_error_carries_code_message_and_fields(client, declaration):
    """design §3: {"error": {"code", "message", "fields"}} on every error, ``fields`` empty when no one field
    is at fault, so a client reads one shape."""
    chen = api_token(client, "chenshihui")
    answers = [
        client.get("/api/v1/tasks"),  # 401
        client.get("/api/v1/tasks/no-such-task", headers=chen),  # 404 from a service
        client.get("/api/v1/no-such-route", headers=chen),  # 404 from routing
        client.delete("/api/v1/tasks", headers=chen),  # 405
        client.post("/api/v1/tasks/complete", data="not json", headers=chen),  # 400
        client.post("/api/v1/auth/token", json={"login": "chenshihui", "password": "wrong"}),  # 401
    ]
    for r in answers:
        err = r.get_json()["error"]
        assert r.status_code >= 400 and set(err) == {"code", "message", "fields"}, (r.status_code, err)
        assert err["fields"] == {} and err["code"] and err["message"]


def test_argument_errors_name_the_rule_in_the_callers_language(client, declaration):
    """Checked query and body arguments answer like the forms do: a sentence per field, not the validation
    library's English, and a list's bad items by position."""
    hospital = api_token(client, "hospital_admin")
    r = client.get("/api/v1/tasks?year=abc&per_page=100000", headers=hospital)
    assert r.status_code == 422
    assert r.get_json()["error"]["fields"] == {"year": "必须是整数", "per_page": "必须在1到200之间"}
    r = client.post("/api/v1/auth/token", json={"login": "hr_city"})
    assert r.get_json()["error"]["fields"] == {"password": "此项为必填项"}
    r = client.post("/api/v1/tasks/complete", json={"task_ids": ["ok", 2, 3], "outcome": "approve"},
                    headers=hospital)
    assert r.get_json()["error"]["fields"] == {"task_ids": "第2项：必须是文本；第3项：必须是文本"}
    r = client.get("/api/v1/tasks?year=abc&lang=en", headers=hospital)
    assert r.get_json()["error"]["fields"] == {"year": "Must be a whole number"}


def test_batch_return_or_reject_without_a_comment_is_refused_before_any_task(client, declaration):
    client.post("/api/v1/processes/credit_hour_approval/instances", json=declaration,
                headers=api_token(client, "chenshihui"))
    hospital = api_token(client, "hospital_admin")
    ids = [t["id"] for t in client.get("/api/v1/tasks", headers=hospital).get_json()["items"]]
    for outcome in ("return", "reject"):
        r = client.post("/api/v1/tasks/complete", json={"task_ids": ids, "outcome": outcome, "comment": " "},
                        headers=hospital)
        assert r.status_code == 422 and r.get_json()["error"]["fields"] == {"comment": "不同意时必须填写审核意见"}
    assert client.get("/api/v1/tasks", headers=hospital).get_json()["total"] == len(ids) == 1


def test_errors_in_english_when_the_call_asks_for_it(client, declaration):
    """?lang=en: the messages and field errors in English; the codes and field names stay the same."""
    chen = api_token(client, "chenshihui")
    bad = {**declaration, "hours": "abc", "end_date": "2026-01-01", "course_name": ""}
    r = client.post("/api/v1/processes/credit_hour_approval/instances?lang=en", json=bad, headers=chen)
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert err["code"] == "validation_failed" and set(err["fields"]) == {"hours", "course_name", "end_date"}
    texts = [err["message"], *err["fields"].values()]
    assert all(text and not any("\u4e00" <= ch <= "\u9fff" for ch in text) for text in texts), texts
    r = client.get("/api/v1/tasks/no-such-task?lang=en", headers=chen)
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in r.get_json()["error"]["message"])
    # without it: Chinese, as before
    r = client.post("/api/v1/processes/credit_hour_approval/instances", json=bad, headers=chen)
    assert r.get_json()["error"]["fields"]["hours"] == "请输入数字"


def test_lockout_answers_423_even_to_the_right_password(app, client):
    first = client.post("/api/v1/auth/token", json={"login": "hr_city", "password": "x"})
    assert first.status_code == 401
    for _ in range(4):
        assert client.post("/api/v1/auth/token", json={"login": "hr_city", "password": "x"}).status_code == 401
    assert "密码连续错误5次，帐号将被锁定60分钟" in first.get_json()["error"]["message"]
    r = client.post("/api/v1/auth/token", json={"login": "hr_city", "password": "Demo12345"})
    assert r.status_code == 423 and r.get_json()["error"]["code"] == "locked"  # design §3
    assert "分钟" in r.get_json()["error"]["message"]


def test_other_org_gets_404_and_double_completion_409(client, declaration):
    chen = api_token(client, "chenshihui")
    iid = client.post("/api/v1/processes/credit_hour_approval/instances", json=declaration,
                      headers=chen).get_json()["id"]
    hospital = api_token(client, "hospital_admin")
    task = _only_task(client, hospital)
    tech = api_token(client, "tech_admin")
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=tech).status_code == 404
    assert client.post(f"/api/v1/tasks/{task['id']}/complete", json={"outcome": "approve"},
                       headers=tech).status_code == 404
    assert client.get(f"/api/v1/instances/{iid}", headers=tech).status_code == 404
    assert client.get("/api/v1/tasks", headers=tech).get_json()["total"] == 0

    assert client.post(f"/api/v1/tasks/{task['id']}/complete", json={"outcome": "approve"},
                       headers=hospital).status_code == 200
    r = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"outcome": "approve"}, headers=hospital)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "conflict"
    assert db.session.scalar(select(func.count(ApprovalEvent.id)).where(ApprovalEvent.step == "unit_review")) == 1


def test_batch_review_and_claim(client, declaration):
    ids = []
    for login in ("chenshihui", "liuwenbin"):
        h = api_token(client, login)
        client.post("/api/v1/processes/credit_hour_approval/instances", json=declaration, headers=h)
    hospital = api_token(client, "hospital_admin")
    items = client.get("/api/v1/tasks?q=陈", headers=hospital).get_json()["items"]
    assert [i["applicant"] for i in items] == ["陈诗慧"]
    items = client.get("/api/v1/tasks?q=3211", headers=hospital).get_json()["items"]
    assert [i["applicant"] for i in items] == ["刘文斌"]
    ids = [t["id"] for t in client.get("/api/v1/tasks", headers=hospital).get_json()["items"]]
    r = client.post(f"/api/v1/tasks/{ids[0]}/claim", headers=hospital)
    assert r.get_json()["assignee"] == "市一医院管理员"
    r = client.post("/api/v1/tasks/complete", json={"task_ids": ids + ["bogus"], "outcome": "approve"},
                    headers=hospital)
    assert r.status_code == 200
    assert r.get_json()["completed"] == ids and [f["id"] for f in r.get_json()["failed"]] == ["bogus"]
    assert client.get("/api/v1/tasks", headers=hospital).get_json()["total"] == 0
    health = api_token(client, "health_admin")
    assert client.get("/api/v1/tasks", headers=health).get_json()["total"] == 2


def test_paging(client, declaration):
    chen = api_token(client, "chenshihui")
    for year in (2021, 2022, 2023, 2024, 2025):
        client.post("/api/v1/processes/credit_hour_approval/instances",
                    json={**declaration, "year": year, "start_date": f"{year}-03-01", "end_date": f"{year}-03-03"},
                    headers=chen)
    hospital = api_token(client, "hospital_admin")
    pages = [client.get(f"/api/v1/tasks?per_page=2&page={p}", headers=hospital).get_json() for p in (1, 2, 3)]
    assert [len(p["items"]) for p in pages] == [2, 2, 1] and pages[0]["total"] == 5
    assert [i["year"] for p in pages for i in p["items"]] == [2021, 2022, 2023, 2024, 2025]
    assert client.get("/api/v1/tasks?year=2023", headers=hospital).get_json()["total"] == 1


def test_lists_sort_by_a_named_column_and_refuse_an_unknown_one(client, declaration):
    chen = api_token(client, "chenshihui")
    for year in (2023, 2021, 2022):
        client.post("/api/v1/processes/credit_hour_approval/instances",
                    json={**declaration, "year": year, "start_date": f"{year}-03-01", "end_date": f"{year}-03-03"},
                    headers=chen)
    hospital = api_token(client, "hospital_admin")

    def years(path: str, headers: dict) -> list[int]:
        return [i["year"] for i in client.get(path, headers=headers).get_json()["items"]]

    assert years("/api/v1/tasks", hospital) == [2023, 2021, 2022]  # default: the oldest first
    assert years("/api/v1/tasks?sort=year", hospital) == [2021, 2022, 2023]
    assert years("/api/v1/tasks?sort=-year&per_page=2", hospital) == [2023, 2022]
    assert years("/api/v1/instances", chen) == [2022, 2021, 2023]  # default: the newest first
    assert years("/api/v1/instances?sort=year", chen) == [2021, 2022, 2023]
    for path, headers in (("/api/v1/tasks?sort=password", hospital), ("/api/v1/instances?sort=-bogus", chen)):
        r = client.get(path, headers=headers)
        assert r.status_code == 422 and set(r.get_json()["error"]["fields"]) == {"sort"}
    spec = client.get("/api/v1/openapi.json").get_json()
    sort = next(p for p in spec["paths"]["/tasks"]["get"]["parameters"] if p["name"] == "sort")
    assert "-year" in sort["schema"]["enum"]


def test_openapi_document_lists_the_contract(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    for path in ("/auth/token", "/processes", "/processes/{key}/instances", "/instances/{id}", "/tasks",
                 "/tasks/{id}", "/tasks/{id}/claim", "/tasks/{id}/unclaim", "/tasks/{id}/complete",
                 "/tasks/complete"):
        assert path in doc["paths"], path
    assert "course_name" in doc["components"]["schemas"]["CreditHourDeclaration"]["properties"]
    assert set(doc["components"]["schemas"]["ErrorBody"]["required"]) == {"code", "message", "fields"}


def test_the_start_answer_matches_its_openapi_schema(client, declaration):
    doc = client.get("/api/v1/openapi.json").get_json()
    created = doc["paths"]["/processes/{key}/instances"]["post"]["responses"]["201"]
    started = doc["components"]["schemas"][created["content"]["application/json"]["schema"]["$ref"].rsplit("/")[-1]]
    r = client.post("/api/v1/processes/credit_hour_approval/instances", json=declaration,
                    headers=api_token(client, "chenshihui"))
    assert r.status_code == 201
    assert set(started["required"]) <= set(r.get_json()) and set(r.get_json()) <= set(started["properties"])


@pytest.mark.postgres
def test_concurrent_completions_on_postgres_record_one_decision(pg_app, declaration):
    """Two reviewers press 同意 at the same moment: exactly one decision, one 409."""
    client = pg_app.test_client()
    chen = api_token(client, "chenshihui")
    client.post("/api/v1/processes/credit_hour_approval/instances", json=declaration, headers=chen)
    hospital = api_token(client, "hospital_admin")
    task_id = _only_task(client, hospital)["id"]
    db.session.remove()

    barrier = threading.Barrier(2)
    codes: list[int] = []

    def press():
        with pg_app.app_context():
            c = pg_app.test_client()
            barrier.wait()
            codes.append(c.post(f"/api/v1/tasks/{task_id}/complete", json={"outcome": "approve"},
                                headers=hospital).status_code)
            db.session.remove()

    threads = [threading.Thread(target=press) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200, 409]
    n = db.session.scalar(select(func.count(ApprovalEvent.id)).where(ApprovalEvent.step == "unit_review"))
    assert n == 1
    assert _only_task(client, api_token(client, "health_admin"))["name"] == "主管部门审核"


def test_times_carry_their_offset_and_401_says_how_to_authenticate(client, declaration):
    """RFC 3339 times (a client in UTC+8 must not read them as local time); RFC 6750's challenge on 401."""
    from datetime import UTC, datetime

    chen = api_token(client, "chenshihui")
    iid = client.post("/api/v1/processes/credit_hour_approval/instances", json=declaration,
                      headers=chen).get_json()["id"]
    body = client.get(f"/api/v1/instances/{iid}", headers=chen).get_json()
    for stamp in (body["created_at"], body["history"][0]["at"], body["tasks"][0]["created_at"]):
        assert stamp.endswith("Z"), stamp
        assert abs((datetime.fromisoformat(stamp) - datetime.now(UTC)).total_seconds()) < 300
    r = client.get("/api/v1/tasks")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
