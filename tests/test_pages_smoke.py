"""Every page the navigation offers opens for every demo account, in Chinese and in English."""

from __future__ import annotations

import re

import pytest

from app.demo import ADMINS, PEOPLE
from tests.webutil import browser

LOGINS = [a[0] for a in ADMINS] + [p[0] for p in PEOPLE]


def _nav_links(html: str) -> list[str]:
    nav = html[html.index("<nav"):html.index("</nav>")]
    return sorted({h for h in re.findall(r'href="(/[^"#?]*)', nav) if not h.startswith(("/static", "/bootstrap"))})


@pytest.mark.parametrize("login", LOGINS)
def test_every_navigation_page_opens(app, login):
    web = browser(app, login)
    home = web.client.get("/", follow_redirects=True)
    assert home.status_code == 200
    links = _nav_links(home.get_data(as_text=True))
    assert "/tasks" in links and len(links) >= 6
    for href in links:
        for lang in ("zh_CN", "en"):
            r = web.client.get(f"{href}?lang={lang}", follow_redirects=True)
            assert r.status_code == 200, (login, href, lang, r.status_code)


def test_an_administrator_edits_their_own_contact_details(app):
    web = browser(app, "hospital_admin")
    r = web.post_form("/profile", {"mobile": "13912345678", "email": "admin@hospital.example.cn"})
    assert r.status_code == 302
    page = web.client.get("/profile").get_data(as_text=True)
    assert "13912345678" in page and "admin@hospital.example.cn" in page
    r = web.post_form("/profile", {"mobile": "12345", "email": ""})
    assert r.status_code == 422 and "13912345678" in web.client.get("/profile").get_data(as_text=True)


def test_with_the_demo_history_a_professional_prints_last_years_certificate(app):
    from datetime import date

    from app.demo_history import seed_history
    from app.extensions import db
    from tests.webutil import text

    seed_history()
    db.session.commit()
    year = date.today().year - 1
    web = browser(app, "chenshihui")
    page = text(web.client.get("/certificates"))
    assert f"{year} 90 合格" in page and "E+" not in page
    archive = text(web.client.get(f"/archive?year={year}"))
    assert "合格" in archive and "急危重症救治新进展" in archive


def test_times_are_written_the_readers_way(app):
    from tests.webutil import declare, text

    declare("chenshihui")
    web = browser(app, "chenshihui")
    chinese = text(web.client.get("/applications?lang=zh_CN"))
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}", chinese), chinese[:1500]
    english = text(web.client.get("/applications?lang=en"))
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", english) and not re.search(r"\d年", english)


def test_empty_lists_say_what_to_do_next(app):
    from tests.webutil import text

    chen = browser(app, "chenshihui")
    page = chen.client.get("/tasks").get_data(as_text=True)
    assert "申报被退回修改时会出现在这里" in page and 'href="/applications"' in page
    page = chen.client.get("/applications").get_data(as_text=True)
    assert "还没有申报记录" in page and 'href="/declare">去申报学时' in page
    assert "查看全部" in text(chen.client.get("/applications?status=withdrawn"))
    admin = browser(app, "hospital_admin")
    assert "新的申请到达您的审核环节时会出现在这里" in text(admin.client.get("/tasks"))
    filtered = admin.client.get("/tasks?year=2024").get_data(as_text=True)
    assert "没有符合条件的待办任务" in filtered and "清除筛选条件" in filtered
    assert "显示进度和结果" in text(admin.client.get("/jobs"))
