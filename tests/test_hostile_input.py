"""Hostile input at the boundary (issue #20): numbers that are not finite, control characters and lone
surrogates, JSON nested thousands deep, page numbers and ids beyond 64 bits, and what an API client reads
when something unexpected fails. Each used to end in a 500, or in stored data that failed a later step."""

from __future__ import annotations

import json
from io import BytesIO

import pytest
from sqlalchemy import func, select

from app.core.errors import ValidationFailed
from app.extensions import db
from app.workflow import services
from app.workflow.models import Attachment, ProcessInstance
from tests.conftest import api_token
from tests.webutil import PDF, browser, field_error, form_data

START = "/api/v1/processes/credit_hour_approval/instances"


def strict_json(text: str):
    """What a standard JSON parser (a browser's, Java's, Go's) accepts: no NaN, no Infinity."""
    def refuse(name: str):
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


def error_of(resp) -> dict:
    assert resp.content_type == "application/json", resp.get_data(as_text=True)[:300]
    body = strict_json(resp.get_data(as_text=True))
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}, body
    return body["error"]


def instances() -> int:
    return db.session.scalar(select(func.count(ProcessInstance.id)))


def post_raw(client, url: str, text: str, headers: dict):
    return client.post(url, data=text.encode("utf-8", "surrogatepass"), content_type="application/json",
                       headers=headers)


def to_final_review(client, declaration: dict) -> tuple[dict, str]:
    """A declaration approved by the unit and the health commission: (the city bureau's headers, its task)."""
    r = client.post(START, json=declaration, headers=api_token(client, "chenshihui"))
    assert r.status_code == 201, r.get_json()
    for login in ("hospital_admin", "health_admin"):
        headers = api_token(client, login)
        task = client.get("/api/v1/tasks", headers=headers).get_json()["items"][0]
        assert client.post(f"/api/v1/tasks/{task['id']}/complete", json={"outcome": "approve"},
                           headers=headers).status_code == 200
    city = api_token(client, "hr_city")
    return city, client.get("/api/v1/tasks", headers=city).get_json()["items"][0]["id"]


# --------------------------------------------------------------------------- numbers that are not finite


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_nan_and_infinity_in_a_json_body_are_refused(client, declaration, literal):
    """Python reads NaN, Infinity and 1e400 where no standard parser does; NaN then passed every minimum and
    maximum and was stored."""
    text = json.dumps(declaration).replace('"hours": 18', f'"hours": {literal}')
    r = post_raw(client, START, text, api_token(client, "chenshihui"))
    assert r.status_code == 400
    assert "JSON" in error_of(r)["message"]
    assert instances() == 0


@pytest.mark.parametrize("typed", ["nan", "NaN", "inf", "-Infinity", "1e999"])
def test_nan_typed_into_the_declaration_form_is_not_a_number(app, typed):
    """A web form's "nan" used to become float NaN; now it is what a person sees: not a number."""
    web = browser(app, "chenshihui")
    r = web.post_form("/declare", form_data(hours=typed))
    assert r.status_code == 422
    assert field_error(r, "hours") == "请输入数字"
    assert instances() == 0


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_the_form_layer_refuses_non_finite_numbers_per_field(app, as_user, declaration, value):
    """Callers other than the web and the API (imports, jobs, tests) reach the same check."""
    with pytest.raises(ValidationFailed) as caught:
        services.start_process("credit_hour_approval", {**declaration, "hours": value, "days": value},
                               actor=as_user("chenshihui"))
    assert caught.value.fields["hours"] == caught.value.fields["days"] == "必须是有限的数字"


