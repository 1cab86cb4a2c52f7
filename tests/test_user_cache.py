"""The per-process cache of signed-in users (issue 19): a password change, a sign-out or a role change made by one
process takes effect in every other one on its next request."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import insert, select, update

from app.accounts.models import Membership, Organisation, OrgStatus, User
from app.extensions import db
from app.people.models import Person
from tests.conftest import WebClient, _make_app


def _version(login: str) -> int:
    return db.session.scalar(select(User.auth_version).where(User.login == login))


def _membership(login: str) -> Membership:
    return db.session.scalar(select(Membership).join(User).where(User.login == login))


def test_every_change_to_what_a_signed_in_user_holds_renews_their_version(app):
    def renewed(login: str, change) -> bool:  # noqa: ANN001
        before = _version(login)
        change()
        db.session.commit()
        return _version(login) != before

    user = db.session.scalar(select(User).where(User.login == "chenshihui"))
    person = db.session.scalar(select(Person).where(Person.user_id == user.id))
    hospital = _membership("hospital_admin").organisation
    other = db.session.scalar(select(Organisation).where(Organisation.name == "市卫生健康委员会"))
    assert renewed("chenshihui", lambda: setattr(user, "password_hash", user.password_hash + "x"))
    assert renewed("chenshihui", lambda: setattr(user, "session_epoch", user.session_epoch + 1))
    assert renewed("chenshihui", lambda: setattr(person, "unit_id", other.id))  # own record moved
    assert renewed("chenshihui", lambda: setattr(person, "unit_id", hospital.id))
    assert renewed("hospital_admin", lambda: setattr(_membership("hospital_admin"), "permissions", ["people"]))
    # an organisation's change reaches its members and the people whose unit it is
    v_admin, v_person = _version("hospital_admin"), _version("chenshihui")
    hospital.status = OrgStatus.DISABLED
    db.session.commit()
    assert _version("hospital_admin") != v_admin and _version("chenshihui") != v_person
    # a Core write to a watched table renews every version
    v_admin = _version("health_admin")
    db.session.execute(update(Organisation).where(Organisation.id == hospital.id).values(status=OrgStatus.ACTIVE))
    db.session.commit()
    assert _version("health_admin") != v_admin
    # a bulk insert of people renews only the users it names (an import of thousands names almost none)
    v_city, v_health = _version("hr_city"), _version("health_admin")
    health = db.session.scalar(select(User).where(User.login == "health_admin"))
    db.session.execute(insert(Person), [
        {"name": "导入甲", "id_number": "110101199001011237", "unit_id": hospital.id, "user_id": None},
        {"name": "委机关乙", "id_number": "110101198501012315", "unit_id": other.id, "user_id": health.id}])
    db.session.commit()
    assert _version("hr_city") == v_city and _version("health_admin") != v_health
    # a membership that goes
    assert renewed("hospital_admin", lambda: db.session.delete(_membership("hospital_admin")))
    # sign-in failures (counted on the row) do not empty the cache
    v = _version("liuwenbin")
    r = app.test_client().post("/api/v1/auth/token", json={"login": "liuwenbin", "password": "wrong"})
    assert r.status_code == 401 and _version("liuwenbin") == v


@pytest.fixture(scope="module")
def _second_pg_app(_pg_app: Flask) -> Flask:
    return _make_app(_pg_app.config["SQLALCHEMY_DATABASE_URI"])


@pytest.fixture
def second_pg_app(pg_app: Flask, _second_pg_app: Flask) -> Flask:
    """Another app object on the same PostgreSQL database: its own user cache, as another process has."""
    return _second_pg_app


def _inbox_total(client, token: str) -> int:  # noqa: ANN001
    r = client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"})
    return r.get_json()["total"] if r.status_code == 200 else r.status_code


def test_web_sessions_follow_a_sign_out_a_password_change_and_a_role_removal_in_another_app(
        pg_app, second_pg_app, declaration):
    first = pg_app.test_client()
    token = first.post("/api/v1/auth/token", json={"login": "chenshihui", "password": "Demo12345"}).get_json()
    assert first.post("/api/v1/processes/credit_hour_approval/instances", json=declaration,
                      headers={"Authorization": f"Bearer {token['token']}"}).status_code == 201

    def signed_in_pair(login: str) -> WebClient:
        web = WebClient(pg_app.test_client())
        assert web.login(login).status_code == 302
        cookie = web.client.get_cookie("session")
        other = second_pg_app.test_client()
        other.set_cookie("session", cookie.value, domain=cookie.domain or "localhost")
        assert other.get("/tasks").status_code == 200 and other.get("/tasks").status_code == 200  # cached now
        return web, other

    # a sign-out in the first app ends the session in the second at once
    web, other = signed_in_pair("hospital_admin")
    assert web.post_form("/tasks", {}, post_url="/logout").status_code == 302
    assert other.get("/tasks").status_code == 302
    # a role removed: the declaration waiting in the hospital's inbox is out of the second app's reach at once
    web, other = signed_in_pair("hospital_admin")
    assert "陈诗慧" in other.get("/tasks").get_data(as_text=True)
    db.session.delete(_membership("hospital_admin"))
    db.session.commit()
    assert "陈诗慧" not in other.get("/tasks").get_data(as_text=True)
    # a password change: every other session ends, the one that changed it goes on
    web, other = signed_in_pair("health_admin")
    r = web.post_form("/password/change", {"old_password": "Demo12345", "password": "Changed-12345",
                                           "password_confirm": "Changed-12345"})
    assert r.status_code == 302 and web.client.get("/tasks").status_code == 200
    assert other.get("/tasks").status_code == 302


def test_api_tokens_follow_a_role_removal_and_a_password_change_in_another_server_process(declaration):
    from tests.servers import Server, seeded_database

    url = seeded_database("usercache")
    here = _make_app(url)
    a, b = Server(url), Server(url)
    try:
        applicant = a.token("chenshihui")
        status, _ = a.call("POST", "/api/v1/processes/credit_hour_approval/instances", declaration, applicant)
        assert status == 201
        admin = a.token("hospital_admin")
        for _ in range(2):  # the second answer comes from B's user cache
            assert b.call("GET", "/api/v1/tasks", token=admin)[1]["total"] == 1
        # the hospital administrator's role is removed by another process (here: this one)
        with here.app_context():
            db.session.delete(_membership("hospital_admin"))
            db.session.commit()
            db.session.remove()
        assert b.call("GET", "/api/v1/tasks", token=admin)[1]["total"] == 0
        # a password change through A: B refuses the old token on its next request
        reviewer = a.token("health_admin")
        assert b.call("GET", "/api/v1/tasks", token=reviewer)[0] == 200
        status, body = a.call("POST", "/api/v1/password/change", {"old_password": "Demo12345",
                                                                  "password": "Changed-12345"}, reviewer)
        assert status == 200, body
        assert b.call("GET", "/api/v1/tasks", token=reviewer)[0] == 401
        assert b.call("GET", "/api/v1/tasks", token=body["token"])[0] == 200
    finally:
        a.kill()
        b.kill()
        with here.app_context():
            db.engine.dispose()


def test_with_user_cache_size_0_every_request_loads_its_user(app):
    from app.accounts import usercache
    from app.accounts.services import issue_token, user_for_token
    from tests.conftest import statements

    kept = app.extensions["cepp.user_cache"]
    app.extensions["cepp.user_cache"] = usercache.UserCache(0)
    try:
        token = issue_token(db.session.scalar(select(User).where(User.login == "chenshihui")))
        db.session.commit()
        for _ in range(2):
            db.session.remove()
            with statements() as sent:
                assert user_for_token(token).login == "chenshihui"
            assert len(sent) == 1 and "JOIN membership" in sent[0].replace("\n", " ").replace("LEFT OUTER ", ""), sent
    finally:
        app.extensions["cepp.user_cache"] = kept
