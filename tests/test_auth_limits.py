"""Signing in, verification codes and the public certificate check under races and hostile input (issue #20).

The lockout and the tries of a code hold however many requests race (PostgreSQL, real threads); an unknown
login, a wrong password and a locked account look alike; rate limits per account, mobile number and client
address hold across processes.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import create_app
from app.accounts import services as accounts
from app.accounts.models import User
from app.extensions import db
from app.registration import codes, senders
from app.registration.models import VerificationCode
from config import Config, TestConfig
from tests.conftest import _make_app, api_token
from tests.registration_helpers import id_number, person
from tests.webutil import browser, text

CHEN_ID, CHEN_MOBILE = "110101199003072711", "13800000000"


# --------------------------------------------------------------------------- helpers


def race(app: Flask, n: int, call: Callable[[Any, int], Any]) -> list[Any]:
    """``call(client, i)`` from ``n`` threads released at once, each with its own client and session."""
    barrier = threading.Barrier(n)
    answers: list[Any] = [None] * n

    def run(i: int) -> None:
        with app.app_context():
            try:
                client = app.test_client()
                barrier.wait()
                answers[i] = call(client, i)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


class Calls:
    """Counts the calls of ``fn`` (from any thread) and passes them on; ``first_args`` keeps each first argument."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn, self.first_args, self._lock = fn, [], threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.first_args.append(args[0])
        return self.fn(*args, **kwargs)

    def count(self, first_arg: Any) -> int:
        return sum(1 for a in self.first_args if a == first_arg)


@pytest.fixture
def password_checks(monkeypatch: pytest.MonkeyPatch) -> Calls:
    """Every password hash the sign-in code checks a typed password against."""
    calls = Calls(accounts.check_password_hash)
    monkeypatch.setattr(accounts, "check_password_hash", calls)
    return calls


def _user(login: str) -> User:
    with Session(db.engine) as s:  # fresh from the database, whatever this test's session holds
        row = s.scalar(select(User).where(User.login == login))
        s.expunge_all()
        return row