def test_nan_recognised_hours_leave_the_final_review_open_and_the_case_finishes(client, declaration):
    """The city bureau typing "nan" as 认定学时 used to be accepted and fail the approval with a 500 every time,
    so the case could never finish."""
    city, task_id = to_final_review(client, declaration)
    url = f"/api/v1/tasks/{task_id}/complete"
    r = client.post(url, json={"outcome": "approve", "recognised_hours": "nan"}, headers=city)
    assert r.status_code == 422 and error_of(r)["fields"] == {"recognised_hours": "请输入数字"}
    r = client.post(url + "?lang=en", json={"outcome": "approve", "recognised_hours": "nan"}, headers=city)
    assert error_of(r)["fields"] == {"recognised_hours": "Please enter a number"}
    r = post_raw(client, url, '{"outcome": "approve", "recognised_hours": NaN}', city)
    assert r.status_code == 400
    r = client.post(url, json={"outcome": "approve", "recognised_hours": 12}, headers=city)
    assert r.status_code == 200 and r.get_json()["status"] == "completed"


def test_answers_never_contain_nan(client, declaration):
    """A value stored before NaN was refused is written as null: NaN is not JSON, and a client's parser
    fails on the whole answer."""
    city, task_id = to_final_review(client, declaration)
    inst = db.session.scalar(select(ProcessInstance))
    assert '"hours": 18' in inst.state_json
    inst.state_json = inst.state_json.replace('"hours": 18.0', '"hours": NaN').replace('"hours": 18', '"hours": NaN')
    db.session.commit()
    r = client.get(f"/api/v1/tasks/{task_id}", headers=city)
    assert r.status_code == 200
    body = strict_json(r.get_data(as_text=True))
    assert body["data"]["hours"] is None and body["data"]["course_name"] == declaration["course_name"]


# --------------------------------------------------------------------------- control characters, surrogates


@pytest.mark.parametrize(("escaped", "message"), [
    (r"\u0000", "不能包含控制字符"), (r"\u001b[31m", "不能包含控制字符"),
    (r"\ud800", "含有无效的字符（不成对的 Unicode 代理项）"),
])
def test_control_characters_and_lone_surrogates_in_json_text_are_refused_per_field(client, declaration,
                                                                                    escaped, message):
    chen = api_token(client, "chenshihui")
    text = json.dumps(declaration, ensure_ascii=False).replace("\"急诊医学新进展\"", f"\"急诊{escaped}医学\"")
    assert escaped in text
    r = post_raw(client, START, text, chen)
    assert r.status_code == 422 and error_of(r)["fields"] == {"course_name": message}
    r = post_raw(client, START + "?lang=en", text, chen)
    assert error_of(r)["fields"]["course_name"] != message  # in English
    assert instances() == 0


def test_tabs_and_line_breaks_stay_allowed(client, declaration):
    r = client.post(START, json={**declaration, "content": "第一天\t理论\r\n第二天\t实操\n"},
                    headers=api_token(client, "chenshihui"))
    assert r.status_code == 201, r.get_json()


def test_control_characters_in_nested_values_and_names_are_refused(client):
    hospital = api_token(client, "hospital_admin")
    r = client.post("/api/v1/tasks/complete", json={"task_ids": ["a", "b\x00"], "outcome": "approve"},
                    headers=hospital)
    assert r.status_code == 422 and error_of(r)["fields"] == {"task_ids": "不能包含控制字符"}
    r = client.post("/api/v1/tasks/complete", json={"task_ids": ["a"], "outcome": "approve", "x\x07": 1},
                    headers=hospital)
    assert r.status_code == 422 and error_of(r)["fields"] == {"x\ufffd": "不能包含控制字符"}


def test_control_characters_in_query_arguments_are_a_400_naming_the_argument(client):
    hospital = api_token(client, "hospital_admin")
    for url, name in (("/api/v1/tasks?q=%00", "q"), ("/api/v1/tasks?q=a%1Fb", "q"),
                      ("/api/v1/archive/search?year=2026&name=%00", "name"), ("/api/v1/tasks?%00=1", "\ufffd")):
        r = client.get(url, headers=hospital)
        assert r.status_code == 400, url
        err = error_of(r)
        assert err["code"] == "bad_request" and err["fields"] == {name: "不能包含控制字符"}, url
    r = client.get("/tasks?q=%00", headers=hospital)  # a web page: the error page, not a 500
    assert r.status_code == 400


