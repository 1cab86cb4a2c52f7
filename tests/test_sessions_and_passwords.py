"""Passwords typed outside the login form count towards the lockout; signing out or changing the password
ends the sessions (and API tokens) made before, even a copied cookie."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.models import User
from app.extensions import db
from tests.conftest import api_token
from tests.webutil import browser, field_error, text


def _user(login: str) -> User:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.login == login))


def test_adding_an_existing_account_as_admin_cannot_be_used_to_guess_its_password(client):
    """c) 添加成为管理员 asks for the account's own password: the wrong ones count like failed logins,
    the account locks after five, and while locked even the right one is refused."""
    h = api_token(client, "tech_admin")

    def add(password: str):
        return client.post("/api/v1/org/admins", json={"way": "existing", "login": "hr_province",
                                                       "password": password}, headers=h)

    for left in (4, 3, 2, 1):
        r = add("Guess1234")
        assert r.status_code == 422
        assert r.get_json()["error"]["fields"] == {
            "password": f"密码与该用户的注册密码不一致，再错{left}次帐号将被锁定"}
    r = add("Guess1234")
    assert r.get_json()["error"]["fields"] == {"password": "密码连续错误5次，帐号已锁定60分钟"}
    assert _user("hr_province").locked_until is not None

    r = add("Demo12345")  # the right password, while locked
    assert r.status_code == 422 and "已锁定" in r.get_json()["error"]["fields"]["password"]
    assert client.post("/api/v1/auth/token", json={"login": "hr_province", "password": "Demo12345"}).status_code == 401
    admins = client.get("/api/v1/org/admins", headers=h).get_json()
    assert "hr_province" not in {a["login"] for a in admins}


def test_the_web_form_for_adding_an_admin_counts_a_wrong_password_too(app):
    web = browser(app, "tech_admin")
    r = web.post_form("/org/admins", {"way": "existing", "login": "110101199003072711",  # by ID number
                                      "password": "Guess1234"}, post_url="/org/admins/add")
    assert r.status_code == 422
    assert "密码与该用户的注册密码不一致，再错4次帐号将被锁定" in text(r)
    assert _user("chenshihui").failed_logins == 1


def test_a_wrong_old_password_counts_towards_the_lockout(app):
    web = browser(app, "liuwenbin")
    for _ in range(4):
        r = web.post_form("/password/change", {"old_password": "Guess1234", "password": "Newpass123",
                                               "password_confirm": "Newpass123"})
        assert r.status_code == 422
    assert field_error(r, "old_password") == "原密码不正确，再错1次帐号将被锁定"
    r = web.post_form("/password/change", {"old_password": "Guess1234", "password": "Newpass123",
                                           "password_confirm": "Newpass123"})
    assert field_error(r, "old_password") == "密码连续错误5次，帐号已锁定60分钟"
    assert _user("liuwenbin").password_hash and _user("liuwenbin").locked_until is not None


def test_signing_out_ends_the_session_even_for_a_copied_cookie(app):
    web = browser(app, "hospital_admin")
    assert web.client.get("/tasks").status_code == 200
    cookie = web.client.get_cookie("session")
    other = browser(app, "hospital_admin")  # the same user in another browser

    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    assert thief.get("/tasks").status_code == 200  # a copy works while the session lives

    r = web.post_form("/tasks", {}, post_url="/logout")
    assert r.status_code == 302
    assert thief.get("/tasks").status_code == 302  # sent to the login page
    assert other.client.get("/tasks").status_code == 302  # signing out ends the user's every session
    assert browser(app, "hospital_admin").client.get("/tasks").status_code == 200  # signing in again works


def test_changing_the_password_ends_other_sessions_and_tokens_but_not_this_one(app, client):
    here = browser(app, "wangliping")
    elsewhere = browser(app, "wangliping")
    token = api_token(client, "wangliping")
    assert client.get("/api/v1/tasks", headers=token).status_code == 200

    r = here.post_form("/password/change", {"old_password": "Demo12345", "password": "Newpass123",
                                            "password_confirm": "Newpass123"})
    assert r.status_code == 302
    assert here.client.get("/applications").status_code == 200
    assert elsewhere.client.get("/applications").status_code == 302
    assert client.get("/api/v1/tasks", headers=token).status_code == 401
    assert browser(app).login("wangliping", "Newpass123").status_code == 302


def test_without_secret_key_a_random_one_is_made_once_and_kept(tmp_path):
    """No shared default key: sessions signed with a key from the source code could be forged."""
    import stat

    from app import instance_secret_key

    key = instance_secret_key(tmp_path)
    assert len(key) == 64 and key == instance_secret_key(tmp_path)  # kept: restarts keep sessions valid
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert list(tmp_path.iterdir()) == [tmp_path / "secret_key"]
    other = tmp_path / "other"
    other.mkdir()
    assert instance_secret_key(other) != key


def test_cookies_can_be_marked_secure_for_https(monkeypatch):
    import importlib

    import config

    monkeypatch.setenv("COOKIE_SECURE", "1")
    try:
        secure = importlib.reload(config).Config
        assert secure.SESSION_COOKIE_SECURE and secure.REMEMBER_COOKIE_SECURE
    finally:
        monkeypatch.delenv("COOKIE_SECURE")
        importlib.reload(config)
    assert not config.Config.SESSION_COOKIE_SECURE  # plain http://127.0.0.1:5000 keeps working by default