def _token(client, login: str, password: str, address: str = "127.0.0.1"):
    return client.post("/api/v1/auth/token", json={"login": login, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def _alert(resp) -> str:
    m = re.search(r'<div class="alert alert-danger"[^>]*>(.*?)</div>', resp.get_data(as_text=True), re.S)
    assert m, resp.get_data(as_text=True)[:500]
    return m.group(1).strip()


def _limited(resp, message: str) -> None:
    """A 429 in the API's error shape with Retry-After."""
    assert resp.status_code == 429, resp.get_data(as_text=True)[:500]
    body = resp.get_json()
    assert body["error"]["code"] == "rate_limited" and message in body["error"]["message"], body
    assert 1 <= int(resp.headers["Retry-After"]) <= 3600


# --------------------------------------------------------------------------- races (PostgreSQL, threads)


def test_racing_wrong_passwords_check_at_most_lockout_failures(pg_app, password_checks):
    chen_hash = _user("chenshihui").password_hash
    db.session.remove()
    answers = race(pg_app, 40, lambda c, i: _token(c, "chenshihui", f"Guess{i:04d}"))
    assert {r.status_code for r in answers} <= {401, 423}  # 423 once it is locked (design §3)
    assert password_checks.count(chen_hash) <= 5  # the old code checked every one of the 40
    assert _user("chenshihui").locked_until is not None
    assert _token(pg_app.test_client(), "chenshihui", "Demo12345").status_code == 423  # locked: not even checked
    assert password_checks.count(chen_hash) <= 5


def test_racing_wrong_old_passwords_check_at_most_lockout_failures(pg_app, password_checks):
    headers = api_token(pg_app.test_client(), "liuwenbin")
    liu_hash = _user("liuwenbin").password_hash
    password_checks.first_args.clear()
    db.session.remove()
    answers = race(pg_app, 40, lambda c, i: c.post("/api/v1/password/change", headers=headers, json={
        "old_password": f"Guess{i:04d}", "password": "Newpass123", "password_confirm": "Newpass123"}))
    assert {r.status_code for r in answers} == {422}
    assert password_checks.count(liu_hash) <= 5
    assert _user("liuwenbin").locked_until is not None


def test_racing_reset_code_guesses_compare_at_most_max_attempts(pg_app, monkeypatch):
    client = pg_app.test_client()
    r = client.post("/api/v1/password/reset/code", json={"id_number": CHEN_ID, "channel": "sms",
                                                         "contact": CHEN_MOBILE})
    assert r.status_code == 202
    code = senders.last_code(CHEN_MOBILE)
    compared = Calls(codes._hash)
    monkeypatch.setattr(codes, "_hash", compared)
    wrong = [f"{(int(code) + k) % 10**6:06d}" for k in range(1, 41)]
    db.session.remove()
    answers = race(pg_app, 40, lambda c, i: c.post("/api/v1/password/reset", json={
        "id_number": CHEN_ID, "channel": "sms", "contact": CHEN_MOBILE, "verification_code": wrong[i],
        "password": "Newpass123", "password_confirm": "Newpass123"}))
    assert {r.status_code for r in answers} == {422}
    assert len(compared.first_args) <= codes.MAX_ATTEMPTS  # the old code compared most of the 40
    assert db.session.scalar(select(VerificationCode.attempts)) == codes.MAX_ATTEMPTS
    r = client.post("/api/v1/password/reset", json={  # the code is void now, even typed right
        "id_number": CHEN_ID, "channel": "sms", "contact": CHEN_MOBILE, "verification_code": code,
        "password": "Newpass123", "password_confirm": "Newpass123"})
    assert r.status_code == 422
    assert accounts.authenticate("chenshihui", "Demo12345").login == "chenshihui"


def test_one_sms_code_registers_one_account_however_many_race(pg_app):
    client = pg_app.test_client()
    mobile = "13912345678"
    assert client.post("/api/v1/registrations/code", json={"mobile": mobile}).status_code == 202
    code = senders.last_code(mobile)
    forms = [person(login=f"racer{i:02d}", id_number=id_number(f"350102199001{10 + i}123"), mobile=mobile,
                    verification_code=code) for i in range(10)]
    db.session.remove()
    answers = race(pg_app, 10, lambda c, i: c.post("/api/v1/registrations/person", json=forms[i]))
    assert sorted(r.status_code for r in answers) == [201] + [422] * 9  # the old code registered up to 10
    refused = {r.get_json()["error"]["fields"]["verification_code"] for r in answers if r.status_code == 422}
    assert refused == {"验证码已失效，请重新获取"}
    assert db.session.scalar(select(db.func.count(User.id)).where(User.login.like("racer%"))) == 1


def test_one_address_cannot_lock_an_account_however_many_race(pg_app, password_checks, monkeypatch):
    """The default limit of failures per account and address is LOCKOUT_FAILURES - 1: an attacker at one
    address is stopped before the lock, so the owner signs in from elsewhere."""
    monkeypatch.setitem(pg_app.config, "RATE_LIMIT_SIGNIN_ACCOUNT", "4/3600")
    chen_hash = _user("chenshihui").password_hash
    db.session.remove()
    answers = race(pg_app, 40, lambda c, i: _token(c, "chenshihui", f"Guess{i:04d}", "198.51.100.7"))
    assert sorted({r.status_code for r in answers}) == [401, 429]
    assert password_checks.count(chen_hash) <= 4
    assert _user("chenshihui").locked_until is None
    client = pg_app.test_client()
    assert _token(client, "chenshihui", "Demo12345", "203.0.113.20").status_code == 200
    assert _token(client, "chenshihui", "Demo12345", "198.51.100.7").status_code == 429  # that address waits
    # the trade-off: failures from several addresses still lock it (the owner unlocks it by resetting the password)
    for address in ("192.0.2.1", "192.0.2.1", "192.0.2.1", "192.0.2.2", "192.0.2.2"):
        assert _token(client, "chenshihui", "Wrong1234", address).status_code == 401
    assert _user("chenshihui").locked_until is not None


def test_on_postgresql_a_wrong_password_or_code_counts_once(pg_app):
    """The count has a transaction of its own there: the rollback of the failed action keeps it, and the
    error handlers do not count it a second time."""
    client = pg_app.test_client()
    headers = api_token(client, "liuwenbin")
    for left in (4, 3):
        r = client.post("/api/v1/password/change", headers=headers, json={
            "old_password": "Wrong1234", "password": "Newpass123", "password_confirm": "Newpass123"})
        assert r.get_json()["error"]["fields"] == {"old_password": f"原密码不正确，再错{left}次帐号将被锁定"}
    assert _user("liuwenbin").failed_logins == 2
    data = person()
    client.post("/api/v1/registrations/code", json={"mobile": data["mobile"]})
    code = senders.last_code(data["mobile"])
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(codes.MAX_ATTEMPTS):
        r = client.post("/api/v1/registrations/person", json={**data, "verification_code": wrong})
        assert r.get_json()["error"]["fields"]["verification_code"] == codes.WRONG
    r = client.post("/api/v1/registrations/person", json={**data, "verification_code": code})
    assert r.get_json()["error"]["fields"]["verification_code"] == codes.STALE


# --------------------------------------------------------------------------- account enumeration


def test_unknown_login_and_wrong_password_look_alike_and_a_locked_account_answers_423(app, client,
                                                                                       password_checks):
    web = browser(app)
    for _ in range(5):
        _token(client, "hr_city", "Wrong1234")
    assert _user("hr_city").locked_until is not None
    password_checks.first_args.clear()
    cases = {"unknown": ("nobody_here", "Wrong1234"), "wrong": ("chenshihui", "Wrong1234"),
             "locked": ("hr_city", "Demo12345")}
    api = {name: _token(client, *case) for name, case in cases.items()}
    pages = {name: web.login(*case) for name, case in cases.items()}
    assert {api["unknown"].status_code, api["wrong"].status_code} == {401}
    assert api["unknown"].get_json() == api["wrong"].get_json()
    assert _alert(pages["unknown"]) == _alert(pages["wrong"])
    # design §3: 423 while locked, even with the right password (which is not checked)
    assert api["locked"].status_code == 423 and api["locked"].get_json()["error"]["code"] == "locked"
    assert "锁定" in _alert(pages["locked"])
    assert len(password_checks.first_args) == 6  # the same work: one password hash checked for each answer


def test_password_reset_answers_the_same_for_accounts_that_do_not_exist(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "VERIFICATION_RESEND_SECONDS", 60)
    known = {"id_number": CHEN_ID, "channel": "sms", "contact": CHEN_MOBILE}
    unknown = {"id_number": id_number("35010219700101123"), "channel": "sms", "contact": "13600000000"}
    first = [client.post("/api/v1/password/reset/code", json=body) for body in (known, unknown)]
    assert [r.status_code for r in first] == [202, 202] and first[0].get_json() == first[1].get_json()
    again = [client.post("/api/v1/password/reset/code", json=body) for body in (known, unknown)]
    assert [r.status_code for r in again] == [429, 429]
    assert again[0].get_json() == again[1].get_json()  # the resend interval holds for both alike
    code = senders.last_code(CHEN_MOBILE)
    wrong = "000000" if code != "000000" else "111111"
    tries = [client.post("/api/v1/password/reset", json={**body, "verification_code": wrong,
                                                         "password": "Newpass123", "password_confirm": "Newpass123"})
             for body in (known, unknown)]
    assert [r.status_code for r in tries] == [422, 422] and tries[0].get_json() == tries[1].get_json()
    assert tries[0].get_json()["error"]["fields"] == {"verification_code": codes.VAGUE}


# --------------------------------------------------------------------------- rate limits


def test_sign_in_failures_are_limited_per_address(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMIT_SIGNIN_ADDRESS", "3/300")
    for _ in range(5):  # signing in rightly does not count
        assert _token(client, "chenshihui", "Demo12345").status_code == 200
    for login in ("nobody", "hr_city", "liuwenbin"):
        assert _token(client, login, "Wrong1234").status_code == 401
    r = _token(client, "chenshihui", "Demo12345")  # the address waits, right password or not
    _limited(r, "登录失败次数过多，请5分钟后再试")
    assert 290 <= int(r.headers["Retry-After"]) <= 300
    r = client.post("/api/v1/auth/token?lang=en", json={"login": "chenshihui", "password": "Demo12345"})
    _limited(r, "Too many failed sign-ins; please try again in 5 minutes")
    assert _token(client, "chenshihui", "Demo12345", "203.0.113.9").status_code == 200  # another address
    page = browser(app).login("chenshihui")  # the login page too, in the page's language
    assert page.status_code == 429 and page.headers["Retry-After"]
    assert "登录失败次数过多" in text(page)


def test_code_requests_are_limited_per_mobile_and_per_address(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMIT_CODE_TARGET", Config.RATE_LIMIT_CODE_TARGET)  # 5 an hour
    for _ in range(5):
        assert client.post("/api/v1/registrations/code", json={"mobile": "13912345678"}).status_code == 202
    _limited(client.post("/api/v1/registrations/code", json={"mobile": "13912345678"}), "验证码发送次数过多")
    monkeypatch.setitem(app.config, "RATE_LIMIT_CODE_ADDRESS", "2/3600")
    elsewhere = {"REMOTE_ADDR": "198.51.100.5"}
    for mobile in ("13700000001", "13700000002"):
        r = client.post("/api/v1/registrations/code", json={"mobile": mobile}, environ_base=elsewhere)
        assert r.status_code == 202
    sent = len(senders.OUTBOX)
    r = client.post("/api/v1/password/reset/code", json={"id_number": CHEN_ID, "channel": "sms",
                                                         "contact": CHEN_MOBILE}, environ_base=elsewhere)
    _limited(r, "验证码发送次数过多")
    assert len(senders.OUTBOX) == sent  # nothing went out
    r = client.post("/api/v1/registrations/code", json={"mobile": "13700000003"},
                    environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert r.status_code == 202


@pytest.fixture
def few_code_requests(app, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMIT_CODE_TARGET", "1/3600")


def test_code_pages_answer_429_with_the_form_kept(app, web, few_code_requests):
    form = {"action": "send_code", "mobile": "13912345678"}
    assert web.post_form("/register", form).status_code == 200
    r = web.post_form("/register", form)
    assert r.status_code == 429 and r.headers["Retry-After"]
    assert "验证码发送次数过多" in text(r) and 'value="13912345678"' in r.get_data(as_text=True)
    token = web.csrf("/register")
    r = web.client.post("/register/code", data={"mobile": "13912345678", "csrf_token": token})
    assert r.status_code == 429 and r.get_json()["error"]["code"] == "rate_limited"


def test_certificate_verification_is_limited_per_address(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RATE_LIMIT_VERIFY_ADDRESS", "3/60")
    for _ in range(2):
        assert client.get("/api/v1/certificates/JX2026-0000-0000/verify").get_json()["status"] == "not_found"
    assert client.get("/certificates/verify/JX2026-0000-0000").status_code == 200
    _limited(client.get("/api/v1/certificates/JX2026-0000-0000/verify"), "查验过于频繁，请")
    page = client.get("/certificates/verify/JX2026-0000-0000")
    assert page.status_code == 429 and 1 <= int(page.headers["Retry-After"]) <= 60
    assert "查验过于频繁" in text(page)
    r = client.get("/api/v1/certificates/JX2026-0000-0000/verify", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert r.status_code == 200


@pytest.fixture(scope="module")
def second_process(_pg_app: Flask) -> Flask:
    """Another app object on the same PostgreSQL database: a second web process."""
    return _make_app(_pg_app.config["SQLALCHEMY_DATABASE_URI"])


def test_limits_and_lockout_hold_across_two_processes(pg_app, second_process, monkeypatch):
    for one in (pg_app, second_process):
        monkeypatch.setitem(one.config, "RATE_LIMIT_VERIFY_ADDRESS", "3/60")
    clients = [pg_app.test_client(), second_process.test_client()]
    url = "/api/v1/certificates/JX2026-0000-0000/verify"
    assert [clients[i % 2].get(url).status_code for i in range(3)] == [200, 200, 200]
    _limited(clients[1].get(url), "查验过于频繁")
    _limited(clients[0].get(url), "查验过于频繁")
    for i in range(5):  # wrong passwords alternate between the processes: the fifth locks the account
        assert _token(clients[i % 2], "chenshihui", "Wrong1234").status_code == 401
    assert _token(clients[1], "chenshihui", "Demo12345").status_code == 423
    assert _user("chenshihui").locked_until is not None


# --------------------------------------------------------------------------- client address behind a proxy


def _app_with(**settings: Any) -> Flask:
    class Cfg(TestConfig):
        SQLALCHEMY_DATABASE_URI = "sqlite://"
        RATE_LIMIT_VERIFY_ADDRESS = "1/60"

    for name, value in settings.items():
        setattr(Cfg, name, value)
    made = create_app(Cfg)
    with made.app_context():
        from flask_migrate import upgrade

        upgrade(directory=made.root_path + "/migrations")
    return made


@pytest.mark.parametrize("proxies", [0, 1])
def test_behind_a_proxy_the_forwarded_address_counts_only_with_proxy_fix(proxies):
    made = _app_with(PROXY_FIX=proxies)
    with made.app_context():
        client = made.test_client()

        def check(forwarded_for: str) -> int:
            return client.get("/api/v1/certificates/JX2026-0000-0000/verify",
                              headers={"X-Forwarded-For": forwarded_for}).status_code

        assert check("198.51.100.1") == 200
        assert check("198.51.100.1") == 429
        # without PROXY_FIX a forged header changes nothing: every request comes from the proxy's address
        assert check("198.51.100.2") == (200 if proxies else 429)
        db.session.remove()
        db.engine.dispose()