def test_control_characters_in_a_login_are_refused_without_a_500(client, app):
    r = client.post("/api/v1/auth/token", json={"login": "hr_city\x00", "password": "Demo12345"})
    assert r.status_code == 422 and error_of(r)["fields"] == {"login": "不能包含控制字符"}
    r = client.post("/api/v1/auth/token", data='{"login": "\\udc00", "password": "x"}',
                    content_type="application/json")
    assert r.status_code == 422 and list(error_of(r)["fields"]) == ["login"]
    web = browser(app)
    r = web.post_form("/login", {"login": "hr_city\x00", "password": "Demo12345", "captcha": web.captcha()})
    assert r.status_code == 422 and "不能包含控制字符" in r.get_data(as_text=True)


def test_control_characters_in_an_uploaded_file_name_are_refused(app):
    web = browser(app, "chenshihui")
    r = web.post_form("/declare", {**form_data(), "attachments": (BytesIO(PDF), "证书\x01.pdf")},
                      content_type="multipart/form-data")
    assert r.status_code == 422 and "不能包含控制字符" in r.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Attachment.id))) == 0 and instances() == 0


@pytest.mark.postgres
def test_a_nul_is_refused_before_postgresql_sees_it(pg_app, declaration):
    """On PostgreSQL a NUL accepted at the start failed at the final approval, when the course name was
    written to the credit record: the case could never finish."""
    client = pg_app.test_client()
    chen = api_token(client, "chenshihui")
    r = client.post(START, json={**declaration, "course_name": "急诊\x00医学"}, headers=chen)
    assert r.status_code == 422 and error_of(r)["fields"] == {"course_name": "不能包含控制字符"}
    r = client.post("/api/v1/auth/token", json={"login": "\x00", "password": "Demo12345"})
    assert r.status_code == 422
    assert client.get("/api/v1/tasks?q=%00", headers=chen).status_code == 400
    r = client.post(START, json=declaration, headers=chen)
    assert r.status_code == 201, r.get_json()


# --------------------------------------------------------------------------- deep JSON, huge pages and ids


def test_json_nested_50000_deep_is_a_400_in_the_error_shape(client):
    chen = api_token(client, "chenshihui")
    for body in ("[" * 50_000 + "]" * 50_000, '{"a":' * 50_000 + "1" + "}" * 50_000):
        r = post_raw(client, START, body, chen)
        assert r.status_code == 400 and "64" in error_of(r)["message"]
    r = post_raw(client, "/api/v1/auth/token", '{"login": ' + "[" * 65 + "]" * 65 + "}", {})
    assert r.status_code == 400
    r = post_raw(client, "/api/v1/auth/token", '{"login": ' + "[" * 63 + "]" * 63 + "}", {})
    assert r.status_code == 422  # deep enough to parse, then refused as not a text
    r = post_raw(client, "/api/v1/auth/token", '{"login": "hr_city", "password": "' + "[" * 100 + '"}', {})
    assert r.status_code == 401  # brackets inside a string do not count


@pytest.mark.parametrize("url", [
    "/api/v1/tasks", "/api/v1/instances", "/api/v1/tasks/reviewed", "/api/v1/org/subordinates",
    "/api/v1/archive/search?year=2026", "/api/v1/credit-declarations",
])
def test_a_page_beyond_the_last_possible_one_is_a_422_on_every_list(client, url):
    city = api_token(client, "hr_city")
    sep = "&" if "?" in url else "?"
    r = client.get(f"{url}{sep}page=99999999999999999999", headers=city)
    assert r.status_code == 422 and list(error_of(r)["fields"]) == ["page"]
    r = client.get(f"{url}{sep}page=0", headers=city)
    assert r.status_code == 422 and list(error_of(r)["fields"]) == ["page"]
    assert client.get(f"{url}{sep}page=1000000", headers=city).status_code == 200


def test_web_lists_show_an_empty_page_past_the_end(app):
    web = browser(app, "hospital_admin")
    for url in ("/tasks?page=99999999999999999999", "/applications?page=99999999999999999999",
                "/tasks?year=99999999999999999999", "/tasks?page=%C2%B2"):
        assert web.client.get(url).status_code == 200, url


