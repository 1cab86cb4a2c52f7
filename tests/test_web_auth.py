"""Signing in and out through the login page; CSRF protection of the forms; language switch."""

from __future__ import annotations

import html
import re
import struct

from sqlalchemy import select

from app.accounts.models import User
from app.extensions import db
from tests.conftest import statements
from tests.webutil import browser, count, declare, field_error, form_data, text


def test_login_and_logout(app):
    web = browser(app)
    assert web.client.get("/tasks").status_code == 302  # pages need a login
    r = web.login("hospital_admin")
    assert r.status_code == 302
    page = web.client.get("/", follow_redirects=True)
    assert "待办任务" in text(page) and "市一医院管理员" in text(page)
    r = web.post_form("/tasks", {}, post_url="/logout")
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    assert "您已安全退出" in text(web.client.get("/login"))
    assert web.client.get("/tasks").status_code == 302


def test_login_by_id_number_goes_to_my_applications(app):
    web = browser(app)
    r = web.login("110101199003072711")
    assert r.status_code == 302
    page = web.client.get(r.headers["Location"], follow_redirects=True)
    assert "我的申报" in text(page)


def test_wrong_password_then_lockout_with_one_answer_for_every_failure(app):
    web = browser(app)
    r = web.login("chenshihui", "Wrong1234")
    assert r.status_code == 401
    assert "用户名或密码错误。密码连续错误5次，帐号将被锁定60分钟" in text(r)
    assert 'value="chenshihui"' in r.get_data(as_text=True)  # the login name stays filled in
    for _ in range(4):
        web.login("chenshihui", "Wrong1234")
    assert db.session.scalar(select(User.locked_until).where(User.login == "chenshihui")) is not None
    # even the right password is refused while locked, with the answer a wrong one gets
    locked = web.login("chenshihui")
    assert locked.status_code == 423 and "锁定" in text(locked)  # design §3: 423 while locked
    assert web.client.get("/applications").status_code == 302


def test_unknown_user_same_message(app):
    r = browser(app).login("nobody", "Wrong1234")
    assert r.status_code == 401 and "用户名或密码错误" in text(r)


def test_login_redirects_only_to_own_site(app):
    web = browser(app)
    token = web.csrf("/login")
    r = web.client.post("/login?next=https://evil.example/x",
                        data={"login": "hospital_admin", "password": "Demo12345", "csrf_token": token,
                              "captcha": web.captcha()})
    assert r.status_code == 302 and "evil" not in r.headers["Location"]
    web = browser(app)
    token = web.csrf("/login")
    r = web.client.post("/login", data={"login": "hospital_admin", "password": "Demo12345", "csrf_token": token,
                                        "captcha": web.captcha(), "next": "/applications"})
    assert r.headers["Location"].endswith("/applications")


def test_post_without_csrf_token_is_refused_and_changes_nothing(app):
    web = browser(app, "chenshihui")
    before = count()
    r = web.client.post("/declare", data=form_data())
    assert r.status_code == 400
    assert "CSRF" in text(r)
    assert count() == before
    # a wrong token is refused too
    r = web.client.post("/declare", data={**form_data(), "csrf_token": "forged"})
    assert r.status_code == 400 and count() == before
    # login form as well: no session is opened without the token
    other = browser(app)
    r = other.client.post("/login", data={"login": "hospital_admin", "password": "Demo12345"})
    assert r.status_code == 400
    assert other.client.get("/tasks").status_code == 302
    user = db.session.scalar(select(User).where(User.login == "hospital_admin"))
    assert user.failed_logins == 0


def test_english_ui_by_switch(app):
    web = browser(app)
    r = web.client.get("/login?lang=en")
    page = text(r)
    assert 'lang="en"' in r.get_data(as_text=True)
    assert "Sign in" in page and "Password" in page and "密码" not in page
    # the choice sticks for the session and the navbar offers the way back
    declare()
    web.login("hospital_admin")
    inbox = text(web.client.get("/tasks"))
    assert "Tasks" in inbox and "Batch review" in inbox and "中文" in inbox and "待办任务" not in inbox
    assert "Unit review" in inbox and "1101**********2711" in inbox
    back = text(web.client.get("/tasks?lang=zh_CN"))
    assert "待办任务" in back and "English" in back


def test_english_form_labels_and_errors(app):
    web = browser(app, "chenshihui")
    page = text(web.client.get("/declare?lang=en"))
    assert "Course name" in page and "Credit hours declared" in page and "Professional" in page
    r = web.post_form("/declare", form_data(course_name="", hours="-2", end_date="2026-02-01",
                                            person_id_number="110101199003072712"))
    assert r.status_code == 422
    assert field_error(r, "course_name") == "This field is required"
    assert field_error(r, "hours") == "Credit hours declared must be greater than 0"
    assert field_error(r, "end_date") == "End date must not be before Start date"
    assert field_error(r, "person_id_number") == "The check character of the ID number is wrong"
    assert "Some entries are not valid" in text(r)
    # the API keeps answering in Chinese
    from tests.conftest import api_token

    headers = api_token(web.client, "chenshihui")
    r = web.client.post("/api/v1/processes/credit_hour_approval/instances", headers=headers,
                        json={**form_data(), "hours": -2})
    assert r.get_json()["error"]["fields"]["hours"] == "拟申报学时必须大于0"