def test_ids_beyond_64_bits_are_not_found(client):
    city = api_token(client, "hr_city")
    for method, url in (("get", "/api/v1/instances/99999999999999999999"),
                        ("delete", "/api/v1/org/roles/680615550367542280192"),
                        ("get", "/api/v1/organisations/2400163755745221279744/profile")):
        r = getattr(client, method)(url, headers=city)
        assert r.status_code == 404 and error_of(r)["code"] == "not_found", url


#: The query arguments pages and the API read as ids (and the year filters), each given a number no row can have.
_ID_ARGUMENTS = ("org", "org_id", "unit_id", "person_id", "course_id", "parent_id", "dept_id", "compare", "base",
                 "base_version", "v", "year")


@pytest.mark.parametrize("login", ["hr_province", "hospital_admin", "institute_admin", "chenshihui"])
def test_every_page_and_api_list_with_ids_beyond_64_bits_in_its_query_answers_without_a_500(unpropagated, login):
    """Every GET route (pages signed in as each kind of user, the API with their token) with every id argument
    beyond 64 bits: a page as if the argument were absent, an empty list, or a 404, never a 500. The embedded
    database (SQLite) cannot even bind such a number (OverflowError); /people/new?unit_id= and
    /transfers/new?person_id= answered 500 before they read the argument as a whole number."""
    app = unpropagated
    web = browser(app, login)
    token = api_token(app.test_client(), login)
    huge = "1" + "0" * 24
    query = "&".join(f"{name}={huge}" for name in _ID_ARGUMENTS)
    tried = []
    for rule in app.url_map.iter_rules():
        integers = all(type(rule._converters[a]).__name__ == "IntegerConverter" for a in rule.arguments)
        if "GET" not in rule.methods or rule.endpoint.endswith("static") or not integers:
            continue
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<int:{name}>", huge)
        client, headers = (app.test_client(), token) if path.startswith("/api/") else (web.client, {})
        r = client.get(f"{path}?{query}", headers=headers)
        assert r.status_code < 500, (login, path, r.status_code)
        tried.append(path)
    assert len(tried) > 80 and "/people/new" in tried and "/transfers/new" in tried


def test_attachment_ids_beyond_64_bits_or_in_other_scripts_are_refused_per_field(client, declaration):
    chen = api_token(client, "chenshihui")
    for ids in ([99999999999999999999], ["99999999999999999999"], ["²"]):
        r = client.post(START, json={**declaration, "attachments": ids}, headers=chen)
        assert r.status_code == 422 and list(error_of(r)["fields"]) == ["attachments"], ids


# --------------------------------------------------------------------------- unexpected failures


@pytest.fixture
def unpropagated(app):
    """Exceptions become 500 answers, as in production (tests otherwise re-raise them)."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    yield app
    app.config["PROPAGATE_EXCEPTIONS"] = None


def test_an_unexpected_api_error_is_a_500_in_the_error_shape(unpropagated, client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(services, "startable_versions", broken)
    r = client.get("/api/v1/processes", headers=api_token(client, "chenshihui"))
    assert r.status_code == 500
    err = error_of(r)
    assert err["code"] == "internal_error" and err["fields"] == {} and "fire" not in err["message"]
    assert client.get("/api/v1/processes?lang=en", headers=api_token(client, "chenshihui")).get_json()[
        "error"]["message"].startswith("Internal server error")
    monkeypatch.undo()
    assert client.get("/api/v1/instances", headers=api_token(client, "chenshihui")).status_code == 200


def test_other_http_errors_on_api_paths_keep_the_shape(client, monkeypatch):
    """An HTTP error raised by the framework or a library (not one of our DomainErrors) is JSON too."""
    from werkzeug.exceptions import TooManyRequests, UnsupportedMediaType

    chen = api_token(client, "chenshihui")
    for exc, status, code in ((TooManyRequests, 429, "too_many_requests"),
                              (UnsupportedMediaType, 415, "unsupported_media_type")):
        def raising(*args, _exc=exc, **kwargs):
            raise _exc()

        monkeypatch.setattr(services, "startable_versions", raising)
        r = client.get("/api/v1/processes", headers=chen)
        assert r.status_code == status and error_of(r)["code"] == code