def test_english_catalogue_covers_the_spine_pages():
    """Every ``_()`` string of the spine's views and templates and every label of the credit-hour
    forms and process has an English translation. (Run ``scripts/i18n.py`` after adding UI text;
    ``--check`` lists what is missing anywhere; new pages fall back to Chinese until translated.)"""
    import importlib.util
    from pathlib import Path

    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("i18n_script", root / "scripts" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    catalogue = module.template()
    spine = ("app/templates/_", "app/templates/base.html", "app/templates/error.html", "app/templates/accounts/",
             "app/templates/inbox/", "app/templates/credits/", "app/accounts/", "app/inbox/", "app/credits/",
             "app/core/", "app/workflow/", "forms/credit_hour", "forms/review", "forms/hr_review",
             "processes/credit_hour_approval")
    wanted = {m.id for m in catalogue if m.id and any(str(f).startswith(spine) for f, _ in m.locations)}
    assert {"待办任务", "单位审核", "拟申报学时", "%(title)s必须大于%(value)s"} <= wanted
    with (root / "app/translations/en/LC_MESSAGES/messages.po").open("rb") as fh:
        english = read_po(fh)
    missing = sorted(m for m in wanted if m not in english or not english[m].string)
    assert missing == []


def test_english_login_errors_and_upload_refusal(app):
    from tests.webutil import PDF, upload

    web = browser(app)
    web.client.get("/login?lang=en")
    r = web.login("chenshihui", "Wrong1234")
    assert ("Wrong user name or password. After 5 wrong passwords in a row the account is locked for 60 minutes"
            in text(r))
    web.login("chenshihui")
    r = web.post_form("/declare", {**form_data(), "attachments": [upload(b"not a picture", "x.png"),
                                                                  upload(PDF, "y.txt")]},
                      content_type="multipart/form-data")
    error = field_error(r, "attachments")
    assert "The content of file “x.png” is not a valid image or PDF" in error
    assert "The type of file “y.txt” is not allowed" in error


def test_page_asks_for_login_then_returns_there(app):
    web = browser(app)
    r = web.client.get("/tasks?year=2026")
    assert r.status_code == 302 and "/login?next=" in r.headers["Location"]
    login_page = web.client.get(r.headers["Location"])
    assert "请先登录" in text(login_page)
    token = web.csrf(r.headers["Location"])
    nxt = re.search(r'name="next" value="([^"]+)"', login_page.get_data(as_text=True)).group(1)
    r = web.client.post("/login", data={"login": "hospital_admin", "password": "Demo12345", "csrf_token": token,
                                        "captcha": web.captcha(), "next": html.unescape(nxt)})
    assert r.headers["Location"].endswith("/tasks?year=2026")
    english = browser(app)
    r = english.client.get("/tasks?lang=en")
    assert "Please sign in first" in text(english.client.get(r.headers["Location"]))


def test_a_requests_actor_comes_in_one_query_with_the_professionals_own_record(app):
    """Every web and API request loads its user; the memberships (with their organisations) and a
    professional's own record (with its unit) come in the same statement, so pages and services that
    need them (declaring, the archive) do not ask again."""
    from app.accounts import usercache
    from app.accounts.actor import Actor
    from app.accounts.services import issue_token, user_for_token
    from app.core.auth import load_user

    user_id = db.session.scalar(select(User.id).where(User.login == "chenshihui"))
    token = issue_token(db.session.get(User, user_id))
    db.session.commit()
    session_id = db.session.get(User, user_id).get_id()
    usercache.cache().clear()
    loads = (lambda: load_user(session_id), lambda: user_for_token(token))
    for warm, load in ((False, loads[0]), (False, loads[1]), (True, loads[0]), (True, loads[1])):
        db.session.remove()
        with statements() as sent:
            actor = Actor.of(load())
            person, unit, orgs = actor.person, actor.person.unit, [m.organisation.name for m in actor.memberships]
        assert (person.name, unit.name, orgs) == ("陈诗慧", "市第一人民医院", ["市第一人民医院"])
        assert len(sent) == 1, sent
        # from this process's user cache, only the user's version is read (with the token's expiry for a token)
        assert ("JOIN organisation" not in sent[0]) is warm, sent


def test_the_captcha_is_large_can_be_renewed_and_has_a_text_alternative(app):
    web = browser(app)
    page = web.client.get("/login").get_data(as_text=True)
    assert "换一张" in page and "无法查看图片？改用文字验证问题" in page
    image = web.client.get(re.search(r'<img src="([^"]+)" id="captcha-image"', page).group(1))
    assert image.data[1:4] == b"PNG" and struct.unpack(">II", image.data[16:24]) == (160, 60)
    # the text question, which a screen reader reads out, is answered in digits
    page = web.client.get("/login?captcha=text").get_data(as_text=True)
    a, b = map(int, re.search(r'id="captcha-question">(\d) 加 (\d) 等于几？<', page).groups())
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "login": "chenshihui", "password": "Demo12345"}
    assert web.client.post("/login", data={**form, "captcha": str(a + b + 1)}).status_code == 422
    page = web.client.get("/login?captcha=text").get_data(as_text=True)
    a, b = map(int, re.search(r'id="captcha-question">(\d) 加 (\d) 等于几？<', page).groups())
    assert web.client.post("/login", data={**form, "captcha": str(a + b)}).status_code == 302
    web.post_form("/tasks", {}, post_url="/logout")
    assert re.search(r"What is \d plus \d\?", text(web.client.get("/login?captcha=text&lang=en")))
